//! The attack suite: `lore serve`, `lore mcp`, `lore audit` and the budgeted operations tried as
//! a hostile client would, with the real binary on a small fixture index. Each module holds one
//! front; `support` (`tests/common`, shared with `tests/serve.rs`) starts servers and builds the
//! fixture.
//!
//! What is measured here is behaviour (an answer, a refusal, a closed connection, a bounded
//! resident size), never how fast: bounds on time are generous ceilings that only a hang
//! crosses.

mod audit;
mod budget;
mod http;
mod mcp;
#[path = "../common/mod.rs"]
mod support;
