//! `lore mcp`: the [`Service`] as a Model Context Protocol server, for AI agents.
//!
//! An MCP host (Claude Desktop, an IDE, an agent framework) starts `lore mcp` as a child
//! process and speaks JSON-RPC with it over standard input and output. The server offers five
//! tools, one per [`Service`] operation, each with a JSON schema (derived from the operation's
//! argument type) and a description written for the model that will choose among them:
//!
//! | tool | operation | use it to |
//! |---|---|---|
//! | `search` | [`Service::search`] | find passages about something, with citations |
//! | `context` | [`Service::context`] | get the passages that answer a question, packed for a prompt |
//! | `decisions` | [`Service::decisions`] | learn which decision stands on a topic (at a date) and its history |
//! | `who` | [`Service::who`] | find who knows about a topic, with the evidence |
//! | `get` | [`Service::get`] | read a cited passage by its chunk id, with its neighbours |
//!
//! Every tool takes a `budget` in tokens that sizes its answer. A tool answers with structured
//! content (the operation's output, also as a JSON text block); a failure is a tool error whose
//! structured content is `{"error": {"code", "message"}}` with the stable
//! [`ServeError::code`], so the model can read what went wrong and try again. Arguments that do
//! not fit the schema are such an error too (`invalid_request`), not a protocol error; only
//! arguments that are not a JSON object at all are refused before the tool, with JSON-RPC's
//! `-32602`, by the line transport ([`jsonrpc`](crate::serve::jsonrpc)) that also answers
//! every malformed message. A panic inside a tool is an `internal` tool error, audited, and the
//! server goes on.
//!
//! One server process answers one caller: the principal it was started for (`--as USER`, or
//! the principal of `--token` in a tokens file), whose access the library enforces on every
//! call and whose calls the audit log records with transport `mcp`. Standard output carries
//! only the protocol; everything else goes to standard error.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rmcp::handler::server::common::schema_for_input;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, Implementation, JsonObject, ServerCapabilities, ServerConfig};
use rmcp::{tool, tool_handler, tool_router, Json, ServerHandler, ServiceExt};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::serve::jsonrpc::{LineTransport, RefusalHook};
use crate::serve::{
    Caller, ContextArgs, ContextOutput, DecisionsArgs, DecisionsOutput, GetArgs, GetOutput,
    SearchArgs, SearchOutput, ServeError, Service, WhoArgs, WhoOutput,
};

/// The transport name `lore mcp` calls [`Service`] operations with (and the audit log shows).
pub const TRANSPORT: &str = "mcp";

/// What the server tells the host about itself when a session starts.
const INSTRUCTIONS: &str = "lore is this organization's memory: its meeting notes, call \
transcripts, wiki pages, decision records (ADRs) and chat, indexed with exact provenance. Use \
these tools to ground answers about how the organization works, what was decided and by whom, \
and who knows what, and cite every claim with the path and lines the tool gives (for example \
`decisions/0009-raise-threshold.md:12-18`). Start with `context` for a question you must \
answer, `decisions` for a rule or decision (it knows which ones were superseded), `who` for \
people, `search` to explore; read around a cited passage with `get`. Every tool takes a token \
`budget` for its answer (default 2000).";

const SEARCH: &str = "Search the organization's memory (meeting notes, transcripts, wiki pages, \
decision records, chat) for passages about a query. Use it to explore: to find where something \
was discussed, gather evidence from several sources, or narrow by `filters` (kind=decision, \
path=wiki, speaker=Omar Farouk, since=2026-01-01, ...). To answer a question directly prefer \
`context`; for the rule or decision that stands now prefer `decisions`. Returns `hits`, best \
first, as many as fit `budget` tokens (default 2000): each with `chunk_id`, `title`, `path`, \
`line_range`, `date`, `speakers`, the passage `text`, and for decision records their `decision` \
status (a superseded one names its successor: do not present it as current). The last hit's \
`text` may be cut to fit (`truncated`: `get` gives it whole); `num_left_out` counts matches \
that did not fit: raise `budget` or `max_hits` to see them. Cite a hit as \
`path:start-end` from its `line_range` (a passage of a thread you may read only in part has \
none: cite its `chunk_id`); call `get` with its `chunk_id` to read what surrounds it.";

const CONTEXT: &str = "Answer-ready context for a question: the passages of the organization's \
memory that answer it, merged, de-duplicated and packed into `budget` tokens (default 2000, \
counted with the index's tokenizer), each numbered [1], [2], ... with its source. Use it first \
when you must answer a question from the organization's records. Returns `rendered` (Markdown \
to read and quote), `citations` (for each number: `chunk_id`, `path`, `line_range`, \
`byte_range`, `content_hash`), `tokens_used`, `truncated` (a passage was cut to fit) and \
`num_left_out`. Cite claims with the passage number's path and lines (e.g. `wiki/runbook.md:9-14`; \
a citation of a thread you may read only in part has no lines: cite its `chunk_id`). \
If the pack is too thin, call again with a larger `budget`, or use `search` and `get`.";

const DECISIONS: &str = "The decisions and action items recorded in the organization's memory \
(decision records, and Decision:/Action: lines of meetings, transcripts and chat), with the \
ones in force first. Use it whenever the question is about a rule, policy or choice (\"what is \
our threshold for ...\", \"when do we ...\", \"who decided ...\"), because it knows which \
decisions were superseded or amended and when. Give a `query` topic (or none to list \
everything, newest first) and optionally `as_of` (YYYY-MM-DD) to see the ledger as it stood \
that day, `status` (in-force by default, or all, proposed, accepted, rejected, deprecated, \
superseded) and `kind` (decision or action). Returns `entries`, as many as fit `budget` tokens \
(default 2000): each with `id`, `title`, `status`, `date`, `people` (deciders or owner), `due`, \
`rationale`, `path` and `line_range` to cite (none for a thread you may read only in part: \
cite the `id`), and `history` (the chain of decisions it \
replaced). State the decision in force and cite its path and lines; mention replaced ones only \
as history.";

const WHO: &str = "Who knows about a topic: people ranked by what the organization's records \
show (decisions they made, actions they own, what they said in meetings and chat, what they \
wrote), weighted by relevance and recency. Use it to find an owner, an expert or the right \
person to ask. Returns `people`, best first, as many as fit `budget` tokens (default 2000): \
each with `name` (canonical name when the index has a people file), `role`, `team`, `score`, \
and `evidence` (the passages that earned the rank: `kind`, `chunk_id`, `path`, `line_range`, \
`date`). Name the person and cite one or two pieces of evidence by path and lines (or \
`chunk_id` where a piece has no lines); read a piece \
with `get` when the reason matters.";

const GET: &str = "Read one passage of the organization's memory by its `chunk_id` (as \
`search`, `context` citations or `who` evidence give it, e.g. `wiki/runbook.md#3`), with the \
passages next to it in the same meeting, thread or page: `before` and `after` (default 1 \
each). Use it to check a citation or read what surrounds a hit. Returns `chunk` and the \
`before` / `after` chunks in reading order, each with `title`, `path`, `line_range`, \
`byte_range` (both left out in a thread you may read only in part), `heading_path`, \
`speakers`, `content_hash` and `text`; neighbours come only while \
they fit `budget` tokens (default 2000), nearest first; a budget the chunk alone overruns is \
an `invalid_request` error that says how many tokens it takes. An unknown chunk id, or one the \
caller may not read, is a `not_found` error.";

/// The MCP server: five tools over one [`Service`], answering one [`Caller`].
#[derive(Clone)]
pub struct McpServer {
    service: Service,
    caller: Arc<Caller>,
    tool_router: ToolRouter<McpServer>,
}

impl std::fmt::Debug for McpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpServer")
            .field("service", &self.service)
            .field("principal", &self.caller.principal)
            .finish()
    }
}

/// A failed call as a tool error: `{"error": {"code", "message"}}` as structured content and
/// as text, with `isError` set.
fn tool_error(err: &ServeError) -> CallToolResult {
    CallToolResult::structured_error(serde_json::json!({
        "error": { "code": err.code(), "message": err.to_string() }
    }))
}

/// The input schema of a tool taking `T`: schemars' schema of the operation's argument type.
fn input_schema<T: schemars::JsonSchema + 'static>() -> Arc<JsonObject> {
    // The argument types are structs, whose schemas are objects: the only way this fails.
    schema_for_input::<T>().unwrap_or_else(|e| {
        panic!(
            "the arguments of an MCP tool must be an object ({}): {e}",
            std::any::type_name::<T>()
        )
    })
}

#[tool_router]
impl McpServer {
    /// A server answering `caller` (its transport should be [`TRANSPORT`]) from `service`.
    pub fn new(service: Service, caller: Caller) -> Self {
        McpServer {
            service,
            caller: Arc::new(caller),
            tool_router: Self::tool_router(),
        }
    }

    #[tool(
        name = "search",
        description = SEARCH,
        input_schema = input_schema::<SearchArgs>(),
        annotations(title = "Search the organization's memory", read_only_hint = true, open_world_hint = false)
    )]
    async fn search(
        &self,
        Parameters(args): Parameters<JsonObject>,
    ) -> Result<Json<SearchOutput>, CallToolResult> {
        self.run("search", args, Service::search).await
    }

    #[tool(
        name = "context",
        description = CONTEXT,
        input_schema = input_schema::<ContextArgs>(),
        annotations(title = "Context to answer a question", read_only_hint = true, open_world_hint = false)
    )]
    async fn context(
        &self,
        Parameters(args): Parameters<JsonObject>,
    ) -> Result<Json<ContextOutput>, CallToolResult> {
        self.run("context", args, Service::context).await
    }

    #[tool(
        name = "decisions",
        description = DECISIONS,
        input_schema = input_schema::<DecisionsArgs>(),
        annotations(title = "Decisions in force and their history", read_only_hint = true, open_world_hint = false)
    )]
    async fn decisions(
        &self,
        Parameters(args): Parameters<JsonObject>,
    ) -> Result<Json<DecisionsOutput>, CallToolResult> {
        self.run("decisions", args, Service::decisions).await
    }

    #[tool(
        name = "who",
        description = WHO,
        input_schema = input_schema::<WhoArgs>(),
        annotations(title = "Who knows about a topic", read_only_hint = true, open_world_hint = false)
    )]
    async fn who(
        &self,
        Parameters(args): Parameters<JsonObject>,
    ) -> Result<Json<WhoOutput>, CallToolResult> {
        self.run("who", args, Service::who).await
    }

    #[tool(
        name = "get",
        description = GET,
        input_schema = input_schema::<GetArgs>(),
        annotations(title = "Read a cited passage", read_only_hint = true, open_world_hint = false)
    )]
    async fn get(
        &self,
        Parameters(args): Parameters<JsonObject>,
    ) -> Result<Json<GetOutput>, CallToolResult> {
        self.run("get", args, Service::get).await
    }
}

impl McpServer {
    /// Parse a tool's arguments as the operation's argument type `A` and run the operation on
    /// the blocking pool. Arguments that do not parse are an `invalid_request` tool error (and
    /// an audit line), so the model sees what to fix.
    fn run<A, O>(
        &self,
        operation: &'static str,
        args: JsonObject,
        op: fn(&Service, &Caller, A) -> Result<O, ServeError>,
    ) -> impl Future<Output = Result<Json<O>, CallToolResult>> + Send + 'static
    where
        A: DeserializeOwned + Send + 'static,
        O: Serialize + Send + 'static,
    {
        let service = self.service.clone();
        let caller = Arc::clone(&self.caller);
        async move {
            let started = Instant::now();
            let args: A = match serde_path_to_error::deserialize(serde_json::Value::Object(args)) {
                Ok(args) => args,
                Err(e) => {
                    let at = match e.path().to_string() {
                        p if p == "." => String::new(),
                        p => format!(" (at `{p}`)"),
                    };
                    let err = ServeError::InvalidRequest(format!(
                        "the arguments of `{operation}` do not fit its input schema{at}: {}",
                        e.inner()
                    ));
                    service.audit_refusal(&caller, operation, &err, started.elapsed());
                    return Err(tool_error(&err));
                }
            };
            let (service2, caller2) = (service.clone(), Arc::clone(&caller));
            let answer = tokio::task::spawn_blocking(move || op(&service, &caller, args)).await;
            match answer {
                Ok(Ok(out)) => Ok(Json(out)),
                Ok(Err(err)) => Err(tool_error(&err)),
                // A panic is caught (and audited) inside the operation; one outside it still
                // costs the caller an `internal` answer only, and the server goes on.
                Err(join) => {
                    eprintln!("lore mcp: internal error: {operation} failed: {join}");
                    let err = ServeError::Internal("see the server's log".into());
                    service2.audit_refusal(&caller2, operation, &err, started.elapsed());
                    Err(tool_error(&err))
                }
            }
        }
    }

    /// Serve MCP over standard input and output until the host closes standard input (also
    /// before it started a session: a host that went away is no failure of the server). Each
    /// line is checked by a [`LineTransport`]: a malformed message is answered with its
    /// JSON-RPC error (and audited as operation `mcp`) and the server reads on.
    pub async fn serve_stdio(self) -> Result<(), ServeError> {
        let service = self.service.clone();
        let caller = Arc::clone(&self.caller);
        let on_refusal: RefusalHook = Arc::new(move |operation: &str, err: &ServeError| {
            service.audit_refusal(&caller, operation, err, Duration::ZERO);
        });
        let (transport, writer) =
            LineTransport::new(tokio::io::stdin(), tokio::io::stdout(), on_refusal);
        let served = self.serve_transport(transport).await;
        // The transport is gone: the writer ends once every answer is out.
        let written = writer
            .await
            .map_err(|e| ServeError::Internal(format!("the MCP writer failed: {e}")))?;
        served?;
        if let Err(e) = written {
            // The host closed standard output: nobody is left to answer.
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                return Err(ServeError::Internal(format!(
                    "cannot write to standard output: {e}"
                )));
            }
        }
        Ok(())
    }

    async fn serve_transport<R>(self, transport: LineTransport<R>) -> Result<(), ServeError>
    where
        R: tokio::io::AsyncRead + Unpin + Send + 'static,
    {
        let running = match self.serve(transport).await {
            Ok(running) => running,
            Err(rmcp::service::ServerInitializeError::ConnectionClosed(_)) => return Ok(()),
            Err(e) => {
                return Err(ServeError::Unavailable(format!(
                    "the MCP session did not start: {e}"
                )))
            }
        };
        running
            .waiting()
            .await
            .map_err(|e| ServeError::Internal(format!("the MCP session failed: {e}")))?;
        Ok(())
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(
                Implementation::new("lore", env!("CARGO_PKG_VERSION"))
                    .with_title("lore: an organization's memory"),
            )
            .with_instructions(INSTRUCTIONS)
    }
}

/// Serve `service` over MCP on standard input and output, for `caller`, until the host closes
/// standard input: the whole of `lore mcp` after its arguments are read. Builds its own tokio
/// runtime (operations run on its blocking pool).
pub fn run_stdio(service: Service, caller: Caller) -> Result<(), ServeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("lore-mcp")
        .build()
        .map_err(|e| ServeError::Internal(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(McpServer::new(service, caller).serve_stdio())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_has_a_description_and_an_object_schema_with_a_budget() {
        let tools = McpServer::tool_router().list_all();
        let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
        names.sort_unstable();
        assert_eq!(names, ["context", "decisions", "get", "search", "who"]);
        for tool in &tools {
            let description = tool.description.as_deref().unwrap_or_default();
            assert!(description.len() > 300, "{}: {description}", tool.name);
            assert_eq!(tool.input_schema["type"], "object", "{}", tool.name);
            let properties = tool.input_schema["properties"].as_object().unwrap();
            assert!(properties.contains_key("budget"), "{}", tool.name);
            assert!(tool.output_schema.is_some(), "{}", tool.name);
            assert_eq!(
                tool.annotations.as_ref().and_then(|a| a.read_only_hint),
                Some(true)
            );
        }
    }

    #[test]
    fn a_failure_is_a_tool_error_with_its_code() {
        let result = tool_error(&ServeError::NotFound("no chunk x#9".into()));
        assert_eq!(result.is_error, Some(true));
        let error = &result.structured_content.unwrap()["error"];
        assert_eq!(error["code"], "not_found");
        assert!(error["message"].as_str().unwrap().contains("x#9"));
    }
}
