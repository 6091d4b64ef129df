//! DKIM signing of outgoing mail (`[mail.dkim]`), with the `mail-auth` crate on `ring` (the
//! same crypto provider as rustls here): RSA-SHA256 or Ed25519-SHA256, relaxed/relaxed, over
//! the headers that DMARC and the bulk-sender rules of Gmail and Yahoo look at. The signature
//! is computed over the exact bytes handed to the transport, at send time.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use mail_auth::common::crypto::DkimKey;
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::{Canonicalization, DkimSigner, Done};

use crate::config::Config;
pub use crate::config::load_dkim_key as load_key;

/// The headers every signature covers. A listed header a message lacks is still signed (as
/// absent), so nobody can add it later without breaking the signature.
pub const SIGNED_HEADERS: [&str; 7] = [
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
];

/// The TXT record to publish at `SELECTOR._domainkey.DOMAIN` for `key`: `v=DKIM1; k=rsa;
/// p=…` with the SubjectPublicKeyInfo (RFC 6376), or `k=ed25519; p=…` with the raw 32-byte
/// key (RFC 8463).
pub fn dns_record(key: &DkimKey) -> String {
    use base64::Engine;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    match key {
        DkimKey::Ed25519(k) => format!("v=DKIM1; k=ed25519; p={}", b64(&k.public_key())),
        DkimKey::Rsa(k) => format!("v=DKIM1; k=rsa; p={}", b64(&rsa_spki(&k.public_key()))),
    }
}

/// Wraps a PKCS#1 RSAPublicKey (what ring gives) in a SubjectPublicKeyInfo.
fn rsa_spki(pkcs1: &[u8]) -> Vec<u8> {
    fn der(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let n = body.len();
        if n < 0x80 {
            out.push(n as u8);
        } else {
            let bytes: Vec<u8> = n
                .to_be_bytes()
                .into_iter()
                .skip_while(|b| *b == 0)
                .collect();
            out.push(0x80 | bytes.len() as u8);
            out.extend(bytes);
        }
        out.extend_from_slice(body);
        out
    }
    // AlgorithmIdentifier { rsaEncryption (1.2.840.113549.1.1.1), NULL }
    const ALG: [u8; 15] = [
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let mut bits = vec![0u8];
    bits.extend_from_slice(pkcs1);
    let mut body = ALG.to_vec();
    body.extend(der(0x03, &bits));
    der(0x30, &body)
}

/// A configured signer, shared by every send.
#[derive(Clone)]
pub struct Signer(Arc<DkimSigner<DkimKey, Done>>);

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(**hidden**)")
    }
}

impl Signer {
    /// The signer of `[mail.dkim]`, or `None` when signing is off.
    pub fn from_config(cfg: &Config) -> anyhow::Result<Option<Signer>> {
        let d = &cfg.mail.dkim;
        if d.private_key_file.is_empty() {
            return Ok(None);
        }
        let key = load_key(Path::new(&d.private_key_file)).context("mail.dkim.private_key_file")?;
        let domain = if d.domain.is_empty() {
            cfg.mail.from.address.domain().to_string()
        } else {
            d.domain.clone()
        };
        Ok(Some(Signer::new(key, &domain, &d.selector)))
    }

    pub fn new(key: DkimKey, domain: &str, selector: &str) -> Signer {
        Signer(Arc::new(
            DkimSigner::from_key(key)
                .domain(domain)
                .selector(selector)
                .headers(SIGNED_HEADERS)
                .header_canonicalization(Canonicalization::Relaxed)
                .body_canonicalization(Canonicalization::Relaxed),
        ))
    }

    /// `raw` with a `DKIM-Signature` header in front.
    pub fn sign(&self, raw: &[u8]) -> anyhow::Result<Vec<u8>> {
        let sig = self
            .0
            .sign(raw)
            .map_err(|e| anyhow::anyhow!("DKIM signing failed: {e}"))?;
        let header = sig.to_header();
        let mut out = Vec::with_capacity(header.len() + raw.len());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(raw);
        Ok(out)
    }
}
