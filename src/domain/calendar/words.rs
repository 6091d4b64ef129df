//! Time-off words matched against event titles.
//!
//! Matching is case-insensitive (Unicode lower case) on whole words or phrases: title and
//! word are both reduced to their letters and digits, runs of anything else becoming one
//! space, so `Out-of-Office`, `OOO:` and `PTO/sick` match `out of office`, `ooo` and `pto`,
//! while `Leaves` or `Pool` do not match `leave` or `ooo`. Words in scripts written without
//! spaces (Han, kana, Thai …) match anywhere in the title: `夏季休暇` contains `休暇`.

/// The default time-off words (English and the languages of the main markets).
pub const DEFAULT_AWAY_WORDS: &[&str] = &[
    "out of office",
    "ooo",
    "vacation",
    "holiday",
    "holidays",
    "pto",
    "sick",
    "parental leave",
    "leave",
    "urlaub",
    "congé",
    "conges",
    "congés",
    "vacaciones",
    "férias",
    "ferie",
    "ferien",
    "休暇",
    "有給",
    "verlof",
    "vakantie",
    "semester",
    "loma",
    "urlop",
    "dovolená",
    "отпуск",
    "假期",
];

/// A compiled list of time-off words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwayWords {
    /// Normalised words: `(" word ", spaced)`; unspaced words are matched without padding.
    words: Vec<(String, bool)>,
}

impl Default for AwayWords {
    fn default() -> Self {
        AwayWords::new(DEFAULT_AWAY_WORDS)
    }
}

impl AwayWords {
    /// Compiles `words` (blank ones are dropped).
    pub fn new<I, S>(words: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let words = words
            .into_iter()
            .filter_map(|w| {
                let n = normalise(w.as_ref());
                if n.is_empty() {
                    return None;
                }
                Some(if n.chars().any(is_unspaced) {
                    (n, false)
                } else {
                    (format!(" {n} "), true)
                })
            })
            .collect();
        AwayWords { words }
    }

    /// Whether `title` contains one of the words.
    pub fn matches(&self, title: &str) -> bool {
        if self.words.is_empty() {
            return false;
        }
        let padded = format!(" {} ", normalise(title));
        self.words.iter().any(|(w, _)| padded.contains(w.as_str()))
    }
}

/// Lower case; every run of non-alphanumeric characters becomes one space; trimmed.
fn normalise(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push(c);
        } else {
            pending_space = true;
        }
    }
    out
}

/// Characters of scripts written without spaces between words.
fn is_unspaced(c: char) -> bool {
    matches!(c as u32,
        0x0E00..=0x0EFF      // Thai, Lao
        | 0x1000..=0x109F    // Myanmar
        | 0x1780..=0x17FF    // Khmer
        | 0x3040..=0x30FF    // Hiragana, Katakana
        | 0x3400..=0x4DBF    // CJK Extension A
        | 0x4E00..=0x9FFF    // CJK Unified Ideographs
        | 0xF900..=0xFAFF    // CJK Compatibility Ideographs
        | 0x20000..=0x2FFFF  // CJK Extensions B–F
    )
}
