//! Connections of `lore serve`: the accept loop, with every limit a hostile client could
//! otherwise push past, and a shutdown that ends in bounded time.
//!
//! | what | bound | past it |
//! |---|---|---|
//! | open connections | [`ConnLimits::max_connections`] (256) | a `503 unavailable` answer and the connection closed |
//! | a request's header (and a keep-alive connection's wait for the next one) | [`ConnLimits::header_timeout`] (10 s, from the first byte wanted to the last header) | the connection closed |
//! | a response the client does not read | [`ConnLimits::write_timeout`] (10 s without progress) | the connection closed |
//! | shutdown (SIGINT, SIGTERM) | [`ConnLimits::shutdown_grace`] (10 s) | connections still busy are closed |
//!
//! A request's body has its own deadline, enforced where it is read (see
//! [`http`](crate::serve::http)). On shutdown the listener closes at once; an idle
//! connection, or one that has sent only part of a header, is closed at once; a request
//! whose header has arrived gets [`BODY_GRACE_AT_SHUTDOWN`] for the rest of its body, then
//! its answer, and its connection is closed, all within the grace period.
//!
//! The loop speaks HTTP/1.1 through hyper (what axum itself uses), with hyper's own header
//! deadline; what hyper leaves open (how many connections, writes that never drain, when to
//! give up on shutdown) is done here, and hyper's own bare answer to a request it cannot parse
//! (400, 414, 431) goes out in the JSON error shape of every other answer.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio::time::{sleep, Sleep};

/// Connections served at once by default.
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;
/// How long a client may take to send a request's header, by default.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a response may wait for the client to read it, by default.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long shutdown waits for requests in flight, by default.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Connection-level limits (see the module guide).
#[derive(Debug, Clone)]
pub struct ConnLimits {
    /// Connections served at once; one more is answered 503 and closed.
    pub max_connections: usize,
    /// From the moment a connection waits for a request to its header's end.
    pub header_timeout: Duration,
    /// Longest a response write may make no progress.
    pub write_timeout: Duration,
    /// Longest shutdown waits for requests in flight.
    pub shutdown_grace: Duration,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            write_timeout: DEFAULT_WRITE_TIMEOUT,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
        }
    }
}

/// What the loop tells its owner, to audit it: a connection refused over the limit, or one
/// that hyper ended before a request reached the router.
#[derive(Clone)]
pub struct Hooks {
    /// A connection over [`ConnLimits::max_connections`] was answered 503 and closed.
    pub refused: Arc<dyn Fn() + Send + Sync>,
    /// A connection ended on something that was not a request (hyper answered a malformed
    /// one with its own `400`, or closed it): the error's code (`invalid_request`,
    /// `too_large`, `timeout`) and what happened.
    pub failed: Arc<dyn Fn(&'static str, String) + Send + Sync>,
}

/// The error code of what ended a connection, when it was the client's doing and worth
/// recording; `None` for an ordinary close.
fn problem(e: &hyper::Error) -> Option<&'static str> {
    if e.is_parse_too_large() {
        Some("too_large")
    } else if e.is_parse() || e.is_incomplete_message() {
        Some("invalid_request")
    } else if e.is_timeout() {
        Some("timeout")
    } else {
        None
    }
}

/// The answer to a connection over the limit.
static BUSY_RESPONSE: once_cell::sync::Lazy<String> = once_cell::sync::Lazy::new(|| {
    let body = "{\"error\":{\"code\":\"unavailable\",\"message\":\"unavailable: the server is \
                serving as many connections as it allows; try again shortly\"}}";
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\n\
         connection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
});

/// Refused connections being closed gently at once; more are closed at once.
const MAX_REFUSING: usize = 64;

/// Serve `router` on `listener` until `shutdown` resolves, then close within
/// [`ConnLimits::shutdown_grace`].
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnLimits,
    hooks: Hooks,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let max_connections = within_open_files(limits.max_connections.max(1));
    let permits = Arc::new(Semaphore::new(max_connections));
    let refusing = Arc::new(Semaphore::new(MAX_REFUSING));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors (or a connection reset before it was taken):
                    // wait a little rather than spin; the limit above keeps this rare.
                    if !is_transient(&e) {
                        eprintln!("lore serve: accepting a connection failed: {e}");
                    }
                    sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // Reap finished connections so the set does not grow.
        while tasks.try_join_next().is_some() {}
        let _ = stream.set_nodelay(true);
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            (hooks.refused)();
            // The answer fits any fresh socket's buffer: written at once, without a task.
            let _ = stream.try_write(BUSY_RESPONSE.as_bytes());
            if let Ok(slot) = refusing.clone().try_acquire_owned() {
                tokio::spawn(async move {
                    close_gently(stream).await;
                    drop(slot);
                });
            }
            continue;
        };
        let router = router.clone();
        let stop = stop_rx.clone();
        let limits = limits.clone();
        let hooks = hooks.clone();
        tasks.spawn(async move {
            connection(stream, router, &limits, stop, &hooks).await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let drained = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(limits.shutdown_grace, drained)
        .await
        .is_err()
    {
        eprintln!(
            "lore serve: {} connection(s) still busy after {} ms: closing them",
            tasks.len(),
            limits.shutdown_grace.as_millis()
        );
        tasks.shutdown().await;
    }
    Ok(())
}

/// File descriptors kept for everything but connections (index files, the audit log, the
/// model, connections being refused).
const RESERVED_FILES: u64 = 128;

/// `wanted`, or fewer when the process may not open that many files (then said on standard
/// error): the limit must be reached before the process runs out of descriptors.
fn within_open_files(wanted: usize) -> usize {
    let Some(limit) = open_files_limit() else {
        return wanted;
    };
    let room = limit.saturating_sub(RESERVED_FILES).max(1) as usize;
    if room < wanted {
        eprintln!(
            "lore serve: serving at most {room} connections, not {wanted}: this process may \
             open only {limit} files (ulimit -n)"
        );
        return room;
    }
    wanted
}

/// The soft limit on open files of this process, where the system tells it (Linux).
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}

/// Close a refused connection so that its answer arrives: end our side, then read and drop
/// what the client sent (closing with unread bytes would reset the connection and could
/// destroy the answer), for a moment at most.
async fn close_gently(mut stream: TcpStream) {
    use tokio::io::AsyncReadExt;
    let _ = stream.shutdown().await;
    let mut sink = [0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
}

/// Serve one connection until it ends, its limits end it, or shutdown does.
async fn connection(
    stream: TcpStream,
    router: Router,
    limits: &ConnLimits,
    mut stop: watch::Receiver<bool>,
    hooks: &Hooks,
) {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let stream = Watched::new(stream, limits.write_timeout, in_flight.clone());
    let unrouted = stream.unrouted.clone();
    let service = Counted {
        inner: TowerToHyperService::new(router),
        in_flight: in_flight.clone(),
        unrouted: unrouted.clone(),
        stop: stop.clone(),
    };
    let io = TokioIo::new(stream);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true)
        .max_buf_size(64 * 1024)
        .max_header_size(64 * 1024);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    if !*stop.borrow() {
        tokio::select! {
            ended = conn.as_mut() => {
                if let Err(e) = ended {
                    // Only bytes that never became a routed request are worth a line: a
                    // keep-alive connection that waited idle past the header deadline sent
                    // none, and a routed request is audited by its route.
                    let stray = unrouted.load(Ordering::SeqCst) > 0
                        && in_flight.load(Ordering::SeqCst) == 0;
                    if let Some(code) = problem(&e).filter(|_| stray) {
                        (hooks.failed)(code, e.to_string());
                    }
                }
                return;
            }
            _ = stop.wait_for(|s| *s) => {}
        }
    }
    // Shutting down: a connection with nothing in flight (idle, or part of a header sent) is
    // closed now, by dropping it; one with a request in flight finishes it and closes (its
    // body, if still coming, within a grace; the whole within the caller's bound).
    if in_flight.load(Ordering::SeqCst) == 0 {
        return;
    }
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}

/// The router as hyper calls it: each request is counted in flight from its header's end
/// to its answer, and carries a [`Busy`] that tells whoever reads its body when the server
/// begins to stop.
#[derive(Clone)]
struct Counted<S> {
    inner: S,
    in_flight: Arc<AtomicUsize>,
    /// Bytes read that no routed request has accounted for: zeroed when a request reaches
    /// the router and again when it is answered (its body was read meanwhile), so what is
    /// left is a request hyper refused, or one still arriving.
    unrouted: Arc<AtomicUsize>,
    stop: watch::Receiver<bool>,
}

impl<S, B> hyper::service::Service<hyper::Request<B>> for Counted<S>
where
    S: hyper::service::Service<hyper::Request<B>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn call(&self, mut request: hyper::Request<B>) -> Self::Future {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.unrouted.store(0, Ordering::SeqCst);
        let guard = InFlight {
            in_flight: self.in_flight.clone(),
            unrouted: self.unrouted.clone(),
        };
        request.extensions_mut().insert(Busy(self.stop.clone()));
        let future = self.inner.call(request);
        Box::pin(async move {
            let response = future.await;
            drop(guard);
            response
        })
    }
}

/// How long a request's body may still take once the server begins to stop.
pub const BODY_GRACE_AT_SHUTDOWN: Duration = Duration::from_secs(1);

/// A request extension: whether the server is stopping. A request whose body is still on
/// its way when it does gets [`BODY_GRACE_AT_SHUTDOWN`] more, not its whole body deadline.
#[derive(Debug, Clone)]
pub struct Busy(watch::Receiver<bool>);

impl Busy {
    /// Resolves [`BODY_GRACE_AT_SHUTDOWN`] after the server began to stop.
    pub async fn body_grace_over(mut self) {
        if self.0.wait_for(|s| *s).await.is_err() {
            // The server is gone without saying so: nothing to wait for.
            return std::future::pending().await;
        }
        sleep(BODY_GRACE_AT_SHUTDOWN).await;
    }
}

/// One request in flight, counted until dropped (even when its future is); its body, read
/// meanwhile, is accounted for then.
struct InFlight {
    in_flight: Arc<AtomicUsize>,
    unrouted: Arc<AtomicUsize>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.unrouted.store(0, Ordering::SeqCst);
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A connection's stream, watched:
/// - its writes fail with `TimedOut` once one has made no progress for `limit` (a client that
///   stops reading its answer);
/// - the bytes read are counted into `unrouted` (see [`Counted`]);
/// - hyper's own answer to a request it could not parse (a bare `400`, `414` or `431` with no
///   body) is written as the JSON error every other answer has ([`own_answer`]).
struct Watched<T> {
    inner: T,
    limit: Duration,
    stalled: Option<Pin<Box<Sleep>>>,
    unrouted: Arc<AtomicUsize>,
    in_flight: Arc<AtomicUsize>,
    replacing: Replacing,
}

/// Where a connection stands with hyper's own answer.
enum Replacing {
    /// hyper has written none.
    No,
    /// Our JSON answer in hyper's stead, and how much of it is written.
    Writing(Vec<u8>, usize),
    /// Written.
    Done,
}

impl<T> Watched<T> {
    fn new(inner: T, limit: Duration, in_flight: Arc<AtomicUsize>) -> Self {
        Watched {
            inner,
            limit,
            stalled: None,
            unrouted: Arc::new(AtomicUsize::new(0)),
            in_flight,
            replacing: Replacing::No,
        }
    }

    /// After a write came back pending: start the clock, or fail when it has run out.
    fn pending<R>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<R>> {
        let limit = self.limit;
        let timer = self.stalled.get_or_insert_with(|| Box::pin(sleep(limit)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client did not read its answer",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    /// A write (or flush) made progress.
    fn progressed(&mut self) {
        self.stalled = None;
    }

    /// Whether `head` is what hyper writes on its own, for bytes that never became a request
    /// (none in flight, some read since the last one was routed); if so, the answer to write
    /// instead is set aside.
    fn replaces(&mut self, head: &[u8]) -> bool {
        if matches!(self.replacing, Replacing::No)
            && self.in_flight.load(Ordering::SeqCst) == 0
            && self.unrouted.load(Ordering::SeqCst) > 0
        {
            if let Some(answer) = own_answer(head) {
                self.replacing = Replacing::Writing(answer.into_bytes(), 0);
                return true;
            }
        }
        false
    }
}

impl<T: AsyncWrite + Unpin> Watched<T> {
    /// When `head` is hyper's bare answer (or ours is still being written in its stead): write
    /// ours, and count hyper's as written. `None`: write `head` as it is.
    fn in_stead(&mut self, cx: &mut Context<'_>, head: &[u8]) -> Option<Poll<io::Result<usize>>> {
        if !(self.replaces(head) || matches!(self.replacing, Replacing::Writing(..))) {
            return None;
        }
        Some(self.drain(cx).map_ok(|()| head.len()))
    }

    /// Write what is left of the answer set aside in hyper's stead, if any.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Replacing::Writing(answer, written) = &mut self.replacing {
            if *written == answer.len() {
                self.replacing = Replacing::Done;
                break;
            }
            match Pin::new(&mut self.inner).poll_write(cx, &answer[*written..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    *written += n;
                    self.progressed();
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return self.pending(cx),
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// The JSON answer for hyper's own bare answer `head` to a request it could not parse, or
/// `None` when `head` is not one: a status line of 400, 414 or 431 and a header with no
/// content type and no body, whole.
fn own_answer(head: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(head).ok()?;
    let head = text.strip_suffix("\r\n\r\n")?;
    let (status, fields) = head.split_once("\r\n").unwrap_or((head, ""));
    let (code, message) = match status {
        "HTTP/1.1 400 Bad Request" => (
            "invalid_request",
            "the request is not HTTP/1.1 this server can read (its request line or a header is malformed)",
        ),
        "HTTP/1.1 414 URI Too Long" => ("too_large", "the request's target is too long"),
        "HTTP/1.1 431 Request Header Fields Too Large" => (
            "too_large",
            "the request's header is over the 64 KiB this server reads",
        ),
        _ => return None,
    };
    for field in fields.split("\r\n").filter(|f| !f.is_empty()) {
        let (name, value) = field.split_once(':')?;
        let name = name.trim().to_ascii_lowercase();
        if name == "content-type"
            || name == "transfer-encoding"
            || (name == "content-length" && value.trim() != "0")
        {
            return None;
        }
    }
    let body = format!("{{\"error\":{{\"code\":\"{code}\",\"message\":\"{code}: {message}\"}}}}");
    Some(format!(
        "{status}\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    ))
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let read = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        self.unrouted.fetch_add(n, Ordering::SeqCst);
        read
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Some(written) = self.in_stead(cx, buf) {
            return written;
        }
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Pending => self.pending(cx),
            ready => {
                self.progressed();
                ready
            }
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let mut parts = bufs.iter().filter(|b| !b.is_empty());
        if let (Some(head), None) = (parts.next(), parts.next()) {
            if let Some(written) = self.in_stead(cx, head) {
                return written;
            }
        }
        match Pin::new(&mut self.inner).poll_write_vectored(cx, bufs) {
            Poll::Pending => self.pending(cx),
            ready => {
                self.progressed();
                ready
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        match Pin::new(&mut self.inner).poll_flush(cx) {
            Poll::Pending => self.pending(cx),
            ready => {
                self.progressed();
                ready
            }
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(answer: &str) -> serde_json::Value {
        let (_, body) = answer.split_once("\r\n\r\n").unwrap();
        serde_json::from_str(body).unwrap()
    }

    #[test]
    fn hypers_bare_answers_become_json_errors() {
        let bare = "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: Tue, 08 Dec 2026 03:00:00 GMT\r\n\r\n";
        let answer = own_answer(bare.as_bytes()).unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{answer}"
        );
        assert!(answer.contains("content-type: application/json\r\n"));
        assert!(answer.contains("connection: close\r\n"));
        assert_eq!(body_of(&answer)["error"]["code"], "invalid_request");
        let length: usize = answer
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(length, answer.split_once("\r\n\r\n").unwrap().1.len());

        let bare = "HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(
            body_of(&own_answer(bare.as_bytes()).unwrap())["error"]["code"],
            "too_large"
        );
        let bare = "HTTP/1.1 414 URI Too Long\r\n\r\n";
        assert_eq!(
            body_of(&own_answer(bare.as_bytes()).unwrap())["error"]["code"],
            "too_large"
        );
    }

    #[test]
    fn answers_of_the_router_are_left_alone() {
        for head in [
            // Our own 400, with its JSON body.
            "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 80\r\n\r\n",
            "HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\n\r\n",
            "HTTP/1.1 400 Bad Request\r\ntransfer-encoding: chunked\r\n\r\n",
            // Not a whole header, or another status.
            "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n",
            "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
            "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n{}",
        ] {
            assert!(own_answer(head.as_bytes()).is_none(), "{head}");
        }
    }
}
