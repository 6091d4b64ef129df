//! Names in the order a reader expects: the Unicode root collation (ICU4X's collator with its
//! compiled data), so `Łukasz` sorts with the L names and `Émile` with the E names instead of
//! after `Zoë` as byte order has it; case and accents decide only between otherwise equal
//! names, and byte order last, so the order is total and stable.

use std::cmp::Ordering;
use std::sync::LazyLock;

static ROOT: LazyLock<Option<icu_collator::CollatorBorrowed<'static>>> =
    LazyLock::new(|| icu_collator::Collator::try_new(Default::default(), Default::default()).ok());

/// Compares two names by the root collation.
pub fn names(a: &str, b: &str) -> Ordering {
    match &*ROOT {
        Some(c) => c.compare(a, b).then_with(|| a.cmp(b)),
        None => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::names;

    #[test]
    fn names_sort_as_people_read_them() {
        let mut v = vec![
            "Zoë", "Łukasz", "émile", "Lars", "Ana", "Øystein", "Mia", "Élodie", "ana",
        ];
        v.sort_by(|a, b| names(a, b));
        assert_eq!(
            v,
            [
                "ana", "Ana", "Élodie", "émile", "Lars", "Łukasz", "Mia", "Øystein", "Zoë"
            ]
        );
    }
}
