//! placeholder: crate docs written with the connection
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod close;
mod config;
mod connection;
mod error;
pub mod frame;
pub mod handshake;
pub mod mask;
mod message;
mod outgoing;
mod receiver;
mod rng;
mod sender;
mod timers;
pub mod utf8;

pub use close::{CloseCause, CloseCode, CloseOutcome, Initiator, MAX_REASON_LEN};
pub use config::{Config, Delivery, KeepAlive};
pub use connection::{Connection, Role, State, Stats};
pub use error::{Error, SendError};
pub use message::{DataKind, Event, Fragment, Message, Utf8Bytes};
pub use outgoing::Outgoing;
pub use rng::{Rng, RngSource};
