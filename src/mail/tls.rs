//! The TLS client set-up shared by IMAP and SMTP: rustls on ring, the public web roots plus an
//! optional private CA from a PEM file.

use std::sync::Arc;

use anyhow::Context;
use tokio_rustls::rustls;

/// A connector trusting the web roots and, when `ca_file` is not empty, the certificates in it.
pub fn connector(ca_file: &str) -> anyhow::Result<tokio_rustls::TlsConnector> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if !ca_file.is_empty() {
        let pem =
            std::fs::read(ca_file).with_context(|| format!("cannot read CA file {ca_file}"))?;
        for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
            roots
                .add(cert.context("bad certificate in CA file")?)
                .context("unusable CA certificate")?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS versions")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// `name` as the server name a certificate is checked against.
pub fn server_name(name: &str) -> anyhow::Result<rustls::pki_types::ServerName<'static>> {
    rustls::pki_types::ServerName::try_from(name.to_string())
        .with_context(|| format!("bad TLS server name {name:?}"))
}
