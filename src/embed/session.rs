//! The ONNX model and its sessions: [`OnnxEmbedder`] reads a model directory's files once
//! (checking that none is missing), opens ONNX Runtime sessions on the graph it chose (see the
//! `graph` module) and spreads texts over them; [`model_id_in`] names the model of a directory
//! without loading it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use once_cell::sync::OnceCell;

use super::graph::{optimized_model, query_graph, Graph, OPTIMIZED_GRAPH};
use super::{
    check_count, normalize, Embedder, QueryPrecision, MINILM_DIM, MINILM_MAX_LENGTH,
    MINILM_MODEL_ID, MINILM_SHA256, MODEL_FILES,
};
use crate::error::{Error, Result};

/// ONNX Runtime's environment: the library is loaded and the environment created once per
/// process, and every session (lore's and fastembed's) runs in it. A failure is not kept: the
/// next use tries again (a long-running process may be given the library later).
static ORT_ENV: OnceCell<ort::environment::Environment> = OnceCell::new();

fn onnx_runtime(dir: &Path) -> Result<ort::environment::Environment> {
    let lib = dir.join("libonnxruntime.so");
    ORT_ENV
        .get_or_try_init(|| {
            // `init_from` only loads the library; its builder is dropped, and the environment
            // is made by `init` (which then uses that library).
            ort::init_from(&lib).map_err(|e| {
                Error::model_missing(
                    dir,
                    format!("cannot load ONNX Runtime from {}: {e}", lib.display()),
                )
            })?;
            ort::init().with_telemetry(false).build().map_err(|e| {
                Error::model_missing(
                    dir,
                    format!("cannot start ONNX Runtime from {}: {e}", lib.display()),
                )
            })
        })
        .cloned()
}

/// A sentence-embedding ONNX model (by default all-MiniLM-L6-v2, int8) through fastembed and
/// ONNX Runtime, with mean pooling.
///
/// It holds one or more ONNX Runtime sessions. [`OnnxEmbedder::load`] opens one session that
/// uses every core, which answers a single query fastest; [`OnnxEmbedder::load_for_indexing`]
/// opens one single-threaded session per core and spreads texts over them. On the project's
/// 2-core machine the pool, fed one text at a time, embeds SciFact passages about 1.5× faster
/// than one two-threaded session fed batches of 32 (padding and intra-op synchronisation cost
/// more than batching saves for this small model). [`OnnxEmbedder::load_for_queries`] opens
/// sessions for queries, by default on the int8 query graph (see [`QueryPrecision`]).
pub struct OnnxEmbedder {
    sessions: Vec<Mutex<fastembed::TextEmbedding>>,
    model_id: String,
    dim: usize,
    batch_size: usize,
    optimized: bool,
    int8: bool,
}

impl std::fmt::Debug for OnnxEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxEmbedder")
            .field("model", &self.model_id)
            .field("dim", &self.dim)
            .field("sessions", &self.sessions.len())
            .field("batch_size", &self.batch_size)
            .field("optimized", &self.optimized)
            .field("int8", &self.int8)
            .finish()
    }
}

/// The model files of a model directory, read once.
struct ModelFiles {
    /// The graph sessions load: the pre-optimised one when `weights` is set, else the
    /// shipped `model.onnx`.
    onnx: Vec<u8>,
    /// The folder of the pre-optimised graph's weights.
    weights: Option<PathBuf>,
    /// True when `onnx` is the int8 query graph.
    int8: bool,
    tokenizer: fastembed::TokenizerFiles,
    env: ort::environment::Environment,
}

impl ModelFiles {
    /// Fail, naming the file and the fix, when a model file is missing.
    fn check(dir: &Path) -> Result<()> {
        for name in MODEL_FILES {
            let path = dir.join(name);
            if !path.is_file() {
                return Err(Error::model_missing(
                    dir,
                    format!("{} is missing", path.display()),
                ));
            }
        }
        Ok(())
    }

    /// Read the files of `dir` for sessions of `graph`: the pre-optimised graph is used (and
    /// on first use written) unless the original is asked for or it cannot be written, e.g.
    /// in a read-only directory. The directory must have passed [`ModelFiles::check`].
    fn read(dir: &Path, sha: &str, graph: Graph) -> Result<Self> {
        let env = onnx_runtime(dir)?;
        let read = |path: PathBuf| -> Result<Vec<u8>> {
            std::fs::read(&path).map_err(|e| Error::io(path, e))
        };
        let query = match graph {
            Graph::Query => query_graph(dir, sha),
            _ => None,
        };
        let weights = match (graph, &query) {
            (Graph::Original, _) | (_, Some(_)) => None,
            _ => optimized_model(dir, sha, &env).ok(),
        };
        let onnx = match (&query, &weights) {
            (Some(path), _) => read(path.clone())?,
            (None, Some(folder)) => read(folder.join(OPTIMIZED_GRAPH))?,
            (None, None) => read(dir.join("model.onnx"))?,
        };
        let read = |name: &str| read(dir.join(name));
        Ok(ModelFiles {
            onnx,
            weights,
            int8: query.is_some(),
            env,
            tokenizer: fastembed::TokenizerFiles {
                tokenizer_file: read("tokenizer.json")?,
                config_file: read("config.json")?,
                special_tokens_map_file: read("special_tokens_map.json")?,
                tokenizer_config_file: read("tokenizer_config.json")?,
            },
        })
    }

    fn session(&self, dir: &Path, threads: Option<usize>) -> Result<fastembed::TextEmbedding> {
        let model =
            fastembed::UserDefinedEmbeddingModel::new(self.onnx.clone(), self.tokenizer.clone())
                .with_pooling(fastembed::Pooling::Mean);
        let mut options = fastembed::InitOptionsUserDefined::new()
            .with_max_length(MINILM_MAX_LENGTH)
            .with_environment(self.env.clone());
        match threads {
            Some(threads) => options = options.with_intra_threads(threads),
            // A session on every core serves queries, often several at once: its worker
            // threads sleep between runs instead of spinning, so that concurrent requests do
            // not burn each other's cores waiting.
            None => options = options.with_session_config("session.intra_op.allow_spinning", "0"),
        }
        if let Some(folder) = &self.weights {
            options = options.with_session_config(
                "session.model_external_initializers_file_folder_path",
                folder.display().to_string(),
            );
        }
        fastembed::TextEmbedding::try_new_from_user_defined(model, options)
            .map_err(|e| Error::model_missing(dir, format!("the model does not load: {e}")))
    }
}

impl OnnxEmbedder {
    /// Load the model from `dir` (see [`resolve_model_dir`]) as one session using every core:
    /// the right choice for embedding queries. Sessions run the graph ONNX Runtime optimised
    /// once and saved into `dir` beside the model, with its f32 weights mapped from a file (see
    /// [`OnnxEmbedder::is_optimized`]); where that cannot be written they load `model.onnx`
    /// itself, which gives the same vectors with more memory and a slower start. Fails with [`UserError::ModelMissing`](crate::UserError::ModelMissing) naming the missing
    /// file and the command that fetches it.
    ///
    /// The model is identified by the SHA-256 of its `model.onnx` (recorded in `.complete` by
    /// `scripts/fetch-model.sh`, computed otherwise): the shipped weights are
    /// `sentence-transformers/all-MiniLM-L6-v2@int8-onnx`; any other file gets an id of its own, so an index built with one
    /// model is never searched with another.
    pub fn load(dir: &Path) -> Result<Self> {
        Self::load_sessions(dir, 1, None)
    }

    /// Load the model as one single-threaded session per core, for embedding many texts.
    pub fn load_for_indexing(dir: &Path) -> Result<Self> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::load_sessions(dir, cores, Some(1))
    }

    /// Load `num_sessions` sessions of `threads` intra-op threads each (`None`: every core).
    pub fn load_sessions(dir: &Path, num_sessions: usize, threads: Option<usize>) -> Result<Self> {
        Self::open(dir, num_sessions, threads, Graph::Optimized)
    }

    /// Load `num_sessions` sessions of `threads` intra-op threads each (`None`: every core) for
    /// embedding queries at `precision` (see [`QueryPrecision`]; [`OnnxEmbedder::is_int8`]
    /// tells whether the int8 query graph was found).
    pub fn load_for_queries(
        dir: &Path,
        precision: QueryPrecision,
        num_sessions: usize,
        threads: Option<usize>,
    ) -> Result<Self> {
        let graph = match precision {
            QueryPrecision::Int8 => Graph::Query,
            QueryPrecision::Full => Graph::Optimized,
        };
        Self::open(dir, num_sessions, threads, graph)
    }

    /// Load the shipped `model.onnx` as it is, without the pre-optimised graph (one session on
    /// every core): it takes more memory and time to start and gives the same vectors, which is
    /// what it is for (a check).
    pub fn load_original(dir: &Path) -> Result<Self> {
        Self::open(dir, 1, None, Graph::Original)
    }

    fn open(dir: &Path, num_sessions: usize, threads: Option<usize>, graph: Graph) -> Result<Self> {
        ModelFiles::check(dir)?;
        let sha = model_sha256(dir)?;
        let files = ModelFiles::read(dir, &sha, graph)?;
        let sessions = (0..num_sessions.max(1))
            .map(|_| files.session(dir, threads).map(Mutex::new))
            .collect::<Result<Vec<_>>>()?;
        let mut embedder = OnnxEmbedder {
            sessions,
            model_id: MINILM_MODEL_ID.to_string(),
            dim: MINILM_DIM,
            batch_size: 1,
            optimized: files.weights.is_some(),
            int8: files.int8,
        };
        if sha != MINILM_SHA256 {
            embedder.model_id = format!("onnx-sha256:{sha}");
            embedder.dim = embedder.run(0, &["dimension probe"])?[0].len();
        }
        Ok(embedder)
    }

    /// True when the sessions run the pre-optimised graph (see [`OnnxEmbedder::load`]).
    pub fn is_optimized(&self) -> bool {
        self.optimized
    }

    /// True when the sessions run the int8 query graph (see [`QueryPrecision`]).
    pub fn is_int8(&self) -> bool {
        self.int8
    }

    /// Give each session up to `batch_size` texts per run (default 1, the fastest measured).
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// Run session `i` on `texts`.
    fn run(&self, i: usize, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let mut model = self.sessions[i]
            .lock()
            .map_err(|_| Error::bug("embedding model poisoned by an earlier panic"))?;
        model
            .embed(texts, Some(self.batch_size))
            .map_err(|e| Error::embedding(e.to_string()))
    }

    /// Embed with every session working in parallel, each taking the next `batch_size` texts.
    fn run_all(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        if self.sessions.len() == 1 || texts.len() <= self.batch_size {
            return self.run(0, texts);
        }
        let next = AtomicUsize::new(0);
        let results: Vec<Result<Vec<Piece>>> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..self.sessions.len())
                .map(|i| {
                    let next = &next;
                    scope.spawn(move || {
                        let mut done = Vec::new();
                        loop {
                            let start = next.fetch_add(self.batch_size, Ordering::Relaxed);
                            if start >= texts.len() {
                                return Ok(done);
                            }
                            let end = (start + self.batch_size).min(texts.len());
                            done.push((start, self.run(i, &texts[start..end])?));
                        }
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| {
                    w.join()
                        .unwrap_or_else(|_| Err(Error::bug("an embedding worker panicked")))
                })
                .collect()
        });
        let mut pieces = Vec::new();
        for r in results {
            pieces.extend(r?);
        }
        pieces.sort_by_key(|(start, _)| *start);
        Ok(pieces.into_iter().flat_map(|(_, v)| v).collect())
    }
}

/// Vectors of the texts starting at an offset.
type Piece = (usize, Vec<Vec<f32>>);

/// The id an [`OnnxEmbedder`] loaded from `dir` would have, without loading it; fails with
/// [`UserError::ModelMissing`](crate::UserError::ModelMissing) when a model file is missing.
pub fn model_id_in(dir: &Path) -> Result<String> {
    ModelFiles::check(dir)?;
    let sha = model_sha256(dir)?;
    Ok(if sha == MINILM_SHA256 {
        MINILM_MODEL_ID.to_string()
    } else {
        format!("onnx-sha256:{sha}")
    })
}

/// SHA-256 of `dir/model.onnx`: from the `.complete` stamp the fetch script writes, else
/// computed.
fn model_sha256(dir: &Path) -> Result<String> {
    if let Ok(stamp) = std::fs::read_to_string(dir.join(".complete")) {
        let stamp = stamp.trim();
        if stamp.len() == 64 && stamp.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(stamp.to_ascii_lowercase());
        }
    }
    let path = dir.join("model.onnx");
    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    Ok(crate::model::content_hash_bytes(&bytes))
}

impl Embedder for OnnxEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let mut vectors = self.run_all(texts)?;
        check_count(texts.len(), &vectors)?;
        for v in &mut vectors {
            if v.len() != self.dim {
                return Err(Error::embedding(format!(
                    "model returned {} dimensions, expected {}",
                    v.len(),
                    self.dim
                )));
            }
            normalize(v);
        }
        Ok(vectors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_model_dir_names_the_file_and_the_fix() {
        let err = OnnxEmbedder::load(Path::new("/nonexistent/lore-model")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("/nonexistent/lore-model/model.onnx"), "{msg}");
        assert!(msg.contains("fetch-model.sh"), "{msg}");
    }
}
