//! Dense vectors: on-disk storage and nearest-neighbour search.
//!
//! [`VectorStore`] holds the unit-length chunk vectors, row `ord` for chunk ordinal `ord`, and
//! persists them as little-endian `f32` in `vectors.f32`. Two searchers share the
//! [`VectorIndex`] interface: [`FlatIndex`], the exact twin (a scan, the ground truth), and
//! `HnswSearcher`, the approximate graph search over an [`HnswIndex`] (plain links, built on
//! every core) that is persisted beside the vectors and reloaded on open. They share no search
//! code; a test measures the recall of one against the other.

mod flat;
mod hnsw;
mod quantized;

use std::io::Write;
use std::path::Path;

pub use flat::FlatIndex;
pub use hnsw::{HnswIndex, HnswParams};
pub(crate) use quantized::read_exact_at;
pub use quantized::{ExactRows, QuantizedStore, RowReader};

use crate::error::{Error, Result};

/// A search result: chunk ordinal and cosine similarity (dot product of unit vectors).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Neighbor {
    /// Chunk ordinal.
    pub ord: u32,
    /// Cosine similarity in `[-1, 1]`, higher is closer.
    pub score: f32,
}

/// Restricts a search to some ordinals.
pub trait OrdFilter: Sync {
    /// True if `ord` may be returned.
    fn allows(&self, ord: u32) -> bool;
}

impl<F: Fn(u32) -> bool + Sync> OrdFilter for F {
    fn allows(&self, ord: u32) -> bool {
        self(ord)
    }
}

/// Rows a searcher scores a query against, row `ord` for chunk ordinal `ord`: exact `f32`
/// ([`VectorStore`]) or int8 codes ([`QuantizedStore`]).
pub trait Vectors: Sync {
    /// The query as these rows score it.
    type Query: Sync;
    /// Number of rows.
    fn len(&self) -> usize;
    /// True without rows.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Prepare a unit-length query once per search.
    fn prepare(&self, query: &[f32]) -> Self::Query;
    /// Cosine similarity of the query and row `ord` (exact or approximate).
    fn similarity(&self, query: &Self::Query, ord: u32) -> f32;
    /// Start loading row `ord` into the cache, ahead of [`Vectors::similarity`] (a hint; by
    /// default nothing).
    fn prefetch(&self, _ord: u32) {}
}

impl Vectors for VectorStore {
    type Query = Vec<f32>;

    fn len(&self) -> usize {
        VectorStore::len(self)
    }

    fn prepare(&self, query: &[f32]) -> Vec<f32> {
        query.to_vec()
    }

    fn similarity(&self, query: &Vec<f32>, ord: u32) -> f32 {
        dot(query, self.get(ord))
    }
}

/// k-nearest-neighbour search over vector rows.
pub trait VectorIndex: Send + Sync {
    /// The `k` nearest vectors to `query` (unit length) that pass `filter`, best first, ties
    /// broken by ascending ordinal.
    fn search(&self, query: &[f32], k: usize, filter: Option<&dyn OrdFilter>) -> Vec<Neighbor>;
}

/// Sort neighbours best first, ties by ordinal, and keep `k`.
pub(crate) fn rank(mut hits: Vec<Neighbor>, k: usize) -> Vec<Neighbor> {
    hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.ord.cmp(&b.ord)));
    hits.truncate(k);
    hits
}

/// Dot product.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    // Four accumulators let the compiler vectorise the loop.
    let mut acc = [0f32; 4];
    let chunks_a = a.chunks_exact(4);
    let chunks_b = b.chunks_exact(4);
    let (rem_a, rem_b) = (chunks_a.remainder(), chunks_b.remainder());
    for (x, y) in chunks_a.zip(chunks_b) {
        for i in 0..4 {
            acc[i] += x[i] * y[i];
        }
    }
    let tail: f32 = rem_a.iter().zip(rem_b).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

fn check_dim(dim: usize, v: &[f32]) -> Result<()> {
    if v.len() != dim {
        return Err(Error::embedding(format!(
            "vector of dimension {} given to a store of dimension {dim}",
            v.len(),
        )));
    }
    Ok(())
}

/// Writes a [`VectorStore`] file row by row, in any order, without holding the vectors: a
/// build's rows arrive in the order they were embedded, and at 100,000 chunks the vectors take
/// 154 MB.
#[derive(Debug)]
pub struct VectorFileWriter {
    file: std::fs::File,
    path: std::path::PathBuf,
    dim: usize,
    written: Vec<bool>,
}

impl VectorFileWriter {
    /// Create `path` for `len` vectors of dimension `dim`.
    pub fn create(path: &Path, dim: usize, len: usize) -> Result<Self> {
        let io = |e| Error::io(path, e);
        let file = std::fs::File::create(path).map_err(io)?;
        file.set_len((len * dim * 4) as u64).map_err(io)?;
        Ok(VectorFileWriter {
            file,
            path: path.to_path_buf(),
            dim,
            written: vec![false; len],
        })
    }

    /// Write the vector of ordinal `ord`.
    pub fn write(&mut self, ord: u32, v: &[f32]) -> Result<()> {
        use std::io::{Seek, SeekFrom};
        check_dim(self.dim, v)?;
        let Some(slot) = self.written.get_mut(ord as usize) else {
            return Err(Error::bug(format!(
                "vector {ord} written to a file of {} vectors",
                self.written.len()
            )));
        };
        *slot = true;
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        let io = |e| Error::io(&self.path, e);
        self.file
            .seek(SeekFrom::Start(ord as u64 * bytes.len() as u64))
            .map_err(io)?;
        self.file.write_all(&bytes).map_err(io)
    }

    /// Finish the file; every row must have been written.
    pub fn finish(self) -> Result<()> {
        if let Some(missing) = self.written.iter().position(|&w| !w) {
            return Err(Error::bug(format!(
                "{}: no vector was written for chunk {missing}",
                self.path.display()
            )));
        }
        self.file.sync_data().map_err(|e| Error::io(&self.path, e))
    }
}

/// Vectors read one row at a time, whole (`f32`): what building or updating a graph reads.
pub trait Rows: Sync {
    /// Number of rows.
    fn len(&self) -> usize;
    /// True without rows.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Row `ord`.
    fn row(&self, ord: u32) -> std::borrow::Cow<'_, [f32]>;
}

impl Rows for VectorStore {
    fn len(&self) -> usize {
        VectorStore::len(self)
    }

    fn row(&self, ord: u32) -> std::borrow::Cow<'_, [f32]> {
        std::borrow::Cow::Borrowed(self.get(ord))
    }
}

/// Unit-length vectors of one dimension, row `ord` for chunk ordinal `ord`.
#[derive(Debug, Clone, Default)]
pub struct VectorStore {
    dim: usize,
    data: Vec<f32>,
}

impl VectorStore {
    /// An empty store of dimension `dim`.
    pub fn new(dim: usize) -> Self {
        VectorStore {
            dim,
            data: Vec::new(),
        }
    }

    /// Dimension of every vector.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of vectors.
    pub fn len(&self) -> usize {
        self.data.len().checked_div(self.dim).unwrap_or(0)
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Append a vector; its ordinal is the previous [`VectorStore::len`].
    pub fn push(&mut self, v: &[f32]) -> Result<u32> {
        check_dim(self.dim, v)?;
        let ord = self.len() as u32;
        self.data.extend_from_slice(v);
        Ok(ord)
    }

    /// The vector of ordinal `ord`.
    pub fn get(&self, ord: u32) -> &[f32] {
        let start = ord as usize * self.dim;
        &self.data[start..start + self.dim]
    }

    /// Iterate `(ord, vector)`.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &[f32])> {
        self.data
            .chunks_exact(self.dim.max(1))
            .enumerate()
            .map(|(i, v)| (i as u32, v))
    }

    /// Write as little-endian `f32` rows to `path`.
    pub fn save(&self, path: &Path) -> Result<()> {
        let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
        let mut out = std::io::BufWriter::new(file);
        for x in &self.data {
            out.write_all(&x.to_le_bytes())
                .map_err(|e| Error::io(path, e))?;
        }
        out.flush().map_err(|e| Error::io(path, e))?;
        Ok(())
    }

    /// Read `path` written by [`VectorStore::save`]; `expected` is the number of vectors the
    /// manifest promises.
    pub fn load(path: &Path, dim: usize, expected: usize) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        Self::load_from(file, path, dim, expected)
    }

    /// [`VectorStore::load`] from a file already open (`path` names it in errors).
    pub fn load_from(
        file: std::fs::File,
        path: &Path,
        dim: usize,
        expected: usize,
    ) -> Result<Self> {
        let mut data = Vec::with_capacity(expected * dim);
        for_each_row(file, path, dim, expected, |row| data.extend_from_slice(row))?;
        Ok(VectorStore { dim, data })
    }
}

/// The error for a vector file of the wrong size.
fn size_mismatch(path: &Path, len: u64, want: u64, expected: usize, dim: usize) -> Error {
    Error::corrupt(
        path,
        format!("{len} bytes, expected {want} ({expected} vectors of dimension {dim})"),
    )
}

/// Stream the rows of `file`, a vector file of `expected` rows of dimension `dim` (its size is
/// checked first) read from its start, without holding more than one read buffer.
fn for_each_row(
    file: std::fs::File,
    path: &Path,
    dim: usize,
    expected: usize,
    mut each: impl FnMut(&[f32]),
) -> Result<()> {
    use std::io::{Read, Seek};
    let io = |e| Error::io(path, e);
    let mut file = file;
    // A clone of an open file shares its position: start from the top whatever it is.
    file.rewind().map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    let want = (expected * dim * 4) as u64;
    if dim == 0 || len != want {
        return Err(size_mismatch(path, len, want, expected, dim));
    }
    let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
    let mut bytes = vec![0u8; dim * 4];
    let mut row = vec![0f32; dim];
    for _ in 0..expected {
        reader.read_exact(&mut bytes).map_err(io)?;
        for (x, b) in row.iter_mut().zip(bytes.chunks_exact(4)) {
            *x = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
        each(&row);
    }
    Ok(())
}

/// SplitMix64 (Steele, Lea & Flood 2014), a tiny seeded generator: draws the graph's layers,
/// and the synthetic vectors of tests and benchmarks.
#[derive(Debug, Clone)]
pub struct SplitMix(pub u64);

impl SplitMix {
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e3779b97f4a7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
        z ^ (z >> 31)
    }
}

pub mod synthetic {
    //! Seeded, clustered unit vectors: deterministic data for tests and benchmarks of the
    //! vector searchers (never used for real content).

    pub use super::SplitMix;

    impl SplitMix {
        /// Roughly normal (sum of four uniforms, centred).
        pub fn gauss(&mut self) -> f32 {
            (0..4)
                .map(|_| (self.next_u64() >> 11) as f32 / (1u64 << 53) as f32)
                .sum::<f32>()
                - 2.0
        }
    }

    /// `n` unit vectors of dimension `dim` scattered around `clusters` random centres.
    pub fn clustered(n: usize, dim: usize, clusters: usize, seed: u64) -> Vec<Vec<f32>> {
        let mut rng = SplitMix(seed);
        let centres: Vec<Vec<f32>> = (0..clusters)
            .map(|_| (0..dim).map(|_| rng.gauss()).collect())
            .collect();
        (0..n)
            .map(|i| {
                let c = &centres[i % clusters];
                let mut v: Vec<f32> = c.iter().map(|x| x + 0.8 * rng.gauss()).collect();
                crate::embed::normalize(&mut v);
                v
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_round_trips_through_disk() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = VectorStore::new(3);
        store.push(&[1.0, 0.0, 0.0]).unwrap();
        store.push(&[0.0, 0.6, 0.8]).unwrap();
        let path = dir.path().join("vectors.f32");
        store.save(&path).unwrap();
        let back = VectorStore::load(&path, 3, 2).unwrap();
        assert_eq!(back.get(1), &[0.0, 0.6, 0.8]);
        assert!(VectorStore::load(&path, 3, 3).is_err());
        assert!(store.push(&[1.0]).is_err());

        // Written row by row in any order, the file is the same as the store's.
        let rows = dir.path().join("rows.f32");
        let mut writer = VectorFileWriter::create(&rows, 3, 2).unwrap();
        writer.write(1, &[0.0, 0.6, 0.8]).unwrap();
        assert!(writer.write(2, &[1.0, 0.0, 0.0]).is_err());
        assert!(writer.write(0, &[1.0]).is_err());
        writer.write(0, &[1.0, 0.0, 0.0]).unwrap();
        writer.finish().unwrap();
        assert_eq!(std::fs::read(&rows).unwrap(), std::fs::read(&path).unwrap());
        // A row never written is an error, not a zero vector.
        let mut writer = VectorFileWriter::create(&rows, 3, 2).unwrap();
        writer.write(1, &[0.0, 0.6, 0.8]).unwrap();
        let err = writer.finish().unwrap_err().to_string();
        assert!(err.contains("chunk 0"), "{err}");
    }

    /// The approximate graph must find ≥ 95% of the exact top-10 on 5,000+ vectors.
    #[test]
    fn hnsw_recall_at_10_against_flat_twin() {
        let dim = 384;
        let vectors = synthetic::clustered(6_000, dim, 60, 7);
        let mut store = VectorStore::new(dim);
        for v in &vectors {
            store.push(v).unwrap();
        }
        let flat = FlatIndex::new(&store);
        let graph = HnswIndex::build(&store, &HnswParams::default());
        let hnsw = graph.searcher(&store);
        let queries = synthetic::clustered(200, dim, 60, 99);
        let mut found = 0usize;
        for q in &queries {
            let exact: Vec<u32> = flat.search(q, 10, None).iter().map(|n| n.ord).collect();
            let approx: Vec<u32> = hnsw.search(q, 10, None).iter().map(|n| n.ord).collect();
            found += exact.iter().filter(|o| approx.contains(o)).count();
        }
        let recall = found as f64 / (queries.len() * 10) as f64;
        assert!(recall >= 0.95, "HNSW recall@10 = {recall:.3}");

        // Persisted and reloaded, it answers the same.
        let dir = tempfile::tempdir().unwrap();
        graph.save(dir.path()).unwrap();
        let reloaded = HnswIndex::load(dir.path(), store.len()).unwrap();
        assert_eq!(reloaded, graph);
        for q in queries.iter().take(20) {
            let again = reloaded.searcher(&store).search(q, 10, None);
            assert_eq!(hnsw.search(q, 10, None), again);
        }
        // A graph of another size, a truncated file and a damaged count are refused.
        assert!(HnswIndex::load(dir.path(), store.len() + 1).is_err());
        let file = dir.path().join("hnsw.links");
        let bytes = std::fs::read(&file).unwrap();
        std::fs::write(&file, &bytes[..bytes.len() - 3]).unwrap();
        let err = HnswIndex::load(dir.path(), store.len()).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
        let mut damaged = bytes.clone();
        let last_offset = 8 + 16 + store.len() + store.len() * 4;
        damaged[last_offset..last_offset + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        std::fs::write(&file, &damaged).unwrap();
        assert!(HnswIndex::load(dir.path(), store.len()).is_err());
    }

    #[test]
    fn filtered_search_only_returns_allowed_ordinals() {
        let dim = 32;
        let vectors = synthetic::clustered(2_000, dim, 10, 3);
        let mut store = VectorStore::new(dim);
        for v in &vectors {
            store.push(v).unwrap();
        }
        let flat = FlatIndex::new(&store);
        let graph = HnswIndex::build(&store, &HnswParams::default());
        let hnsw = graph.searcher(&store);
        let even = |ord: u32| ord.is_multiple_of(2);
        for index in [&flat as &dyn VectorIndex, &hnsw] {
            let hits = index.search(&vectors[5], 10, Some(&even));
            assert_eq!(hits.len(), 10);
            assert!(hits.iter().all(|h| h.ord.is_multiple_of(2)));
        }
    }
}
