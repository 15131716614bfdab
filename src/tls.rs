//! TLS for `wss://` (feature `rustls`): the client connection every adapter starts, with the
//! ring provider and the webpki roots unless the caller supplies a configuration.

use std::io;
use std::sync::{Arc, OnceLock};

use crate::handshake::HandshakeError;
use crate::options::Options;
use crate::socket_error::SocketError;

/// A rustls client connection to `host`, with [`Options::tls`] or the default configuration.
pub(crate) fn client_connection(
    host: &str,
    options: &Options,
) -> Result<rustls::ClientConnection, SocketError> {
    let config = options.tls.clone().unwrap_or_else(default_client_config);
    let name = rustls::pki_types::ServerName::try_from(host.to_owned()).map_err(|_| {
        SocketError::Handshake(HandshakeError::InvalidUrl("host is not a valid TLS server name"))
    })?;
    Ok(rustls::ClientConnection::new(config, name).map_err(io::Error::other)?)
}

/// A client configuration that trusts the webpki root certificates, built once.
fn default_client_config() -> Arc<rustls::ClientConfig> {
    static DEFAULT: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    DEFAULT
        .get_or_init(|| {
            let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
            let config = rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .map(|builder| builder.with_root_certificates(roots).with_no_client_auth())
            .unwrap_or_else(|_| unreachable_config());
            Arc::new(config)
        })
        .clone()
}

/// The ring provider supports the default protocol versions; this is never reached.
fn unreachable_config() -> rustls::ClientConfig {
    unreachable!("the ring provider supports TLS 1.2 and 1.3")
}
