//! Turning text into vectors.
//!
//! [`Embedder`] is the one interface the index uses. [`OnnxEmbedder`] is the real one: the int8
//! ONNX export of `all-MiniLM-L6-v2` run by ONNX Runtime through fastembed, with mean pooling and
//! L2 normalisation, loaded from a local model directory that `scripts/fetch-model.sh` fills
//! (no network). [`HashEmbedder`] is a small deterministic stand-in for unit tests of the
//! plumbing only; it is never a default and never produces a reported figure.
//!
//! - `session`: [`OnnxEmbedder`], the model files of a directory and the ONNX Runtime sessions
//!   that run them; [`model_id_in`] names a model without loading it.
//! - `graph`: which graph a session runs — the pre-optimised f32 graph written once beside the
//!   model, `model.onnx` as shipped, or the int8 query graph ([`QueryPrecision`]).
//! - `lazy`: [`LazyOnnxEmbedder`], the model for a build, loaded on the first text the cache
//!   cannot answer.
//! - `pool` (with the `serve` feature): `SessionPool`, query sessions shared by a server's
//!   concurrent requests.
//! - `hash`: [`HashEmbedder`], the stand-in for unit tests.
//! - [`cache`]: [`CachedEmbedder`], vectors kept by content hash; `tokens`: [`TokenCounter`].

pub mod cache;
mod graph;
mod hash;
mod lazy;
#[cfg(feature = "serve")]
mod pool;
mod session;
mod tokens;

pub use cache::{CachedEmbedder, EmbeddingCache};
pub use graph::QueryPrecision;
pub use hash::HashEmbedder;
pub use lazy::LazyOnnxEmbedder;
#[cfg(feature = "serve")]
pub use pool::SessionPool;
pub use session::{model_id_in, OnnxEmbedder};
pub(crate) use tokens::line_break_tokens;
pub use tokens::{TokenCounter, TokenizerInfo, WHITESPACE_PER_TOKEN};

use std::path::{Path, PathBuf};

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
