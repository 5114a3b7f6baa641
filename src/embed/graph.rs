//! Which graph an ONNX session runs: the model as ONNX Runtime optimises it (written once into
//! a folder beside the model, its f32 weights in a file of their own), `model.onnx` as shipped,
//! or the int8 query graph `scripts/fetch-model.sh` derives from it ([`QueryPrecision`]).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// File names of the pre-optimised model inside its folder.
pub(super) const OPTIMIZED_GRAPH: &str = "model.opt.onnx";
const OPTIMIZED_WEIGHTS: &str = "model.opt.data";

/// The query graph `scripts/fetch-model.sh` derives from the model (see [`QueryPrecision`]),
/// and the file holding the SHA-256 of the `model.onnx` it was made from.
const QUERY_GRAPH: &str = "query-int8.onnx";
const QUERY_GRAPH_SOURCE: &str = "query-int8.source";

/// How queries are embedded.
///
/// Documents are always embedded by the model's f32 graph. Queries are embedded, by default,
/// by the query graph that `scripts/fetch-model.sh` derives from the same model with ONNX
/// Runtime's dynamic quantisation (int8 weights per output channel, activations quantised per
/// run, run on the CPU's int8 instructions): about 2.4× faster for a query of 23 word pieces
/// on one core, with a vector within cosine 0.985 of the f32 graph's (0.994 on average over
/// SciFact's queries). `benches/RESULTS.md` gives its effect on retrieval, measured on two
/// labelled sets. [`QueryPrecision::Full`] embeds queries like documents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum QueryPrecision {
    /// The int8 query graph when the model directory holds one made from its model, else the
    /// f32 graph.
    #[default]
    Int8,
    /// The f32 graph, as documents are embedded.
    Full,
}

/// The graph a session runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Graph {
    /// The pre-optimised f32 graph, or `model.onnx` where it cannot be written.
    Optimized,
    /// `model.onnx` as shipped.
    Original,
    /// The int8 query graph, or the pre-optimised graph when there is none for this model.
    Query,
}

/// The query graph of `dir` if it was made from the model whose SHA-256 is `sha`.
pub(super) fn query_graph(dir: &Path, sha: &str) -> Option<PathBuf> {
    let source = std::fs::read_to_string(dir.join(QUERY_GRAPH_SOURCE)).ok()?;
    let path = dir.join(QUERY_GRAPH);
    (source.trim() == sha && path.is_file()).then_some(path)
}

/// The model as ONNX Runtime optimises it, saved once into a folder of `dir` (keyed by the
/// model's SHA-256 and the runtime's build) with its weights in a file of their own.
///
/// The shipped model holds int8 weights that ONNX Runtime expands to f32 whenever a session
/// starts: about 0.3 s and a 250 MB peak per process, most of which stays resident. Sessions
/// loaded from the saved graph map the expanded weights from the file instead: a query session
/// peaks at about 75 MB and starts in about 0.06 s, and its vectors are bit for bit the ones
/// of a session on the original file (`tests/embed.rs` checks). Processes that race to write
/// the folder each write one of their own and rename it into place.
pub(super) fn optimized_model(
    dir: &Path,
    sha: &str,
    env: &ort::environment::Environment,
) -> std::result::Result<PathBuf, String> {
    let key = crate::model::content_hash_bytes(format!("{sha}\n{}", ort::info()).as_bytes());
    let folder = dir.join(format!("optimized-{}", &key[..16]));
    let complete =
        |f: &Path| f.join(OPTIMIZED_GRAPH).is_file() && f.join(OPTIMIZED_WEIGHTS).is_file();
    if complete(&folder) {
        return Ok(folder);
    }
    // One writer per process (threads that lose the race find the folder written); processes
    // write folders of their own names.
    static WRITING: Mutex<()> = Mutex::new(());
    let _writing = WRITING.lock().unwrap_or_else(|e| e.into_inner());
    if complete(&folder) {
        return Ok(folder);
    }
    let staging = dir.join(format!(".optimized-{}-{}", &key[..16], std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).map_err(|e| format!("{}: {e}", staging.display()))?;
    let written = write_optimized(env, &dir.join("model.onnx"), &staging);
    let outcome = match written {
        Ok(session) => {
            drop(session);
            match std::fs::rename(&staging, &folder) {
                Ok(()) => Ok(folder.clone()),
                Err(_) if complete(&folder) => Ok(folder.clone()),
                Err(e) => Err(format!("{}: {e}", folder.display())),
            }
        }
        Err(e) => Err(e),
    };
    let _ = std::fs::remove_dir_all(&staging);
    outcome
}

/// Have ONNX Runtime optimise `model` (graph level 2, none of the hardware-specific level-3
/// layouts) and save it into `folder`, weights in a file of their own.
fn write_optimized(
    env: &ort::environment::Environment,
    model: &Path,
    folder: &Path,
) -> std::result::Result<ort::session::Session, String> {
    use ort::session::builder::GraphOptimizationLevel;
    let text = |e: ort::Error<ort::session::builder::SessionBuilder>| e.to_string();
    ort::session::Session::builder(env)
        .map_err(|e| e.to_string())?
        .with_optimization_level(GraphOptimizationLevel::Level2)
        .map_err(text)?
        .with_optimized_model_path(folder.join(OPTIMIZED_GRAPH))
        .map_err(text)?
        .with_config_entry(
            "session.optimized_model_external_initializers_file_name",
            OPTIMIZED_WEIGHTS,
        )
        .map_err(text)?
        .with_config_entry(
            "session.optimized_model_external_initializers_min_size_in_bytes",
            "1024",
        )
        .map_err(text)?
        .commit_from_file(model)
        .map_err(|e| format!("cannot optimise {}: {e}", model.display()))
}
