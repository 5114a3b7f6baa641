//! `lore mcp`: serve an index to an AI agent over the Model Context Protocol (stdio).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Args;

use super::serve::warn_if_shared;
use super::Model;
use lore::serve::mcp::{run_stdio, TRANSPORT};
use lore::serve::{Caller, Service, ServiceOptions, Tokens};
use lore::Principal;

#[derive(Debug, Args)]
pub struct McpArgs {
    /// Index directory to serve (default: $LORE_INDEX). A new generation committed by
    /// `lore index` is picked up while the server runs.
    #[arg(long, short = 'i', value_name = "DIR", env = "LORE_INDEX")]
    index: PathBuf,
    /// Answer on behalf of this user: on an index with access control on, the agent sees only
    /// what USER may read. Without --as or --token, the index owner's view (everything).
    #[arg(long = "as", value_name = "USER", env = "LORE_AS", conflicts_with_all = ["token", "tokens"])]
    as_user: Option<String>,
    /// Answer on behalf of the principal this token stands for in --tokens (prefer the
    /// LORE_TOKEN environment variable: arguments are visible to other local users).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "LORE_TOKEN",
        hide_env_values = true,
        requires = "tokens"
    )]
    token: Option<String>,
    /// The tokens file (TOML: [[token]] tables with token, user and groups) --token is looked
    /// up in, as for `lore serve`.
    #[arg(long, value_name = "FILE", env = "LORE_TOKENS", requires = "token")]
    tokens: Option<PathBuf>,
    /// Append one JSON line per tool call to FILE (default: audit.jsonl in the index
    /// directory), shared with `lore serve`; read it with `lore audit`.
    #[arg(long, value_name = "FILE")]
    audit: Option<PathBuf>,
    /// Write no audit log.
    #[arg(long, conflicts_with = "audit")]
    no_audit: bool,
}

/// Run `lore mcp` until the host closes standard input. Standard output carries only the
/// protocol; this prints to standard error.
pub fn mcp(args: McpArgs, model: Model, quiet: bool) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let tokens = args.tokens.as_deref().map(Tokens::load).transpose()?;
    let options = ServiceOptions {
        model_dir: model.dir,
        audit_log: args.audit.clone(),
        no_audit: args.no_audit,
        tokens,
        default_principal: args.as_user.as_deref().map(Principal::new),
        query_precision: model.query_precision,
        source_checking: model.source_checking,
        ..ServiceOptions::default()
    };
    let service = Service::open(&args.index, options)
        .with_context(|| format!("cannot serve the index at {}", args.index.display()))?;
    warn_if_shared(&service);
    // One process, one caller: the token is checked once, before the session starts.
    let principal = match service.authenticate(args.token.as_deref()) {
        Ok(principal) => principal,
        Err(err) => {
            let caller = Caller::new(TRANSPORT, None);
            service.audit_refusal(&caller, "connect", &err, started.elapsed());
            return Err(err).context("--token is not one of the tokens in --tokens");
        }
    };
    if !quiet {
        let health = service.health();
        let who = match &principal {
            Some(p) => format!("as {p}"),
            None => "as the index owner (sees everything)".into(),
        };
        let audit = match service.audit_path() {
            Some(path) => format!("audit log {}", path.display()),
            None => "no audit log".into(),
        };
        eprintln!(
            "lore mcp: serving {} ({}, {}) {who} over stdio; {audit}; queries embedded by {}",
            args.index.display(),
            health.generation,
            match health.chunks {
                Some(n) => format!("{n} chunks"),
                None => "access control on".to_string(),
            },
            service.query_embedding()
        );
    }
    run_stdio(service, Caller::new(TRANSPORT, principal))?;
    Ok(ExitCode::SUCCESS)
}
