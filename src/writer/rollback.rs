//! [`rollback`]: make the generation before the current one current again (`lore rollback`).
//!
//! An index keeps [`KEPT_GENERATIONS`](crate::KEPT_GENERATIONS) generations: the current one
//! and the ones before it. A rollback takes the writer lock, opens the newest earlier one and
//! checks it as a reader would, switches `CURRENT` to it by the same atomic rename a commit
//! uses (a crash leaves one generation or the other current, never neither), and empties the
//! one it rolled back from. A server answering from the index picks the switch up like a new
//! commit. Rolling back again goes one generation further back.

use std::path::Path;

use serde::Serialize;

use super::index_dir;
use crate::error::{Error, Result, UserError};
use crate::generation::{self, WriterLock, KEPT_GENERATIONS};
use crate::index::Index;

/// What a [`rollback`] did.
#[derive(Debug, Clone, Serialize)]
pub struct RolledBack {
    /// The generation that was current, now emptied.
    pub from: String,
    /// The generation that is current now.
    pub to: String,
    /// Documents the index holds now.
    pub num_documents: usize,
    /// Chunks the index holds now.
    pub num_chunks: usize,
    /// Earlier generations left behind because they fail their checks, with the reason, and
    /// anything that could not be removed.
    pub notes: Vec<String>,
}

/// Make the newest earlier generation of the index in `dir` that passes its checks current
/// again (see the module documentation).
///
/// ```no_run
/// let done = lore::rollback("/tmp/acme")?;
/// println!("{} is current again ({} documents)", done.to, done.num_documents);
/// # Ok::<(), lore::Error>(())
/// ```
pub fn rollback(dir: impl AsRef<Path>) -> Result<RolledBack> {
    let dir = index_dir(dir.as_ref())?;
    // Checked before the lock is taken, which would create the directory.
    generation::resolve(&dir)?;
    let lock = WriterLock::acquire(&dir)?;
    let refuse = |reason: String| -> Error {
        UserError::Rollback {
            dir: dir.clone(),
            reason,
        }
        .into()
    };
    let Some(generation::History { current, before }) = generation::earlier(&dir)? else {
        return Err(refuse(
            "it was written before generations, so it keeps no earlier one".into(),
        ));
    };
    let mut notes = Vec::new();
    for (name, path) in &before {
        match Index::check_generation(&dir, path) {
            Ok(manifest) => {
                notes.extend(generation::make_current(&lock, name, &current)?);
                return Ok(RolledBack {
                    from: current,
                    to: name.clone(),
                    num_documents: manifest.counts.documents,
                    num_chunks: manifest.counts.chunks,
                    notes,
                });
            }
            Err(e) => notes.push(format!("{name} left behind: it fails its checks ({e})")),
        }
    }
    let mut reason = format!(
        "no generation before {current} is kept (an index keeps {KEPT_GENERATIONS}: the current one and the ones before it, and rolling back empties the one it leaves)"
    );
    if !notes.is_empty() {
        reason = format!(
            "no generation before {current} passes its checks: {}",
            notes.join("; ")
        );
    }
    Err(refuse(reason))
}
