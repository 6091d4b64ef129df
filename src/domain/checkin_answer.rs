//! Reading a check-in's scale answers (1 to 5: `4`, `4/5`, `4 of 5`, `★★★★`) and the team's
//! aggregate of them, shown only when at least [`MIN_SCALE_ANSWERS`] people answered so that
//! nobody's number can be told apart.

use serde::Serialize;

/// Fewer answers than this and the aggregate is not shown at all.
pub const MIN_SCALE_ANSWERS: usize = 3;

/// A scale answer, 1 to 5, read from the start of an answer: `4`, `4/5`, `4 / 5`, `4 of 5`,
/// `4 out of 5`, `★★★★` (or `★★★★☆`), then anything (`4 — a good week`). None for anything
/// else, including 0 and numbers above 5.
pub fn parse_scale(answer: &str) -> Option<u8> {
    let s = answer.trim_start();
    let stars = s.chars().take_while(|c| matches!(c, '★' | '⭐')).count();
    if stars > 0 {
        return u8::try_from(stars).ok().filter(|n| (1..=5).contains(n));
    }
    let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
    let n: u8 = digits.parse().ok()?;
    if !(1..=5).contains(&n) {
        return None;
    }
    let rest = s[digits.len()..].trim_start();
    // "4/5", "4 of 5", "4 out of 5": the scale named must be 5.
    let of = rest
        .strip_prefix('/')
        .or_else(|| rest.strip_prefix("out of"))
        .or_else(|| rest.strip_prefix("of"));
    match of {
        Some(tail) => {
            let tail = tail.trim_start();
            let ok = tail.starts_with('5') && !tail[1..].starts_with(|c: char| c.is_ascii_digit());
            ok.then_some(n)
        }
        // "4." "4 -" "4" "4, busy": a number alone, not "45" or "4.5".
        None => {
            let next = rest.chars().next();
            let decimal =
                rest.starts_with('.') && rest[1..].starts_with(|c: char| c.is_ascii_digit());
            (!decimal && next.is_none_or(|c| !c.is_ascii_digit())).then_some(n)
        }
    }
}

/// A line that is nothing but a scale answer (`4`, `4/5`, `★★★★`, `4 of 5`): what a reply to a
/// check-in with one scale question holds without its label.
fn bare_scale(line: &str) -> Option<u8> {
    let l = line.trim().trim_end_matches(['.', '!']);
    let n = parse_scale(l)?;
    let rest = l
        .trim_start_matches(|c: char| c.is_ascii_digit() || matches!(c, '★' | '⭐' | '☆'))
        .trim()
        .trim_start_matches(['/', ' '])
        .trim_start_matches("out of")
        .trim_start_matches("of")
        .trim()
        .trim_start_matches('5');
    rest.trim().is_empty().then_some(n)
}

/// A reply to a check-in with its scale answers taken out: each one is counted for the team's
/// aggregate and never shown with its author's name. Returns the text to keep and the answers
/// as (question index, 1–5).
///
/// A line that starts with a scale answer right under a scale question's label (the question
/// quoted, as a reply under each question is kept) is that question's answer: the number is
/// taken, the words after it stay (`4 — a good week` keeps `a good week`), and the label goes
/// when nothing of the answer is left. When a check-in has exactly one scale question, a line
/// that is nothing but a scale answer, anywhere, is its answer.
pub fn take_scores(
    text: &str,
    questions: &[super::checkin::Question],
) -> (String, Vec<(usize, u8)>) {
    use super::checkin::QuestionKind;
    let scales: Vec<usize> = questions
        .iter()
        .enumerate()
        .filter(|(_, q)| q.kind == QuestionKind::Scale)
        .map(|(i, _)| i)
        .collect();
    if scales.is_empty() {
        return (text.to_string(), Vec::new());
    }
    let label_of = |line: &str| -> Option<usize> {
        let l = line
            .trim()
            .trim_start_matches('>')
            .trim()
            .trim_end_matches(':');
        questions
            .iter()
            .position(|q| q.text.trim_end_matches(':').eq_ignore_ascii_case(l))
    };
    let mut found: Vec<(usize, u8)> = Vec::new();
    let mut kept: Vec<String> = Vec::new();
    let mut under: Option<(usize, usize)> = None; // (question, index of its label in `kept`)
    for line in text.lines() {
        if let Some(q) = label_of(line) {
            under = Some((q, kept.len()));
            kept.push(line.to_string());
            continue;
        }
        let answered = |q: usize, f: &Vec<(usize, u8)>| f.iter().any(|(i, _)| *i == q);
        if let Some((q, label)) = under.filter(|(q, _)| scales.contains(q) && !answered(*q, &found))
            && let Some(n) = parse_scale(line)
        {
            found.push((q, n));
            let rest = after_scale(line);
            if rest.is_empty() {
                // The label alone says nothing: it goes with its number.
                if label + 1 == kept.len() {
                    kept.pop();
                }
            } else {
                kept.push(rest.to_string());
            }
            continue;
        }
        if let [only] = scales.as_slice()
            && !answered(*only, &found)
            && let Some(n) = bare_scale(line)
        {
            found.push((*only, n));
            continue;
        }
        if !line.trim().is_empty() {
            under = under.filter(|(q, _)| !scales.contains(q));
        }
        kept.push(line.to_string());
    }
    (kept.join("\n").trim().to_string(), found)
}

/// What follows a scale answer at the start of `line`: `4 — a good week` → `a good week`.
fn after_scale(line: &str) -> &str {
    let l = line.trim_start();
    let l = l.trim_start_matches(|c: char| c.is_ascii_digit() || matches!(c, '★' | '⭐' | '☆'));
    let l = l.trim_start();
    let l = l
        .strip_prefix('/')
        .or_else(|| l.strip_prefix("out of"))
        .or_else(|| l.strip_prefix("of"))
        .map_or(l, |t| t.trim_start().trim_start_matches('5'));
    l.trim_start_matches(|c: char| {
        c.is_whitespace() || matches!(c, '-' | '—' | '–' | ',' | '.' | ':' | ';')
    })
    .trim_end()
}

/// A scale question's answers as the team sees them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScaleSummary {
    pub answers: usize,
    /// Mean, to one decimal.
    pub mean: f64,
    /// How many answered 1, 2, 3, 4 and 5.
    pub counts: [usize; 5],
}

/// The aggregate of `answers`, or None when fewer than [`MIN_SCALE_ANSWERS`] people answered.
pub fn scale_summary(answers: &[u8]) -> Option<ScaleSummary> {
    let valid: Vec<u8> = answers
        .iter()
        .copied()
        .filter(|n| (1..=5).contains(n))
        .collect();
    if valid.len() < MIN_SCALE_ANSWERS {
        return None;
    }
    let mut counts = [0usize; 5];
    for n in &valid {
        counts[usize::from(*n - 1)] += 1;
    }
    let sum: f64 = valid.iter().map(|n| f64::from(*n)).sum();
    let mean = (sum / valid.len() as f64 * 10.0).round() / 10.0;
    Some(ScaleSummary {
        answers: valid.len(),
        mean,
        counts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_answers_are_read_in_the_forms_people_write() {
        for (s, want) in [
            ("4", Some(4)),
            ("4/5", Some(4)),
            ("4 / 5", Some(4)),
            ("3 of 5", Some(3)),
            ("2 out of 5 — rough week", Some(2)),
            ("★★★★", Some(4)),
            ("★★★☆☆", Some(3)),
            ("5. Great", Some(5)),
            ("1, busy", Some(1)),
            ("0", None),
            ("6", None),
            ("45", None),
            ("4.5", None),
            ("4/10", None),
            ("four", None),
            ("", None),
        ] {
            assert_eq!(parse_scale(s), want, "{s:?}");
        }
    }

    #[test]
    fn scale_answers_are_taken_out_of_the_text() {
        use crate::domain::checkin::Question;
        let qs: Vec<Question> = ["What went well?", "scale: How was your week?"]
            .iter()
            .map(|q| Question::parse(q).expect("question"))
            .collect();
        // One scale question: a bare number anywhere is its answer.
        let (text, found) = take_scores("Shipped the importer.\n\n4/5", &qs);
        assert_eq!(
            (text.as_str(), found),
            ("Shipped the importer.", vec![(1, 4)])
        );
        // Under its label: the number goes, the words stay, the label goes when empty.
        let (text, found) = take_scores(
            "What went well?\nThe release.\n\nHow was your week?\n3 — long but good",
            &qs,
        );
        assert_eq!(found, vec![(1, 3)]);
        assert_eq!(
            text,
            "What went well?\nThe release.\n\nHow was your week?\nlong but good"
        );
        let (text, found) = take_scores("How was your week?\n★★★★★\nThe demo went well.", &qs);
        assert_eq!(found, vec![(1, 5)]);
        assert_eq!(text, "The demo went well.");
        // Numbers in prose stay prose; only the first answer counts.
        let (text, found) = take_scores("We fixed 4 bugs.\n2\n5", &qs);
        assert_eq!(found, vec![(1, 2)]);
        assert_eq!(text, "We fixed 4 bugs.\n5");
        // No scale question: nothing is taken.
        let plain = [Question::parse("What went well?").expect("q")];
        assert_eq!(take_scores("4", &plain), ("4".to_string(), vec![]));
    }

    #[test]
    fn the_aggregate_shows_at_three_answers_and_hides_at_two() {
        assert_eq!(scale_summary(&[4, 5]), None);
        let s = scale_summary(&[4, 5, 2]).expect("three answers");
        assert_eq!(s.answers, 3);
        assert_eq!(s.mean, 3.7);
        assert_eq!(s.counts, [0, 1, 0, 1, 1]);
        // Out-of-range values do not count towards the three.
        assert_eq!(scale_summary(&[4, 5, 0, 9]), None);
    }
}
