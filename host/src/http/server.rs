//! The accept loop: a connection cap, optional TLS, HTTP/1.1 with a header-read timeout,
//! and graceful shutdown that lets in-flight requests finish.
//!
//! Every connection's stream lingers on close ([`super::linger`]), so a client still
//! sending a refused request's body reads its error instead of a reset.
//!
//! The TLS handshake happens in each connection's own task, bounded by the header-read
//! timeout: in the accept loop, one slow or silent client would stall every other one.

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use super::body::ResponseBody;
use super::linger::{Lingering, SERVER_LINGER};
use super::tls::Tls;
use crate::state::AppState;

/// Largest header section hyper buffers before answering 431 itself; the S3-level cap
/// (`max_header_bytes`, answered with S3 XML) is checked below this in the service.
const HYPER_MAX_BUF: usize = 64 << 10;

/// Header count hyper accepts (its default is 100). Set well above what the byte cap allows
/// of real headers, so the byte cap, answered with S3 XML, is the limit clients meet.
const HYPER_MAX_HEADERS: usize = 1000;

/// Serves `handle` (a door, such as `front::s3_service::handle`) on `listener` until
/// `shutdown` resolves, then drains in-flight requests for up to the configured grace
/// period. `state` gives the limits: connections, header timeout, grace. With `tls`, every
/// connection is HTTPS (a client that does not complete its handshake within the
/// header-read timeout is dropped).
pub async fn serve<H, F>(
    listener: TcpListener,
    state: Arc<AppState>,
    tls: Option<Tls>,
    handle: H,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()>
where
    H: Fn(Request<Incoming>, SocketAddr) -> F + Clone + Send + 'static,
    F: Future<Output = Response<ResponseBody>> + Send + 'static,
{
    let permits = Arc::new(Semaphore::new(state.config.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(state.config.header_read_timeout)
        .max_buf_size(HYPER_MAX_BUF)
        .max_headers(HYPER_MAX_HEADERS)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Usually EMFILE or a reset before accept; back off briefly and go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let handle = handle.clone();
        let svc = service_fn(move |req| {
            let handled = handle(req, remote);
            async move { Ok::<_, std::convert::Infallible>(handled.await) }
        });
        // Registered now, so shutdown waits for (and then ends) a connection still in its
        // handshake as well as the others.
        let watcher = graceful.watcher();
        let http = http.clone();
        let tls = tls.clone();
        let handshake_timeout = state.config.header_read_timeout;
        tokio::spawn(async move {
            let served = match tls {
                None => {
                    watcher
                        .watch(http.serve_connection(
                            TokioIo::new(Lingering::new(stream, SERVER_LINGER)),
                            svc,
                        ))
                        .await
                }
                Some(tls) => {
                    match tokio::time::timeout(handshake_timeout, tls.acceptor().accept(stream))
                        .await
                    {
                        Ok(Ok(stream)) => {
                            watcher
                                .watch(http.serve_connection(
                                    TokioIo::new(Lingering::new(stream, SERVER_LINGER)),
                                    svc,
                                ))
                                .await
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(error = %e, %remote, "TLS handshake failed");
                            Ok(())
                        }
                        Err(_) => {
                            tracing::debug!(%remote, "TLS handshake timed out");
                            Ok(())
                        }
                    }
                }
            };
            if let Err(e) = served {
                tracing::debug!(error = %e, %remote, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    tracing::info!("shutting down: draining in-flight requests");
    if tokio::time::timeout(state.config.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("grace period elapsed with requests still in flight");
    }
    Ok(())
}
