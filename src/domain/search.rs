//! A search of the team log as people type it — words (all required), `"phrases"`, `-word`
//! excluded — read once: control characters dropped and its size bounded, so nothing reaches
//! a full-text index (SQLite FTS5, PostgreSQL `tsquery`) that it cannot take. And the passages
//! of an update that match it, with the matched words as positions in the text, so
//! highlighting never depends on marker characters an update might hold.

use std::ops::Range;

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// The longest search read, in characters (as typed, before control characters are dropped).
pub const MAX_CHARS: usize = 500;
/// The most words and phrases a search may require.
pub const MAX_TERMS: usize = 32;
/// The most words and phrases a search may exclude (`-word`).
pub const MAX_EXCLUDED: usize = 16;

/// Why a search is not read; each names the bound it is beyond.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SearchError {
    #[error("the search is {0} characters long; at most {MAX_CHARS} are read")]
    TooLong(usize),
    #[error("the search has {0} words or phrases; at most {MAX_TERMS} are read")]
    TooManyTerms(usize),
    #[error("the search excludes {0} words or phrases; at most {MAX_EXCLUDED} can be excluded")]
    TooManyExclusions(usize),
}

/// A search, read: its text without control characters, and its terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    text: String,
    required: Vec<String>,
    excluded: Vec<String>,
}

impl Search {
    /// Reads a search as typed. Control characters are dropped (a tab or line break is a
    /// space); `None` when nothing but spaces is left.
    pub fn parse(typed: &str) -> Result<Option<Search>, SearchError> {
        let chars = typed.chars().count();
        if chars > MAX_CHARS {
            return Err(SearchError::TooLong(chars));
        }
        let text: String = typed
            .chars()
            .filter_map(|c| match c {
                c if c.is_control() && c.is_whitespace() => Some(' '),
                c if c.is_control() => None,
                c => Some(c),
            })
            .collect();
        let text = text.trim().to_string();
        if text.is_empty() {
            return Ok(None);
        }
        let (required, excluded) = terms(&text);
        if required.len() > MAX_TERMS {
            return Err(SearchError::TooManyTerms(required.len()));
        }
        if excluded.len() > MAX_EXCLUDED {
            return Err(SearchError::TooManyExclusions(excluded.len()));
        }
        Ok(Some(Search {
            text,
            required,
            excluded,
        }))
    }

    /// The search without control characters.
    pub fn text(&self) -> &str {
        &self.text
    }
    /// The words and phrases that must all occur.
    pub fn required(&self) -> &[String] {
        &self.required
    }
    /// The words and phrases that must not occur.
    pub fn excluded(&self) -> &[String] {
        &self.excluded
    }
}

/// The words and phrases of a search: those required, those excluded (`-word`).
fn terms(text: &str) -> (Vec<String>, Vec<String>) {
    let (mut with, mut without) = (Vec::new(), Vec::new());
    let mut rest = text.trim();
    while !rest.is_empty() {
        let (negated, r) = match rest.strip_prefix('-') {
            Some(r) if !r.starts_with(char::is_whitespace) && !r.is_empty() => (true, r),
            _ => (false, rest),
        };
        let (term, r) = if let Some(r) = r.strip_prefix('"') {
            match r.find('"') {
                Some(end) => (&r[..end], &r[end + 1..]),
                None => (r, ""),
            }
        } else {
            match r.find(char::is_whitespace) {
                Some(end) => (&r[..end], &r[end..]),
                None => (r, ""),
            }
        };
        // Only what a tokenizer keeps counts: a term of punctuation alone matches nothing.
        if term.chars().any(char::is_alphanumeric) {
            if negated {
                without.push(term.to_string());
            } else {
                with.push(term.to_string());
            }
        }
        rest = r.trim_start();
    }
    (with, without)
}

/// Passages of an update's text, and where in them the words of a search are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snippet {
    pub text: String,
    /// Byte ranges of `text` that matched: in order, apart, on character boundaries.
    pub marks: Vec<Range<usize>>,
}

impl Snippet {
    /// The pieces of the text in order, each with whether it matched.
    pub fn pieces(&self) -> Vec<(&str, bool)> {
        let mut out = Vec::with_capacity(self.marks.len() * 2 + 1);
        let mut at = 0;
        for m in &self.marks {
            if m.start > at {
                out.push((&self.text[at..m.start], false));
            }
            out.push((&self.text[m.clone()], true));
            at = m.end;
        }
        if at < self.text.len() {
            out.push((&self.text[at..], false));
        }
        out
    }

    /// Appends `s` (without control characters: text stored before they were dropped may
    /// hold them), marked or not.
    fn push(&mut self, s: &str, marked: bool) {
        let start = self.text.len();
        self.text.push_str(&super::text::without_controls(s));
        if marked && !s.is_empty() {
            self.marks.push(start..self.text.len());
        }
    }
}

/// Words around a match in one passage, and how many passages at most.
const PASSAGE_WORDS: usize = 18;
const PASSAGES: usize = 2;
/// Words shown before the first match of a passage.
const LEAD: usize = 4;

/// The passages of `body` where `search`'s required words are (two at most, 18 words each,
/// joined by ` … `), those words marked. Words are compared as the indexes read them: case
/// and diacritics folded. Text with no match (an index that folds otherwise) gives its start,
/// unmarked.
pub fn snippet(body: &str, search: &Search) -> Snippet {
    let words = words(body);
    let merged = matches(&words, search);
    let mut windows: Vec<Range<usize>> = Vec::new();
    for h in &merged {
        if windows.len() == PASSAGES {
            break;
        }
        if windows.last().is_some_and(|w| h.start < w.end) {
            continue;
        }
        let start = h.start.saturating_sub(LEAD);
        let start = windows.last().map_or(start, |w| start.max(w.end));
        windows.push(start..(start + PASSAGE_WORDS).min(words.len()));
    }
    if windows.is_empty() && !words.is_empty() {
        windows.push(0..PASSAGE_WORDS.min(words.len()));
    }
    let mut out = Snippet::default();
    let mut prev_end: Option<usize> = None;
    for w in &windows {
        let from = words[w.start].0.start;
        let to = words[w.end - 1].0.end;
        match prev_end {
            None if w.start > 0 => out.push("… ", false),
            Some(_) => out.push(" … ", false),
            None => {}
        }
        // The passage's text, its matched words marked (clipped to the passage).
        let mut at = from;
        for m in merged.iter().filter(|m| m.start < w.end && m.end > w.start) {
            let ms = words[m.start.max(w.start)].0.start;
            let me = words[(m.end.min(w.end)) - 1].0.end;
            out.push(&body[at..ms], false);
            out.push(&body[ms..me], true);
            at = me;
        }
        out.push(&body[at..to], false);
        prev_end = Some(w.end);
    }
    if prev_end.is_some_and(|e| e < words.len()) {
        out.push(" …", false);
    }
    out
}

/// `text` whole, every match of `search`'s required words marked (the log's entries of a
/// search: the words found shown where they are).
pub fn marked(text: &str, search: &Search) -> Snippet {
    let words = words(text);
    let mut out = Snippet::default();
    let mut at = 0;
    for m in matches(&words, search) {
        let (ms, me) = (words[m.start].0.start, words[m.end - 1].0.end);
        out.push(&text[at..ms], false);
        out.push(&text[ms..me], true);
        at = me;
    }
    out.push(&text[at..], false);
    out
}

/// Where `search`'s required words and phrases are among `words`: word index ranges, in
/// order, overlapping ones (a word and a phrase holding it) as one.
fn matches(words: &[(Range<usize>, String)], search: &Search) -> Vec<Range<usize>> {
    let mut hits: Vec<Range<usize>> = Vec::new(); // word index ranges
    for term in search.required() {
        let t: Vec<String> = words_of(term);
        if t.is_empty() || t.len() > words.len() {
            continue;
        }
        for i in 0..=(words.len() - t.len()) {
            if words[i..i + t.len()].iter().zip(&t).all(|(w, t)| w.1 == *t) {
                hits.push(i..i + t.len());
            }
        }
    }
    hits.sort_by_key(|h| (h.start, h.end));
    // Overlapping matches (a word and a phrase holding it) as one.
    let mut merged: Vec<Range<usize>> = Vec::new();
    for h in hits {
        match merged.last_mut() {
            Some(last) if h.start < last.end => last.end = last.end.max(h.end),
            _ => merged.push(h),
        }
    }
    merged
}

/// The words of `text` (runs of letters, digits and combining marks), each with its byte
/// range and folded form.
fn words(text: &str) -> Vec<(Range<usize>, String)> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        let in_word = c.is_alphanumeric() || is_combining_mark(c);
        match (in_word, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s..i, fold(&text[s..i])));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s..text.len(), fold(&text[s..])));
    }
    out
}

fn words_of(term: &str) -> Vec<String> {
    words(term).into_iter().map(|w| w.1).collect()
}

/// A word as the indexes compare it: lower case, without diacritics.
fn fold(word: &str) -> String {
    word.nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(q: &str) -> Search {
        Search::parse(q).unwrap().unwrap()
    }

    fn marked(sn: &Snippet) -> String {
        sn.pieces()
            .iter()
            .map(|(t, m)| if *m { format!("[{t}]") } else { t.to_string() })
            .collect()
    }

    #[test]
    fn control_characters_are_dropped_and_blank_is_nothing() {
        let q = s("imp\0orter\tretry\u{1b}[2J");
        assert_eq!(q.text(), "importer retry[2J");
        assert_eq!(q.required(), ["importer", "retry[2J"]);
        assert_eq!(Search::parse(" \0\u{7} ").unwrap(), None);
        assert_eq!(Search::parse("").unwrap(), None);
    }

    #[test]
    fn searches_beyond_a_bound_say_which() {
        let long = "a".repeat(MAX_CHARS + 1);
        assert_eq!(
            Search::parse(&long),
            Err(SearchError::TooLong(MAX_CHARS + 1))
        );
        assert!(Search::parse(&"a".repeat(MAX_CHARS)).is_ok());
        let many = vec!["w"; MAX_TERMS + 1].join(" ");
        assert_eq!(
            Search::parse(&many),
            Err(SearchError::TooManyTerms(MAX_TERMS + 1))
        );
        let excl = format!("x {}", vec!["-w"; MAX_EXCLUDED + 1].join(" "));
        let e = Search::parse(&excl).unwrap_err();
        assert_eq!(e, SearchError::TooManyExclusions(MAX_EXCLUDED + 1));
        assert!(e.to_string().contains("at most 16"), "{e}");
        // Punctuation alone is no term, so it counts against no bound.
        assert!(Search::parse(&vec!["-"; 100].join(" ")).is_ok());
    }

    #[test]
    fn phrases_and_exclusions_are_terms() {
        let q = s(r#""staging database" -vpn NEAR( "unclosed"#);
        assert_eq!(q.required(), ["staging database", "NEAR(", "unclosed"]);
        assert_eq!(q.excluded(), ["vpn"]);
    }

    #[test]
    fn a_snippet_marks_the_matched_words_by_position() {
        let body = "Done: the Importer retries now.\nNext: importer docs";
        let sn = snippet(body, &s("importer"));
        assert_eq!(
            marked(&sn),
            "Done: the [Importer] retries now.\nNext: [importer] docs"
        );
        // A phrase is marked whole; diacritics and case are folded.
        let sn = snippet(
            "we met the Staging  Database team",
            &s("\"staging database\""),
        );
        assert_eq!(marked(&sn), "we met the [Staging  Database] team");
        let sn = snippet("Résumé écrit", &s("resume"));
        assert_eq!(marked(&sn), "[Résumé] écrit");
    }

    #[test]
    fn marker_characters_in_the_text_are_only_text() {
        let body = "a \u{2}importer\u{3} b \u{3}\u{2} c importer";
        let sn = snippet(body, &s("importer"));
        assert_eq!(sn.marks.len(), 2);
        for m in &sn.marks {
            assert_eq!(&sn.text[m.clone()], "importer");
        }
        assert_eq!(sn.text, "a importer b  c importer");
    }

    #[test]
    fn long_text_gives_two_passages_around_matches() {
        let filler = |n: usize| vec!["filler"; n].join(" ");
        let body = format!("{} alpha {} beta {}", filler(30), filler(30), filler(30));
        let sn = snippet(&body, &s("alpha beta"));
        let m = marked(&sn);
        assert!(m.starts_with("… filler"), "{m}");
        assert!(m.contains("[alpha]") && m.contains("[beta]"), "{m}");
        assert!(m.contains(" … ") && m.ends_with(" …"), "{m}");
        assert!(
            sn.text.split_whitespace().count() <= 2 * PASSAGE_WORDS + 4,
            "{m}"
        );
        // No match at all: the start of the text, unmarked.
        let sn = snippet(&body, &s("gamma"));
        assert!(sn.marks.is_empty() && sn.text.starts_with("filler"));
    }
}
