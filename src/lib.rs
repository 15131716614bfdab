//! placeholder: crate docs written with the connection
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod close;
mod config;
mod error;
pub mod handshake;
pub mod mask;
mod rng;
pub mod utf8;

pub use close::{CloseCause, CloseCode, CloseOutcome, Initiator, MAX_REASON_LEN};
pub use config::{Config, Delivery, KeepAlive};
pub use error::{Error, SendError};
pub use rng::{Rng, RngSource};
