//! The stand-in embedder: [`HashEmbedder`], deterministic and tiny, for unit tests of the
//! plumbing only (never a default, never a reported figure).

use super::{normalize, Embedder};
use crate::error::Result;

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
}
