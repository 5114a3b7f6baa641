//! `lore serve` (the index over HTTP) and `lore audit` (reading the audit log back).

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::builder::PossibleValuesParser;
use clap::Args;

use super::Model;
use lore::serve::audit::{
    escape_text, loose_permissions, read_log, to_json_line, AuditFilter, DEFAULT_AUDIT_FILE,
    OPERATIONS,
};
use lore::serve::http::{self, HttpOptions, DEFAULT_ADDR, DEFAULT_BODY_LIMIT};
use lore::serve::listen::ConnLimits;
use lore::serve::{Service, ServiceOptions, Tokens};
use lore::Principal;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Index directory (default: $LORE_INDEX).
    #[arg(long, short = 'i', value_name = "DIR", env = "LORE_INDEX")]
    index: PathBuf,
    /// Address to listen on. Port 0 picks a free port; the address bound is printed on
    /// standard output (`listening on http://ADDR`). A non-loopback address needs --tokens.
    #[arg(long, default_value = DEFAULT_ADDR, value_name = "ADDR")]
    addr: SocketAddr,
    /// Tokens file (TOML: [[token]] token = "...", user = "...", groups = [...]): every /v1/
    /// request then needs `Authorization: Bearer <token>` and is answered as that token's user.
    #[arg(long, value_name = "FILE")]
    tokens: Option<PathBuf>,
    /// Without --tokens: answer every request on behalf of this user (default: the index
    /// owner, who sees everything). Unlike the other commands, not read from $LORE_AS: a
    /// server's caller is given on its command line or by its tokens.
    #[arg(long = "as", value_name = "USER")]
    as_user: Option<String>,
    /// Audit log: one JSON line per request (default: <index>/audit.jsonl).
    #[arg(long, value_name = "FILE")]
    audit: Option<PathBuf>,
    /// Write no audit log.
    #[arg(long, conflicts_with = "audit")]
    no_audit: bool,
    /// Largest request body accepted, in bytes (larger: 413 too_large).
    #[arg(long, default_value_t = DEFAULT_BODY_LIMIT, value_name = "BYTES")]
    body_limit: usize,
    /// Longest a request may take, in milliseconds (longer: 504 timeout; the operation stops
    /// at its next stage).
    #[arg(long, default_value_t = 30_000, value_name = "MS")]
    timeout_ms: u64,
    /// Longest a client may take to send a request's header, in milliseconds; also how long
    /// an idle keep-alive connection is kept (longer: the connection is closed).
    #[arg(long, default_value_t = 10_000, value_name = "MS")]
    header_timeout_ms: u64,
    /// Longest a client may take to send a request's body, in milliseconds (longer: 504
    /// timeout, and the connection is closed).
    #[arg(long, default_value_t = 10_000, value_name = "MS")]
    body_timeout_ms: u64,
    /// Connections served at once (one more is answered 503 and closed).
    #[arg(long, default_value_t = lore::serve::listen::DEFAULT_MAX_CONNECTIONS, value_name = "N")]
    max_connections: usize,
    /// Operations run at once; more wait for one to finish, within --timeout-ms (default:
    /// twice the cores, at least 4).
    #[arg(long, value_name = "N")]
    max_operations: Option<usize>,
    /// On SIGINT/SIGTERM, how long requests in flight may take to finish, in milliseconds
    /// (idle and half-sent connections are closed at once).
    #[arg(long, default_value_t = 10_000, value_name = "MS")]
    shutdown_grace_ms: u64,
    /// Also answer requests addressed to this host name (repeatable), e.g. the public name
    /// of a proxy in front of the server. By default only the listening address and
    /// localhost are answered, so that no web page can reach the server through DNS
    /// rebinding.
    #[arg(long = "allow-host", value_name = "HOST")]
    allow_hosts: Vec<String>,
    /// How often to check the index for a newly committed generation, in milliseconds (0:
    /// never; the server then keeps the generation it started with).
    #[arg(long, default_value_t = 250, value_name = "MS")]
    reload_ms: u64,
    /// Query embedding sessions: N single-threaded sessions, so that concurrent hybrid and
    /// dense searches embed side by side (default: one per core); 0: one session using every
    /// core.
    #[arg(long, value_name = "N")]
    query_sessions: Option<usize>,
}

pub fn serve(args: ServeArgs, model: Model) -> anyhow::Result<ExitCode> {
    let tokens = args.tokens.as_deref().map(Tokens::load).transpose()?;
    if tokens.is_some() && args.as_user.is_some() {
        return Err(super::values::usage(
            "--as applies only without --tokens (with tokens, each token names its user)",
        ));
    }
    http::check_exposure(&args.addr, tokens.is_some())?;
    let options = ServiceOptions {
        model_dir: model.dir,
        audit_log: args.audit.clone(),
        no_audit: args.no_audit,
        tokens,
        default_principal: args.as_user.as_deref().map(Principal::new),
        poll_interval: (args.reload_ms > 0).then(|| Duration::from_millis(args.reload_ms)),
        query_sessions: args.query_sessions,
        query_precision: model.query_precision,
        source_checking: model.source_checking,
    };
    let service = Service::open(&args.index, options)
        .with_context(|| format!("cannot serve the index at {}", args.index.display()))?;
    warn_if_shared(&service);
    let audit = service
        .audit_path()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "off".into());
    let who = match (&args.tokens, &args.as_user) {
        (Some(t), _) => format!("bearer tokens of {}", t.display()),
        (None, Some(u)) => format!("everyone as {u}"),
        (None, None) => "everyone as the index owner".into(),
    };
    if args.tokens.is_none() {
        let as_whom = match &args.as_user {
            Some(u) => format!("everything {u} may read"),
            None => "everything in the index (as its owner)".into(),
        };
        eprintln!(
            "lore serve: warning: no --tokens file: any program or user on this machine that can \
             reach {} can read {as_whom}",
            args.addr
        );
    }
    let generation = service.generation();
    let queries = service.query_embedding().to_string();
    let http_options = HttpOptions {
        body_limit: args.body_limit,
        time_limit: Duration::from_millis(args.timeout_ms.max(1)),
        body_timeout: Duration::from_millis(args.body_timeout_ms.max(1)),
        max_operations: args
            .max_operations
            .unwrap_or_else(http::default_max_operations)
            .max(1),
        allowed_hosts: args.allow_hosts.clone(),
        conn: ConnLimits {
            max_connections: args.max_connections.max(1),
            header_timeout: Duration::from_millis(args.header_timeout_ms.max(1)),
            write_timeout: lore::serve::listen::DEFAULT_WRITE_TIMEOUT,
            shutdown_grace: Duration::from_millis(args.shutdown_grace_ms),
        },
    };
    http::run(service, args.addr, http_options, |bound| {
        // The first line of standard output, for scripts and tests that start on port 0.
        println!("listening on http://{bound}");
        let _ = std::io::stdout().flush();
        eprintln!(
            "lore serve: {} ({generation}); callers: {who}; audit log: {audit}; Ctrl-C stops",
            args.index.display()
        );
        eprintln!("lore serve: queries embedded by {queries}");
    })?;
    eprintln!("lore serve: stopped");
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The audit log to read.
    #[arg(long, value_name = "FILE", conflicts_with = "index")]
    log: Option<PathBuf>,
    /// Read the default log of this index (<DIR>/audit.jsonl).
    #[arg(long, short = 'i', value_name = "DIR", env = "LORE_INDEX")]
    index: Option<PathBuf>,
    /// Only requests of this user (`owner` for requests made as the index owner, `-` for
    /// requests refused as unauthorized).
    #[arg(long, value_name = "USER", value_parser = non_blank)]
    principal: Option<String>,
    /// Only this operation: search, context, decisions, who, get, or what a refused request
    /// is logged as: connect (a `lore mcp` token refused), http, mcp (a malformed request).
    #[arg(long, value_name = "OP", ignore_case = true,
          value_parser = PossibleValuesParser::new(OPERATIONS))]
    op: Option<String>,
    /// Only requests at or after this time (YYYY-MM-DD, or RFC 3339 like 2026-12-06T18:00:00Z).
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// Print the records as JSON lines.
    #[arg(long)]
    json: bool,
}

pub fn audit(args: AuditArgs) -> anyhow::Result<ExitCode> {
    let path: PathBuf = match (&args.log, &args.index) {
        (Some(log), _) => log.clone(),
        (None, Some(index)) => index.join(DEFAULT_AUDIT_FILE),
        (None, None) => {
            return Err(super::values::usage(
                "give the log with --log FILE or its index with --index DIR",
            ))
        }
    };
    let filter = AuditFilter {
        principal: args.principal.clone(),
        operation: args.op.clone(),
        since: args
            .since
            .as_deref()
            .map(AuditFilter::parse_since)
            .transpose()?,
    };
    let report = read_log(&path, &filter)?;
    let mut out = std::io::stdout().lock();
    // Every field may hold what a hostile caller wrote: escaped, never raw (see
    // lore::serve::audit::escape_text).
    for r in &report.records {
        if args.json {
            writeln!(out, "{}", to_json_line(r))?;
        } else {
            writeln!(
                out,
                "{}  {:<10} {:<5} {:<9} {:<15} {:>8.1} ms  {:<3} spans  {}",
                escape_text(&r.time),
                escape_text(r.principal_label()),
                escape_text(&r.transport),
                escape_text(&r.operation),
                escape_text(&r.outcome),
                r.duration_ms,
                r.spans.len(),
                escape_text(r.query.as_deref().unwrap_or(""))
            )?;
        }
    }
    out.flush()?;
    report_bad_lines(&path, &report.bad_lines);
    if !args.json {
        eprintln!(
            "{} of {} records shown ({})",
            report.records.len(),
            report.num_read,
            path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn report_bad_lines(path: &Path, bad: &[lore::serve::audit::BadLine]) {
    for b in bad {
        eprintln!(
            "lore audit: {}:{}: skipped a line that is not an audit record: {}",
            path.display(),
            b.line,
            escape_text(&b.reason)
        );
    }
}

/// A `--principal` value: not empty, not only spaces.
fn non_blank(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        return Err(
            "a user name cannot be empty (`owner` for the index owner, `-` for \
                    refused requests)"
                .into(),
        );
    }
    Ok(text.trim().to_string())
}

/// Warn when the audit log is one its group or others may read or write: a new log is created
/// private (0600), an existing one is used as it is, because its owner may share it on
/// purpose (an auditors' group).
pub(super) fn warn_if_shared(service: &Service) {
    if let Some(path) = service.audit_path() {
        if let Some(mode) = loose_permissions(path) {
            eprintln!(
                "lore: warning: the audit log {} has mode {mode:04o}: others may read what \
                 callers asked (`chmod 600 {}` makes it private)",
                path.display(),
                path.display()
            );
        }
    }
}
