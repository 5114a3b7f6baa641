//! The transport `lore mcp` speaks on standard input and output: JSON-RPC 2.0 messages, one
//! per line, checked before the MCP session ([`rmcp`]) sees them.
//!
//! rmcp's own line transport drops a line that is not JSON without a word and reads a
//! `tools/call` whose `arguments` are not an object as some other method (`-32601`). A host
//! then waits for an answer that never comes. [`LineTransport`] reads each line itself and
//! answers every message it can tell is malformed with the JSON-RPC error the specification
//! gives, then goes on reading:
//!
//! | the line | answer |
//! |---|---|
//! | not UTF-8, not JSON (truncated, garbage, a lone surrogate `"\ud800"`, nesting deeper than 128) | `-32700` parse error, `id: null` |
//! | JSON but not a message: an array (a batch: MCP has none), a string, a number, an object without `jsonrpc: "2.0"`, without `method` (and not a response), with an `id` neither a string nor an integer | `-32600` invalid request |
//! | longer than [`MAX_LINE_BYTES`] | `-32600`, the line discarded as it streams in, never held whole |
//! | a request whose `params` are not an object, a `tools/call` whose `name` is not a string or not one of the tools, or whose `arguments` are not an object, or an MCP method whose params do not fit its schema | `-32602` invalid params, with the request's `id` |
//! | a request for a method MCP does not have | `-32601` method not found, with the request's `id` |
//! | an empty line | nothing: it is no message |
//!
//! A notification (no `id`) or a response (`result` or `error`) that is malformed is dropped,
//! since no answer may be sent to one (answering an echoed error would start a storm);
//! so is any notification or response sent before the session began (`initialize`), which
//! would otherwise end the session. Everything else goes to rmcp.
//!
//! Replies are written by one task, whole lines one after another, so an error this sends
//! never interleaves with an answer rmcp sends. Each refused message is reported to the
//! transport's `on_refusal` hook (the server writes it to the audit log).

use std::borrow::Cow;
use std::sync::Arc;

use rmcp::model::{ClientJsonRpcMessage, ClientRequest, JsonRpcMessage};
use rmcp::service::{RoleServer, RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::serve::ServeError;

/// The longest message accepted, in bytes (4 MiB): a longer line is answered with `-32600`
/// and discarded as it is read. A tool call's arguments are a query and a few options, so a
/// real message is a few kilobytes at most.
pub const MAX_LINE_BYTES: usize = 4 * 1024 * 1024;

/// JSON-RPC's parse error: the line is not JSON.
pub const PARSE_ERROR: i64 = -32700;
/// JSON-RPC's invalid request: JSON, but not a request object.
pub const INVALID_REQUEST: i64 = -32600;
/// JSON-RPC's method not found: a request for a method the server does not have.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// JSON-RPC's invalid params: a request whose parameters do not fit the method.
pub const INVALID_PARAMS: i64 = -32602;

/// The tools `lore mcp` offers; a `tools/call` for any other is refused here.
const TOOLS: &[&str] = &["search", "context", "decisions", "who", "get"];

/// How many replies may wait for standard output before reading pauses (a host that writes
/// without reading cannot make the server queue answers without end).
const REPLY_QUEUE: usize = 64;

/// The MCP requests rmcp reads into a typed request when their params fit; one whose params
/// do not fit arrives as a custom request and would be answered "method not found".
const MCP_REQUESTS: &[&str] = &[
    "initialize",
    "ping",
    "server/discover",
    "completion/complete",
    "logging/setLevel",
    "prompts/get",
    "prompts/list",
    "resources/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "resources/templates/list",
    "subscriptions/listen",
    "tools/call",
    "tools/list",
];

/// Told of each message refused: the operation it was for (a tool's name for a
/// `tools/call`, else `mcp`) and the error answered.
pub type RefusalHook = Arc<dyn Fn(&str, &ServeError) + Send + Sync>;

/// A JSON-RPC line transport over a reader and a writer, for [`rmcp`]'s server (see the module
/// guide).
pub struct LineTransport<R> {
    read: BufReader<R>,
    /// The line being read (kept across calls: `receive` may be cancelled mid-line).
    line: Vec<u8>,
    max_line_bytes: usize,
    /// Skipping the rest of an over-long line.
    discarding: bool,
    replies: mpsc::Sender<Vec<u8>>,
    /// An error reply waiting for room in the queue.
    pending: Option<Vec<u8>>,
    /// A request has gone to the session: it has begun.
    begun: bool,
    on_refusal: RefusalHook,
}

/// What a line turned out to be.
#[derive(Debug)]
enum Verdict {
    /// A message for the session.
    Deliver(Box<ClientJsonRpcMessage>),
    /// A malformed message: this error is its answer.
    Refuse(Refusal),
    /// No message, or one to drop without an answer.
    Skip,
}

/// A malformed message's answer.
#[derive(Debug, Clone, PartialEq)]
struct Refusal {
    code: i64,
    message: String,
    /// The request's id, when it had a usable one.
    id: Value,
    /// The operation, for the audit log.
    operation: String,
    /// Too large rather than malformed (for the audit log).
    too_large: bool,
}

impl Refusal {
    fn new(code: i64, message: impl Into<String>) -> Self {
        Refusal {
            code,
            message: message.into(),
            id: Value::Null,
            operation: "mcp".into(),
            too_large: false,
        }
    }

    fn with_id(mut self, id: &Value) -> Self {
        self.id = id.clone();
        self
    }

    /// The JSON-RPC error response, as one line.
    fn to_line(&self) -> Vec<u8> {
        let reply = json!({
            "jsonrpc": "2.0",
            "id": self.id,
            "error": { "code": self.code, "message": self.message },
        });
        let mut line = reply.to_string().into_bytes();
        line.push(b'\n');
        line
    }

    fn to_serve_error(&self) -> ServeError {
        if self.too_large {
            ServeError::TooLarge(self.message.clone())
        } else {
            ServeError::InvalidRequest(self.message.clone())
        }
    }
}

impl<R: AsyncRead + Unpin + Send> LineTransport<R> {
    /// A transport reading messages from `read` and writing replies to `write`, telling
    /// `on_refusal` of each message it refuses. The returned task writes the replies; it ends,
    /// with the first write error if any, once the transport is dropped and every reply is
    /// written. Must be called within a tokio runtime.
    pub fn new<W: AsyncWrite + Unpin + Send + 'static>(
        read: R,
        write: W,
        on_refusal: RefusalHook,
    ) -> (Self, JoinHandle<std::io::Result<()>>) {
        let (replies, queue) = mpsc::channel(REPLY_QUEUE);
        let writer = tokio::spawn(write_lines(write, queue));
        let transport = LineTransport {
            read: BufReader::new(read),
            line: Vec::new(),
            max_line_bytes: MAX_LINE_BYTES,
            discarding: false,
            replies,
            pending: None,
            begun: false,
            on_refusal,
        };
        (transport, writer)
    }

    /// Accept lines of at most `bytes` bytes instead of [`MAX_LINE_BYTES`].
    pub fn with_max_line_bytes(mut self, bytes: usize) -> Self {
        self.max_line_bytes = bytes;
        self
    }

    /// Read one line into `self.line`, never holding more than the limit of it: `Some(true)`,
    /// a line is there; `Some(false)`, the line was too long and is being (or was) discarded;
    /// `None`, end of input.
    async fn read_line(&mut self) -> std::io::Result<Option<bool>> {
        loop {
            let available = self.read.fill_buf().await?;
            if available.is_empty() {
                // End of input: a last line without its line feed is still a message.
                if self.discarding || self.line.is_empty() {
                    self.discarding = false;
                    return Ok(None);
                }
                return Ok(Some(true));
            }
            let newline = available.iter().position(|&b| b == b'\n');
            let take = newline.map_or(available.len(), |i| i + 1);
            if self.discarding {
                self.read.consume(take);
                if newline.is_some() {
                    self.discarding = false;
                }
                continue;
            }
            if self.line.len() + take > self.max_line_bytes + 1 {
                self.line.clear();
                self.read.consume(take);
                self.discarding = newline.is_none();
                return Ok(Some(false));
            }
            self.line.extend_from_slice(&available[..take]);
            self.read.consume(take);
            if newline.is_some() {
                return Ok(Some(true));
            }
        }
    }

    fn judge(&mut self, line: &[u8]) -> Verdict {
        let verdict = judge(line, self.begun);
        if let Verdict::Deliver(message) = &verdict {
            if let JsonRpcMessage::Request(request) = message.as_ref() {
                if matches!(request.request, ClientRequest::InitializeRequest(_)) {
                    self.begun = true;
                }
            }
        }
        verdict
    }

    fn refuse(&mut self, refusal: Refusal) {
        (self.on_refusal)(&refusal.operation, &refusal.to_serve_error());
        self.pending = Some(refusal.to_line());
    }
}

/// Judge one line (see the module guide); `begun`: the session has begun.
fn judge(line: &[u8], begun: bool) -> Verdict {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    // RFC 8259 lets a parser ignore a byte order mark.
    let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return Verdict::Skip;
    }
    let text = match std::str::from_utf8(line) {
        Ok(text) => text,
        Err(e) => {
            return Verdict::Refuse(Refusal::new(
                PARSE_ERROR,
                format!(
                    "Parse error: the message is not UTF-8 (invalid byte at offset {})",
                    e.valid_up_to()
                ),
            ))
        }
    };
    // serde_json refuses a lone surrogate escape and nesting deeper than 128.
    let value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(e) => {
            return Verdict::Refuse(Refusal::new(
                PARSE_ERROR,
                format!("Parse error: the message is not JSON: {e}"),
            ))
        }
    };
    let object = match &value {
        Value::Object(object) => object,
        Value::Array(items) if items.is_empty() => {
            return Verdict::Refuse(Refusal::new(
                INVALID_REQUEST,
                "Invalid Request: an empty batch holds no request",
            ))
        }
        Value::Array(_) => {
            return Verdict::Refuse(Refusal::new(
                INVALID_REQUEST,
                "Invalid Request: MCP has no batches; send one message per line",
            ))
        }
        _ => {
            return Verdict::Refuse(Refusal::new(
                INVALID_REQUEST,
                "Invalid Request: a message is a JSON object",
            ))
        }
    };
    // A response (to a request of the server's) is never answered, even when malformed: an
    // answer to an answer could start an error storm with a host that echoes them.
    let is_reply = object.contains_key("result") || object.contains_key("error");
    if is_reply && !object.contains_key("method") {
        return match serde_json::from_value::<ClientJsonRpcMessage>(value.clone()) {
            Ok(message) if begun => Verdict::Deliver(Box::new(message)),
            _ => Verdict::Skip,
        };
    }
    let id = match object.get("id") {
        None => None,
        Some(id @ Value::String(_)) => Some(id),
        Some(id @ Value::Number(n)) if n.as_i64().is_some() => Some(id),
        Some(_) => {
            return Verdict::Refuse(Refusal::new(
                INVALID_REQUEST,
                "Invalid Request: `id` must be a string or an integer",
            ))
        }
    };
    let invalid = |message: &str| {
        let refusal = Refusal::new(INVALID_REQUEST, format!("Invalid Request: {message}"));
        match id {
            Some(id) => refusal.with_id(id),
            None => refusal,
        }
    };
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Verdict::Refuse(invalid("`jsonrpc` must be \"2.0\""));
    }
    let method = match object.get("method") {
        None => return Verdict::Refuse(invalid("no `method`")),
        Some(Value::String(_)) if is_reply => {
            return Verdict::Refuse(invalid("a request has no `result` or `error`"))
        }
        Some(Value::String(method)) => method.as_str(),
        Some(_) => return Verdict::Refuse(invalid("`method` must be a string")),
    };
    if let Some(id) = id {
        if let Some(refusal) = check_params(method, object.get("params")) {
            return Verdict::Refuse(refusal.with_id(id));
        }
    }
    let message: ClientJsonRpcMessage = match serde_json::from_value(value.clone()) {
        Ok(message) => message,
        // A notification gets no answer, not even an error; a request does.
        Err(_) if id.is_none() => return Verdict::Skip,
        Err(e) => return Verdict::Refuse(invalid(&e.to_string())),
    };
    match &message {
        JsonRpcMessage::Request(request) => {
            if let ClientRequest::CustomRequest(custom) = &request.request {
                let refusal = match MCP_REQUESTS.contains(&custom.method.as_str()) {
                    true => Refusal::new(
                        INVALID_PARAMS,
                        format!(
                            "Invalid params: the params of `{}` do not fit its schema",
                            custom.method
                        ),
                    ),
                    // Answered here rather than by the session, so that it is audited.
                    false => Refusal::new(
                        METHOD_NOT_FOUND,
                        format!("Method not found: `{}`", custom.method),
                    ),
                };
                return Verdict::Refuse(refusal.with_id(&request_id(&value)));
            }
        }
        // Before `initialize`, anything but a request would end the session.
        _ if !begun => return Verdict::Skip,
        _ => {}
    }
    Verdict::Deliver(Box::new(message))
}

fn request_id(value: &Value) -> Value {
    value.get("id").cloned().unwrap_or(Value::Null)
}

/// The params of request `method`, checked where rmcp would misread them: `params` must be an
/// object; a `tools/call` names its tool with a string and gives its `arguments` as an object.
fn check_params(method: &str, params: Option<&Value>) -> Option<Refusal> {
    let invalid = |message: Cow<'_, str>| {
        Some(Refusal::new(
            INVALID_PARAMS,
            format!("Invalid params: {message}"),
        ))
    };
    let params = match params {
        None | Some(Value::Null) => None,
        Some(Value::Object(params)) => Some(params),
        Some(_) => return invalid("`params` must be an object".into()),
    };
    if method != "tools/call" {
        return None;
    }
    let Some(params) = params else {
        return invalid("`tools/call` needs `params` with the tool's `name`".into());
    };
    let name = match params.get("name") {
        Some(Value::String(name)) => name.as_str(),
        _ => return invalid("`tools/call` needs the tool's `name` as a string".into()),
    };
    if !TOOLS.contains(&name) {
        return invalid(format!("no tool `{name}` (the tools are {})", TOOLS.join(", ")).into());
    }
    match params.get("arguments") {
        None | Some(Value::Null) | Some(Value::Object(_)) => None,
        Some(other) => {
            let kind = match other {
                Value::Array(_) => "an array",
                Value::String(_) => "a string",
                Value::Number(_) => "a number",
                _ => "a boolean",
            };
            let mut refusal = invalid(
                format!("the `arguments` of a tool call must be an object, not {kind}").into(),
            )?;
            refusal.operation = name.to_string();
            Some(refusal)
        }
    }
}

/// Write each queued line whole, then flush, until the queue is closed.
async fn write_lines<W: AsyncWrite + Unpin>(
    mut write: W,
    mut queue: mpsc::Receiver<Vec<u8>>,
) -> std::io::Result<()> {
    while let Some(line) = queue.recv().await {
        write.write_all(&line).await?;
        write.flush().await?;
    }
    Ok(())
}

impl<R: AsyncRead + Unpin + Send + 'static> Transport<RoleServer> for LineTransport<R> {
    type Error = std::io::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl std::future::Future<Output = Result<(), Self::Error>> + Send + 'static {
        let replies = self.replies.clone();
        async move {
            let mut line = serde_json::to_vec(&item).map_err(std::io::Error::other)?;
            line.push(b'\n');
            replies.send(line).await.map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::BrokenPipe, "standard output is closed")
            })
        }
    }

    // Cancel-safe, as rmcp needs (it polls this in a `select!`): a partial line and a reply
    // waiting for room stay in `self` for the next call.
    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleServer>> {
        loop {
            if self.pending.is_some() {
                let permit = self.replies.reserve().await.ok()?;
                permit.send(self.pending.take().unwrap_or_default());
            }
            match self.read_line().await {
                Ok(None) => return None,
                Err(e) => {
                    eprintln!("lore mcp: cannot read standard input: {e}");
                    return None;
                }
                Ok(Some(false)) => {
                    let mut refusal = Refusal::new(
                        INVALID_REQUEST,
                        format!(
                            "Invalid Request: the message is longer than {} bytes; discarded",
                            self.max_line_bytes
                        ),
                    );
                    refusal.too_large = true;
                    self.refuse(refusal);
                }
                Ok(Some(true)) => {
                    let line = std::mem::take(&mut self.line);
                    let verdict = self.judge(&line);
                    // Keep the buffer's capacity for the next line.
                    self.line = line;
                    self.line.clear();
                    match verdict {
                        Verdict::Deliver(message) => return Some(*message),
                        Verdict::Refuse(refusal) => self.refuse(refusal),
                        Verdict::Skip => {}
                    }
                }
            }
        }
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(line: &[u8], begun: bool) -> Refusal {
        match judge(line, begun) {
            Verdict::Refuse(r) => r,
            other => panic!(
                "{} was not refused: {other:?}",
                String::from_utf8_lossy(line)
            ),
        }
    }

    #[test]
    fn malformed_lines_get_the_json_rpc_error_they_deserve() {
        let cases: &[(&[u8], i64, Value)] = &[
            (b"garbage\n", PARSE_ERROR, Value::Null),
            (b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/li", PARSE_ERROR, Value::Null),
            (b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\xff\"}", PARSE_ERROR, Value::Null),
            (
                br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search","arguments":{"query":"\ud800"}}}"#,
                PARSE_ERROR,
                Value::Null,
            ),
            (b"[]", INVALID_REQUEST, Value::Null),
            (br#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#, INVALID_REQUEST, Value::Null),
            (b"\"ping\"", INVALID_REQUEST, Value::Null),
            (b"42", INVALID_REQUEST, Value::Null),
            (br#"{"jsonrpc":"1.0","id":7,"method":"ping"}"#, INVALID_REQUEST, json!(7)),
            (br#"{"jsonrpc":"2.0","id":"a"}"#, INVALID_REQUEST, json!("a")),
            (br#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#, INVALID_REQUEST, Value::Null),
            (br#"{"jsonrpc":"2.0","id":[1],"method":"ping"}"#, INVALID_REQUEST, Value::Null),
            (br#"{"jsonrpc":"2.0","id":3,"method":7}"#, INVALID_REQUEST, json!(3)),
            (
                br#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"search","arguments":["q"]}}"#,
                INVALID_PARAMS,
                json!(4),
            ),
            (
                br#"{"jsonrpc":"2.0","id":"s","method":"tools/call","params":{"name":"search","arguments":"q"}}"#,
                INVALID_PARAMS,
                json!("s"),
            ),
            (
                br#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"search","arguments":5}}"#,
                INVALID_PARAMS,
                json!(5),
            ),
            (
                br#"{"jsonrpc":"2.0","id":6,"method":"tools/call","params":[1]}"#,
                INVALID_PARAMS,
                json!(6),
            ),
            (
                br#"{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"arguments":{}}}"#,
                INVALID_PARAMS,
                json!(8),
            ),
            (
                br#"{"jsonrpc":"2.0","id":9,"method":"initialize","params":{"protocolVersion":3}}"#,
                INVALID_PARAMS,
                json!(9),
            ),
        ];
        for (line, code, id) in cases {
            let r = refused(line, true);
            assert_eq!(
                (r.code, &r.id),
                (*code, id),
                "{}",
                String::from_utf8_lossy(line)
            );
            // The answer is one line of JSON-RPC.
            let reply: Value = serde_json::from_slice(&r.to_line()).unwrap();
            assert_eq!(reply["jsonrpc"], "2.0");
            assert_eq!(&reply["id"], id);
            assert_eq!(reply["error"]["code"], *code);
            assert!(
                r.to_line().ends_with(b"\n")
                    && r.to_line().iter().filter(|&&b| b == b'\n').count() == 1
            );
        }
        // Nesting past serde_json's limit is a parse error, not a stack overflow.
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(refused(deep.as_bytes(), true).code, PARSE_ERROR);
        // A call with bad arguments is audited under its tool's name.
        let r = refused(
            br#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"who","arguments":[]}}"#,
            true,
        );
        assert_eq!(r.operation, "who");
    }

    #[test]
    fn good_messages_pass_and_empty_lines_and_stray_notifications_are_skipped() {
        for line in [
            &br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#[..],
            b"\xEF\xBB\xBF{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\r\n",
            br#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"search","arguments":{"query":"q"}}}"#,
        ] {
            assert!(
                matches!(judge(line, true), Verdict::Deliver(_)),
                "{}",
                String::from_utf8_lossy(line)
            );
        }
        // An unknown method or tool is answered here, so that it is audited.
        let r = refused(
            br#"{"jsonrpc":"2.0","id":3,"method":"no/such/method"}"#,
            true,
        );
        assert_eq!(r.code, METHOD_NOT_FOUND);
        let r = refused(
            br#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"drop_tables","arguments":{}}}"#,
            true,
        );
        assert_eq!(r.code, INVALID_PARAMS);
        assert!(r.message.contains("drop_tables"), "{}", r.message);
        let initialized = br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
        assert!(matches!(judge(initialized, true), Verdict::Deliver(_)));
        // Before `initialize` it would end the session: dropped.
        assert!(matches!(judge(initialized, false), Verdict::Skip));
        for line in [&b""[..], b"\n", b"  \r\n"] {
            assert!(matches!(judge(line, true), Verdict::Skip));
        }
        // Responses, even malformed ones, are never answered.
        for reply in [
            &br#"{"error":{"code":-32700,"message":"Parse error"},"id":null,"jsonrpc":"2.0"}"#[..],
            br#"{"jsonrpc":"2.0","id":{"x":1},"result":{}}"#,
            br#"{"jsonrpc":"1.0","result":{}}"#,
        ] {
            assert!(!matches!(judge(reply, true), Verdict::Refuse(_)));
            assert!(matches!(judge(reply, false), Verdict::Skip));
        }
        // A malformed notification gets no answer (rmcp ignores what it cannot read).
        for bad in [
            &br#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":[]}}"#[..],
            br#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":7}"#,
        ] {
            assert!(!matches!(judge(bad, true), Verdict::Refuse(_)));
        }
    }

    #[tokio::test]
    async fn the_transport_answers_and_keeps_reading() {
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let (read, write) = tokio::io::split(server);
        let refusals = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = Arc::clone(&refusals);
        let hook: RefusalHook = Arc::new(move |op: &str, err: &ServeError| {
            seen.lock().unwrap().push((op.to_string(), err.code()));
        });
        let (transport, writer) = LineTransport::new(read, write, hook);
        let mut transport = transport.with_max_line_bytes(64);
        let long = format!("{{\"x\":\"{}\"}}\n", "a".repeat(1000));
        client.write_all(b"nonsense\n").await.unwrap();
        client.write_all(long.as_bytes()).await.unwrap();
        client
            .write_all(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n")
            .await
            .unwrap();
        let message = transport.receive().await.unwrap();
        assert!(matches!(message, JsonRpcMessage::Request(_)));
        // Answers from the session and from the transport share one writer, whole lines.
        transport
            .send(TxJsonRpcMessage::<RoleServer>::error(
                rmcp::model::ErrorData::internal_error("x", None),
                None,
            ))
            .await
            .unwrap();
        client.shutdown().await.unwrap();
        assert!(transport.receive().await.is_none());
        drop(transport);
        writer.await.unwrap().unwrap();
        let mut out = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut client, &mut out)
            .await
            .unwrap();
        let codes: Vec<i64> = out
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["error"]["code"]
                    .as_i64()
                    .unwrap()
            })
            .collect();
        assert_eq!(codes, [PARSE_ERROR, INVALID_REQUEST, -32603]);
        assert_eq!(
            *refusals.lock().unwrap(),
            [
                ("mcp".to_string(), "invalid_request"),
                ("mcp".to_string(), "too_large")
            ]
        );
    }
}
