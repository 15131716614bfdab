//! TLS defaults for `wss://` (feature `rustls`): the ring provider and the webpki roots.

use std::sync::Arc;

/// A client configuration that trusts the webpki root certificates.
pub(crate) fn default_client_config() -> rustls::ClientConfig {
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map(|builder| builder.with_root_certificates(roots).with_no_client_auth())
        .unwrap_or_else(|_| unreachable_config())
}

/// The ring provider supports the default protocol versions; this is never reached.
fn unreachable_config() -> rustls::ClientConfig {
    unreachable!("the ring provider supports TLS 1.2 and 1.3")
}
