//! A body that counts the bytes passing through it (and, for a model response, reads the
//! tokens it reports) and calls back once when it ends, or is dropped half-way (the agent hung
//! up, the run ended).

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use crate::BoxError;
use crate::usage::UsageScanner;

type Done = Box<dyn FnOnce(u64, Option<u64>) + Send>;

pub struct Metered<B> {
    inner: B,
    bytes: u64,
    scanner: Option<UsageScanner>,
    done: Option<Done>,
}

impl<B> std::fmt::Debug for Metered<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metered")
            .field("bytes", &self.bytes)
            .finish_non_exhaustive()
    }
}

impl<B> Metered<B> {
    /// `done(bytes, tokens)` runs once at the end; tokens are read only when `scan_usage`.
    pub fn new(
        inner: B,
        scan_usage: bool,
        done: impl FnOnce(u64, Option<u64>) + Send + 'static,
    ) -> Metered<B> {
        Metered {
            inner,
            bytes: 0,
            scanner: scan_usage.then(UsageScanner::default),
            done: Some(Box::new(done)),
        }
    }

    fn finish(&mut self) {
        if let Some(done) = self.done.take() {
            let tokens = self.scanner.take().and_then(UsageScanner::finish);
            done(self.bytes, tokens);
        }
    }
}

impl<B> Drop for Metered<B> {
    fn drop(&mut self) {
        self.finish();
    }
}

impl<B> Body for Metered<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    this.bytes += data.len() as u64;
                    if let Some(scanner) = this.scanner.as_mut() {
                        scanner.feed(data);
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Some(Err(e)) => {
                this.finish();
                Poll::Ready(Some(Err(e.into())))
            }
            None => {
                this.finish();
                Poll::Ready(None)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
