//! A persistent cache of embeddings, keyed by the SHA-256 of the embedded text, one directory per
//! model, so re-indexing text that was embedded before costs no model time.
//!
//! Layout: `<root>/<first 16 hex of sha256(model id)>/seg-<time>-<pid>.bin`. Every build that
//! embeds something new adds one segment, written to a temporary name and renamed into place, so
//! readers only ever see whole segments and concurrent writers never share a file. A segment is
//!
//! ```text
//! b"LOREVEC2" | dim: u32 | id_len: u32 | model id (UTF-8) | count: u64 | count × key: [u8; 32] | count × dim × f32
//! ```
//!
//! little-endian, the keys together so that opening reads them in one go (segments of the
//! first layout, `LOREVEC1`, one key before each vector, are still read). A segment that does not parse, or that names another model or dimension, is
//! ignored (and reported by [`EmbeddingCache::num_bad_segments`]), never trusted.
//!
//! Opening reads only the keys (memory grows with the number of cached texts, about 60 bytes
//! each, not with their vectors); a vector is read from its segment when asked for.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::Embedder;
use crate::error::{Error, Result};

/// The segment layout written: all keys, then all vectors.
const MAGIC: &[u8; 8] = b"LOREVEC2";
/// The first layout, still read: each key followed by its vector.
const MAGIC_INTERLEAVED: &[u8; 8] = b"LOREVEC1";

/// Cache key of a text: its SHA-256.
pub type Key = [u8; 32];

/// The key of `text`.
pub fn key(text: &str) -> Key {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes()).into()
}

/// A readable segment.
#[derive(Debug)]
struct Segment {
    path: PathBuf,
    file: File,
}

/// Embeddings of one model, loaded from and persisted to a cache directory.
#[derive(Debug)]
pub struct EmbeddingCache {
    dir: PathBuf,
    model_id: String,
    dim: usize,
    segments: Vec<Segment>,
    /// Where each persisted vector is: segment and byte offset.
    stored: HashMap<Key, (u32, u64)>,
    /// Vectors inserted since the last persist, in insertion order.
    fresh: Vec<(Key, Vec<f32>)>,
    fresh_keys: HashMap<Key, usize>,
    num_bad_segments: usize,
}

impl EmbeddingCache {
    /// The default cache root: `$LORE_CACHE_DIR`, else `${XDG_CACHE_HOME:-$HOME/.cache}/lore/embeddings`.
    pub fn default_root() -> PathBuf {
        if let Some(dir) = std::env::var_os("LORE_CACHE_DIR").filter(|d| !d.is_empty()) {
            return PathBuf::from(dir);
        }
        super::cache_home().join("embeddings")
    }

    /// Open the cache of `model_id` (vectors of `dim`) under `root`, reading the keys of every
    /// segment.
    pub fn open(root: &Path, model_id: &str, dim: usize) -> Result<Self> {
        let dir = root.join(&crate::model::content_hash(model_id)[..16]);
        let mut cache = EmbeddingCache {
            dir,
            model_id: model_id.to_string(),
            dim,
            segments: Vec::new(),
            stored: HashMap::new(),
            fresh: Vec::new(),
            fresh_keys: HashMap::new(),
            num_bad_segments: 0,
        };
        let entries = match std::fs::read_dir(&cache.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(cache),
            Err(e) => return Err(Error::io(&cache.dir, e)),
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "bin"))
            .collect();
        paths.sort();
        for path in paths {
            // A segment removed between listing and reading is simply gone.
            let Ok(file) = File::open(&path) else {
                continue;
            };
            if !cache.add_segment(path, file) {
                cache.num_bad_segments += 1;
            }
        }
        Ok(cache)
    }

    /// The size of a segment's header.
    fn header_len(&self) -> u64 {
        (8 + 4 + 4 + self.model_id.len() + 8) as u64
    }

    /// The header between the magic and the count: dimension, id length, model id.
    fn header_fields(&self) -> Vec<u8> {
        let mut fields = Vec::with_capacity(8 + self.model_id.len());
        fields.extend_from_slice(&(self.dim as u32).to_le_bytes());
        fields.extend_from_slice(&(self.model_id.len() as u32).to_le_bytes());
        fields.extend_from_slice(self.model_id.as_bytes());
        fields
    }

    /// Index the keys of one segment; false when it is malformed or of another model.
    fn add_segment(&mut self, path: PathBuf, file: File) -> bool {
        let vector_len = self.dim as u64 * 4;
        let header_len = self.header_len();
        let Ok(len) = file.metadata().map(|m| m.len()) else {
            return false;
        };
        let mut reader = BufReader::with_capacity(1 << 16, &file);
        let mut header = vec![0u8; header_len as usize];
        if reader.read_exact(&mut header).is_err() {
            return false;
        }
        let interleaved = match &header[..8] {
            m if m == MAGIC => false,
            m if m == MAGIC_INTERLEAVED => true,
            _ => return false,
        };
        let expected = self.header_fields();
        let fields_end = 8 + expected.len();
        if header[8..fields_end] != expected[..] {
            return false;
        }
        let count_bytes: [u8; 8] = header[fields_end..].try_into().unwrap_or_default();
        let count = u64::from_le_bytes(count_bytes);
        let whole = count
            .checked_mul(32 + vector_len)
            .and_then(|rows| rows.checked_add(header_len));
        if whole != Some(len) {
            return false;
        }
        let segment = self.segments.len() as u32;
        let mut keys = Vec::with_capacity(count.min(1 << 20) as usize);
        if interleaved {
            for i in 0..count {
                let mut key: Key = [0; 32];
                if reader.read_exact(&mut key).is_err()
                    || reader.seek_relative(vector_len as i64).is_err()
                {
                    return false;
                }
                keys.push((key, header_len + i * (32 + vector_len) + 32));
            }
        } else {
            let mut block = vec![0u8; (count * 32) as usize];
            if reader.read_exact(&mut block).is_err() {
                return false;
            }
            let vectors_at = header_len + count * 32;
            for (i, key) in block.chunks_exact(32).enumerate() {
                let key: Key = key.try_into().unwrap_or_default();
                keys.push((key, vectors_at + i as u64 * vector_len));
            }
        }
        for (key, offset) in keys {
            self.stored.insert(key, (segment, offset));
        }
        self.segments.push(Segment { path, file });
        true
    }

    /// The cached vector of `key`.
    pub fn get(&self, key: &Key) -> Result<Option<Vec<f32>>> {
        if let Some(&i) = self.fresh_keys.get(key) {
            return Ok(Some(self.fresh[i].1.clone()));
        }
        let Some(&(segment, offset)) = self.stored.get(key) else {
            return Ok(None);
        };
        let segment = &self.segments[segment as usize];
        let mut bytes = vec![0u8; self.dim * 4];
        segment
            .file
            .read_exact_at(&mut bytes, offset)
            .map_err(|e| Error::io(&segment.path, e))?;
        Ok(Some(
            bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
        ))
    }

    /// Remember a vector (persisted by [`EmbeddingCache::persist`]).
    pub fn insert(&mut self, key: Key, vector: Vec<f32>) {
        if vector.len() == self.dim
            && !self.stored.contains_key(&key)
            && !self.fresh_keys.contains_key(&key)
        {
            self.fresh_keys.insert(key, self.fresh.len());
            self.fresh.push((key, vector));
        }
    }

    /// Number of cached vectors.
    pub fn len(&self) -> usize {
        self.stored.len() + self.fresh.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Segments that were ignored because they did not parse or belong to another model.
    pub fn num_bad_segments(&self) -> usize {
        self.num_bad_segments
    }

    /// Write the vectors inserted since opening (or the last persist) as a new segment; they
    /// are then read from it like any other.
    pub fn persist(&mut self) -> Result<()> {
        if self.fresh.is_empty() {
            return Ok(());
        }
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let name = format!("seg-{nanos:020}-{}", std::process::id());
        let tmp = self.dir.join(format!("{name}.tmp"));
        let path = self.dir.join(format!("{name}.bin"));
        let file = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let mut out = std::io::BufWriter::new(file);
        let io = |e| Error::io(&tmp, e);
        out.write_all(MAGIC).map_err(io)?;
        out.write_all(&self.header_fields()).map_err(io)?;
        out.write_all(&(self.fresh.len() as u64).to_le_bytes())
            .map_err(io)?;
        for (key, _) in &self.fresh {
            out.write_all(key).map_err(io)?;
        }
        for (_, vector) in &self.fresh {
            for x in vector {
                out.write_all(&x.to_le_bytes()).map_err(io)?;
            }
        }
        out.into_inner()
            .map_err(|e| Error::io(&tmp, e.into_error()))?
            .sync_all()
            .map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
        let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
        if !self.add_segment(path.clone(), file) {
            return Err(Error::io(
                &path,
                std::io::Error::other("the segment just written does not read back"),
            ));
        }
        self.fresh.clear();
        self.fresh_keys.clear();
        Ok(())
    }
}

/// An [`Embedder`] that answers from an [`EmbeddingCache`] and runs the model only on texts it
/// has not seen.
pub struct CachedEmbedder {
    inner: Arc<dyn Embedder>,
    cache: Mutex<EmbeddingCache>,
    num_hits: AtomicUsize,
    num_misses: AtomicUsize,
}

impl std::fmt::Debug for CachedEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedEmbedder")
            .field("model", &self.inner.model_id())
            .field("hits", &self.num_hits())
            .field("misses", &self.num_misses())
            .finish()
    }
}

impl CachedEmbedder {
    /// Cache `inner`'s vectors under `root`.
    pub fn open(inner: Arc<dyn Embedder>, root: &Path) -> Result<Self> {
        let cache = EmbeddingCache::open(root, inner.model_id(), inner.dim())?;
        Ok(CachedEmbedder {
            inner,
            cache: Mutex::new(cache),
            num_hits: AtomicUsize::new(0),
            num_misses: AtomicUsize::new(0),
        })
    }

    /// Texts answered from the cache so far.
    pub fn num_hits(&self) -> usize {
        self.num_hits.load(Ordering::Relaxed)
    }

    /// Texts the model had to embed so far.
    pub fn num_misses(&self) -> usize {
        self.num_misses.load(Ordering::Relaxed)
    }

    /// Persist what was embedded.
    pub fn persist(&self) -> Result<()> {
        self.lock()?.persist()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, EmbeddingCache>> {
        self.cache
            .lock()
            .map_err(|_| Error::bug("embedding cache poisoned by an earlier panic"))
    }
}

impl Embedder for CachedEmbedder {
    fn model_id(&self) -> &str {
        self.inner.model_id()
    }

    fn dim(&self) -> usize {
        self.inner.dim()
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let keys: Vec<Key> = texts.iter().map(|t| key(t)).collect();
        let mut out: Vec<Option<Vec<f32>>> = {
            let cache = self.lock()?;
            keys.iter().map(|k| cache.get(k)).collect::<Result<_>>()?
        };
        // Embed each distinct missing text once.
        let mut missing: Vec<usize> = Vec::new();
        let mut first_of: HashMap<Key, usize> = HashMap::new();
        for (i, v) in out.iter().enumerate() {
            if v.is_none() && !first_of.contains_key(&keys[i]) {
                first_of.insert(keys[i], missing.len());
                missing.push(i);
            }
        }
        self.num_hits
            .fetch_add(texts.len() - missing.len(), Ordering::Relaxed);
        self.num_misses.fetch_add(missing.len(), Ordering::Relaxed);
        if !missing.is_empty() {
            let batch: Vec<&str> = missing.iter().map(|&i| texts[i]).collect();
            let vectors = self.inner.embed(&batch)?;
            super::check_count(batch.len(), &vectors)?;
            let mut cache = self.lock()?;
            for (&i, v) in missing.iter().zip(&vectors) {
                cache.insert(keys[i], v.clone());
            }
            for (i, slot) in out.iter_mut().enumerate() {
                if slot.is_none() {
                    *slot = Some(vectors[first_of[&keys[i]]].clone());
                }
            }
        }
        Ok(out.into_iter().map(|v| v.unwrap_or_default()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::HashEmbedder;

    #[test]
    fn second_run_embeds_nothing_and_gives_the_same_vectors() {
        let root = tempfile::tempdir().unwrap();
        let inner: Arc<dyn Embedder> = Arc::new(HashEmbedder::new(16));
        let texts = ["alpha beta", "gamma", "alpha beta", "delta"];
        let first = CachedEmbedder::open(inner.clone(), root.path()).unwrap();
        let a = first.embed(&texts).unwrap();
        assert_eq!((first.num_hits(), first.num_misses()), (1, 3));
        assert_eq!(a, inner.embed(&texts).unwrap());
        first.persist().unwrap();

        let second = CachedEmbedder::open(inner.clone(), root.path()).unwrap();
        let b = second.embed(&texts).unwrap();
        assert_eq!((second.num_hits(), second.num_misses()), (4, 0));
        assert_eq!(a, b);
        // Nothing new: no new segment.
        second.persist().unwrap();
        let dir = std::fs::read_dir(root.path())
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        assert_eq!(std::fs::read_dir(dir).unwrap().count(), 1);
    }

    #[test]
    fn damaged_and_foreign_segments_are_ignored() {
        let root = tempfile::tempdir().unwrap();
        let mut cache = EmbeddingCache::open(root.path(), "m", 2).unwrap();
        cache.insert(key("x"), vec![0.6, 0.8]);
        cache.persist().unwrap();
        // Persisted vectors are read back from their segment.
        assert_eq!(cache.get(&key("x")).unwrap(), Some(vec![0.6f32, 0.8]));
        assert_eq!(cache.len(), 1);
        let seg = std::fs::read_dir(&cache.dir)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let bytes = std::fs::read(&seg).unwrap();
        std::fs::write(
            cache.dir.join("seg-truncated.bin"),
            &bytes[..bytes.len() - 3],
        )
        .unwrap();
        std::fs::write(cache.dir.join("seg-junk.bin"), b"not a segment").unwrap();

        let again = EmbeddingCache::open(root.path(), "m", 2).unwrap();
        assert_eq!(again.num_bad_segments(), 2);
        assert_eq!(again.get(&key("x")).unwrap(), Some(vec![0.6f32, 0.8]));
        // Another dimension of the same model id is a different cache entirely.
        let other = EmbeddingCache::open(root.path(), "m", 3).unwrap();
        assert!(other.is_empty());
        assert_eq!(other.num_bad_segments(), 3);
    }

    #[test]
    fn both_segment_layouts_are_read() {
        let root = tempfile::tempdir().unwrap();
        // Two vectors in the current layout.
        let mut cache = EmbeddingCache::open(root.path(), "m", 2).unwrap();
        cache.insert(key("a"), vec![1.0, 0.0]);
        cache.insert(key("b"), vec![0.0, 1.0]);
        cache.persist().unwrap();
        // One in the first layout, written by hand: key, then its vector.
        let mut old = Vec::new();
        old.extend_from_slice(MAGIC_INTERLEAVED);
        old.extend_from_slice(&2u32.to_le_bytes());
        old.extend_from_slice(&1u32.to_le_bytes());
        old.extend_from_slice(b"m");
        old.extend_from_slice(&2u64.to_le_bytes());
        for (text, v) in [("c", [0.6f32, 0.8]), ("d", [0.8, 0.6])] {
            old.extend_from_slice(&key(text));
            for x in v {
                old.extend_from_slice(&x.to_le_bytes());
            }
        }
        std::fs::write(cache.dir.join("seg-0-old.bin"), &old).unwrap();

        let again = EmbeddingCache::open(root.path(), "m", 2).unwrap();
        assert_eq!(again.num_bad_segments(), 0);
        assert_eq!(again.len(), 4);
        let get = |t: &str| again.get(&key(t)).unwrap();
        assert_eq!(get("a"), Some(vec![1.0, 0.0]));
        assert_eq!(get("b"), Some(vec![0.0, 1.0]));
        assert_eq!(get("c"), Some(vec![0.6, 0.8]));
        assert_eq!(get("d"), Some(vec![0.8, 0.6]));
        assert_eq!(get("e"), None);
    }
}
