//! Reporting the progress of long work (builds, evaluations) to whoever runs it.

/// Reports build progress (the CLI draws bars on a terminal and prints lines in a log; [`NoProgress`] does nothing).
pub trait Progress: Send + Sync {
    /// A stage begins; `total` is its number of steps, 0 when unknown.
    fn start(&self, _stage: &str, _total: u64) {}
    /// `n` more steps of the current stage are done.
    fn advance(&self, _n: u64) {}
    /// The current stage is done.
    fn finish(&self) {}
}

/// A [`Progress`] that reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}
