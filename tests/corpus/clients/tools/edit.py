#!/usr/bin/env python3
"""Deterministic stand-in for a human in $EDITOR.

Usage: edit.py DRAFTFILE   (how neomutt's $editor and s-nail's $EDITOR call it)

Environment:
  EDIT_MODE     interleaved | top | bottom
  EDIT_HEADERS  1 if the draft starts with an editable header block that ends
                at the first empty line (s-nail editalong / editheaders);
                the header block is left untouched.
  EDIT_WRAP     0 (default): write each answer as one long line.
                N > 0: wrap answers at N columns and leave a trailing space on
                every wrapped line (format=flowed soft break), as vim does with
                `set tw=N fo+=w`.
  EDIT_SAVE     optional directory; the draft before/after editing is copied
                there as draft-before.txt / draft-after.txt.
"""
import os
import re
import shutil
import sys
import textwrap

LONG_DONE = ("Shipped the CSV importer and wrote the migration guide for the "
             "billing team, which took longer than planned because the old "
             "schema had three undocumented columns.")

ANSWERS = {
    "what did you get done?": LONG_DONE,
    "what's next?": "Review PR #42.",
    "anything blocking you?": "Waiting on staging credentials from ops.",
}

QUOTED = re.compile(r"^[ \t]*>")


def wrap(text):
    width = int(os.environ.get("EDIT_WRAP", "0") or 0)
    if width <= 0 or len(text) <= width:
        return [text]
    lines = textwrap.wrap(text, width=width - 1, break_long_words=False,
                          break_on_hyphens=False)
    return [l + " " for l in lines[:-1]] + [lines[-1]]


def question_of(line):
    """Return the answer key if `line` is a quoted question line."""
    if not QUOTED.match(line):
        return None
    text = re.sub(r"^[ \t>]*", "", line).strip()
    text = re.sub(r"^[*\-]\s*", "", text).strip().lower()
    return text if text in ANSWERS else None


def interleave(body):
    first_q = next((i for i, l in enumerate(body) if question_of(l)), None)
    if first_q is None:
        sys.exit("edit.py: no quoted questions found in draft")
    # Keep whatever the client put above the quote (attribution line and the
    # blank line after it); drop the quoted greeting/intro above the first
    # question, and everything quoted after the last question (closing line,
    # signature).
    first_quote = next(i for i, l in enumerate(body) if QUOTED.match(l))
    out = body[:first_quote]
    for line in body[first_q:]:
        key = question_of(line)
        if key:
            out.append(line)
            out.extend(wrap(ANSWERS[key]))
    return out


def strip_trailing_blank(lines):
    while lines and lines[-1].strip() == "":
        lines.pop()
    return lines


def top(body):
    answer = wrap("Done: " + LONG_DONE) + ["Next: Review PR #42.", "Blockers: none"]
    return answer + [""] + strip_trailing_blank(list(body))


def bottom(body):
    answer = wrap("Done: " + LONG_DONE) + [
        "Next: Review PR #42.", "Blockers: Waiting on staging credentials."]
    return strip_trailing_blank(list(body)) + [""] + answer


def main():
    path = sys.argv[-1]
    save = os.environ.get("EDIT_SAVE")
    if save:
        os.makedirs(save, exist_ok=True)
        shutil.copyfile(path, os.path.join(save, "draft-before.txt"))
    with open(path, encoding="utf-8", newline="") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # final newline
    head = []
    if os.environ.get("EDIT_HEADERS") == "1":
        cut = lines.index("") + 1 if "" in lines else len(lines)
        head, lines = lines[:cut], lines[cut:]
    mode = os.environ.get("EDIT_MODE", "interleaved")
    body = {"interleaved": interleave, "top": top, "bottom": bottom}[mode](lines)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("\n".join(head + body) + "\n")
    if save:
        shutil.copyfile(path, os.path.join(save, "draft-after.txt"))


if __name__ == "__main__":
    main()
