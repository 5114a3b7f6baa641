//! `lore serve`: the [`Service`] over HTTP (axum on tokio), with an OpenAPI document generated
//! from the same types.
//!
//! | route | body / query | answer |
//! |---|---|---|
//! | `POST /v1/search` | [`SearchArgs`] | [`SearchOutput`] |
//! | `POST /v1/context` | [`ContextArgs`] | [`ContextOutput`] |
//! | `POST /v1/decisions` | [`DecisionsArgs`] | [`DecisionsOutput`] |
//! | `POST /v1/who` | [`WhoArgs`] | [`WhoOutput`] |
//! | `POST /v1/get` | [`GetArgs`] | [`GetOutput`] |
//! | `GET /v1/chunks/{id}` | `?before=&after=&budget=` | [`GetOutput`] (the id percent-encoded: `#` is `%23`) |
//! | `GET /healthz` | | [`Health`] (no token needed) |
//! | `GET /openapi.json` | | this API as OpenAPI 3.1 (no token needed) |
//!
//! Every error is `{"error": {"code": "...", "message": "..."}}` with the status of its
//! [`ServeError::code`]: `invalid_request` 400 (bad JSON, unknown field, bad filter or date),
//! `unauthorized` 401, `forbidden` 403, `not_found` 404 (unknown route or chunk, or a chunk the
//! caller may not read), `too_large` 413 (a body over [`HttpOptions::body_limit`], 64 KiB by
//! default), `unavailable` 503, `timeout` 504 (over [`HttpOptions::time_limit`], 30 s by
//! default), `internal` 500.
//!
//! **Who may call.** The server binds to loopback (`127.0.0.1:7070`) by default and refuses to
//! bind anywhere else without a tokens file ([`check_exposure`]). With a tokens file every
//! `/v1/` request needs `Authorization: Bearer <token>`, and is answered on behalf of that
//! token's principal; a missing and an unknown token get the same 401. Without one, every
//! caller is the principal of `--as`, or the index owner.
//!
//! Operations run in `spawn_blocking`; on SIGINT or SIGTERM the server stops accepting, lets
//! requests in flight finish, and returns.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, Request as HttpRequest, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response as HttpResponse};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;

use crate::serve::listen::{self, ConnLimits};
use crate::serve::{
    Caller, ContextArgs, ContextOutput, DecisionsArgs, DecisionsOutput, GetArgs, GetOutput, Health,
    Request, SearchArgs, SearchOutput, ServeError, Service, WhoArgs, WhoOutput,
};

/// The transport's name in the audit log.
pub const TRANSPORT: &str = "http";
/// Where `lore serve` listens by default.
pub const DEFAULT_ADDR: &str = "127.0.0.1:7070";
/// The largest request body accepted by default.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;
/// The longest a request may take by default.
pub const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(30);
/// How long a client may take to send a request's body, by default.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// How the HTTP server behaves.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Largest request body, in bytes (`too_large` beyond).
    pub body_limit: usize,
    /// Longest a request may take (`timeout` beyond).
    pub time_limit: Duration,
    /// Longest a client may take to send a request's body, from its header's end (`timeout`
    /// beyond, and the connection closed).
    pub body_timeout: Duration,
    /// Operations run at once; more wait, up to [`HttpOptions::time_limit`], for one to end
    /// (`unavailable` when none does). Default: twice the cores, at least 4.
    pub max_operations: usize,
    /// Host names (or addresses) callers may address the server by, beyond the listening
    /// address and `localhost` (a proxy's public name): see [`HostCheck`].
    pub allowed_hosts: Vec<String>,
    /// Connection limits: how many, header and write deadlines, shutdown grace.
    pub conn: ConnLimits,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            body_limit: DEFAULT_BODY_LIMIT,
            time_limit: DEFAULT_TIME_LIMIT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            max_operations: default_max_operations(),
            allowed_hosts: Vec::new(),
            conn: ConnLimits::default(),
        }
    }
}

/// Twice the cores, at least 4: enough to keep every core and query session busy.
pub fn default_max_operations() -> usize {
    std::thread::available_parallelism()
        .map(|n| 2 * n.get())
        .unwrap_or(4)
        .max(4)
}

/// Which `Host` and `Origin` headers a request may carry: the defence against DNS
/// rebinding, where a web page the user visits makes the user's browser call this server
/// under the page's own host name, and reads the answers.
///
/// A `Host` must name the listening address, `localhost` (or, when listening on loopback,
/// `127.0.0.1` and `[::1]`), or an allowed host; listening on every address (`0.0.0.0`),
/// any IP address is accepted too, but names only when allowed. An `Origin`, which browsers
/// send with cross-site and `POST` requests, must be `http://` or `https://` one of the same
/// hosts (any port); `null` is refused. Ports are not compared: a proxy may change them.
#[derive(Debug, Clone)]
pub struct HostCheck {
    names: Vec<String>,
    any_ip: bool,
}

impl HostCheck {
    /// The hosts a server listening on `addr` answers to, with `extra` (names or addresses,
    /// as `--allow-host` gives them).
    pub fn new(addr: &SocketAddr, extra: &[String]) -> HostCheck {
        let mut names = vec!["localhost".to_string(), host_of_ip(addr.ip())];
        if addr.ip().is_loopback() {
            names.push("127.0.0.1".into());
            names.push("[::1]".into());
        }
        for e in extra {
            names.push(normalize_host(strip_port(e.trim())));
        }
        names.sort();
        names.dedup();
        HostCheck {
            names,
            any_ip: addr.ip().is_unspecified(),
        }
    }

    fn allows_host(&self, host: &str) -> bool {
        let host = normalize_host(strip_port(host.trim()));
        if self.names.contains(&host) {
            return true;
        }
        self.any_ip
            && host
                .trim_matches(|c| c == '[' || c == ']')
                .parse::<IpAddr>()
                .is_ok()
    }

    /// Why `headers` may not reach this server, or `None` when they may.
    pub fn refusal(&self, headers: &HeaderMap) -> Option<String> {
        if let Some(host) = headers.get(header::HOST) {
            let allowed = host.to_str().map(|h| self.allows_host(h)).unwrap_or(false);
            if !allowed {
                return Some(format!(
                    "this server does not answer to the host {:?} (a page trying to reach it \
                     through DNS rebinding, or a proxy whose name needs --allow-host)",
                    String::from_utf8_lossy(host.as_bytes())
                ));
            }
        }
        for origin in headers.get_all(header::ORIGIN) {
            let text = origin.to_str().unwrap_or("");
            let host = text
                .strip_prefix("http://")
                .or_else(|| text.strip_prefix("https://"))
                .filter(|h| !h.is_empty() && !h.contains('/'));
            if !host.is_some_and(|h| self.allows_host(h)) {
                return Some(format!(
                    "requests from the web origin {:?} are not allowed (only pages served by \
                     this server's own hosts may call it)",
                    String::from_utf8_lossy(origin.as_bytes())
                ));
            }
        }
        None
    }
}

fn host_of_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

/// `host:port` → `host`, `[v6]:port` → `[v6]`.
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map_or(host, |end| &host[..=end]);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// Lower case, without a trailing dot; a bare IPv6 address gets its brackets.
fn normalize_host(host: &str) -> String {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    match host.parse::<std::net::Ipv6Addr>() {
        Ok(v6) => format!("[{v6}]"),
        Err(_) => host,
    }
}

/// An error as sent: `{"error": {"code", "message"}}`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The error of an [`ErrorBody`].
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable code: invalid_request, not_found, unauthorized, forbidden, too_large, timeout,
    /// unavailable, internal.
    pub code: String,
    /// What went wrong, for people.
    pub message: String,
}

/// A [`ServeError`] as an HTTP response.
struct Failure(ServeError);

impl IntoResponse for Failure {
    fn into_response(self) -> HttpResponse {
        let status =
            StatusCode::from_u16(self.0.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.0.code().to_string(),
                message: self.0.to_string(),
            },
        };
        let mut response = (status, Json(body)).into_response();
        if matches!(self.0, ServeError::Unauthorized) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Refuse to expose an index beyond this machine without tokens: `addr` must be a loopback
/// address unless `has_tokens`.
pub fn check_exposure(addr: &SocketAddr, has_tokens: bool) -> Result<(), ServeError> {
    if addr.ip().is_loopback() || has_tokens {
        return Ok(());
    }
    Err(ServeError::Setup(format!(
        "refusing to listen on {addr}, a non-loopback address, without a tokens file: anyone who \
         can reach it would read the whole index; give --tokens FILE, or listen on 127.0.0.1"
    )))
}

#[derive(Clone)]
struct AppState {
    service: Service,
    options: HttpOptions,
    hosts: Arc<HostCheck>,
    operations: Arc<tokio::sync::Semaphore>,
}

/// The routes, with host and origin checks, authentication, body and time limits (see the
/// module guide), for a server listening on `addr`.
pub fn router(service: Service, options: HttpOptions, addr: &SocketAddr) -> Router {
    let state = AppState {
        service,
        hosts: Arc::new(HostCheck::new(addr, &options.allowed_hosts)),
        operations: Arc::new(tokio::sync::Semaphore::new(options.max_operations.max(1))),
        options: options.clone(),
    };
    let v1 = Router::new()
        .route("/v1/search", post(search))
        .route("/v1/context", post(context))
        .route("/v1/decisions", post(decisions))
        .route("/v1/who", post(who))
        .route("/v1/get", post(get_post))
        .route("/v1/chunks/{*id}", get(get_chunk))
        .route_layer(middleware::from_fn_with_state(state.clone(), authenticate));
    Router::new()
        .merge(v1)
        .route("/healthz", get(healthz))
        .route("/openapi.json", get(openapi_json))
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(options.body_limit))
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

/// Serve on `listener` until `shutdown` completes, then let requests in flight finish within
/// the shutdown grace (see [`listen`]).
pub async fn serve(
    service: Service,
    listener: tokio::net::TcpListener,
    options: HttpOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    let limits = options.conn.clone();
    let refused = service.clone();
    let failed = service.clone();
    let hooks = listen::Hooks {
        refused: Arc::new(move || {
            refused.audit_refusal(
                &Caller::new(TRANSPORT, None),
                "connect",
                &ServeError::Unavailable("too many connections".into()),
                Duration::ZERO,
            );
        }),
        failed: Arc::new(move |code, what| {
            let e = match code {
                "too_large" => ServeError::TooLarge(what),
                "timeout" => ServeError::Timeout(what),
                _ => ServeError::InvalidRequest(what),
            };
            failed.audit_refusal(&Caller::new(TRANSPORT, None), "http", &e, Duration::ZERO);
        }),
    };
    let app = router(service, options, &addr);
    listen::serve(listener, app, limits, hooks, shutdown).await
}

/// Bind `addr` (checked with [`check_exposure`]), call `on_bound` with the address bound (the
/// port of `:0` resolved), and serve until SIGINT or SIGTERM; requests in flight finish first,
/// within the shutdown grace. Blocks; builds its own tokio runtime.
pub fn run(
    service: Service,
    addr: SocketAddr,
    options: HttpOptions,
    on_bound: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    check_exposure(&addr, service.requires_token())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("lore-http")
        .build()
        .map_err(|e| ServeError::Setup(format!("cannot start the async runtime: {e}")))?;
    let grace = options.conn.shutdown_grace;
    let result = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| ServeError::Setup(format!("cannot listen on {addr}: {e}")))?;
        let bound = listener
            .local_addr()
            .map_err(|e| ServeError::Setup(format!("cannot read the bound address: {e}")))?;
        on_bound(bound);
        serve(service, listener, options, shutdown_signal())
            .await
            .map_err(|e| ServeError::Internal(format!("the server failed: {e}")))
    });
    // Operations still running in blocking threads (past their deadline, between two
    // checks) are not waited for beyond a moment: their callers are gone.
    runtime.shutdown_timeout(grace.min(Duration::from_secs(1)));
    result
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// Every request first: its `Host` and `Origin` (see [`HostCheck`]), then its whole body,
/// read within [`HttpOptions::body_timeout`] and [`HttpOptions::body_limit`]. A refusal is
/// answered in the JSON error shape and audited.
async fn guard(State(state): State<AppState>, request: HttpRequest, next: Next) -> HttpResponse {
    let started = Instant::now();
    let operation = operation_of(request.uri().path());
    let refuse = |e: ServeError| {
        state.service.audit_refusal(
            &Caller::new(TRANSPORT, None),
            operation,
            &e,
            started.elapsed(),
        );
        Failure(e).into_response()
    };
    if let Some(reason) = state.hosts.refusal(request.headers()) {
        return refuse(ServeError::Forbidden(reason));
    }
    let (parts, body) = request.into_parts();
    let limit = state.options.body_limit;
    // Within the body deadline; a body still on its way when the server begins to stop gets
    // a short grace only.
    let busy = parts.extensions.get::<listen::Busy>().cloned();
    let read = async {
        let deadline = tokio::time::timeout(
            state.options.body_timeout,
            axum::body::to_bytes(body, limit),
        );
        let stopping = async move {
            match busy {
                Some(busy) => busy.body_grace_over().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            read = deadline => read.map_err(|_| ()),
            _ = stopping => Err(()),
        }
    };
    let bytes = match read.await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) => {
            let too_large = is_over_limit(&e);
            let e = match too_large {
                true => ServeError::TooLarge(format!(
                    "the request body is over the server's limit of {limit} bytes"
                )),
                false => ServeError::InvalidRequest(format!("cannot read the request body: {e}")),
            };
            let mut response = refuse(e);
            close(&mut response);
            return response;
        }
        Err(_) => {
            let mut response = refuse(ServeError::Timeout(format!(
                "the request body did not arrive within {} ms",
                state.options.body_timeout.as_millis()
            )));
            // The client's delay, not the server's: 408, with the `timeout` code.
            *response.status_mut() = StatusCode::REQUEST_TIMEOUT;
            close(&mut response);
            return response;
        }
    };
    next.run(HttpRequest::from_parts(parts, Body::from(bytes)))
        .await
}

/// Whether reading a body failed on its length limit (http-body-util's `LengthLimitError`,
/// somewhere in the error's chain).
fn is_over_limit(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut error = Some(e);
    while let Some(e) = error {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        error = e.source();
    }
    false
}

/// Ask the client to close the connection after this answer (its stream is in an unknown
/// state: a body left unread, or a client too slow to trust).
fn close(response: &mut HttpResponse) {
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
}

/// The bearer token of a request, if any.
fn bearer(request: &HttpRequest) -> Option<String> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

/// Establish the [`Caller`] of a `/v1/` request, or answer 401.
async fn authenticate(
    State(state): State<AppState>,
    mut request: HttpRequest,
    next: Next,
) -> HttpResponse {
    let started = Instant::now();
    match state.service.authenticate(bearer(&request).as_deref()) {
        Ok(principal) => {
            request
                .extensions_mut()
                .insert(Caller::new(TRANSPORT, principal));
            next.run(request).await
        }
        Err(e) => {
            let operation = operation_of(request.uri().path());
            state.service.audit_refusal(
                &Caller::new(TRANSPORT, None),
                operation,
                &e,
                started.elapsed(),
            );
            Failure(e).into_response()
        }
    }
}

/// The operation a `/v1/` path names, for the audit line of a refused request.
fn operation_of(path: &str) -> &'static str {
    match path.trim_start_matches("/v1/").split('/').next() {
        Some("search") => "search",
        Some("context") => "context",
        Some("decisions") => "decisions",
        Some("who") => "who",
        Some("get") | Some("chunks") => "get",
        _ => "http",
    }
}

/// A body the JSON extractor refused, as a [`ServeError`].
fn rejection(r: JsonRejection) -> ServeError {
    match r.status() {
        StatusCode::PAYLOAD_TOO_LARGE => {
            ServeError::TooLarge("the request body is over the server's limit".into())
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ServeError::InvalidRequest(
            "the body must be JSON, sent with Content-Type: application/json".into(),
        ),
        _ => ServeError::InvalidRequest(r.body_text()),
    }
}

/// Run a request whose JSON body was read into `request` (see [`answer_parsed`]).
async fn answer(
    state: AppState,
    caller: Caller,
    operation: &'static str,
    request: Result<Request, JsonRejection>,
) -> HttpResponse {
    answer_parsed(state, caller, operation, request.map_err(rejection)).await
}

/// Run `request` (or answer, and audit, why it could not be read) in a blocking thread, once
/// one of the [`HttpOptions::max_operations`] is free, within the time limit.
async fn answer_parsed(
    state: AppState,
    caller: Caller,
    operation: &'static str,
    request: Result<Request, ServeError>,
) -> HttpResponse {
    let started = Instant::now();
    let request = match request {
        Ok(r) => r,
        Err(e) => {
            state
                .service
                .audit_refusal(&caller, operation, &e, started.elapsed());
            return Failure(e).into_response();
        }
    };
    let limit = state.options.time_limit;
    let deadline = started + limit;
    // At most `max_operations` at once: the rest wait their turn within their time limit.
    let permit = match tokio::time::timeout(limit, state.operations.clone().acquire_owned()).await {
        Ok(Ok(permit)) => permit,
        _ => {
            let e = ServeError::Unavailable(format!(
                "the server is busy: no operation finished within {} ms; try again shortly",
                limit.as_millis()
            ));
            state
                .service
                .audit_refusal(&caller, operation, &e, started.elapsed());
            return Failure(e).into_response();
        }
    };
    let service = state.service.clone();
    let task = tokio::task::spawn_blocking(move || {
        let answer = service.call(&caller, request, Some(deadline));
        drop(permit);
        answer
    });
    match tokio::time::timeout(limit.saturating_sub(started.elapsed()), task).await {
        Ok(Ok(Ok(response))) => Json(response).into_response(),
        Ok(Ok(Err(e))) => Failure(e).into_response(),
        Ok(Err(join)) => {
            eprintln!("lore serve: {operation} failed: {join}");
            Failure(ServeError::Internal("see the server's log".into())).into_response()
        }
        // The operation stops at its next check of the deadline, in its thread, and writes
        // its own audit line (`timeout`).
        Err(_) => Failure(ServeError::Timeout(format!(
            "{operation} took longer than the server allows ({} ms)",
            limit.as_millis()
        )))
        .into_response(),
    }
}

/// Search: ranked, cited hits, as many as fit the token budget.
#[utoipa::path(post, path = "/v1/search", tag = "lore", request_body = SearchArgs,
    responses((status = 200, body = SearchOutput), (status = "4XX", body = ErrorBody), (status = "5XX", body = ErrorBody)))]
async fn search(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Result<Json<SearchArgs>, JsonRejection>,
) -> HttpResponse {
    answer(
        state,
        caller,
        "search",
        body.map(|Json(a)| Request::Search(a)),
    )
    .await
}

/// Context: the passages that answer a question, merged, cited and packed into the budget.
#[utoipa::path(post, path = "/v1/context", tag = "lore", request_body = ContextArgs,
    responses((status = 200, body = ContextOutput), (status = "4XX", body = ErrorBody), (status = "5XX", body = ErrorBody)))]
async fn context(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Result<Json<ContextArgs>, JsonRejection>,
) -> HttpResponse {
    answer(
        state,
        caller,
        "context",
        body.map(|Json(a)| Request::Context(a)),
    )
    .await
}

/// Decisions: the decisions and actions that stand at a date, on a topic, with their history.
#[utoipa::path(post, path = "/v1/decisions", tag = "lore", request_body = DecisionsArgs,
    responses((status = 200, body = DecisionsOutput), (status = "4XX", body = ErrorBody), (status = "5XX", body = ErrorBody)))]
async fn decisions(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Result<Json<DecisionsArgs>, JsonRejection>,
) -> HttpResponse {
    answer(
        state,
        caller,
        "decisions",
        body.map(|Json(a)| Request::Decisions(a)),
    )
    .await
}

/// Who: people ranked by what the index shows they know about a topic.
#[utoipa::path(post, path = "/v1/who", tag = "lore", request_body = WhoArgs,
    responses((status = 200, body = WhoOutput), (status = "4XX", body = ErrorBody), (status = "5XX", body = ErrorBody)))]
async fn who(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Result<Json<WhoArgs>, JsonRejection>,
) -> HttpResponse {
    answer(state, caller, "who", body.map(|Json(a)| Request::Who(a))).await
}

/// Get: one chunk by id, with its neighbours (the id in the body).
#[utoipa::path(post, path = "/v1/get", tag = "lore", request_body = GetArgs,
    responses((status = 200, body = GetOutput), (status = "4XX", body = ErrorBody), (status = "5XX", body = ErrorBody)))]
async fn get_post(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Result<Json<GetArgs>, JsonRejection>,
) -> HttpResponse {
    answer(state, caller, "get", body.map(|Json(a)| Request::Get(a))).await
}

/// The query of `GET /v1/chunks/{id}`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ChunkQuery {
    /// Chunks wanted before it (default 1).
    before: Option<usize>,
    /// Chunks wanted after it (default 1).
    after: Option<usize>,
    /// Most tokens the chunks may take (default 2000).
    budget: Option<usize>,
}

/// Get: one chunk by id (percent-encoded: `corpus%2Fadr%2F0009.md%230`), with its neighbours.
#[utoipa::path(get, path = "/v1/chunks/{id}", tag = "lore",
    params(("id" = String, Path, description = "Chunk id, percent-encoded"), ChunkQuery),
    responses((status = 200, body = GetOutput), (status = "4XX", body = ErrorBody), (status = "5XX", body = ErrorBody)))]
async fn get_chunk(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    id: Result<Path<String>, PathRejection>,
    query: Result<Query<ChunkQuery>, QueryRejection>,
) -> HttpResponse {
    let args = match (id, query) {
        (Ok(Path(id)), Ok(Query(q))) => Ok(Request::Get(GetArgs {
            chunk_id: id,
            before: q.before,
            after: q.after,
            budget: q.budget,
        })),
        (Err(e), _) => Err(ServeError::InvalidRequest(format!(
            "bad chunk id: {}",
            e.body_text()
        ))),
        (_, Err(e)) => Err(ServeError::InvalidRequest(e.body_text())),
    };
    answer_parsed(state, caller, "get", args).await
}

/// What is served: the generation, its counts, reloads so far.
#[utoipa::path(get, path = "/healthz", tag = "server", security(()), responses((status = 200, body = Health)))]
async fn healthz(State(state): State<AppState>) -> Json<Health> {
    Json(state.service.health())
}

/// This API as an OpenAPI document.
#[utoipa::path(get, path = "/openapi.json", tag = "server", security(()), responses((status = 200, description = "OpenAPI 3.1 document")))]
async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(openapi())
}

async fn no_route(State(state): State<AppState>, request: HttpRequest) -> HttpResponse {
    let e = ServeError::NotFound("no such route (see GET /openapi.json)".into());
    refuse_route(&state, &request, e, StatusCode::NOT_FOUND)
}

async fn wrong_method(State(state): State<AppState>, request: HttpRequest) -> HttpResponse {
    let e = ServeError::InvalidRequest(format!(
        "method {} not allowed on this route (see GET /openapi.json)",
        request.method()
    ));
    refuse_route(&state, &request, e, StatusCode::METHOD_NOT_ALLOWED)
}

/// Answer (and audit) a request for a route or method that does not exist. With a tokens
/// file, a caller without a valid token learns only that it is unauthorized.
fn refuse_route(
    state: &AppState,
    request: &HttpRequest,
    e: ServeError,
    status: StatusCode,
) -> HttpResponse {
    let caller = match state.service.authenticate(bearer(request).as_deref()) {
        Ok(principal) => Caller::new(TRANSPORT, principal),
        Err(unauthorized) => {
            let caller = Caller::new(TRANSPORT, None);
            state
                .service
                .audit_refusal(&caller, "http", &unauthorized, Duration::ZERO);
            return Failure(unauthorized).into_response();
        }
    };
    let operation = match request.method() == Method::HEAD || request.method() == Method::OPTIONS {
        true => "http",
        false => operation_of(request.uri().path()),
    };
    state
        .service
        .audit_refusal(&caller, operation, &e, Duration::ZERO);
    let mut response = Failure(e).into_response();
    *response.status_mut() = status;
    response
}

#[derive(OpenApi)]
#[openapi(
    info(title = "lore", description = "An organization's memory: hybrid search, context packs, decisions and people, with exact citations."),
    paths(search, context, decisions, who, get_post, get_chunk, healthz, openapi_json),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct ApiDoc;

/// Declares the bearer scheme.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The OpenAPI document of this server (`GET /openapi.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_without_tokens() {
        let local: SocketAddr = "127.0.0.1:7070".parse().unwrap();
        let v6: SocketAddr = "[::1]:7070".parse().unwrap();
        let all: SocketAddr = "0.0.0.0:7070".parse().unwrap();
        assert!(check_exposure(&local, false).is_ok());
        assert!(check_exposure(&v6, false).is_ok());
        let err = check_exposure(&all, false).unwrap_err();
        assert!(err.to_string().contains("--tokens"), "{err}");
        assert!(check_exposure(&all, true).is_ok());
    }

    #[test]
    fn the_openapi_document_lists_every_route() {
        let doc = serde_json::to_value(openapi()).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        for p in [
            "/v1/search",
            "/v1/context",
            "/v1/decisions",
            "/v1/who",
            "/v1/get",
            "/v1/chunks/{id}",
            "/healthz",
            "/openapi.json",
        ] {
            assert!(paths.contains_key(p), "{p} missing");
        }
        assert!(doc["components"]["schemas"]["SearchArgs"].is_object());
        assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    }
}
