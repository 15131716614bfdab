//! `Stream` and `Sink` driven by hand through `poll_fn`, without futures-util, as a user of
//! only futures-core and futures-sink would.

use std::future::poll_fn;
use std::pin::Pin;

use futures_core::Stream;
use futures_sink::Sink;

/// The stream's next item.
pub async fn next<S: Stream + Unpin>(stream: &mut S) -> Option<S::Item> {
    poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx)).await
}

/// Waits until the sink is ready and hands it `item`, without flushing.
pub async fn feed<S: Sink<T> + Unpin, T>(sink: &mut S, item: T) -> Result<(), S::Error> {
    poll_fn(|cx| Pin::new(&mut *sink).poll_ready(cx)).await?;
    Pin::new(&mut *sink).start_send(item)
}

/// Flushes the sink.
pub async fn flush<S: Sink<T> + Unpin, T>(sink: &mut S) -> Result<(), S::Error> {
    poll_fn(|cx| Pin::new(&mut *sink).poll_flush(cx)).await
}

/// Closes the sink.
pub async fn close<S: Sink<T> + Unpin, T>(sink: &mut S) -> Result<(), S::Error> {
    poll_fn(|cx| Pin::new(&mut *sink).poll_close(cx)).await
}
