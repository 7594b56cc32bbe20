//! `GET /dashboard/events/stream`: the stored events as `text/event-stream`, one `data:` message
//! each, spaced out so a proxy that buffers instead of streaming shows in a test; then it ends.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Either;
use hyper::StatusCode;
use hyper::body::{Body, Frame};
use tokio::sync::mpsc;

use super::Response;
use crate::reply::query_param;
use crate::server::Shared;

/// Between two events, unless `?interval_ms=` says otherwise (capped to [`MAX_INTERVAL`]).
const INTERVAL: Duration = Duration::from_millis(200);
const MAX_INTERVAL: Duration = Duration::from_secs(5);
/// How long a stream without events stays open.
const EMPTY_HOLD: Duration = Duration::from_secs(2);

/// A body fed chunk by chunk; it ends when the feeding task is done.
pub struct EventStream {
    chunks: mpsc::Receiver<Bytes>,
}

impl Body for EventStream {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.get_mut().chunks.poll_recv(cx).map(|chunk| chunk.map(|data| Ok(Frame::data(data))))
    }
}

pub fn events(shared: &Shared, query: &str) -> Response {
    let interval = query_param(query, "interval_ms")
        .and_then(|ms| ms.parse().ok())
        .map_or(INTERVAL, Duration::from_millis)
        .min(MAX_INTERVAL);
    let events = shared.lock().events.clone();
    let (sender, chunks) = mpsc::channel(4);
    tokio::spawn(async move {
        if events.is_empty() {
            tokio::select! {
                () = tokio::time::sleep(EMPTY_HOLD) => {}
                () = sender.closed() => {}
            }
            return;
        }
        for (index, event) in events.iter().enumerate() {
            if index > 0 {
                tokio::select! {
                    () = tokio::time::sleep(interval) => {}
                    () = sender.closed() => return,
                }
            }
            // Compact JSON has no newline, so one `data:` line per event.
            if sender.send(Bytes::from(format!("data: {event}\n\n"))).await.is_err() {
                return;
            }
        }
    });
    let mut response = Response::new(Either::Right(EventStream { chunks }));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    for (name, value) in
        [("content-type", "text/event-stream"), ("cache-control", "no-cache"), ("x-content-type-options", "nosniff")]
    {
        headers.insert(name, hyper::header::HeaderValue::from_static(value));
    }
    response
}
