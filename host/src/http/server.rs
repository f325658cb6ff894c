//! The accept loop: a connection cap, HTTP/1.1 with a header-read timeout, and graceful
//! shutdown that lets in-flight requests finish.

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::state::AppState;

/// Largest header section hyper buffers before answering 431 itself; the S3-level cap
/// (`max_header_bytes`, answered with S3 XML) is checked below this in the service.
const HYPER_MAX_BUF: usize = 64 << 10;

/// Header count hyper accepts (its default is 100). Set well above what the byte cap allows
/// of real headers, so the byte cap, answered with S3 XML, is the limit clients meet.
const HYPER_MAX_HEADERS: usize = 1000;

/// Serves S3 on `listener` until `shutdown` resolves, then drains in-flight requests for up
/// to the configured grace period.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
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
        let state = state.clone();
        let svc = service_fn(move |req| {
            let state = state.clone();
            async move {
                // Boxed: the pipeline's future is about 7 KiB, and each async layer around
                // it (the metrics' task-local scope) would hold and copy it again.
                let handled = Box::pin(super::service::handle(state, req, remote));
                Ok::<_, std::convert::Infallible>(crate::metrics::s3::track(handled).await)
            }
        });
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), svc));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
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
