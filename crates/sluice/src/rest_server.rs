//! Serving the REST API with bounds a public port needs: at most [`max_connections`] open
//! connections (more wait in the kernel's accept queue), a header-read timeout against slow
//! clients, and an idle timeout that closes keep-alive connections nobody uses. Each
//! connection holds only HTTP/1.1 buffers (Kafka Connect's Jetty speaks HTTP/1.1), so memory
//! stays flat however many sockets a client opens, and the file descriptors the worker needs
//! for Kafka and offset files are never all taken by REST clients.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::serve::Listener;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// How long a client may take to send a request's headers.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a connection may stay open with no bytes read or written.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// The most REST connections served at once, whatever the file descriptor limit.
pub const MAX_CONNECTIONS: usize = 1024;

/// Raises the soft limit on open files to the hard limit (the JVM does the same at start,
/// `-XX:+MaxFDLimit`), and returns how many REST connections to allow: [`MAX_CONNECTIONS`],
/// or a quarter of the limit when that is smaller, so Kafka clients, offset files and task
/// files keep descriptors of their own however many REST clients connect.
pub fn max_connections() -> usize {
    let limit = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => n,
        Err(e) => {
            tracing::debug!(error = %e, "Could not read or raise the open-files limit.");
            return 64;
        }
    };
    usize::try_from(limit / 4)
        .unwrap_or(MAX_CONNECTIONS)
        .clamp(16, MAX_CONNECTIONS)
}

/// A duration from a test-only environment variable (milliseconds), else `default`.
fn env_ms(name: &str, default: Duration) -> Duration {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(default, Duration::from_millis)
}

/// Serves `app` on `listener` until the process ends.
///
/// Tests shorten the limits with `SLUICE_REST_IDLE_TIMEOUT_MS`, `SLUICE_REST_HEADER_TIMEOUT_MS`
/// and `SLUICE_REST_MAX_CONNECTIONS`.
pub async fn serve<L>(mut listener: L, app: Router, max_connections: usize)
where
    L: Listener,
{
    let idle_timeout = env_ms("SLUICE_REST_IDLE_TIMEOUT_MS", IDLE_TIMEOUT);
    let header_timeout = env_ms("SLUICE_REST_HEADER_TIMEOUT_MS", HEADER_READ_TIMEOUT);
    let max_connections = std::env::var("SLUICE_REST_MAX_CONNECTIONS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(max_connections);
    let slots = Arc::new(tokio::sync::Semaphore::new(max_connections));
    let origin = Instant::now();
    loop {
        // Accept only with a free slot: past the limit, clients wait in the accept queue.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let (io, _peer) = listener.accept().await;
        let app = app.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let last = Arc::new(AtomicU64::new(elapsed_ms(origin)));
            let io = TokioIo::new(Tracked {
                inner: io,
                last: last.clone(),
                origin,
            });
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .keep_alive(true);
            let conn = http.serve_connection(io, TowerToHyperService::new(app));
            tokio::pin!(conn);
            let mut closing = false;
            loop {
                tokio::select! {
                    result = conn.as_mut() => {
                        if let Err(e) = result {
                            tracing::debug!(error = %e, "REST connection ended with an error.");
                        }
                        return;
                    }
                    _ = tokio::time::sleep(idle_timeout / 4), if !closing => {
                        let idle = elapsed_ms(origin).saturating_sub(last.load(Ordering::Relaxed));
                        if idle >= idle_timeout.as_millis() as u64 {
                            // Closes an idle keep-alive connection at once, or after the
                            // request in flight is answered.
                            conn.as_mut().graceful_shutdown();
                            closing = true;
                        }
                    }
                }
            }
        });
    }
}

fn elapsed_ms(origin: Instant) -> u64 {
    u64::try_from(origin.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// An I/O stream that records when bytes last moved.
struct Tracked<T> {
    inner: T,
    last: Arc<AtomicU64>,
    origin: Instant,
}

impl<T> Tracked<T> {
    fn touch(&self) {
        self.last.store(elapsed_ms(self.origin), Ordering::Relaxed);
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Tracked<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.touch();
        }
        r
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Tracked<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Serves the REST API on every bound listener (HTTPS where the listener says so and an
/// acceptor is configured), behind Basic authentication when configured. Both modes call it.
pub fn serve_listeners(
    bound: Vec<(crate::listeners::Listener, u16, tokio::net::TcpListener)>,
    state: &sluice_rest::AppState,
    basic_auth: Option<&sluice_rest::auth::BasicAuth>,
    acceptor: Option<&openssl::ssl::SslAcceptor>,
    worker_id: &str,
    advertised_url: &str,
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let max_connections = max_connections();
    for (l, port, sock) in bound {
        let mut app = sluice_rest::router(state.clone());
        if let Some(auth) = basic_auth {
            app = sluice_rest::auth::require_basic_auth(app, auth.clone());
        }
        let host = if l.host.is_empty() {
            "0.0.0.0".to_string()
        } else {
            l.host.clone()
        };
        tracing::info!(worker_id = %worker_id, basic_auth = basic_auth.is_some(), "REST server listening at {}://{host}:{port}/, advertising URL {advertised_url}", l.scheme);
        match (acceptor, l.is_https()) {
            (Some(acceptor), true) => {
                let tls = crate::rest_security::TlsListener::new(sock, acceptor.clone())
                    .with_context(|| format!("could not listen on https://{host}:{port}"))?;
                tokio::spawn(serve(tls, app, max_connections));
            }
            _ => {
                tokio::spawn(serve(sock, app, max_connections));
            }
        }
    }
    Ok(())
}
