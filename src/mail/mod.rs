//! Mail in and out: building messages and sending them (SMTP or Maildir), reading replies
//! (IMAP or Maildir), and turning raw bytes into an inbound reply.

pub mod auth;
pub mod dkim;
pub mod extract;
pub mod flowed;
pub mod inbound;
pub mod ooo;
pub mod outbound;
pub mod parse;
pub mod smtp;
pub mod tls;

/// A new globally unique Message-ID (with angle brackets) in `domain`.
pub fn new_message_id(kind: &str, domain: &str) -> String {
    let r: u128 = rand::random();
    format!("<{kind}.{r:032x}@{domain}>")
}
