//! Turning text into vectors.
//!
//! [`Embedder`] is the one interface the index uses. [`OnnxEmbedder`] is the real one: the int8
//! ONNX export of `all-MiniLM-L6-v2` run by ONNX Runtime through fastembed, with mean pooling and
//! L2 normalisation, loaded from a local model directory that `scripts/fetch-model.sh` fills
//! (no network). [`HashEmbedder`] is a small deterministic stand-in for unit tests of the
//! plumbing only; it is never a default and never produces a reported figure.

pub mod cache;
mod tokens;

pub use cache::{CachedEmbedder, EmbeddingCache};
pub(crate) use tokens::line_break_tokens;
pub use tokens::{TokenCounter, TokenizerInfo, WHITESPACE_PER_TOKEN};

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use once_cell::sync::OnceCell;

use crate::error::{Error, Result};

/// Identifier of the shipped model, recorded in every index manifest.
pub const MINILM_MODEL_ID: &str = "sentence-transformers/all-MiniLM-L6-v2@int8-onnx";
/// SHA-256 of the shipped `model.onnx` (int8 all-MiniLM-L6-v2).
pub const MINILM_SHA256: &str = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6";
/// Output dimension of the shipped model.
pub const MINILM_DIM: usize = 384;
/// Longest input in word pieces the model sees; longer inputs are truncated.
pub const MINILM_MAX_LENGTH: usize = 256;

/// Files expected in a model directory.
pub const MODEL_FILES: [&str; 6] = [
    "model.onnx",
    "tokenizer.json",
    "config.json",
    "special_tokens_map.json",
    "tokenizer_config.json",
    "libonnxruntime.so",
];

/// Something that maps texts to unit-length vectors of a fixed dimension.
pub trait Embedder: Send + Sync {
    /// Stable identifier of the model; an index built with one model refuses another.
    fn model_id(&self) -> &str;
    /// Vector dimension.
    fn dim(&self) -> usize;
    /// Embed a batch of texts; each output vector has length [`Embedder::dim`] and unit L2 norm.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>>;
}

/// The model directory to use: `explicit`, else `$LORE_MODEL_DIR`, else
/// `${XDG_CACHE_HOME:-$HOME/.cache}/lore/model` (where `scripts/fetch-model.sh` puts it).
pub fn resolve_model_dir(explicit: Option<&Path>) -> PathBuf {
    if let Some(dir) = explicit {
        return dir.to_path_buf();
    }
    if let Some(dir) = std::env::var_os("LORE_MODEL_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    cache_home().join("model")
}

/// lore's cache directory: `${XDG_CACHE_HOME:-$HOME/.cache}/lore` (the system temporary
/// directory when neither is set). The model, the embedding cache and the demo index live here
/// unless told otherwise.
pub fn cache_home() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("lore")
}

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

/// File names of the pre-optimised model inside its folder.
const OPTIMIZED_GRAPH: &str = "model.opt.onnx";
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
enum Graph {
    /// The pre-optimised f32 graph, or `model.onnx` where it cannot be written.
    Optimized,
    /// `model.onnx` as shipped.
    Original,
    /// The int8 query graph, or the pre-optimised graph when there is none for this model.
    Query,
}

/// The query graph of `dir` if it was made from the model whose SHA-256 is `sha`.
fn query_graph(dir: &Path, sha: &str) -> Option<PathBuf> {
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
fn optimized_model(
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

/// The shipped model for a build, loaded (one session per core) on the first text the cache
/// cannot answer: a build whose every vector is cached never pays for the model's time or
/// memory. A missing model file is still reported at once.
pub struct LazyOnnxEmbedder {
    dir: PathBuf,
    model_id: String,
    dim: usize,
    /// One session rather than one per core.
    single: bool,
    /// The model once loaded; a failed load is tried again on the next text.
    loaded: OnceCell<OnnxEmbedder>,
}

impl std::fmt::Debug for LazyOnnxEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyOnnxEmbedder")
            .field("dir", &self.dir)
            .field("model", &self.model_id)
            .field("loaded", &self.loaded.get().is_some())
            .finish()
    }
}

impl LazyOnnxEmbedder {
    /// Check the model files in `dir` and learn the model's id; load it only when needed (at
    /// once for a model other than the shipped one, whose dimension must be probed).
    pub fn for_indexing(dir: &Path) -> Result<Self> {
        Self::new(dir, false)
    }

    /// As [`LazyOnnxEmbedder::for_indexing`], for a build with only a few texts to embed: one
    /// session over every core ([`OnnxEmbedder::load`]) instead of one per core, which would
    /// take more memory and time to load than the texts take to embed.
    pub fn for_few_texts(dir: &Path) -> Result<Self> {
        Self::new(dir, true)
    }

    fn new(dir: &Path, single: bool) -> Result<Self> {
        // Checks the model files (naming a missing one) before reading the model's id.
        let model_id = model_id_in(dir)?;
        let lazy = LazyOnnxEmbedder {
            dir: dir.to_path_buf(),
            model_id,
            dim: MINILM_DIM,
            single,
            loaded: OnceCell::new(),
        };
        if lazy.model_id == MINILM_MODEL_ID {
            return Ok(lazy);
        }
        let model = lazy.load()?;
        Ok(LazyOnnxEmbedder {
            dim: model.dim,
            loaded: OnceCell::with_value(model),
            ..lazy
        })
    }
}

impl LazyOnnxEmbedder {
    fn load(&self) -> Result<OnnxEmbedder> {
        if self.single {
            OnnxEmbedder::load(&self.dir)
        } else {
            OnnxEmbedder::load_for_indexing(&self.dir)
        }
    }
}

impl Embedder for LazyOnnxEmbedder {
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
        let model = self.loaded.get_or_try_init(|| self.load())?;
        model.embed(texts)
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

/// An [`InternalError::Embedding`](crate::InternalError::Embedding) unless an embedder answered `asked` texts with as many vectors.
pub fn check_count(asked: usize, vectors: &[Vec<f32>]) -> Result<()> {
    if vectors.len() == asked {
        return Ok(());
    }
    Err(Error::embedding(format!(
        "asked for {asked} vectors, the embedder returned {}",
        vectors.len()
    )))
}

/// Scale `v` to unit L2 norm (a zero vector stays zero).
pub fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// A deterministic bag-of-words hashing embedder, for unit tests of the plumbing only.
///
/// Each lower-cased alphanumeric word is hashed (FNV-1a) into one of `dim` buckets; the counts are
/// normalised. Texts sharing words are close; it knows no synonyms. Never used by default.
#[derive(Debug, Clone)]
pub struct HashEmbedder {
    dim: usize,
}

impl HashEmbedder {
    /// A hashing embedder with `dim` buckets.
    pub fn new(dim: usize) -> Self {
        HashEmbedder { dim }
    }
}

impl Embedder for HashEmbedder {
    fn model_id(&self) -> &str {
        "test/hash-embedder"
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        Ok(texts
            .iter()
            .map(|text| {
                let mut v = vec![0f32; self.dim];
                for word in text
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|w| !w.is_empty())
                {
                    let mut h: u64 = 0xcbf29ce484222325;
                    for b in word.to_lowercase().bytes() {
                        h ^= u64::from(b);
                        h = h.wrapping_mul(0x100000001b3);
                    }
                    v[(h % self.dim as u64) as usize] += 1.0;
                }
                normalize(&mut v);
                v
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_embedder_is_deterministic_and_normalised() {
        let e = HashEmbedder::new(64);
        let a = e.embed(&["contracts over fifty thousand", "x"]).unwrap();
        let b = e.embed(&["contracts over fifty thousand"]).unwrap();
        assert_eq!(a[0], b[0]);
        let norm: f32 = a[0].iter().map(|x| x * x).sum();
        assert!((norm - 1.0).abs() < 1e-5);
    }

    #[test]
    fn missing_model_dir_names_the_file_and_the_fix() {
        let err = OnnxEmbedder::load(Path::new("/nonexistent/lore-model")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("/nonexistent/lore-model/model.onnx"), "{msg}");
        assert!(msg.contains("fetch-model.sh"), "{msg}");
    }
}
