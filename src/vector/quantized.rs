//! Compact vectors for a long-running process: int8 codes in memory, exact rows on disk.
//!
//! [`QuantizedStore`] keeps each unit vector as 8-bit codes with one scale (the largest
//! component's magnitude over 127): a quarter of the memory of `f32` rows (at 100,000 chunks
//! 39 MB instead of 154). Searches run over the codes with the query quantised the same way
//! (an integer dot product per row); their best candidates, a pool larger than asked for, are
//! then scored exactly from `vectors.f32` on disk by [`ExactRows`], so the scores a search
//! returns are the exact cosine similarities and the order among the pool is exact. A true
//! neighbour is lost only if quantisation moves it out of the pool, which the pool's margin
//! (twice the depth asked for) makes rare; `tests/scifact.rs` measures recall against the exact
//! scan on real vectors.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::{dot, for_each_row, rank, Neighbor, Rows, Vectors};
use crate::error::{Error, Result};

/// Unit vectors as int8 codes, one scale per row.
#[derive(Debug, Clone, Default)]
pub struct QuantizedStore {
    dim: usize,
    codes: Vec<i8>,
    scales: Vec<f32>,
}

/// A query quantised for [`QuantizedStore`].
#[derive(Debug, Clone)]
pub struct QuantizedQuery {
    codes: Vec<i8>,
    scale: f32,
}

/// Append the codes of `v` to `out` and return its scale: `v[i] ≈ scale · code[i]`.
fn quantize(v: &[f32], out: &mut Vec<i8>) -> f32 {
    let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
    if max == 0.0 || !max.is_finite() {
        out.extend(std::iter::repeat_n(0, v.len()));
        return 0.0;
    }
    let inverse = 127.0 / max;
    out.extend(
        v.iter()
            .map(|x| (x * inverse).round().clamp(-127.0, 127.0) as i8),
    );
    max / 127.0
}

/// Integer dot product of two code rows: with AVX2 where the CPU has it (the same loop,
/// compiled for 16 lanes), else for the baseline x86_64 (SSE2) or another architecture.
#[inline]
fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has just been found to support AVX2.
        return unsafe { dot_i8_avx2(a, b) };
    }
    dot_i8_portable(a, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn dot_i8_avx2(a: &[i8], b: &[i8]) -> i32 {
    dot_i8_portable(a, b)
}

#[inline(always)]
fn dot_i8_portable(a: &[i8], b: &[i8]) -> i32 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| i32::from(x) * i32::from(y))
        .sum()
}

impl QuantizedStore {
    /// Quantise `vectors` row by row.
    pub fn from_rows<'a>(dim: usize, vectors: impl IntoIterator<Item = &'a [f32]>) -> Self {
        let mut store = QuantizedStore {
            dim,
            ..QuantizedStore::default()
        };
        for v in vectors {
            store.push(v);
        }
        store
    }

    fn push(&mut self, v: &[f32]) {
        let scale = quantize(v, &mut self.codes);
        self.scales.push(scale);
    }

    /// Quantise the vectors of `path` (a [`super::VectorStore`] file of `expected` rows) as
    /// they are read, never holding them as `f32`.
    #[cfg(test)]
    pub fn load(path: &Path, dim: usize, expected: usize) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        Self::load_from(file, path, dim, expected)
    }

    /// `QuantizedStore::load` from a file already open (`path` names it in errors).
    pub fn load_from(file: File, path: &Path, dim: usize, expected: usize) -> Result<Self> {
        let mut store = QuantizedStore {
            dim,
            codes: Vec::with_capacity(dim * expected),
            scales: Vec::with_capacity(expected),
        };
        for_each_row(file, path, dim, expected, |row| store.push(row))?;
        Ok(store)
    }
}

impl Vectors for QuantizedStore {
    type Query = QuantizedQuery;

    fn len(&self) -> usize {
        self.scales.len()
    }

    fn prepare(&self, query: &[f32]) -> QuantizedQuery {
        let mut codes = Vec::with_capacity(query.len());
        let scale = quantize(query, &mut codes);
        QuantizedQuery { codes, scale }
    }

    fn prefetch(&self, ord: u32) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            let start = ord as usize * self.dim;
            if let Some(row) = self.codes.get(start..start + self.dim) {
                for line in row.chunks(64) {
                    // SAFETY: a prefetch is a hint that never faults; the address is in bounds
                    // anyway, and SSE (its target feature) is part of every x86_64.
                    unsafe { _mm_prefetch::<_MM_HINT_T0>(line.as_ptr()) };
                }
            }
            if let Some(scale) = self.scales.get(ord as usize) {
                // SAFETY: as above.
                unsafe { _mm_prefetch::<_MM_HINT_T0>((scale as *const f32).cast()) };
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = ord;
    }

    fn similarity(&self, query: &QuantizedQuery, ord: u32) -> f32 {
        let start = ord as usize * self.dim;
        let row = &self.codes[start..start + self.dim];
        query.scale * self.scales[ord as usize] * dot_i8(&query.codes, row) as f32
    }
}

/// [`Rows`] read from an [`ExactRows`] file as they are asked for, so that updating a graph
/// with a few new vectors does not load them all. [`Rows::row`] cannot fail: the first read
/// error is kept (a row of zeros stands in) and [`RowReader::finish`] returns it, and whatever
/// was built from the rows is then to be thrown away.
#[derive(Debug)]
pub struct RowReader<'a> {
    rows: &'a ExactRows,
    error: std::sync::Mutex<Option<Error>>,
}

impl<'a> RowReader<'a> {
    /// Read rows from `rows`.
    pub fn new(rows: &'a ExactRows) -> Self {
        RowReader {
            rows,
            error: std::sync::Mutex::new(None),
        }
    }

    /// The first read error, if any.
    pub fn finish(self) -> Result<()> {
        match self.error.into_inner().unwrap_or_else(|e| e.into_inner()) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl Rows for RowReader<'_> {
    fn len(&self) -> usize {
        self.rows.len
    }

    fn row(&self, ord: u32) -> std::borrow::Cow<'_, [f32]> {
        let mut bytes = vec![0u8; self.rows.dim * 4];
        let mut row = vec![0f32; self.rows.dim];
        if let Err(e) = self.rows.read_row(ord, &mut bytes, &mut row) {
            let mut slot = self.error.lock().unwrap_or_else(|e| e.into_inner());
            slot.get_or_insert(e);
        }
        std::borrow::Cow::Owned(row)
    }
}

/// The exact `f32` rows of a vector file, read from disk one row at a time.
#[derive(Debug)]
pub struct ExactRows {
    file: File,
    path: PathBuf,
    dim: usize,
    len: usize,
}

impl ExactRows {
    /// Open `path`, a vector file of `expected` rows of dimension `dim` (its size is checked).
    pub fn open(path: &Path, dim: usize, expected: usize) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        Self::from_file(file, path, dim, expected)
    }

    /// [`ExactRows::open`] on a file already open (`path` names it in errors).
    pub fn from_file(file: File, path: &Path, dim: usize, expected: usize) -> Result<Self> {
        let io = |e| Error::io(path, e);
        let len = file.metadata().map_err(io)?.len();
        let want = (expected * dim * 4) as u64;
        if dim == 0 || len != want {
            return Err(super::size_mismatch(path, len, want, expected, dim));
        }
        Ok(ExactRows {
            file,
            path: path.to_path_buf(),
            dim,
            len: expected,
        })
    }

    /// Score `candidates` exactly against `query` and keep the best `k`, best first.
    pub fn rescore(
        &self,
        query: &[f32],
        candidates: Vec<Neighbor>,
        k: usize,
    ) -> Result<Vec<Neighbor>> {
        let mut bytes = vec![0u8; self.dim * 4];
        let mut row = vec![0f32; self.dim];
        let mut hits = Vec::with_capacity(candidates.len());
        for candidate in candidates {
            self.read_row(candidate.ord, &mut bytes, &mut row)?;
            hits.push(Neighbor {
                ord: candidate.ord,
                score: dot(query, &row),
            });
        }
        Ok(rank(hits, k))
    }

    /// Score every row exactly (reads the whole file): the ground truth for checks.
    pub fn search_all(&self, query: &[f32], k: usize) -> Result<Vec<Neighbor>> {
        let mut bytes = vec![0u8; self.dim * 4];
        let mut row = vec![0f32; self.dim];
        let mut hits = Vec::with_capacity(self.len);
        for ord in 0..self.len as u32 {
            self.read_row(ord, &mut bytes, &mut row)?;
            hits.push(Neighbor {
                ord,
                score: dot(query, &row),
            });
        }
        Ok(rank(hits, k))
    }

    /// Read row `ord` into `row` (`bytes` is scratch space of `4 × dim` bytes).
    pub fn read_row(&self, ord: u32, bytes: &mut [u8], row: &mut [f32]) -> Result<()> {
        if ord as usize >= self.len {
            return Err(Error::corrupt(&self.path, format!("no vector {ord}")));
        }
        let offset = ord as u64 * bytes.len() as u64;
        read_exact_at(&self.file, bytes, offset).map_err(|e| Error::io(&self.path, e))?;
        for (x, b) in row.iter_mut().zip(bytes.chunks_exact(4)) {
            *x = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
        Ok(())
    }
}

#[cfg(unix)]
pub(crate) fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
pub(crate) fn read_exact_at(
    file: &File,
    mut buf: &mut [u8],
    mut offset: u64,
) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_read(buf, offset)? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vector::{FlatIndex, VectorIndex, VectorStore};

    #[test]
    fn every_dot_product_path_gives_the_same_integers() {
        let mut rng = crate::vector::SplitMix(7);
        for len in [0, 1, 15, 16, 17, 383, 384, 1000] {
            let mut draw =
                || -> Vec<i8> { (0..len).map(|_| (rng.next_u64() % 255) as i8).collect() };
            let (a, b) = (draw(), draw());
            let plain: i32 = a.iter().zip(&b).map(|(&x, &y)| x as i32 * y as i32).sum();
            assert_eq!(dot_i8(&a, &b), plain);
            assert_eq!(dot_i8_portable(&a, &b), plain);
            // Codes stay within ±127, so no sum of 384 products can overflow.
            let extreme = vec![-127i8; len];
            assert_eq!(dot_i8(&extreme, &extreme), 127 * 127 * len as i32);
        }
    }

    #[test]
    fn quantised_similarities_are_close_and_rescoring_is_exact() {
        let dim = 384;
        let vectors = crate::vector::synthetic::clustered(3_000, dim, 30, 11);
        let mut store = VectorStore::new(dim);
        for v in &vectors {
            store.push(v).unwrap();
        }
        let codes = QuantizedStore::from_rows(dim, store.iter().map(|(_, v)| v));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vectors.f32");
        store.save(&path).unwrap();
        let loaded = QuantizedStore::load(&path, dim, vectors.len()).unwrap();
        assert_eq!(loaded.codes, codes.codes);
        assert_eq!(loaded.scales, codes.scales);
        let rows = ExactRows::open(&path, dim, vectors.len()).unwrap();

        let queries = crate::vector::synthetic::clustered(50, dim, 30, 12);
        let exact = FlatIndex::new(&store);
        let approximate = FlatIndex::new(&codes);
        for q in &queries {
            let prepared = codes.prepare(q);
            for ord in [0u32, 17, 2_999] {
                let error = (codes.similarity(&prepared, ord) - dot(q, store.get(ord))).abs();
                assert!(error < 0.01, "quantisation error {error}");
            }
            // A pool of twice the depth, rescored, is the exact top 10, scores and all.
            let pool = approximate.search(q, 20, None);
            let rescored = rows.rescore(q, pool, 10).unwrap();
            assert_eq!(rescored, exact.search(q, 10, None));
            assert_eq!(rows.search_all(q, 10).unwrap(), exact.search(q, 10, None));
        }
        assert!(rows
            .rescore(
                &queries[0],
                vec![Neighbor {
                    ord: 3_000,
                    score: 0.0
                }],
                1
            )
            .is_err());
        assert!(ExactRows::open(&path, dim, vectors.len() + 1).is_err());
    }

    #[test]
    fn a_zero_vector_scores_zero() {
        let codes = QuantizedStore::from_rows(3, [&[0.0f32, 0.0, 0.0][..], &[0.6, 0.8, 0.0]]);
        let q = codes.prepare(&[0.6, 0.8, 0.0]);
        assert_eq!(codes.similarity(&q, 0), 0.0);
        assert!((codes.similarity(&q, 1) - 1.0).abs() < 0.01);
    }
}
