//! [`Model`]: the embedding model and source checking the global options chose, and opening
//! an index (or an index builder) with them, for the commands that read or write one.

use std::path::{Path, PathBuf};

use lore::{Index, IndexBuilder, OpenOptions, QueryPrecision, SourceChecking};

/// The model a command uses: where it is (`--model-dir`) and how queries are embedded
/// (`--query-precision`); and how its answers check their sources (`--check-sources`).
#[derive(Debug, Clone)]
pub struct Model {
    pub(super) dir: Option<PathBuf>,
    pub(super) query_precision: QueryPrecision,
    pub(super) source_checking: SourceChecking,
}

pub(super) fn builder(dir: &Path, model: Model, no_embed: bool) -> IndexBuilder {
    let b = IndexBuilder::new(dir);
    match (no_embed, model.dir) {
        (true, _) => b.without_embeddings(),
        (false, Some(m)) => b.model_dir(m),
        (false, None) => b,
    }
}

/// Open an index to answer one question and exit: the dense half scans every vector exactly,
/// which costs less than loading the graph once. Callers end with `std::mem::forget(index)`:
/// tearing down the model session and the index would only delay the exit, and the operating
/// system reclaims it all at once.
pub(super) fn open_for_one_question(dir: &Path, model: Model) -> anyhow::Result<Index> {
    open_with(dir, model, OpenOptions::default().exact_dense(true))
}

pub(super) fn open(dir: &Path, model: Model) -> anyhow::Result<Index> {
    open_with(dir, model, OpenOptions::default())
}

fn open_with(dir: &Path, model: Model, options: OpenOptions) -> anyhow::Result<Index> {
    let options = match model.dir {
        Some(m) => options.model_dir(m),
        None => options,
    };
    Ok(Index::open_with(
        dir,
        options
            .query_precision(model.query_precision)
            .source_checking(model.source_checking),
    )?)
}
