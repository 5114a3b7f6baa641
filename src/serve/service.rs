//! lore's [`Service`]: an open index served to callers, how it is set up
//! ([`ServiceOptions`]), how it answers a call (the audit line, the deadline, a panic caught),
//! and how it reloads when `lore index` commits a new generation.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use crate::access::Principal;
use crate::embed::{resolve_model_dir, QueryPrecision};
use crate::generation;
use crate::index::{Index, OpenOptions};
use crate::query::SearchRequest;
use crate::stale::SourceChecking;

use super::budget::TextTokens;
use super::operations::{run, Loaded};
use super::{
    audit, AuditLog, AuditRecord, Caller, ContextArgs, ContextOutput, DecisionsArgs,
    DecisionsOutput, GetArgs, GetOutput, Health, Request, Response, SearchArgs, SearchOutput,
    ServeError, SessionPool, Tokens, WhoArgs, WhoOutput,
};

/// How often the index's `CURRENT` is checked for a new generation, by default.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(250);

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

#[cfg(test)]
mod tests {
    use super::*;

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
