//! Mail in and out: building messages and sending them (SMTP or Maildir), reading replies
//! (IMAP or Maildir), and turning raw bytes into an inbound reply.

pub mod dkim;
pub mod extract;
pub mod inbound;
pub mod ooo;
pub mod outbound;
pub mod parse;

use crate::domain::{EmailAddress, clean_name};

/// Parses `Name <addr>` or a bare `addr` into a display name and an address.
pub fn parse_mailbox(s: &str) -> Option<(Option<String>, EmailAddress)> {
    let s = s.trim();
    if let (Some(lt), true) = (s.rfind('<'), s.ends_with('>')) {
        let addr = EmailAddress::parse(&s[lt + 1..s.len() - 1]).ok()?;
        let name = clean_name(s[..lt].trim().trim_matches('"'));
        return Some(((!name.is_empty()).then_some(name), addr));
    }
    EmailAddress::parse(s).ok().map(|a| (None, a))
}

/// A new globally unique Message-ID (with angle brackets) in `domain`.
pub fn new_message_id(kind: &str, domain: &str) -> String {
    let r: u128 = rand::random();
    format!("<{kind}.{r:032x}@{domain}>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailboxes_parse_with_and_without_names() {
        let (n, a) = parse_mailbox("Tidings <tidings@example.com>").unwrap();
        assert_eq!(
            (n.as_deref(), a.as_str()),
            (Some("Tidings"), "tidings@example.com")
        );
        let (n, a) = parse_mailbox("bob@example.com").unwrap();
        assert_eq!((n, a.as_str()), (None, "bob@example.com"));
        assert!(parse_mailbox("Nobody <>").is_none());
    }
}
