//! Reactions: a reply to an update that is only "+1", "👍", "thanks", "🎉", … is counted as
//! a reaction (one of each per person), not stored as a comment.

/// What a reply may be, alone, to count as a reaction, and the reaction it counts as.
pub const REACTIONS: &[(&str, &str)] = &[
    ("+1", "👍"),
    ("👍", "👍"),
    ("👍🏻", "👍"),
    ("👍🏼", "👍"),
    ("👍🏽", "👍"),
    ("👍🏾", "👍"),
    ("👍🏿", "👍"),
    ("thanks", "🙏"),
    ("thank you", "🙏"),
    ("thx", "🙏"),
    ("🙏", "🙏"),
    ("🎉", "🎉"),
    ("congrats", "🎉"),
    ("❤️", "❤️"),
    ("❤", "❤️"),
];

/// The reaction `text` is, if it is nothing but one of [`REACTIONS`] (any case, spaces and a
/// final `!` or `.` aside).
pub fn reaction(text: &str) -> Option<&'static str> {
    let t = text
        .trim()
        .trim_end_matches(['!', '.', ' '])
        .trim()
        .to_lowercase();
    REACTIONS
        .iter()
        .find(|(word, _)| *word == t)
        .map(|(_, r)| *r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reaction_is_the_whole_reply() {
        assert_eq!(reaction("+1"), Some("👍"));
        assert_eq!(reaction(" 👍 "), Some("👍"));
        assert_eq!(reaction("Thanks!"), Some("🙏"));
        assert_eq!(reaction("🎉"), Some("🎉"));
        assert_eq!(reaction("thanks, I will look at it tomorrow"), None);
        assert_eq!(reaction("+1 on the plan, but the date?"), None);
    }
}
