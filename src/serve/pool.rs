//! Query embedding for concurrent requests: a few model sessions, each query on a free one.
//!
//! [`OnnxEmbedder::load`] opens one session on every core, made for one query at a time: a
//! server's concurrent queries would wait for it one after the other. A [`SessionPool`] holds
//! `num_sessions` sessions of `threads_per_session` threads each (by default one single-threaded
//! session per core, see [`SessionPool::for_this_machine`]); a query takes the first free one,
//! or waits for the next in turn when all are busy.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::embed::{Embedder, OnnxEmbedder};
use crate::error::{Error, Result};

/// Model sessions shared by concurrent queries (see the module guide).
pub struct SessionPool {
    sessions: Vec<Mutex<OnnxEmbedder>>,
    next: AtomicUsize,
    model_id: String,
    dim: usize,
}

impl std::fmt::Debug for SessionPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionPool")
            .field("model_id", &self.model_id)
            .field("num_sessions", &self.sessions.len())
            .finish()
    }
}

impl SessionPool {
    /// `num_sessions` sessions (at least one) of the model in `dir`, each of
    /// `threads_per_session` intra-op threads (`None`: every core).
    pub fn load(
        dir: &Path,
        num_sessions: usize,
        threads_per_session: Option<usize>,
    ) -> Result<SessionPool> {
        let sessions = (0..num_sessions.max(1))
            .map(|_| OnnxEmbedder::load_sessions(dir, 1, threads_per_session).map(Mutex::new))
            .collect::<Result<Vec<_>>>()?;
        let first = sessions[0]
            .lock()
            .map_err(|_| Error::bug("a fresh session lock is poisoned"))?;
        let (model_id, dim) = (first.model_id().to_string(), first.dim());
        drop(first);
        Ok(SessionPool {
            sessions,
            next: AtomicUsize::new(0),
            model_id,
            dim,
        })
    }

    /// One single-threaded session per core: the most queries a second on a busy server.
    pub fn for_this_machine(dir: &Path) -> Result<SessionPool> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        SessionPool::load(dir, cores, Some(1))
    }

    /// How many sessions it holds.
    pub fn num_sessions(&self) -> usize {
        self.sessions.len()
    }
}

impl Embedder for SessionPool {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let n = self.sessions.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        for i in 0..n {
            if let Ok(session) = self.sessions[(start + i) % n].try_lock() {
                return session.embed(texts);
            }
        }
        // All busy: wait for the one whose turn it is. A poisoned lock only means another
        // query panicked while holding it; the session itself is still sound.
        let session = self.sessions[start]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        session.embed(texts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pool_embeds_like_one_session() {
        let dir = crate::embed::resolve_model_dir(None);
        let pool = SessionPool::load(&dir, 2, Some(1)).unwrap();
        let one = OnnxEmbedder::load(&dir).unwrap();
        let text = ["who reviews vendor contracts over $75K?"];
        let a = pool.embed(&text).unwrap();
        let b = one.embed(&text).unwrap();
        let cos: f32 = a[0].iter().zip(&b[0]).map(|(x, y)| x * y).sum();
        assert!(cos > 0.999, "cosine {cos}");
        assert_eq!(pool.dim(), one.dim());
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| assert_eq!(pool.embed(&text).unwrap().len(), 1));
            }
        });
    }
}
