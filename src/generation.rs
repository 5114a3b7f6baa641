//! An index directory over time: generations, the pointer to the current one, the writer lock.
//!
//! ```text
//! DIR/CURRENT          the name of the current generation, e.g. `gen-000004`
//! DIR/gen-000004/      a complete index (manifest, text index, vectors, graph, …)
//! DIR/gen-000003/      the one before, kept for readers that opened it
//! DIR/lock             held by the one process writing (pid, host and start inside)
//! ```
//!
//! A writer takes the lock ([`WriterLock`]; a second writer fails at once naming the holder),
//! writes a whole new generation beside the current one ([`begin`]), flushes it to disk, and
//! switches `CURRENT` to it by an atomic rename ([`commit`]): a reader sees the old generation
//! or the new one, never a mix, and a writer killed at any moment leaves the last committed
//! generation current (its unfinished directory is removed by the next writer, [`clean`]).
//! The lock is an advisory file lock held by the open file, so the system releases it when
//! its holder dies: a lock left by a killed process is taken over by the next writer.
//!
//! Readers resolve `CURRENT` once ([`resolve`]) and keep their generation's files open; the
//! generation before the current one is kept, so a reader that resolved the pointer just
//! before a commit still finds its files.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::layout::{
    generation_number, AUDIT_LOG, CURRENT, GENERATION_PREFIX as PREFIX, LEGACY_ENTRIES, LOCK,
    MANIFEST,
};

/// The directory of the current generation of the index at `dir`: `dir/<CURRENT>`, or `dir`
/// itself for an index written before generations. [`UserError::NoIndex`](crate::UserError::NoIndex) when there is neither.
pub fn resolve(dir: &Path) -> Result<PathBuf> {
    match read_current(dir)? {
        Some(name) => Ok(dir.join(name)),
        None if dir.join(MANIFEST).is_file() => Ok(dir.to_path_buf()),
        None => Err(Error::no_index(dir.to_path_buf())),
    }
}

/// The name in `dir/CURRENT`, if there is one.
pub fn read_current(dir: &Path) -> Result<Option<String>> {
    let path = dir.join(CURRENT);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let name = text.trim();
            if generation_number(name).is_none() {
                return Err(Error::corrupt(
                    &path,
                    format!("it names no generation ({name:?})"),
                ));
            }
            Ok(Some(name.to_string()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// True when `name` is something this module keeps in an index directory.
pub fn is_own_entry(name: &str) -> bool {
    name == LOCK
        || name == AUDIT_LOG
        || name == CURRENT
        || name.starts_with(&format!("{CURRENT}."))
        || generation_number(name).is_some()
        || LEGACY_ENTRIES.contains(&name)
}

/// How long [`WriterLock::acquire`] waits on a held lock whose holder has not written its name.
const UNNAMED_HOLDER_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The one writer of an index directory, for as long as this value lives.
#[derive(Debug)]
pub struct WriterLock {
    file: File,
    dir: PathBuf,
}

impl WriterLock {
    /// Take the lock of the index at `dir` (created if missing), or fail at once with
    /// [`UserError::Locked`](crate::UserError::Locked) naming the process that holds it. A
    /// holder that has not written its name yet is waited for, up to two seconds: that is a
    /// writer starting, or a child process of ours that has not yet let go of our files.
    pub fn acquire(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let path = dir.join(LOCK);
        let io = |e| Error::io(&path, e);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        // A lock whose holder has not written its name is either being taken this instant or
        // still referenced by a child process that another thread of ours is starting: between
        // its fork and its exec the child shares our open files, so the lock we just released
        // stays held for that moment. Either way it resolves within milliseconds; a named
        // holder is refused at once.
        let patience = std::time::Instant::now() + UNNAMED_HOLDER_WAIT;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) => {
                    let mut holder = String::new();
                    file.rewind().map_err(io)?;
                    let _ = file.read_to_string(&mut holder);
                    let holder = holder.trim();
                    if holder.is_empty() && std::time::Instant::now() < patience {
                        std::thread::sleep(std::time::Duration::from_millis(2));
                        continue;
                    }
                    return Err(crate::error::UserError::Locked {
                        dir: dir.to_path_buf(),
                        holder: if holder.is_empty() {
                            "it has not written its name yet".into()
                        } else {
                            holder.to_string()
                        },
                    }
                    .into());
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
            }
        }
        // The lock is ours: whoever held it before (a killed process) is gone.
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        write!(
            file,
            "lore index, pid {} on {}, since unix time {since}",
            std::process::id(),
            hostname()
        )
        .map_err(io)?;
        file.sync_data().map_err(io)?;
        Ok(WriterLock {
            file,
            dir: dir.to_path_buf(),
        })
    }

    /// The index directory this lock is for.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for WriterLock {
    fn drop(&mut self) {
        // Say nobody holds it; closing the file releases the lock itself.
        let _ = self.file.set_len(0);
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "this machine".into())
}

/// A generation being written.
#[derive(Debug, Clone)]
pub struct NewGeneration {
    /// Its directory name, e.g. `gen-000005`.
    pub name: String,
    /// Its directory (created empty).
    pub dir: PathBuf,
}

/// Start a new generation in `lock`'s directory: the next number after every generation
/// there, an empty directory.
pub fn begin(lock: &WriterLock) -> Result<NewGeneration> {
    let root = lock.dir();
    let last = generations(root)?.into_iter().map(|(n, _)| n).max();
    let name = format!("{PREFIX}{:06}", last.map_or(1, |n| n + 1));
    let dir = root.join(&name);
    std::fs::create_dir(&dir).map_err(|e| Error::io(&dir, e))?;
    Ok(NewGeneration { name, dir })
}

/// Make `generation` (fully written) the current one: flush its files to disk, then switch
/// `CURRENT` to it by an atomic rename, then flush the directory entry. Returns the generation
/// that was current before, if any.
pub fn commit(lock: &WriterLock, generation: &NewGeneration) -> Result<Option<String>> {
    let root = lock.dir();
    let previous = read_current(root).ok().flatten();
    sync_tree(&generation.dir)?;
    sync_dir(root)?;
    let tmp = root.join(format!("{CURRENT}.tmp"));
    let io = |e| Error::io(&tmp, e);
    let mut file = File::create(&tmp).map_err(io)?;
    writeln!(file, "{}", generation.name).map_err(io)?;
    file.sync_all().map_err(io)?;
    drop(file);
    let current = root.join(CURRENT);
    std::fs::rename(&tmp, &current).map_err(|e| Error::io(&current, e))?;
    sync_dir(root)?;
    Ok(previous)
}

/// Remove what no reader needs any more: generations other than the current one and
/// `previous` (the one [`commit`] replaced; unfinished ones included), and the files of an
/// index written before generations. Returns what could not be removed, as notes.
pub fn clean(lock: &WriterLock, previous: Option<&str>) -> Result<Vec<String>> {
    let root = lock.dir();
    let Some(current) = read_current(root)? else {
        return Ok(Vec::new());
    };
    let current_number = generation_number(&current).unwrap_or(0);
    let previous = previous.and_then(generation_number);
    let mut notes = Vec::new();
    let mut remove = |path: &Path| {
        let outcome = if path.is_dir() {
            std::fs::remove_dir_all(path)
        } else {
            std::fs::remove_file(path)
        };
        if let Err(e) = outcome {
            notes.push(format!("could not remove {}: {e}", path.display()));
        }
    };
    for (number, path) in generations(root)? {
        if number != current_number && Some(number) != previous {
            remove(&path);
        }
    }
    for name in LEGACY_ENTRIES {
        let path = root.join(name);
        if path.exists() {
            remove(&path);
        }
    }
    Ok(notes)
}

/// Every generation directory in `root`, with its number.
fn generations(root: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let entries = match std::fs::read_dir(root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(root, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(root, e))?;
        let name = entry.file_name();
        if let Some(n) = name.to_str().and_then(generation_number) {
            out.push((n, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// Flush every file below `dir`, and the directories themselves, to disk.
fn sync_tree(dir: &Path) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(|e| Error::io(&path, e))?;
        if kind.is_dir() {
            sync_tree(&path)?;
        } else if kind.is_file() {
            File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(|e| Error::io(&path, e))?;
        }
    }
    sync_dir(dir)
}

/// Flush a directory's entries (a no-op where directories cannot be opened as files).
fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|f| f.sync_all())
            .map_err(|e| Error::io(dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_switch_the_pointer_and_clean_keeps_two() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("idx");
        assert!(matches!(
            resolve(&root),
            Err(Error::User(crate::error::UserError::NoIndex { .. }))
        ));
        let lock = WriterLock::acquire(&root).unwrap();
        let mut names = Vec::new();
        let mut previous = None;
        for _ in 0..4 {
            let generation = begin(&lock).unwrap();
            std::fs::write(generation.dir.join(MANIFEST), "{}").unwrap();
            previous = commit(&lock, &generation).unwrap();
            assert_eq!(resolve(&root).unwrap(), generation.dir);
            assert!(clean(&lock, previous.as_deref()).unwrap().is_empty());
            names.push(generation.name);
        }
        assert_eq!(names[3], "gen-000004");
        assert_eq!(previous.as_deref(), Some("gen-000003"));
        // The current generation and the one it replaced are kept; an unfinished one goes.
        let unfinished = begin(&lock).unwrap();
        assert_eq!(unfinished.name, "gen-000005");
        clean(&lock, previous.as_deref()).unwrap();
        let left: Vec<String> = generations(&root)
            .unwrap()
            .into_iter()
            .map(|(_, p)| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, vec!["gen-000003", "gen-000004"]);
        assert_eq!(read_current(&root).unwrap().as_deref(), Some("gen-000004"));
    }

    #[test]
    fn a_second_writer_is_refused_naming_the_holder_until_the_first_is_gone() {
        let tmp = tempfile::tempdir().unwrap();
        let first = WriterLock::acquire(tmp.path()).unwrap();
        let err = WriterLock::acquire(tmp.path()).unwrap_err().to_string();
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(first);
        WriterLock::acquire(tmp.path()).unwrap();
    }

    #[test]
    fn starting_child_processes_does_not_make_the_lock_look_taken() {
        // A child started by another thread holds our open files until its exec, the lock's
        // among them: a writer that releases and retakes the lock meanwhile must not be refused.
        let tmp = tempfile::tempdir().unwrap();
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    std::process::Command::new("true").output().unwrap();
                }
            });
            let taken: Vec<bool> = (0..500)
                .map(|_| WriterLock::acquire(tmp.path()).is_ok())
                .collect();
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
            assert!(
                taken.iter().all(|ok| *ok),
                "refused {} times of 500",
                taken.iter().filter(|ok| !**ok).count()
            );
        });
    }

    #[test]
    fn a_holder_that_has_not_written_its_name_is_waited_for() {
        let tmp = tempfile::tempdir().unwrap();
        // A holder that has taken the lock but not yet written its name.
        let raw = File::create(tmp.path().join(LOCK)).unwrap();
        raw.try_lock().unwrap();
        let released = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(50));
            drop(raw);
        });
        let lock = WriterLock::acquire(tmp.path()).unwrap();
        released.join().unwrap();
        drop(lock);
    }

    #[test]
    fn a_damaged_pointer_is_reported() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join(CURRENT), "../../etc\n").unwrap();
        let err = resolve(tmp.path()).unwrap_err().to_string();
        assert!(err.contains("names no generation"), "{err}");
    }
}
