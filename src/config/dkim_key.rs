//! The DKIM private key that `mail.dkim.private_key_file` names, read and checked when the
//! configuration is (a key that does not load is a config error naming that key).

use std::path::Path;

use anyhow::Context;
use mail_auth::common::crypto::{DkimKey, Ed25519Key, RsaKey, Sha256};
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;

/// Reads a PEM private key: Ed25519 (PKCS#8, as `openssl genpkey -algorithm ed25519`
/// writes it) or RSA (PKCS#1 or PKCS#8; ring accepts 2048 to 4096 bits).
pub fn load_dkim_key(path: &Path) -> anyhow::Result<DkimKey> {
    let pem = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let der = PrivateKeyDer::from_pem_slice(&pem).map_err(|e| {
        anyhow::anyhow!(
            "{} holds no unencrypted PEM private key ({e:?}); expected \"BEGIN PRIVATE KEY\" or \"BEGIN RSA PRIVATE KEY\"",
            path.display()
        )
    })?;
    if let PrivateKeyDer::Pkcs8(p8) = &der
        && let Ok(k) = Ed25519Key::from_pkcs8_maybe_unchecked_der(p8.secret_pkcs8_der())
    {
        return Ok(DkimKey::Ed25519(k));
    }
    let rsa = RsaKey::<Sha256>::from_key_der(der).map_err(|e| {
        anyhow::anyhow!(
            "{} is neither an Ed25519 key nor an RSA key of 2048 to 4096 bits ({e})",
            path.display()
        )
    })?;
    Ok(DkimKey::Rsa(rsa))
}
