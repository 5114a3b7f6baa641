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
//! The service and its reload thread live in `service`, the operations and the limits a
//! request is held to in `operations`, [`ServeError`] in `error`, the token budgets answers
//! are fitted to in `budget`, and the request and answer types in `types`.
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

mod budget;
mod error;
mod operations;
mod service;
mod types;

pub use crate::embed::SessionPool;
pub use audit::{AuditLog, AuditRecord};
pub use auth::Tokens;
pub use error::ServeError;
pub use operations::{
    Caller, Request, Response, DEFAULT_BUDGET, DEFAULT_MAX_HITS, MAX_BUDGET, MAX_HITS, MAX_LIMIT,
    MAX_NEIGHBOURS, MAX_QUERY_BYTES,
};
pub use service::{Service, ServiceOptions, DEFAULT_POLL_INTERVAL};
pub use types::{
    ChunkItem, Citation, ContextArgs, ContextOutput, DecisionItem, DecisionsArgs, DecisionsOutput,
    EvidenceItem, GetArgs, GetOutput, Health, HistoryItem, Hit, HitDecision, PersonItem,
    SearchArgs, SearchMode, SearchOutput, StaleItem, WhoArgs, WhoOutput,
};
