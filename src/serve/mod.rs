//! Serving an index to other programs: the one [`Service`] every transport calls (HTTP in
//! `lore serve`, MCP in `lore mcp`), its request and answer types, its errors, who the caller
//! is ([`auth`]) and the audit log ([`audit`]).
//!
//! A transport only turns its wire format into a call and back. It builds a [`Caller`] — the
//! principal its credentials stand for, and its own name — and calls one of the five
//! operations:
//!
//! | operation | asks | answers |
//! |---|---|---|
//! | [`Service::search`] | ranked, cited hits for a query | [`SearchOutput`] |
//! | [`Service::context`] | a token-budgeted context pack for a question | [`ContextOutput`] |
//! | [`Service::decisions`] | decisions and actions in force, on a topic, at a date | [`DecisionsOutput`] |
//! | [`Service::who`] | people ranked by what the index shows they know | [`WhoOutput`] |
//! | [`Service::get`] | one cited chunk by id, with its neighbours | [`GetOutput`] |
//!
//! Each takes a `budget` in tokens (default [`DEFAULT_BUDGET`]), counted with the model's own
//! tokenizer over the JSON of what is handed out: a search returns as many hits as fit, best
//! first, and says how many it left out. The caller's principal goes into every request to the
//! library, so on an index with access control a caller sees only what it may read.
//!
//! Operations are synchronous (they read files and run the model); an async transport calls
//! them in `spawn_blocking`. Every call appends one line to the audit log.
//!
//! **Hot reload.** A thread polls the index's `CURRENT` file every
//! [`ServiceOptions::poll_interval`] (250 ms by default). When `lore index` commits a new
//! generation, the thread opens it and warms it — vectors and graph, ledger, people, tokenizer,
//! one hybrid query — off the request path, then swaps it in. A request holds the generation it
//! started on (an `Arc`) to its end, and a generation stays readable while open even after a
//! commit removes it, so no request fails or mixes two generations. A generation that fails to
//! open is reported on standard error and the old one keeps serving.
//!
//! ```no_run
//! use lore::serve::{Caller, SearchArgs, Service, ServiceOptions};
//! let service = Service::open("/srv/acme-index", ServiceOptions::default())?;
//! let caller = Caller { principal: Some(lore::Principal::new("priya")), transport: "example" };
//! let answer = service.search(&caller, SearchArgs::new("outside counsel threshold"))?;
//! for hit in &answer.hits {
//!     // No lines for a passage of a thread the caller reads only in part.
//!     match hit.line_range {
//!         Some([first, _]) => println!("{} {}:{first}", hit.chunk_id, hit.path),
//!         None => println!("{} {}", hit.chunk_id, hit.path),
//!     }
//! }
//! # Ok::<(), lore::serve::ServeError>(())
//! ```

pub mod audit;
pub mod auth;
pub mod http;
pub mod jsonrpc;
pub mod listen;
pub mod mcp;
mod types;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use once_cell::sync::OnceCell;
use serde::Serialize;

use crate::access::Principal;
use crate::cite::CitationStyle;
use crate::date::Date;
use crate::embed::{resolve_model_dir, QueryPrecision, TokenCounter};
use crate::error::{Error, UserError};
use crate::generation;
use crate::index::{Index, OpenOptions};
use crate::memory::{
    ContextRequest, DecisionsRequest, EntryKind, PackFormat, StatusFilter, WhoRequest,
};
use crate::model::Filter;
use crate::query::{parse_filter, Mode, SearchRequest};
use crate::stale::SourceChecking;

pub use crate::embed::SessionPool;
pub use audit::{AuditLog, AuditRecord};
pub use auth::Tokens;
pub use types::{
    ChunkItem, Citation, ContextArgs, ContextOutput, DecisionItem, DecisionsArgs, DecisionsOutput,
    EvidenceItem, GetArgs, GetOutput, Health, HistoryItem, Hit, HitDecision, PersonItem,
    SearchArgs, SearchMode, SearchOutput, StaleItem, WhoArgs, WhoOutput,
};

/// Tokens an answer may take when the request names no budget.
pub const DEFAULT_BUDGET: usize = 2000;
/// The largest budget a request may ask for.
pub const MAX_BUDGET: usize = 100_000;
/// Hits a search considers when the request does not say.
pub const DEFAULT_MAX_HITS: usize = 10;
/// The most hits a search may ask for.
pub const MAX_HITS: usize = 100;
/// The longest query, question, topic or chunk id a request may carry, in bytes (about 600
/// words): what one search reads is bounded, and so is the memory of many at once.
pub const MAX_QUERY_BYTES: usize = 4096;
/// The most entries (`decisions`) or people (`who`) a request may ask for.
pub const MAX_LIMIT: usize = 100;
/// The most neighbours a `get` may ask for on each side.
pub const MAX_NEIGHBOURS: usize = 20;
/// How often the index's `CURRENT` is checked for a new generation, by default.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(250);

/// Why a request was not answered, with a stable machine-readable [`code`](ServeError::code).
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The request is malformed or asks for something impossible (`invalid_request`).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// What was asked for is not there, or the caller may not see it: the two look the same
    /// (`not_found`).
    #[error("not found: {0}")]
    NotFound(String),
    /// No credentials, or credentials the server does not know (`unauthorized`).
    #[error("unauthorized: a valid bearer token is required")]
    Unauthorized,
    /// Known credentials that may not do this (`forbidden`).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The request is larger than the server accepts (`too_large`).
    #[error("request too large: {0}")]
    TooLarge(String),
    /// The request took longer than the server allows (`timeout`).
    #[error("timed out: {0}")]
    Timeout(String),
    /// The index or model cannot answer now: missing, incompatible, being rebuilt
    /// (`unavailable`).
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Something broke inside the server (`internal`); the details go to the server's log,
    /// not to the caller.
    #[error("internal error: {0}")]
    Internal(String),
    /// The server cannot start as asked (an address it must not or cannot listen on; `config`;
    /// never an answer to a request).
    #[error("{0}")]
    Setup(String),
    /// A file the server was started with (tokens file, audit log) is unusable (`config`;
    /// never an answer to a request).
    #[error("{}: {reason}", path.display())]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

impl ServeError {
    /// The stable code: `invalid_request`, `not_found`, `unauthorized`, `forbidden`,
    /// `too_large`, `timeout`, `unavailable`, `internal` (or `config` for a startup problem).
    pub fn code(&self) -> &'static str {
        match self {
            ServeError::InvalidRequest(_) => "invalid_request",
            ServeError::NotFound(_) => "not_found",
            ServeError::Unauthorized => "unauthorized",
            ServeError::Forbidden(_) => "forbidden",
            ServeError::TooLarge(_) => "too_large",
            ServeError::Timeout(_) => "timeout",
            ServeError::Unavailable(_) => "unavailable",
            ServeError::Internal(_) => "internal",
            ServeError::Setup(_) | ServeError::Config { .. } => "config",
        }
    }

    /// The HTTP status of this error.
    pub fn http_status(&self) -> u16 {
        match self {
            ServeError::InvalidRequest(_) => 400,
            ServeError::NotFound(_) => 404,
            ServeError::Unauthorized => 401,
            ServeError::Forbidden(_) => 403,
            ServeError::TooLarge(_) => 413,
            ServeError::Timeout(_) => 504,
            ServeError::Unavailable(_) => 503,
            ServeError::Internal(_) | ServeError::Setup(_) | ServeError::Config { .. } => 500,
        }
    }
}

impl From<Error> for ServeError {
    fn from(err: Error) -> Self {
        match &err {
            Error::User(UserError::InvalidRequest(reason)) => {
                ServeError::InvalidRequest(reason.clone())
            }
            // The rest name the server's folders (index, model, sources): the caller gets what
            // is wrong, the operator the details.
            Error::User(UserError::Load { .. }) => {
                eprintln!("lore serve: {err}");
                ServeError::InvalidRequest(
                    "a file the request needs cannot be read (the server's log says which)".into(),
                )
            }
            Error::User(UserError::DeadlineExceeded { .. }) => ServeError::Timeout(err.to_string()),
            Error::User(user) => {
                eprintln!("lore serve: {err}");
                let what = match user {
                    UserError::NoIndex { .. } => "there is no index to serve",
                    UserError::Incompatible { .. } => "the index cannot be used as it is",
                    UserError::ModelMissing { .. } => "the embedding model is unavailable",
                    UserError::Locked { .. } => "the index is being written; try again",
                    _ => "the index cannot answer now",
                };
                ServeError::Unavailable(format!("{what} (details in the server's log)"))
            }
            Error::Internal(_) => {
                // The caller gets the code; the operator gets the details.
                eprintln!("lore serve: internal error: {err}");
                ServeError::Internal("see the server's log".into())
            }
        }
    }
}

/// Who is calling, as a transport established it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The principal the caller's credentials stand for; `None` for the index owner (a
    /// server started without tokens and without `--as`), who sees everything.
    pub principal: Option<Principal>,
    /// The transport's name (`http`, `mcp`), for the audit log.
    pub transport: &'static str,
}

impl Caller {
    /// A caller on `transport` on behalf of `principal`.
    pub fn new(transport: &'static str, principal: Option<Principal>) -> Self {
        Caller {
            principal,
            transport,
        }
    }
}

/// A request to any operation: what [`Service::call`] takes.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// See [`Service::search`].
    Search(SearchArgs),
    /// See [`Service::context`].
    Context(ContextArgs),
    /// See [`Service::decisions`].
    Decisions(DecisionsArgs),
    /// See [`Service::who`].
    Who(WhoArgs),
    /// See [`Service::get`].
    Get(GetArgs),
}

impl Request {
    /// Refuse a query, question, topic or chunk id over [`MAX_QUERY_BYTES`].
    fn check_lengths(&self) -> Result<(), ServeError> {
        let (field, text) = match self {
            Request::Search(a) => ("query", a.query.as_str()),
            Request::Context(a) => ("question", a.question.as_str()),
            Request::Decisions(a) => ("query", a.query.as_deref().unwrap_or("")),
            Request::Who(a) => ("topic", a.topic.as_str()),
            Request::Get(a) => ("chunk_id", a.chunk_id.as_str()),
        };
        if text.len() > MAX_QUERY_BYTES {
            return Err(ServeError::InvalidRequest(format!(
                "{field} is {} bytes, over the most a request may carry ({MAX_QUERY_BYTES} \
                 bytes): ask a shorter question",
                text.len()
            )));
        }
        Ok(())
    }

    /// The operation's name, as the audit log writes it.
    pub fn operation(&self) -> &'static str {
        match self {
            Request::Search(_) => "search",
            Request::Context(_) => "context",
            Request::Decisions(_) => "decisions",
            Request::Who(_) => "who",
            Request::Get(_) => "get",
        }
    }

    /// What is asked about: the query, question, topic or chunk id.
    pub fn subject(&self) -> Option<String> {
        match self {
            Request::Search(a) => Some(a.query.clone()),
            Request::Context(a) => Some(a.question.clone()),
            Request::Decisions(a) => a.query.clone(),
            Request::Who(a) => Some(a.topic.clone()),
            Request::Get(a) => Some(a.chunk_id.clone()),
        }
    }
}

/// An answer of any operation: what [`Service::call`] returns.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Response {
    /// See [`Service::search`].
    Search(SearchOutput),
    /// See [`Service::context`].
    Context(ContextOutput),
    /// See [`Service::decisions`].
    Decisions(DecisionsOutput),
    /// See [`Service::who`].
    Who(WhoOutput),
    /// See [`Service::get`] (boxed: the largest answer).
    Get(Box<GetOutput>),
}

impl Response {
    /// Ids of the chunks (ledger entries, for decisions) handed out, for the audit log.
    pub fn span_ids(&self) -> Vec<String> {
        match self {
            Response::Search(o) => o.hits.iter().map(|h| h.chunk_id.clone()).collect(),
            Response::Context(o) => {
                let mut ids: Vec<String> = Vec::new();
                for c in &o.citations {
                    if !ids.contains(&c.chunk_id) {
                        ids.push(c.chunk_id.clone());
                    }
                }
                ids
            }
            Response::Decisions(o) => o.entries.iter().map(|e| e.id.clone()).collect(),
            Response::Who(o) => {
                let mut ids: Vec<String> = Vec::new();
                for e in o.people.iter().flat_map(|p| &p.evidence) {
                    if !ids.contains(&e.chunk_id) {
                        ids.push(e.chunk_id.clone());
                    }
                }
                ids
            }
            Response::Get(o) => o
                .before
                .iter()
                .chain(std::iter::once(&o.chunk))
                .chain(&o.after)
                .map(|c| c.chunk_id.clone())
                .collect(),
        }
    }

    /// The generation that answered.
    pub fn generation(&self) -> &str {
        match self {
            Response::Search(o) => &o.generation,
            Response::Context(o) => &o.generation,
            Response::Decisions(o) => &o.generation,
            Response::Who(o) => &o.generation,
            Response::Get(o) => &o.generation,
        }
    }
}

/// How a [`Service`] is set up.
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    /// Directory of the embedding model (default: `$LORE_MODEL_DIR`, else
    /// `~/.cache/lore/model`).
    pub model_dir: Option<PathBuf>,
    /// The audit log (default: `<index>/audit.jsonl`).
    pub audit_log: Option<PathBuf>,
    /// Write no audit log at all.
    pub no_audit: bool,
    /// Bearer tokens; `None` serves everyone as [`ServiceOptions::default_principal`].
    pub tokens: Option<Tokens>,
    /// The principal of callers that bring no credentials when there are no tokens (`lore
    /// serve --as USER`); `None`: the index owner.
    pub default_principal: Option<Principal>,
    /// How often to check for a new generation; `None` never reloads.
    pub poll_interval: Option<Duration>,
    /// Query embedding sessions: `Some(n)`, n single-threaded sessions, so that concurrent
    /// queries embed side by side (see [`SessionPool`]); `None` (the default): one per core;
    /// `Some(0)`: one session on every core, for one query at a time. On two cores the pool
    /// answers 8 concurrent clients about 6% faster and one client no slower (see
    /// `benches/RESULTS.md`).
    pub query_sessions: Option<usize>,
    /// How queries are embedded (default: by the int8 query graph).
    pub query_precision: QueryPrecision,
    /// How answers check the source files they cite (default: by their metadata; see
    /// [`crate::Stale`]). Each answer checks the files as this server sees them, and says
    /// nothing of where they are.
    pub source_checking: SourceChecking,
}

impl Default for ServiceOptions {
    fn default() -> Self {
        ServiceOptions {
            model_dir: None,
            audit_log: None,
            no_audit: false,
            tokens: None,
            default_principal: None,
            poll_interval: Some(DEFAULT_POLL_INTERVAL),
            query_sessions: None,
            query_precision: QueryPrecision::default(),
            source_checking: SourceChecking::default(),
        }
    }
}

/// One open generation.
struct Loaded {
    index: Index,
    /// `gen-NNNNNN` (the directory name of the generation).
    generation: String,
}

/// What a [`Service`] shares with its reload thread.
struct Inner {
    root: PathBuf,
    /// How queries are embedded, for the start-up line.
    query_embedding: String,
    open_options: OpenOptions,
    current: RwLock<Arc<Loaded>>,
    /// The generation that last failed to open, not tried again until `CURRENT` moves on.
    failed: Mutex<Option<String>>,
    reloads: AtomicU64,
    audit: Option<AuditLog>,
    tokens: Option<Tokens>,
    default_principal: Option<Principal>,
    /// Token counts of texts handed out.
    texts: TextTokens,
    /// Dropped with the service, which stops the reload thread.
    _stop: Mutex<mpsc::Sender<()>>,
}

/// An open index served to callers: see the module guide. Cheap to clone (clones share
/// everything, including the reload thread, which stops when the last clone is dropped).
#[derive(Clone)]
pub struct Service {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("root", &self.inner.root)
            .field("generation", &self.generation())
            .finish()
    }
}

impl Service {
    /// Open the index at `dir`, warm it (see the module guide), open the audit log, and start
    /// the reload thread. Fails when the index cannot be opened ([`ServeError::Unavailable`],
    /// with the library's message) or the audit log cannot be opened ([`ServeError::Config`]).
    pub fn open(dir: impl AsRef<Path>, options: ServiceOptions) -> Result<Service, ServeError> {
        let root = dir.as_ref().to_path_buf();
        let mut open_options = OpenOptions::default().source_checking(options.source_checking);
        if let Some(m) = &options.model_dir {
            open_options = open_options.model_dir(m);
        }
        // One query embedder for every generation: a reload does not load the model again.
        // Without a model, hybrid searches fall back to lexical and say so.
        let model_dir = resolve_model_dir(options.model_dir.as_deref());
        let precision = options.query_precision;
        // A pool of one session on every core waits for its session as that session would.
        let pool = match options.query_sessions {
            Some(0) => SessionPool::load(&model_dir, precision, 1, None),
            Some(n) => SessionPool::load(&model_dir, precision, n, Some(1)),
            None => SessionPool::for_this_machine(&model_dir, precision),
        };
        let query_embedding = match &pool {
            Ok(pool) => {
                let graph = match (pool.is_int8(), precision) {
                    (true, _) => "the int8 query graph",
                    (false, QueryPrecision::Full) => "the f32 graph (--query-precision full)",
                    (false, QueryPrecision::Int8) => {
                        "the f32 graph (no int8 query graph for this model: scripts/fetch-model.sh makes it)"
                    }
                };
                match options.query_sessions {
                    Some(0) => format!("{graph}, one session on every core"),
                    _ => format!("{graph}, {} single-threaded sessions", pool.num_sessions()),
                }
            }
            Err(e) => format!("none ({e})"),
        };
        if let Ok(pool) = pool {
            open_options = open_options.embedder(Arc::new(pool));
        }
        let loaded = open_and_warm(&root, &open_options)?;
        let audit = match options.no_audit {
            true => None,
            false => Some(AuditLog::open(
                options
                    .audit_log
                    .clone()
                    .unwrap_or_else(|| root.join(audit::DEFAULT_AUDIT_FILE)),
            )?),
        };
        let (stop, stopped) = mpsc::channel();
        let inner = Arc::new(Inner {
            root,
            open_options,
            current: RwLock::new(Arc::new(loaded)),
            failed: Mutex::new(None),
            reloads: AtomicU64::new(0),
            audit,
            tokens: options.tokens,
            query_embedding,
            default_principal: options.default_principal,
            texts: TextTokens::default(),
            _stop: Mutex::new(stop),
        });
        if let Some(every) = options.poll_interval {
            let weak = Arc::downgrade(&inner);
            std::thread::Builder::new()
                .name("lore-reload".into())
                .spawn(move || poll(weak, stopped, every))
                .map_err(|e| {
                    ServeError::Internal(format!("cannot start the reload thread: {e}"))
                })?;
        }
        Ok(Service { inner })
    }

    /// The index directory.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// How queries are embedded: which graph and how many sessions, or why none (hybrid
    /// searches then fall back to lexical and say so).
    pub fn query_embedding(&self) -> &str {
        &self.inner.query_embedding
    }

    /// The audit log's path, when there is one.
    pub fn audit_path(&self) -> Option<&Path> {
        self.inner.audit.as_ref().map(AuditLog::path)
    }

    /// True when callers must bring a bearer token.
    pub fn requires_token(&self) -> bool {
        self.inner.tokens.is_some()
    }

    /// The principal a caller's bearer token stands for: with a tokens file, the token's
    /// principal or [`ServeError::Unauthorized`]; without one, the default principal (`--as`),
    /// whatever the token.
    pub fn authenticate(&self, bearer: Option<&str>) -> Result<Option<Principal>, ServeError> {
        match &self.inner.tokens {
            Some(tokens) => tokens.principal_for(bearer).map(Some),
            None => Ok(self.inner.default_principal.clone()),
        }
    }

    /// The generation serving now.
    pub fn generation(&self) -> String {
        self.loaded().generation.clone()
    }

    /// What is served now.
    pub fn health(&self) -> Health {
        let loaded = self.loaded();
        let m = loaded.index.manifest();
        // Counts of the whole index are no business of a caller with a partial view: with
        // access control on (or unknown) they are left out.
        let access_control = loaded.index.access_control().unwrap_or(true);
        let open = |n: usize| (!access_control).then_some(n);
        Health {
            status: "ok".into(),
            generation: loaded.generation.clone(),
            documents: open(m.counts.documents),
            chunks: open(m.counts.chunks),
            access_control,
            model: m.model.as_ref().map(|m| m.id.clone()),
            reloads: self.inner.reloads.load(Ordering::Relaxed),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }

    /// Check `CURRENT` now and, if it names another generation, open and warm it and swap it
    /// in (what the reload thread does every poll interval). `Ok(true)` when it swapped.
    pub fn reload(&self) -> Result<bool, ServeError> {
        reload(&self.inner)
    }

    fn loaded(&self) -> Arc<Loaded> {
        self.inner
            .current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Search: ranked, cited hits, as many as fit the budget.
    pub fn search(&self, caller: &Caller, args: SearchArgs) -> Result<SearchOutput, ServeError> {
        match self.call(caller, Request::Search(args), None)? {
            Response::Search(o) => Ok(o),
            _ => Err(ServeError::Internal(
                "search answered with another kind".into(),
            )),
        }
    }

    /// A context pack: the passages that answer a question, cited, within the budget.
    pub fn context(&self, caller: &Caller, args: ContextArgs) -> Result<ContextOutput, ServeError> {
        match self.call(caller, Request::Context(args), None)? {
            Response::Context(o) => Ok(o),
            _ => Err(ServeError::Internal(
                "context answered with another kind".into(),
            )),
        }
    }

    /// The decisions and actions that stand at a date, on a topic, with their history.
    pub fn decisions(
        &self,
        caller: &Caller,
        args: DecisionsArgs,
    ) -> Result<DecisionsOutput, ServeError> {
        match self.call(caller, Request::Decisions(args), None)? {
            Response::Decisions(o) => Ok(o),
            _ => Err(ServeError::Internal(
                "decisions answered with another kind".into(),
            )),
        }
    }

    /// People ranked by what the index shows they know about a topic.
    pub fn who(&self, caller: &Caller, args: WhoArgs) -> Result<WhoOutput, ServeError> {
        match self.call(caller, Request::Who(args), None)? {
            Response::Who(o) => Ok(o),
            _ => Err(ServeError::Internal(
                "who answered with another kind".into(),
            )),
        }
    }

    /// One chunk by id, with its neighbours; [`ServeError::NotFound`] when the index holds no
    /// such chunk or the caller may not read it.
    pub fn get(&self, caller: &Caller, args: GetArgs) -> Result<GetOutput, ServeError> {
        match self.call(caller, Request::Get(args), None)? {
            Response::Get(o) => Ok(*o),
            _ => Err(ServeError::Internal(
                "get answered with another kind".into(),
            )),
        }
    }

    /// Run any operation and write its audit line. With a `deadline`, an answer ready only
    /// after it is dropped and the call fails with [`ServeError::Timeout`] (what a transport
    /// that stopped waiting at the deadline told its caller), so the audit log records what
    /// the caller saw.
    pub fn call(
        &self,
        caller: &Caller,
        request: Request,
        deadline: Option<Instant>,
    ) -> Result<Response, ServeError> {
        let started = Instant::now();
        let operation = request.operation();
        let subject = request.subject();
        let loaded = self.loaded();
        // The operation stops at its next stage once the deadline has passed.
        let mut result = unwind_to_internal(operation, || {
            crate::deadline::within(deadline, || {
                run(&loaded, &self.inner.texts, caller, request)
            })
        });
        if deadline.is_some_and(|d| Instant::now() >= d) && result.is_ok() {
            result = Err(ServeError::Timeout(format!(
                "{operation} took longer than the server allows"
            )));
        }
        let (spans, outcome) = match &result {
            Ok(r) => (r.span_ids(), "ok"),
            Err(e) => (Vec::new(), e.code()),
        };
        self.audit(
            caller,
            operation,
            subject,
            spans,
            outcome,
            started.elapsed(),
            Some(loaded.generation.clone()),
        );
        result
    }

    /// Write an audit line for a request a transport refused before calling an operation (bad
    /// token, body too large, malformed JSON).
    pub fn audit_refusal(
        &self,
        caller: &Caller,
        operation: &str,
        error: &ServeError,
        elapsed: Duration,
    ) {
        self.audit(
            caller,
            operation,
            None,
            Vec::new(),
            error.code(),
            elapsed,
            None,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn audit(
        &self,
        caller: &Caller,
        operation: &str,
        query: Option<String>,
        spans: Vec<String>,
        outcome: &str,
        elapsed: Duration,
        generation: Option<String>,
    ) {
        let Some(log) = &self.inner.audit else {
            return;
        };
        let record = AuditRecord {
            time: audit::now_rfc3339(),
            principal: caller.principal.as_ref().map(|p| p.user.clone()),
            groups: caller
                .principal
                .as_ref()
                .map(|p| p.groups.clone())
                .unwrap_or_default(),
            transport: caller.transport.to_string(),
            operation: operation.to_string(),
            query,
            spans,
            outcome: outcome.to_string(),
            duration_ms: (elapsed.as_secs_f64() * 1e6).round() / 1e3,
            generation,
        };
        if let Err(e) = log.append(&record) {
            eprintln!(
                "lore serve: cannot write the audit log {}: {e}",
                log.path().display()
            );
        }
    }
}

/// Run `f`; a panic inside it becomes [`ServeError::Internal`] (so the request is answered,
/// audited as `internal`, and the server keeps serving). The panic's message goes to standard
/// error, escaped, never to the caller.
fn unwind_to_internal<T>(
    operation: &str,
    f: impl FnOnce() -> Result<T, ServeError>,
) -> Result<T, ServeError> {
    // What a panicking operation leaves behind is read-only index state and its own locals;
    // locks it held are taken with `unwrap_or_else(into_inner)` elsewhere.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(no message)".into());
            eprintln!(
                "lore serve: internal error: {operation} panicked: {}",
                audit::escape_text(&message)
            );
            Err(ServeError::Internal("see the server's log".into()))
        }
    }
}

/// Open the current generation of `root` and warm it, so its first request pays for nothing.
fn open_and_warm(root: &Path, options: &OpenOptions) -> Result<Loaded, ServeError> {
    let index = Index::open_with(root, options.clone())?;
    let generation = index
        .dir()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "gen-legacy".into());
    // The ledger and people files, the tokenizer, the vectors and graph and the model: each is
    // loaded on first use, so use each once. A missing model is not an error here: searches
    // fall back to lexical and say so.
    index.ledger()?;
    index.people()?;
    let _ = index.token_counter();
    let warm = SearchRequest {
        k: 1,
        ..SearchRequest::new("warm up")
    };
    index.search(&warm)?;
    Ok(Loaded { index, generation })
}

/// The reload thread: check every `every` until the service is dropped.
fn poll(inner: Weak<Inner>, stopped: mpsc::Receiver<()>, every: Duration) {
    let mut last_problem: Option<String> = None;
    loop {
        match stopped.recv_timeout(every) {
            Err(RecvTimeoutError::Timeout) => {}
            _ => return,
        }
        let Some(inner) = inner.upgrade() else {
            return;
        };
        // Report a problem once, not every poll, until it changes or goes away.
        let problem = reload(&inner).err().map(|e| e.to_string());
        if problem.is_some() && problem != last_problem {
            eprintln!(
                "lore serve: keeping the current generation: {}",
                problem.as_deref().unwrap_or_default()
            );
        }
        last_problem = problem;
    }
}

fn reload(inner: &Inner) -> Result<bool, ServeError> {
    let Some(name) = generation::read_current(&inner.root)? else {
        return Ok(false);
    };
    let serving = inner
        .current
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .generation
        .clone();
    if name == serving {
        return Ok(false);
    }
    {
        let failed = inner.failed.lock().unwrap_or_else(|e| e.into_inner());
        if failed.as_deref() == Some(name.as_str()) {
            return Ok(false);
        }
    }
    match open_and_warm(&inner.root, &inner.open_options) {
        Ok(loaded) => {
            *inner.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(loaded);
            inner.reloads.fetch_add(1, Ordering::Relaxed);
            Ok(true)
        }
        Err(e) => {
            *inner.failed.lock().unwrap_or_else(|e| e.into_inner()) = Some(name.clone());
            Err(ServeError::Unavailable(format!(
                "generation {name} did not open: {e}"
            )))
        }
    }
}

/// The budget a request asked for, checked.
fn budget_of(budget: Option<usize>) -> Result<usize, ServeError> {
    match budget.unwrap_or(DEFAULT_BUDGET) {
        0 => Err(ServeError::InvalidRequest(
            "budget must be at least 1 token".into(),
        )),
        b if b > MAX_BUDGET => Err(ServeError::InvalidRequest(format!(
            "budget {b} is over the most a request may ask for ({MAX_BUDGET} tokens)"
        ))),
        b => Ok(b),
    }
}

/// A count a request asked for (`field`, `default` when not given), checked to lie in
/// `least..=most`.
fn count_of(
    field: &str,
    value: Option<usize>,
    default: usize,
    least: usize,
    most: usize,
) -> Result<usize, ServeError> {
    let n = value.unwrap_or(default);
    if n < least || n > most {
        return Err(ServeError::InvalidRequest(format!(
            "{field} must be between {least} and {most} (it is {n})"
        )));
    }
    Ok(n)
}

/// The text a request asks about (`field`), which must hold more than white space.
fn text_of<'a>(field: &str, text: &'a str) -> Result<&'a str, ServeError> {
    match text.trim() {
        "" => Err(ServeError::InvalidRequest(format!("{field} is empty"))),
        t => Ok(t),
    }
}

/// The filters of a request. A `path` filter names a folder as answers cite it, relative to
/// the export root: an absolute one would let a caller probe the server's file system.
fn filters_of(specs: &[String]) -> Result<Vec<Filter>, ServeError> {
    specs
        .iter()
        .map(|s| match parse_filter(s)? {
            Filter::PathPrefix(p) if is_server_path(&p) => Err(ServeError::InvalidRequest(format!(
                "filter `{s}`: a path filter names a folder relative to the export root, as answers cite paths (path=exports/wiki)"
            ))),
            f => Ok(f),
        })
        .collect()
}

/// An absolute path, or one that climbs out of its root.
fn is_server_path(p: &str) -> bool {
    let p = p.replace('\\', "/");
    p.starts_with('/') || p.as_bytes().get(1) == Some(&b':') || p.split('/').any(|c| c == "..")
}

fn date_of(text: Option<&str>) -> Result<Option<Date>, ServeError> {
    text.map(|t| t.trim().parse::<Date>().map_err(ServeError::from))
        .transpose()
}

/// What an answer hands out item by item: serialized, and counted in tokens.
trait Counted: Serialize {
    /// The item with its long text left empty, and that text: counted apart, so that the
    /// text's count can be kept (see [`TextTokens`]). `None`: count the whole item.
    fn split_text(&self) -> Option<(Self, &str)>
    where
        Self: Sized;
}

impl Counted for Hit {
    fn split_text(&self) -> Option<(Self, &str)> {
        let shell = Hit {
            text: String::new(),
            ..self.clone()
        };
        Some((shell, &self.text))
    }
}

impl Counted for ChunkItem {
    fn split_text(&self) -> Option<(Self, &str)> {
        let shell = ChunkItem {
            text: String::new(),
            ..self.clone()
        };
        Some((shell, &self.text))
    }
}

impl Counted for DecisionItem {
    fn split_text(&self) -> Option<(Self, &str)> {
        None
    }
}

impl Counted for PersonItem {
    fn split_text(&self) -> Option<(Self, &str)> {
        None
    }
}

/// Most text counts [`TextTokens`] keeps before starting afresh.
const MAX_KEPT_COUNTS: usize = 200_000;

/// Token counts of chunk texts, kept across requests and generations (the texts of the hits a
/// server hands out repeat; tokenizing one costs about a millisecond per kilobyte).
///
/// An item's JSON is counted as the JSON with its text left empty plus the text's JSON-escaped
/// form. That sum is exact when the tokenizer splits at punctuation before anything else (as
/// BERT's WordPiece, the shipped model's, does): a quote always ends a word. It is checked once
/// against the whole count on a sample that starts with punctuation and holds escapes; for a
/// tokenizer where the sum differs, every item is counted whole.
///
/// A list of items is counted the same way: its brackets, plus a comma before every item but
/// the first, plus the items ([`ListSyntax`]), checked once like the text; where that sum
/// differs, the whole list is counted again at each item.
#[derive(Default)]
struct TextTokens {
    additive: OnceCell<bool>,
    lists: OnceCell<Option<ListSyntax>>,
    counts: Mutex<HashMap<u64, usize>>,
}

/// Tokens of a JSON list's own syntax, when a list counts as the sum of its parts.
#[derive(Debug, Clone, Copy)]
struct ListSyntax {
    /// `[]`
    brackets: usize,
    /// `,` between two items
    comma: usize,
}

impl TextTokens {
    fn list_syntax(&self, tokens: &TokenCounter) -> Result<Option<ListSyntax>, ServeError> {
        self.lists
            .get_or_try_init(|| {
                let items = [
                    serde_json::json!({"rank": 1, "text": "Raise it, \"now\"", "score": 0.5}),
                    serde_json::json!({"rank": 2, "lines": [3, 4], "people": []}),
                ];
                let syntax = ListSyntax {
                    brackets: tokens.count("[]")?,
                    comma: tokens.count(",")?,
                };
                let whole = tokens.count(&serde_json::Value::from(items.to_vec()).to_string())?;
                let mut parts = syntax.brackets + syntax.comma;
                for item in &items {
                    parts += tokens.count(&item.to_string())?;
                }
                Ok::<_, ServeError>((whole == parts).then_some(syntax))
            })
            .copied()
    }

    fn additive(&self, tokens: &TokenCounter) -> Result<bool, ServeError> {
        self.additive
            .get_or_try_init(|| {
                let text = "## Décision: \"Raise\" it to $75K\n\n- x/y#3 (café, 東京) — ok…\tend";
                let shell = serde_json::json!({"rank": 1, "text": "", "score": 0.5});
                let full = serde_json::json!({"rank": 1, "text": text, "score": 0.5});
                let escaped = serde_json::to_string(text).unwrap_or_default();
                let whole = tokens.count(&full.to_string())?;
                let parts = tokens.count(&shell.to_string())?
                    + tokens.count(&escaped[1..escaped.len() - 1])?;
                Ok::<bool, ServeError>(whole == parts)
            })
            .copied()
    }

    /// Tokens of `text` as it appears inside a JSON string.
    fn count(&self, tokens: &TokenCounter, text: &str) -> Result<usize, ServeError> {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        text.hash(&mut hasher);
        let key = hasher.finish();
        let counts = |c: &Mutex<HashMap<u64, usize>>| {
            c.lock()
                .map(|m| m.get(&key).copied())
                .unwrap_or_else(|e| e.into_inner().get(&key).copied())
        };
        if let Some(n) = counts(&self.counts) {
            return Ok(n);
        }
        let escaped = serde_json::to_string(text)
            .map_err(|e| ServeError::Internal(format!("cannot write JSON: {e}")))?;
        let n = tokens.count(&escaped[1..escaped.len() - 1])?;
        let mut map = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_KEPT_COUNTS {
            map.clear();
        }
        map.insert(key, n);
        Ok(n)
    }
}

/// Counts the tokens of what an operation hands out.
struct Counter<'a> {
    index: &'a Index,
    texts: &'a TextTokens,
    notes: Vec<String>,
}

impl Counter<'_> {
    /// Tokens of `item` as JSON: the model's tokenizer, or (without a model) an estimate,
    /// noted once.
    fn count<T: Counted>(&mut self, item: &T) -> Result<usize, ServeError> {
        let json = |item: &T| {
            serde_json::to_string(item)
                .map_err(|e| ServeError::Internal(format!("cannot write JSON: {e}")))
        };
        let tokens = match self.index.token_counter() {
            Ok(tokens) => tokens,
            Err(_) => {
                // Not the error itself: it names the server's model folder (the operator saw
                // it when the server started).
                if self.notes.is_empty() {
                    self.notes.push(
                        "tokens estimated (about 4 bytes a token): the model's tokenizer is unavailable"
                            .to_string(),
                    );
                }
                return Ok(crate::chunk::estimate_tokens(&json(item)?));
            }
        };
        if let Some((shell, text)) = item.split_text() {
            if self.texts.additive(tokens)? {
                return Ok(tokens.count(&json(&shell)?)? + self.texts.count(tokens, text)?);
            }
        }
        Ok(tokens.count(&json(item)?)?)
    }

    /// Tokens of a list as JSON, `items` and its own syntax.
    fn list<T: Counted>(&mut self, items: &[T]) -> Result<usize, ServeError> {
        let tokens = match self.index.token_counter() {
            Ok(tokens) => tokens,
            Err(_) => {
                let mut n = 2 + items.len().saturating_sub(1);
                for item in items {
                    n += self.count(item)?;
                }
                return Ok(n);
            }
        };
        if let Some(syntax) = self.texts.list_syntax(tokens)? {
            let mut n = syntax.brackets + syntax.comma * items.len().saturating_sub(1);
            for item in items {
                n += self.count(item)?;
            }
            return Ok(n);
        }
        let json = serde_json::to_string(items)
            .map_err(|e| ServeError::Internal(format!("cannot write JSON: {e}")))?;
        Ok(tokens.count(&json)?)
    }

    /// Tokens that appending `item` adds to the list `items` as JSON.
    fn added<T: Counted>(&mut self, items: &mut Vec<T>, item: T) -> Result<(usize, T), ServeError> {
        let additive = match self.index.token_counter() {
            Ok(tokens) => self.texts.list_syntax(tokens)?,
            Err(_) => Some(ListSyntax {
                brackets: 2,
                comma: 1,
            }),
        };
        if let Some(syntax) = additive {
            let comma = if items.is_empty() { 0 } else { syntax.comma };
            let n = self.count(&item)?;
            return Ok((comma + n, item));
        }
        let before = self.list(items)?;
        items.push(item);
        let after = self.list(items)?;
        let item = items.pop().expect("just pushed");
        Ok((after.saturating_sub(before), item))
    }

    /// Push `item` onto `out` if what it adds to that list fits what is left of `budget`;
    /// false when there was no item or it did not fit (that side is done).
    fn take_if_fits<T: Counted>(
        &mut self,
        item: Option<T>,
        used: &mut usize,
        budget: usize,
        out: &mut Vec<T>,
    ) -> Result<bool, ServeError> {
        let Some(item) = item else {
            return Ok(false);
        };
        let (n, item) = self.added(out, item)?;
        if *used + n > budget {
            return Ok(false);
        }
        *used += n;
        out.push(item);
        Ok(true)
    }

    /// Keep items, in order, while the list of them fits `budget` as JSON: `(kept, left out,
    /// tokens used)`, the tokens counting the list's brackets and commas. The first item that
    /// does not fit is `shrink`-ed (one step a call; false when it can shrink no more) until
    /// it fits, and kept if it does; nothing after it is. A budget below an empty list's
    /// tokens is refused.
    fn fit<T: Counted>(
        &mut self,
        items: Vec<T>,
        budget: usize,
        shrink: impl Fn(&mut T) -> bool,
    ) -> Result<(Vec<T>, usize, usize), ServeError> {
        let total = items.len();
        let mut kept = Vec::new();
        let mut used = self.list(&kept)?;
        if used > budget {
            return Err(ServeError::InvalidRequest(format!(
                "budget {budget} is below the {used} tokens of an empty list of results"
            )));
        }
        // The least budget that would have taken the first result, when none fits.
        let mut least = None;
        for item in items {
            let (mut n, mut item) = self.added(&mut kept, item)?;
            if used + n <= budget {
                used += n;
                kept.push(item);
                continue;
            }
            while shrink(&mut item) {
                (n, item) = self.added(&mut kept, item)?;
                if used + n <= budget {
                    used += n;
                    kept.push(item);
                    break;
                }
            }
            if kept.is_empty() {
                least = Some(used + n);
            }
            break;
        }
        let left_out = total - kept.len();
        if left_out > 0 {
            let mut note = format!(
                "{left_out} of {total} results left out to stay within the budget of {budget} tokens"
            );
            if let Some(least) = least {
                note.push_str(&format!(
                    " (the first takes {least} tokens with its list: ask for at least that)"
                ));
            }
            self.notes.push(note);
        }
        Ok((kept, left_out, used))
    }
}

/// Fewest bytes of text a hit cut to fit keeps.
const MIN_CUT_TEXT: usize = 160;

/// Halve a hit's text (at a word boundary, marked `…`); false when it is short already.
fn shrink_hit(hit: &mut Hit) -> bool {
    let text = hit.text.trim_end_matches('…');
    if text.len() < 2 * MIN_CUT_TEXT {
        return false;
    }
    let mut cut = text.len() / 2;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let cut = text[..cut].rfind(char::is_whitespace).unwrap_or(cut);
    hit.text = format!("{}…", text[..cut].trim_end());
    hit.truncated = true;
    true
}

/// Drop a decision's rationale, then its history; false when both are gone.
fn shrink_decision(d: &mut DecisionItem) -> bool {
    if d.rationale.take().is_some() {
        return true;
    }
    if !d.history.is_empty() {
        d.history.clear();
        return true;
    }
    false
}

/// Drop a person's last piece of evidence; false when none is left.
fn shrink_person(p: &mut PersonItem) -> bool {
    p.evidence.pop().is_some()
}

/// Run one operation on one generation.
fn run(
    loaded: &Loaded,
    texts: &TextTokens,
    caller: &Caller,
    request: Request,
) -> Result<Response, ServeError> {
    let index = &loaded.index;
    let generation = loaded.generation.clone();
    let principal = caller.principal.clone();
    // Paths relative to the export root; no ranges where they tell of what the caller may not
    // read (see `crate::cite`).
    let citations = index.citations(principal.as_ref())?;
    let mut counter = Counter {
        index,
        texts,
        notes: Vec::new(),
    };
    request.check_lengths()?;
    match request {
        Request::Search(args) => {
            let budget = budget_of(args.budget)?;
            text_of("query", &args.query)?;
            let k = count_of("max_hits", args.max_hits, DEFAULT_MAX_HITS, 1, MAX_HITS)?;
            let response = index.search(&SearchRequest {
                text: args.query.clone(),
                k,
                mode: args.mode.unwrap_or_default().into(),
                filters: filters_of(&args.filters)?,
                as_of: date_of(args.as_of.as_deref())?,
                principal,
                ..SearchRequest::default()
            })?;
            let hits: Vec<Hit> = response
                .hits
                .into_iter()
                .map(|h| Hit::cited(h, &citations))
                .collect();
            let (hits, num_left_out, tokens_used) = counter.fit(hits, budget, shrink_hit)?;
            let mut notes = response.notes;
            notes.append(&mut counter.notes);
            Ok(Response::Search(SearchOutput {
                query: args.query,
                mode_used: response.mode_used.into(),
                hits,
                num_left_out,
                budget,
                tokens_used,
                generation,
                notes,
            }))
        }
        Request::Context(args) => {
            let budget = budget_of(args.budget)?;
            text_of("question", &args.question)?;
            let mut request = ContextRequest::new(args.question.clone(), budget);
            request.format = PackFormat::Md;
            request.mode = args.mode.unwrap_or_default().into();
            request.filters = filters_of(&args.filters)?;
            request.as_of = date_of(args.as_of.as_deref())?;
            request.principal = principal;
            request.citations = CitationStyle::Caller;
            let pack = index.context(&request)?;
            let citations = pack
                .passages
                .iter()
                .flat_map(|p| {
                    p.spans.iter().map(|s| Citation {
                        number: p.number,
                        chunk_id: s.chunk_id.clone(),
                        path: s.path.clone(),
                        line_range: (!s.ranges_withheld).then_some(s.line_range),
                        byte_range: (!s.ranges_withheld).then_some(s.byte_range),
                        content_hash: s.content_hash.clone(),
                        stale: s.stale.clone().map(StaleItem::from),
                    })
                })
                .collect();
            Ok(Response::Context(ContextOutput {
                question: pack.question,
                rendered: pack.rendered,
                budget,
                tokens_used: pack.tokens_used,
                truncated: pack.truncated,
                num_left_out: pack.num_left_out,
                citations,
                generation,
                notes: pack.notes,
            }))
        }
        Request::Decisions(args) => {
            let budget = budget_of(args.budget)?;
            if let Some(query) = &args.query {
                if query.trim().is_empty() {
                    return Err(ServeError::InvalidRequest(
                        "query is empty (leave it out to list every entry)".into(),
                    ));
                }
            }
            let limit = count_of("limit", args.limit, 20, 1, MAX_LIMIT)?;
            let status = match args.status.as_deref() {
                Some(s) => s.parse::<StatusFilter>()?,
                None => StatusFilter::InForce,
            };
            let kind = match args.kind.as_deref().map(|k| k.trim().to_ascii_lowercase()) {
                None => None,
                Some(k) if k == "decision" || k == "decisions" => Some(EntryKind::Decision),
                Some(k) if k == "action" || k == "actions" => Some(EntryKind::Action),
                Some(other) => {
                    return Err(ServeError::InvalidRequest(format!(
                        "unknown kind `{other}` (expected decision or action)"
                    )))
                }
            };
            let as_of = date_of(args.as_of.as_deref())?;
            let response = index.decisions(&DecisionsRequest {
                query: args.query.clone(),
                as_of,
                status,
                kind,
                limit,
                mode: Mode::Hybrid,
                principal,
            })?;
            let entries: Vec<DecisionItem> = response
                .entries
                .into_iter()
                .map(|d| DecisionItem::cited(d, &citations))
                .collect();
            let (entries, num_left_out, tokens_used) =
                counter.fit(entries, budget, shrink_decision)?;
            Ok(Response::Decisions(DecisionsOutput {
                as_of: as_of.map(|d| d.to_string()),
                entries,
                num_left_out,
                budget,
                tokens_used,
                generation,
                notes: counter.notes,
            }))
        }
        Request::Who(args) => {
            let budget = budget_of(args.budget)?;
            text_of("topic", &args.topic)?;
            let limit = count_of("limit", args.limit, 5, 1, MAX_LIMIT)?;
            let response = index.who(&WhoRequest {
                topic: args.topic.clone(),
                as_of: date_of(args.as_of.as_deref())?,
                limit,
                filters: filters_of(&args.filters)?,
                principal,
                ..WhoRequest::default()
            })?;
            let people: Vec<PersonItem> = response
                .people
                .into_iter()
                .map(|p| PersonItem::cited(p, &citations))
                .collect();
            let (people, num_left_out, tokens_used) = counter.fit(people, budget, shrink_person)?;
            let mut notes = response.notes;
            notes.append(&mut counter.notes);
            Ok(Response::Who(WhoOutput {
                topic: args.topic,
                people,
                num_left_out,
                budget,
                tokens_used,
                generation,
                notes,
            }))
        }
        Request::Get(args) => {
            let budget = budget_of(args.budget)?;
            let id = args.chunk_id.trim();
            if id.is_empty() {
                return Err(ServeError::InvalidRequest("chunk_id is empty".into()));
            }
            let before = count_of("before", args.before, 1, 0, MAX_NEIGHBOURS)?;
            let after = count_of("after", args.after, 1, 0, MAX_NEIGHBOURS)?;
            let Some(n) = index.neighbours_for(id, before, after, principal.as_ref())? else {
                return Err(ServeError::NotFound(format!(
                    "no chunk `{id}` in this index (ids come from search hits and change when their document changes)"
                )));
            };
            let sources = index.source_checker()?;
            let cite = |c: crate::model::Chunk| {
                let stale = sources.passage(&c.provenance, &c.text);
                ChunkItem::cited(c, stale, &citations)
            };
            let chunk = cite(n.chunk);
            // Neighbours nearest first, alternating sides, while they fit.
            let mut before: Vec<ChunkItem> = Vec::new();
            let mut after: Vec<ChunkItem> = Vec::new();
            // The chunk, and the two lists of neighbours, empty.
            let mut used = counter.count(&chunk)? + 2 * counter.list(&before)?;
            if used > budget {
                return Err(ServeError::InvalidRequest(format!(
                    "chunk `{id}` takes {used} tokens with its empty lists of neighbours, over the budget of {budget}"
                )));
            }
            let mut b = n.before.into_iter().rev().map(cite);
            let mut a = n.after.into_iter().map(cite);
            let (mut b_open, mut a_open) = (true, true);
            while b_open || a_open {
                if b_open {
                    b_open = counter.take_if_fits(b.next(), &mut used, budget, &mut before)?;
                }
                if a_open {
                    a_open = counter.take_if_fits(a.next(), &mut used, budget, &mut after)?;
                }
            }
            before.reverse();
            Ok(Response::Get(Box::new(GetOutput {
                chunk,
                before,
                after,
                budget,
                tokens_used: used,
                generation,
            })))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses_are_stable() {
        let cases = [
            (
                ServeError::InvalidRequest("x".into()),
                "invalid_request",
                400,
            ),
            (ServeError::NotFound("x".into()), "not_found", 404),
            (ServeError::Unauthorized, "unauthorized", 401),
            (ServeError::Forbidden("x".into()), "forbidden", 403),
            (ServeError::TooLarge("x".into()), "too_large", 413),
            (ServeError::Timeout("x".into()), "timeout", 504),
            (ServeError::Unavailable("x".into()), "unavailable", 503),
            (ServeError::Internal("x".into()), "internal", 500),
        ];
        for (err, code, status) in cases {
            assert_eq!(err.code(), code);
            assert_eq!(err.http_status(), status);
        }
    }

    #[test]
    fn library_errors_map_to_codes() {
        let e: ServeError = Error::invalid_request("bad filter").into();
        assert_eq!(e.code(), "invalid_request");
        let e: ServeError = Error::no_index("/nowhere").into();
        assert_eq!(e.code(), "unavailable");
        assert!(
            !e.to_string().contains("/nowhere"),
            "a server's folders stay in its log: {e}"
        );
        let e: ServeError = Error::bug("oops").into();
        assert_eq!(e.code(), "internal");
        assert!(
            !e.to_string().contains("oops"),
            "internal details stay in the log"
        );
    }

    #[test]
    fn counts_and_path_filters_are_checked() {
        assert_eq!(count_of("limit", None, 20, 1, MAX_LIMIT).unwrap(), 20);
        assert_eq!(count_of("limit", Some(100), 20, 1, MAX_LIMIT).unwrap(), 100);
        let e = count_of("limit", Some(0), 20, 1, MAX_LIMIT).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid request: limit must be between 1 and 100 (it is 0)"
        );
        assert!(count_of("after", Some(21), 1, 0, MAX_NEIGHBOURS).is_err());
        assert_eq!(count_of("after", Some(0), 1, 0, MAX_NEIGHBOURS).unwrap(), 0);
        for p in ["/srv/exports", "C:\\exports", "wiki/../../etc", ".."] {
            assert!(is_server_path(p), "{p}");
            assert!(filters_of(&[format!("path={p}")]).is_err(), "{p}");
        }
        for p in ["exports/wiki", "wiki", "./wiki"] {
            assert!(!is_server_path(p), "{p}");
            assert!(filters_of(&[format!("path={p}")]).is_ok(), "{p}");
        }
        assert_eq!(text_of("query", "  x ").unwrap(), "x");
        assert!(text_of("query", " \t").is_err());
    }

    #[test]
    fn budgets_are_checked() {
        assert_eq!(budget_of(None).unwrap(), DEFAULT_BUDGET);
        assert!(budget_of(Some(0)).is_err());
        assert!(budget_of(Some(MAX_BUDGET + 1)).is_err());
    }

    #[test]
    fn a_hit_counted_in_parts_counts_as_a_whole() {
        let tokens = TokenCounter::load(&resolve_model_dir(None)).unwrap();
        let texts = TextTokens::default();
        assert!(
            texts.additive(&tokens).unwrap(),
            "the shipped WordPiece splits at quotes"
        );
        let hit = Hit {
            rank: 3,
            chunk_id: "corpus/decisions/0009-x.md#3".into(),
            score: 0.8125,
            title: "ADR-0009: Raise the outside counsel threshold to $75K".into(),
            path: "corpus/decisions/0009-x.md".into(),
            kind: "decision".into(),
            line_range: Some([27, 31]),
            byte_range: Some([1785, 2159]),
            heading_path: vec!["ADR-0009".into(), "Consequences".into()],
            date: Some("2026-02-10".into()),
            speakers: vec![],
            text: "## Consequences\n\n- \"Spend\" drops to $110K–$130K a year (Tom Okafor).\n- Priya's queue grows; naïve café 東京.".into(),
            truncated: false,
            decision: None,
            stale: None,
        };
        let whole = tokens.count(&serde_json::to_string(&hit).unwrap()).unwrap();
        let index_free = || -> Result<usize, ServeError> {
            let (shell, text) = hit.split_text().unwrap();
            Ok(tokens.count(&serde_json::to_string(&shell).unwrap())?
                + texts.count(&tokens, text)?)
        };
        assert_eq!(index_free().unwrap(), whole);
        // Kept: the second count reads the table.
        assert_eq!(index_free().unwrap(), whole);
        assert_eq!(texts.counts.lock().unwrap().len(), 1);
    }

    #[test]
    fn a_panic_in_an_operation_is_an_internal_error_not_a_crash() {
        let caught: Result<(), ServeError> =
            unwind_to_internal("search", || panic!("byte index 3 is not a char boundary"));
        match caught {
            Err(ServeError::Internal(message)) => {
                // The caller is told where to look, not what the panic said.
                assert_eq!(message, "see the server's log");
            }
            other => panic!("{other:?}"),
        }
        let caught: Result<(), ServeError> =
            unwind_to_internal("get", || std::panic::panic_any(42_u8));
        assert!(matches!(caught, Err(ServeError::Internal(_))));
        assert_eq!(unwind_to_internal("who", || Ok(7)).unwrap(), 7);
        assert!(matches!(
            unwind_to_internal::<()>("who", || Err(ServeError::NotFound("x".into()))),
            Err(ServeError::NotFound(_))
        ));
    }

    #[test]
    fn a_service_can_be_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Service>();
    }
}
