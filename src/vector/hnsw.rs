//! The approximate searcher: an HNSW graph (hnsw_rs) over the store's vectors, persisted as
//! `hnsw.hnsw.graph` + `hnsw.hnsw.data` in the index directory and reloaded on open.

use std::path::Path;

use hnsw_rs::anndists::dist::Distance;
use hnsw_rs::prelude::{AnnT, FilterT, Hnsw, HnswIo, ReloadOptions};

use super::{rank, Neighbor, OrdFilter, VectorIndex, VectorStore};
use crate::error::{Error, Result};

/// File base name of the persisted graph inside the index directory.
const BASENAME: &str = "hnsw";

/// `1 - dot` for unit vectors, clamped at 0 so rounding never yields a negative distance.
#[derive(Debug, Default, Clone, Copy)]
pub struct UnitDot;

impl Distance<f32> for UnitDot {
    fn eval(&self, va: &[f32], vb: &[f32]) -> f32 {
        (1.0 - super::dot(va, vb)).max(0.0)
    }
}

/// Graph construction and search parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HnswParams {
    /// Links per node per layer (M).
    pub max_connections: usize,
    /// Candidate list size while building.
    pub ef_construction: usize,
    /// Candidate list size while searching (raised to `k` when smaller).
    pub ef_search: usize,
}

impl Default for HnswParams {
    fn default() -> Self {
        HnswParams {
            max_connections: 24,
            ef_construction: 200,
            ef_search: 128,
        }
    }
}

/// HNSW graph over a [`VectorStore`]'s vectors (data ids are chunk ordinals).
pub struct HnswIndex {
    graph: Hnsw<'static, f32, UnitDot>,
    ef_search: usize,
}

impl std::fmt::Debug for HnswIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HnswIndex")
            .field("points", &self.graph.get_nb_point())
            .field("ef_search", &self.ef_search)
            .finish()
    }
}

impl HnswIndex {
    /// Build the graph over every vector of `store`, inserting in parallel.
    pub fn build(store: &VectorStore, params: &HnswParams) -> Self {
        let n = store.len().max(1);
        // hnsw_rs only persists graphs built with its maximum number of layers.
        let max_layer = 16;
        let mut graph = Hnsw::new(
            params.max_connections,
            n,
            max_layer,
            params.ef_construction,
            UnitDot,
        );
        let data: Vec<(&[f32], usize)> = store.iter().map(|(ord, v)| (v, ord as usize)).collect();
        graph.parallel_insert_slice(&data);
        graph.set_searching_mode(true);
        HnswIndex {
            graph,
            ef_search: params.ef_search,
        }
    }

    /// Persist into `dir` (which must not already hold a graph). An empty graph writes nothing.
    pub fn save(&self, dir: &Path) -> Result<()> {
        if self.graph.get_nb_point() == 0 {
            return Ok(());
        }
        self.graph
            .file_dump(dir, BASENAME)
            .map_err(|e| Error::Corrupt {
                dir: dir.to_path_buf(),
                reason: format!("cannot write HNSW graph: {e}"),
            })?;
        Ok(())
    }

    /// Reload a graph saved by [`HnswIndex::save`] over `num_points` vectors of dimension `dim`
    /// (checked: a graph of another size is refused).
    pub fn load(dir: &Path, num_points: usize, dim: usize) -> Result<Self> {
        if num_points == 0 {
            return Ok(HnswIndex::build(
                &VectorStore::new(dim),
                &HnswParams::default(),
            ));
        }
        let corrupt = |reason: String| Error::Corrupt {
            dir: dir.to_path_buf(),
            reason,
        };
        for ext in ["hnsw.graph", "hnsw.data"] {
            let path = dir.join(format!("{BASENAME}.{ext}"));
            if !path.is_file() {
                return Err(corrupt(format!("{} is missing", path.display())));
            }
        }
        // The graph's points are read from a memory map of the data file rather than copied into
        // memory: the vectors are already held by the store, and a search touches only the
        // points it visits. hnsw_rs ties the graph's lifetime to its loader (which holds the
        // map); the loader lives as long as the process-wide index, so it is leaked once per
        // open instead of borrowed.
        let options = ReloadOptions::default().set_mmap(true);
        let loader: &'static mut HnswIo =
            Box::leak(Box::new(HnswIo::new_with_options(dir, BASENAME, options)));
        let mut graph: Hnsw<'static, f32, UnitDot> = loader
            .load_hnsw()
            .map_err(|e| corrupt(format!("cannot read HNSW graph: {e}")))?;
        if graph.get_nb_point() != num_points {
            return Err(corrupt(format!(
                "HNSW graph holds {} points, the index {num_points} vectors",
                graph.get_nb_point(),
            )));
        }
        graph.set_searching_mode(true);
        Ok(HnswIndex {
            graph,
            ef_search: HnswParams::default().ef_search,
        })
    }
}

/// Adapts an [`OrdFilter`] to hnsw_rs's filter trait.
struct Allow<'a>(&'a dyn OrdFilter);

impl FilterT for Allow<'_> {
    fn hnsw_filter(&self, id: &usize) -> bool {
        self.0.allows(*id as u32)
    }
}

impl VectorIndex for HnswIndex {
    fn search(&self, query: &[f32], k: usize, filter: Option<&dyn OrdFilter>) -> Vec<Neighbor> {
        if k == 0 || self.graph.get_nb_point() == 0 {
            return Vec::new();
        }
        let ef = self.ef_search.max(k);
        let found = match filter {
            Some(f) => self.graph.search_filter(query, k, ef, Some(&Allow(f))),
            None => self.graph.search(query, k, ef),
        };
        let hits = found
            .into_iter()
            .map(|n| Neighbor {
                ord: n.d_id as u32,
                score: 1.0 - n.distance,
            })
            .collect();
        rank(hits, k)
    }
}
