//! The model for a build, loaded only when needed: [`LazyOnnxEmbedder`] checks the model files
//! and learns the model's id at once, and opens its sessions on the first text the embedding
//! cache cannot answer.

use std::path::{Path, PathBuf};

use once_cell::sync::OnceCell;

use super::{model_id_in, Embedder, OnnxEmbedder, MINILM_DIM, MINILM_MODEL_ID};
use crate::error::Result;

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
            dim: model.dim(),
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
