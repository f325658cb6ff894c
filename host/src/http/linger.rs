//! Lingering close: when the server ends a connection, it shuts down its write half and
//! then reads and discards what the client still sends, for a bounded time, before the
//! socket is closed.
//!
//! Why: a request refused on its head alone (a bad signature, a missing bucket, an XML
//! body over its cap) is answered without reading its body, and the connection cannot
//! be reused, so it ends. Closing a socket with unread bytes in its receive queue makes
//! the kernel send a reset instead of a FIN: the client, still sending its body, fails
//! with a broken pipe, and the reset can discard an error it has not read yet. Clients
//! that send the whole body before reading (Python's `http.client`, so boto3 without
//! `Expect: 100-continue`) then see a connection error instead of the S3 error. Reading
//! the rest lets the client finish, read the error and close. nginx does the same
//! (`lingering_close`).
//!
//! Bounds keep a closing connection from holding its slot. A client that sends nothing
//! for [`LINGER_SILENCE`] is let go: an idle keep-alive client (as at shutdown) has
//! nothing to send, while one cut off mid-body has bytes queued already. A client seen
//! sending may pause for up to [`LINGER_GAP`] (a lost packet's retransmission, a busy
//! client). After [`LINGER_LIMIT`] the socket closes regardless (a client that never
//! stops sending).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// Longest a closing connection keeps reading what its client still sends. Long enough
/// for a client on a fast network to finish a body of tens of megabytes; a body the
/// client has not finished by then is cut off with a reset, as without lingering.
pub const LINGER_LIMIT: Duration = Duration::from_secs(5);

/// Longest a closing connection waits for the first byte from its client.
pub const LINGER_SILENCE: Duration = Duration::from_millis(500);

/// Longest pause between bytes of a client seen sending while its connection closes.
pub const LINGER_GAP: Duration = Duration::from_secs(2);

/// Size of the buffer the discarded bytes are read into.
const DISCARD_BUF: usize = 16 * 1024;

/// A connection's stream whose shutdown lingers (see the module doc). Reads and writes
/// pass through unchanged.
#[derive(Debug)]
pub struct Lingering<S> {
    inner: S,
    bounds: LingerBounds,
    state: State,
}

/// How long a closing connection lingers (see the module doc).
#[derive(Debug, Clone, Copy)]
pub struct LingerBounds {
    /// Longest wait for the client's first byte.
    pub silence: Duration,
    /// Longest pause between bytes once the client is seen sending.
    pub gap: Duration,
    /// Longest linger in all.
    pub limit: Duration,
}

/// The server's bounds: [`LINGER_SILENCE`], [`LINGER_GAP`], [`LINGER_LIMIT`].
pub const SERVER_LINGER: LingerBounds = LingerBounds {
    silence: LINGER_SILENCE,
    gap: LINGER_GAP,
    limit: LINGER_LIMIT,
};

#[derive(Debug)]
enum State {
    Open,
    /// The write half is shut down; reading and discarding until EOF, `until`, or
    /// `timer` going off while the client is silent (the silence bound, then the gap
    /// bound from each byte read; never past `until`).
    Draining {
        until: Instant,
        timer: Pin<Box<Sleep>>,
    },
    Closed,
}

impl<S> Lingering<S> {
    /// Wraps a freshly accepted stream whose shutdown lingers within `bounds`
    /// ([`SERVER_LINGER`] for the server's connections).
    pub fn new(inner: S, bounds: LingerBounds) -> Lingering<S> {
        Lingering {
            inner,
            bounds,
            state: State::Open,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Lingering<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Lingering<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    /// Shuts down the write half (the client sees the response end), then discards what
    /// the client sends until it closes, fails, stays silent past a bound, or the limit
    /// passes. Bytes waiting are read before any bound is checked, so a server too busy
    /// to read for a while does not cut off a client that kept sending. Errors while
    /// discarding end the linger, not the shutdown: the response is already out.
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            match &mut this.state {
                State::Open => {
                    ready!(Pin::new(&mut this.inner).poll_shutdown(cx))?;
                    let now = Instant::now();
                    let bounds = this.bounds;
                    this.state = State::Draining {
                        until: now + bounds.limit,
                        timer: Box::pin(tokio::time::sleep_until(
                            now + bounds.silence.min(bounds.limit),
                        )),
                    };
                }
                State::Draining { until, timer } => {
                    let mut discard = [0u8; DISCARD_BUF];
                    let mut buf = ReadBuf::new(&mut discard);
                    match Pin::new(&mut this.inner).poll_read(cx, &mut buf) {
                        Poll::Ready(Ok(())) if !buf.filled().is_empty() => {
                            let now = Instant::now();
                            if now >= *until {
                                this.state = State::Closed;
                            } else {
                                timer.as_mut().reset((now + this.bounds.gap).min(*until));
                            }
                        }
                        // EOF (the client closed after reading the response) or an error.
                        Poll::Ready(_) => this.state = State::Closed,
                        Poll::Pending => {
                            ready!(timer.as_mut().poll(cx));
                            this.state = State::Closed;
                        }
                    }
                }
                State::Closed => return Poll::Ready(Ok(())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    const SILENCE: Duration = Duration::from_millis(300);

    /// A connected pair: the server's end lingering within `limit` (silence bound
    /// [`SILENCE`], gap bound 30 s), and the client's.
    async fn pair(limit: Duration) -> (Lingering<TcpStream>, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let client = TcpStream::connect(addr).await.expect("connect");
        let (server, _) = listener.accept().await.expect("accept");
        let bounds = LingerBounds {
            silence: SILENCE,
            gap: Duration::from_secs(30),
            limit,
        };
        (Lingering::new(server, bounds), client)
    }

    /// The server answers and shuts down; the client sends two 8 MiB halves of a body
    /// (far more than the socket buffers hold: without the drain its writes fail),
    /// `pause` apart, then must read the whole answer.
    async fn answer_reaches_a_client_still_sending(pause: Duration) {
        let (mut server, mut client) = pair(Duration::from_secs(60)).await;
        server.write_all(b"answer").await.expect("write");
        let closing = tokio::spawn(async move { server.shutdown().await });
        let half = vec![b'x'; 8 << 20];
        client.write_all(&half).await.expect("the first half");
        tokio::time::sleep(pause).await;
        client.write_all(&half).await.expect("the second half");
        let mut answer = Vec::new();
        client.read_to_end(&mut answer).await.expect("read");
        assert_eq!(answer, b"answer");
        drop(client);
        closing.await.expect("join").expect("shutdown");
    }

    #[tokio::test]
    async fn shutdown_reads_what_the_client_still_sends_until_it_closes() {
        answer_reaches_a_client_still_sending(Duration::ZERO).await;
    }

    #[tokio::test]
    async fn a_client_seen_sending_may_pause_longer_than_the_silence_bound() {
        answer_reaches_a_client_still_sending(SILENCE * 3).await;
    }

    #[tokio::test]
    async fn shutdown_lets_go_of_a_silent_client_after_the_silence_bound() {
        let (mut server, _client) = pair(Duration::from_secs(60)).await;
        let began = std::time::Instant::now();
        server.shutdown().await.expect("shutdown");
        let took = began.elapsed();
        assert!(
            took >= SILENCE && took < Duration::from_secs(10),
            "{took:?}"
        );
    }

    #[tokio::test]
    async fn shutdown_gives_up_on_a_client_that_never_stops_sending() {
        let (mut server, mut client) = pair(Duration::from_secs(1)).await;
        let sending = tokio::spawn(async move {
            let piece = [b'x'; 1024];
            while client.write_all(&piece).await.is_ok() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
        let began = std::time::Instant::now();
        server.shutdown().await.expect("shutdown");
        let took = began.elapsed();
        assert!(
            took >= Duration::from_secs(1) && took < Duration::from_secs(10),
            "{took:?}"
        );
        drop(server);
        sending
            .await
            .expect("the client's writes fail once the server is gone");
    }
}
