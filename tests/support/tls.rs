//! TLS for the `wss://` tests: a self-signed certificate for `localhost` made by rcgen, a rustls
//! server configuration with it and a client configuration that trusts exactly it, and a
//! blocking TLS WebSocket server (the blocking adapter over rustls' `StreamOwned`) to run on a
//! thread against the async clients.

#[cfg(feature = "blocking")]
use std::net::TcpListener;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
#[cfg(feature = "blocking")]
use rustls::{ServerConnection, StreamOwned};
#[cfg(feature = "blocking")]
use wsproto::blocking::{self, Options};
#[cfg(feature = "blocking")]
use wsproto::handshake::Accept;
#[cfg(feature = "blocking")]
use wsproto::{CloseOutcome, Info, SocketError};

fn ring() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A server configuration with a fresh self-signed certificate for `localhost`, and a client
/// configuration that trusts exactly that certificate.
pub fn tls_pair() -> (Arc<ServerConfig>, Arc<ClientConfig>) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("a certificate");
    let cert: CertificateDer<'static> = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der()));
    let server = ServerConfig::builder_with_provider(ring())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .expect("the server configuration");
    let mut roots = RootCertStore::empty();
    roots.add(cert).unwrap();
    let client = ClientConfig::builder_with_provider(ring())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    (Arc::new(server), Arc::new(client))
}

/// `wss://localhost:PORT/`.
pub fn wss_url(port: u16) -> String {
    format!("wss://localhost:{port}/")
}

/// The blocking TLS WebSocket server's socket.
#[cfg(feature = "blocking")]
pub type TlsServer = blocking::WebSocket<StreamOwned<ServerConnection, std::net::TcpStream>>;

/// Accepts one TCP connection and runs the WebSocket handshake over TLS on it (the TLS
/// handshake happens inside, on the first read).
#[cfg(feature = "blocking")]
pub fn accept_tls(
    listener: &TcpListener,
    config: Arc<ServerConfig>,
    options: &Options,
) -> Result<TlsServer, SocketError> {
    let (tcp, _) = listener.accept().unwrap();
    let tls = StreamOwned::new(ServerConnection::new(config).unwrap(), tcp);
    blocking::accept_with(tls, options, |_| Ok(Accept::new()))
}

/// Accepts one TLS connection and echoes every message until a clean close; returns how
/// many were echoed, the outcome and the info. Runs on a plain thread.
#[cfg(feature = "blocking")]
pub fn tls_echo_server(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    options: Options,
) -> (u64, Option<CloseOutcome>, Info) {
    let mut ws = accept_tls(&listener, config, &options).expect("the TLS server accepts");
    let mut echoed = 0;
    while let Some(message) = ws.recv().expect("the TLS server receives until a clean close") {
        ws.send(message).unwrap();
        echoed += 1;
    }
    (echoed, ws.close_outcome().cloned(), ws.info().clone())
}
