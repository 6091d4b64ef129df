//! Addresses as SMTP takes them without SMTPUTF8 (RFC 6531), which Tidings does not use: the
//! domain as IDNA A-labels (`bücher.example` → `xn--bcher-kva.example`, the same domain for
//! every server), and a local part that is ASCII already (no encoding of it exists; a member
//! address with another one is refused when the member is added).

use super::EmailAddress;

/// Why an address cannot be written into an envelope or a `To:` header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Undeliverable {
    #[error(
        "{0}: the part before the @ must be ASCII (Tidings sends mail without SMTPUTF8, so no \
         server would take it)"
    )]
    LocalPart(String),
    #[error("{0}: the domain is not a valid internationalized domain name")]
    Domain(String),
}

impl EmailAddress {
    /// This address as SMTP takes it: the local part as it is (it must be ASCII), the domain
    /// in IDNA A-labels.
    pub fn to_ascii(&self) -> Result<String, Undeliverable> {
        let local = self.local_part();
        if !local.is_ascii() {
            return Err(Undeliverable::LocalPart(self.0.clone()));
        }
        let domain = self.domain();
        if domain.is_ascii() {
            return Ok(self.0.clone());
        }
        let domain = idna::domain_to_ascii(domain)
            .ok()
            .filter(|d| !d.is_empty())
            .ok_or_else(|| Undeliverable::Domain(self.0.clone()))?;
        Ok(format!("{local}@{domain}"))
    }

    /// Whether mail can be sent to this address ([`EmailAddress::to_ascii`]).
    pub fn deliverable(&self) -> Result<(), Undeliverable> {
        self.to_ascii().map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> EmailAddress {
        EmailAddress::parse(s).unwrap()
    }

    #[test]
    fn domains_become_a_labels_and_local_parts_stay() {
        assert_eq!(
            a("ana@bücher.example").to_ascii().unwrap(),
            "ana@xn--bcher-kva.example"
        );
        assert_eq!(
            a("Ana@BÜCHER.example").to_ascii().unwrap(),
            "ana@xn--bcher-kva.example"
        );
        assert_eq!(a("bob@example.com").to_ascii().unwrap(), "bob@example.com");
        assert_eq!(
            a("x@例え.テスト").to_ascii().unwrap(),
            "x@xn--r8jz45g.xn--zckzah"
        );
    }

    #[test]
    fn a_non_ascii_local_part_is_refused_with_the_reason() {
        let e = a("jörg@example.com").to_ascii().unwrap_err();
        assert_eq!(e, Undeliverable::LocalPart("jörg@example.com".into()));
        assert!(e.to_string().contains("must be ASCII"), "{e}");
        assert!(e.to_string().contains("SMTPUTF8"), "{e}");
        assert!(a("jörg@bücher.example").deliverable().is_err());
    }
}
