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
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, Request as HttpRequest, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response as HttpResponse};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;

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

/// How the HTTP server behaves.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Largest request body, in bytes (`too_large` beyond).
    pub body_limit: usize,
    /// Longest a request may take (`timeout` beyond).
    pub time_limit: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            body_limit: DEFAULT_BODY_LIMIT,
            time_limit: DEFAULT_TIME_LIMIT,
        }
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
}

/// The routes, with authentication, body and time limits (see the module guide).
pub fn router(service: Service, options: HttpOptions) -> Router {
    let state = AppState {
        service,
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
        .with_state(state)
}

/// Serve on `listener` until `shutdown` completes, then let requests in flight finish.
pub async fn serve(
    service: Service,
    listener: tokio::net::TcpListener,
    options: HttpOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(service, options))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Bind `addr` (checked with [`check_exposure`]), call `on_bound` with the address bound (the
/// port of `:0` resolved), and serve until SIGINT or SIGTERM; requests in flight finish first.
/// Blocks; builds its own tokio runtime.
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
    runtime.block_on(async move {
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
    })
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

/// Run `request` (or answer the refusal of its body) in a blocking thread within the time
/// limit.
async fn answer(
    state: AppState,
    caller: Caller,
    operation: &'static str,
    request: Result<Request, JsonRejection>,
) -> HttpResponse {
    let started = Instant::now();
    let request = match request {
        Ok(r) => r,
        Err(r) => {
            let e = rejection(r);
            state
                .service
                .audit_refusal(&caller, operation, &e, started.elapsed());
            return Failure(e).into_response();
        }
    };
    let limit = state.options.time_limit;
    let deadline = started + limit;
    let service = state.service.clone();
    let task = tokio::task::spawn_blocking(move || service.call(&caller, request, Some(deadline)));
    match tokio::time::timeout(limit, task).await {
        Ok(Ok(Ok(response))) => Json(response).into_response(),
        Ok(Ok(Err(e))) => Failure(e).into_response(),
        Ok(Err(join)) => {
            eprintln!("lore serve: {operation} failed: {join}");
            Failure(ServeError::Internal("see the server's log".into())).into_response()
        }
        // The operation goes on in its thread and writes its own audit line (`timeout`).
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
    Path(id): Path<String>,
    Query(q): Query<ChunkQuery>,
) -> HttpResponse {
    let args = GetArgs {
        chunk_id: id,
        before: q.before,
        after: q.after,
        budget: q.budget,
    };
    answer(state, caller, "get", Ok(Request::Get(args))).await
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

async fn no_route() -> HttpResponse {
    Failure(ServeError::NotFound(
        "no such route (see GET /openapi.json)".into(),
    ))
    .into_response()
}

async fn wrong_method() -> HttpResponse {
    let mut response = Failure(ServeError::InvalidRequest(
        "method not allowed on this route (see GET /openapi.json)".into(),
    ))
    .into_response();
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
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
