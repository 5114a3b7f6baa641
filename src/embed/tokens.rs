//! Counting tokens the way the model does: the `tokenizer.json` of a model directory, through
//! the `tokenizers` crate, with no special tokens, no truncation and no padding.
//!
//! A token budget (see [`Index::context`](crate::Index::context)) is only worth something if it
//! is counted with the tokenizer of the model that reads the text; an estimate would overrun it.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tokenizers::models::ModelWrapper;
use tokenizers::Tokenizer;

use crate::embed::{model_id_in, MINILM_MODEL_ID};
use crate::error::{Error, Result};
use crate::model::content_hash_bytes;

/// Which tokenizer counted: enough to say so in an output and to check it later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenizerInfo {
    /// The model the tokenizer belongs to (`all-MiniLM-L6-v2` for the shipped model, else the
    /// model's id).
    pub model: String,
    /// The tokenization algorithm (`WordPiece`, `BPE`, `Unigram` or `WordLevel`).
    pub algorithm: String,
    /// SHA-256 (hex) of the `tokenizer.json` file.
    pub sha256: String,
}

impl TokenizerInfo {
    /// One line for people: `all-MiniLM-L6-v2 WordPiece tokenizer, tokenizer.json sha256
    /// 01234567…`.
    pub fn describe(&self) -> String {
        format!(
            "{} {} tokenizer, tokenizer.json sha256 {}…",
            self.model,
            self.algorithm,
            &self.sha256[..self.sha256.len().min(8)]
        )
    }
}

/// A model's tokenizer, loaded once, that counts the tokens of a text.
pub struct TokenCounter {
    tokenizer: Tokenizer,
    info: TokenizerInfo,
}

impl std::fmt::Debug for TokenCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCounter")
            .field("info", &self.info)
            .finish()
    }
}

impl TokenCounter {
    /// Load `dir/tokenizer.json`; fails with [`UserError::ModelMissing`](crate::UserError::ModelMissing)
    /// when it is missing or does not parse.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join("tokenizer.json");
        if !path.is_file() {
            return Err(Error::model_missing(
                dir,
                format!("{} is missing", path.display()),
            ));
        }
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        let mut tokenizer = Tokenizer::from_bytes(&bytes).map_err(|e| {
            Error::model_missing(dir, format!("{} does not load: {e}", path.display()))
        })?;
        // The file may ask for truncation and padding (to the model's input length): a count
        // must see every token and nothing more.
        tokenizer
            .with_truncation(None)
            .map_err(|e| Error::bug(format!("cannot turn truncation off: {e}")))?;
        tokenizer.with_padding(None);
        let algorithm = match tokenizer.get_model() {
            ModelWrapper::BPE(_) => "BPE",
            ModelWrapper::WordPiece(_) => "WordPiece",
            ModelWrapper::WordLevel(_) => "WordLevel",
            ModelWrapper::Unigram(_) => "Unigram",
        };
        let model = match model_id_in(dir) {
            Ok(id) if id == MINILM_MODEL_ID => "all-MiniLM-L6-v2".to_string(),
            Ok(id) => id,
            Err(_) => "unknown model".to_string(),
        };
        Ok(TokenCounter {
            tokenizer,
            info: TokenizerInfo {
                model,
                algorithm: algorithm.to_string(),
                sha256: content_hash_bytes(&bytes),
            },
        })
    }

    /// Which tokenizer this is.
    pub fn info(&self) -> &TokenizerInfo {
        &self.info
    }

    /// The number of tokens of `text` (no special tokens added, nothing truncated).
    pub fn count(&self, text: &str) -> Result<usize> {
        self.tokenizer
            .encode_fast(text, false)
            .map(|e| e.len())
            .map_err(|e| Error::embedding(format!("the tokenizer failed: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_tokenizer_is_a_missing_model() {
        let dir = tempfile::tempdir().unwrap();
        let err = TokenCounter::load(dir.path()).unwrap_err();
        assert!(
            matches!(err, Error::User(crate::UserError::ModelMissing { .. })),
            "{err}"
        );
        assert!(err.to_string().contains("tokenizer.json is missing"));
    }
}
