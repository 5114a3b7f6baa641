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
//! generation current. A write that fails removes its unfinished directory itself (the
//! [`NewGeneration`] removes it when dropped uncommitted); every writer first clears what a
//! writer killed earlier left ([`WriterLock::acquire`]).
//! The lock is an advisory file lock held by the open file, so the system releases it when
//! its holder dies: a lock left by a killed process is taken over by the next writer.
//!
//! Readers resolve `CURRENT` once ([`resolve`]) and keep their generation's files open; the
//! generations before the current one are kept, [`KEPT_GENERATIONS`] in all, so a reader that
//! resolved the pointer just before a commit still finds its files, and `lore rollback`
//! ([`make_current`]) can switch back to one of them with the same atomic rename. A generation
//! rolled back from is emptied but its directory kept until the next commit, so that its name
//! (which a server may still hold) is never given to another generation.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::layout::{
    generation_number, AUDIT_LOG, CURRENT, GENERATION_PREFIX as PREFIX, LEGACY_ENTRIES, LOCK,
    MANIFEST, OWNER,
};

/// How many generations an index keeps: the current one and, before it, the ones `lore
/// rollback` can make current again (two).
pub const KEPT_GENERATIONS: usize = 3;

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
        || name == OWNER
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
    /// What could not be cleared of earlier writers' leftovers.
    notes: Vec<String>,
}

impl WriterLock {
    /// Take the lock of the index at `dir` (created if missing), or fail at once with
    /// [`UserError::Locked`](crate::UserError::Locked) naming the process that holds it. A
    /// holder that has not written its name yet is waited for, up to two seconds: that is a
    /// writer starting, or a child process of ours that has not yet let go of our files.
    ///
    /// Then clears what earlier writers that failed or were killed left behind: unfinished
    /// generations (never a current or kept one) and a half-written pointer, so that a disk
    /// they filled has its space back before this writer starts.
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
        // The lock is ours: whoever held it before (a killed process) is gone. What it left
        // is cleared first, so that a disk it filled has room again for what follows.
        let notes = clear_leftovers(dir);
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
            notes,
        })
    }

    /// The index directory this lock is for.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Remove what writers that failed or were killed left in `root`: the pointer they were
/// writing, and every generation above the current one that holds anything (they never
/// became current; one rolled back from is already empty, and is kept so its number stays
/// used). Without a current generation every generation is unfinished. Returns what could not
/// be removed, as notes. A damaged pointer leaves everything as it is.
fn clear_leftovers(root: &Path) -> Vec<String> {
    let mut notes = Vec::new();
    let tmp = root.join(format!("{CURRENT}.tmp"));
    if tmp.exists() {
        if let Err(e) = std::fs::remove_file(&tmp) {
            notes.push(format!("could not remove {}: {e}", tmp.display()));
        }
    }
    let current = match read_current(root) {
        Ok(current) => current.as_deref().and_then(generation_number),
        Err(_) => return notes,
    };
    let Ok(all) = generations(root) else {
        return notes;
    };
    for (number, path) in all {
        let above = current.is_none_or(|c| number > c);
        let empty = std::fs::read_dir(&path).is_ok_and(|mut d| d.next().is_none());
        if above && !(empty && current.is_some()) {
            if let Err(e) = std::fs::remove_dir_all(&path) {
                notes.push(format!(
                    "could not remove the unfinished generation {}: {e}",
                    path.display()
                ));
            }
        }
    }
    notes
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

/// A generation being written. Dropped before [`commit`] made it current (the write failed,
/// or stopped), it removes its directory and everything written in it.
#[derive(Debug)]
pub struct NewGeneration {
    /// Its directory name, e.g. `gen-000005`.
    pub name: String,
    /// Its directory (created empty).
    pub dir: PathBuf,
    /// Made current: its directory is the index's now.
    current: bool,
}

impl Drop for NewGeneration {
    fn drop(&mut self) {
        if !self.current {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Start a new generation in `lock`'s directory: the next number after every generation
/// there, an empty directory.
pub fn begin(lock: &WriterLock) -> Result<NewGeneration> {
    let root = lock.dir();
    let last = generations(root)?.into_iter().map(|(n, _)| n).max();
    let name = format!("{PREFIX}{:06}", last.map_or(1, |n| n + 1));
    let dir = root.join(&name);
    std::fs::create_dir(&dir).map_err(|e| Error::io(&dir, e))?;
    Ok(NewGeneration {
        name,
        dir,
        current: false,
    })
}

/// Make `generation` (fully written) the current one: flush its files to disk, then switch
/// `CURRENT` to it by an atomic rename, then flush the directory entry. Returns the generation
/// that was current before, if any. When it fails before the switch, the generation is
/// removed.
pub fn commit(lock: &WriterLock, mut generation: NewGeneration) -> Result<Option<String>> {
    let root = lock.dir();
    let previous = read_current(root).ok().flatten();
    sync_tree(&generation.dir)?;
    sync_dir(root)?;
    switch(root, &generation.name)?;
    generation.current = true;
    // The switch is made; a directory flush that fails now cannot undo it, and the next
    // writer's flush covers it.
    let _ = sync_dir(root);
    Ok(previous)
}

/// Point `CURRENT` at `name` by writing `CURRENT.tmp` and renaming it over `CURRENT` (the
/// rename is atomic: a reader sees the old pointer or the new one). A failure leaves the old
/// pointer and no temporary file.
fn switch(root: &Path, name: &str) -> Result<()> {
    let tmp = root.join(format!("{CURRENT}.tmp"));
    let write = || -> std::io::Result<()> {
        let mut file = File::create(&tmp)?;
        writeln!(file, "{name}")?;
        file.sync_all()
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(&tmp, e));
    }
    let current = root.join(CURRENT);
    if let Err(e) = std::fs::rename(&tmp, &current) {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(&current, e));
    }
    Ok(())
}

/// The current generation and the complete ones before it (see [`earlier`]).
#[derive(Debug, Clone)]
pub struct History {
    /// The current generation's name.
    pub current: String,
    /// The complete generations (those holding a manifest) below it, newest first: name and
    /// directory.
    pub before: Vec<(String, PathBuf)>,
}

/// The current generation and the complete ones below it: what [`make_current`] can switch
/// back to. `None` when the index has no current generation.
pub fn earlier(root: &Path) -> Result<Option<History>> {
    let Some(current) = read_current(root)? else {
        return Ok(None);
    };
    let current_number = generation_number(&current).unwrap_or(0);
    let mut before: Vec<(String, PathBuf)> = generations(root)?
        .into_iter()
        .filter(|(n, path)| *n < current_number && path.join(MANIFEST).is_file())
        .map(|(_, path)| {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (name, path)
        })
        .collect();
    before.reverse();
    Ok(Some(History { current, before }))
}

/// Make the kept generation `name` current again (`lore rollback`), by the same atomic switch
/// as a commit, then empty the generation that was current (`undone`). Its directory stays,
/// empty, until the next commit: a server still answering from it notices the pointer moved,
/// and no later generation takes its name. Returns what could not be removed, as notes.
pub fn make_current(lock: &WriterLock, name: &str, undone: &str) -> Result<Vec<String>> {
    let root = lock.dir();
    if generation_number(name).is_none() || generation_number(undone).is_none() {
        return Err(Error::bug(format!(
            "{name:?} or {undone:?} names no generation"
        )));
    }
    switch(root, name)?;
    let _ = sync_dir(root);
    let mut notes = Vec::new();
    let dir = root.join(undone);
    let entries = std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(&dir, e))?;
        let path = entry.path();
        let outcome = match entry.file_type() {
            Ok(t) if t.is_dir() => std::fs::remove_dir_all(&path),
            _ => std::fs::remove_file(&path),
        };
        if let Err(e) = outcome {
            notes.push(format!("could not remove {}: {e}", path.display()));
        }
    }
    Ok(notes)
}

/// Remove what no reader needs any more: every generation but the current one and the
/// [`KEPT_GENERATIONS`]` - 1` complete ones before it (unfinished and rolled-back ones
/// included), and the files of an index written before generations. Returns what could not be
/// removed, as notes (with those of the lock's own clearing).
pub fn clean(lock: &WriterLock) -> Result<Vec<String>> {
    let root = lock.dir();
    let mut notes = lock.notes.clone();
    let Some(History { current, before }) = earlier(root)? else {
        return Ok(notes);
    };
    let current_number = generation_number(&current).unwrap_or(0);
    let kept: Vec<u64> = before
        .iter()
        .take(KEPT_GENERATIONS.saturating_sub(1))
        .filter_map(|(name, _)| generation_number(name))
        .collect();
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
        if number != current_number && !kept.contains(&number) {
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

    fn names(root: &Path) -> Vec<String> {
        generations(root)
            .unwrap()
            .into_iter()
            .map(|(_, p)| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    }

    /// Begin and commit a generation holding a manifest.
    fn commit_one(lock: &WriterLock) -> String {
        let generation = begin(lock).unwrap();
        std::fs::write(generation.dir.join(MANIFEST), "{}").unwrap();
        let name = generation.name.clone();
        commit(lock, generation).unwrap();
        clean(lock).unwrap();
        name
    }

    #[test]
    fn commits_switch_the_pointer_and_clean_keeps_three() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("idx");
        assert!(matches!(
            resolve(&root),
            Err(Error::User(crate::error::UserError::NoIndex { .. }))
        ));
        let lock = WriterLock::acquire(&root).unwrap();
        let committed: Vec<String> = (0..4).map(|_| commit_one(&lock)).collect();
        assert_eq!(committed[3], "gen-000004");
        assert_eq!(resolve(&root).unwrap(), root.join("gen-000004"));
        // The current generation and the two before it are kept.
        assert_eq!(names(&root), vec!["gen-000002", "gen-000003", "gen-000004"]);
        // A generation dropped before its commit removes itself.
        let unfinished = begin(&lock).unwrap();
        assert_eq!(unfinished.name, "gen-000005");
        std::fs::write(unfinished.dir.join(MANIFEST), "{}").unwrap();
        drop(unfinished);
        assert_eq!(names(&root), vec!["gen-000002", "gen-000003", "gen-000004"]);
        assert_eq!(read_current(&root).unwrap().as_deref(), Some("gen-000004"));
    }

    #[test]
    fn the_next_writer_clears_what_a_killed_one_left() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("idx");
        let lock = WriterLock::acquire(&root).unwrap();
        commit_one(&lock);
        // A writer killed mid-write: its generation and pointer stay (forgotten, not dropped).
        let killed = begin(&lock).unwrap();
        std::fs::write(killed.dir.join("vectors.f32"), vec![0u8; 4096]).unwrap();
        std::mem::forget(killed);
        std::fs::write(root.join("CURRENT.tmp"), "gen-000002\n").unwrap();
        drop(lock);
        let lock = WriterLock::acquire(&root).unwrap();
        assert_eq!(names(&root), vec!["gen-000001"]);
        assert!(!root.join("CURRENT.tmp").exists());
        assert_eq!(read_current(&root).unwrap().as_deref(), Some("gen-000001"));
        // Before any commit, every generation is unfinished.
        let other = tmp.path().join("fresh");
        let first = WriterLock::acquire(&other).unwrap();
        std::mem::forget(begin(&first).unwrap());
        drop(first);
        drop(WriterLock::acquire(&other).unwrap());
        assert!(names(&other).is_empty());
        drop(lock);
    }

    #[test]
    fn rolling_back_switches_to_the_kept_generation_and_never_reuses_a_name() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("idx");
        let lock = WriterLock::acquire(&root).unwrap();
        for _ in 0..3 {
            commit_one(&lock);
        }
        let History { current, before } = earlier(&root).unwrap().unwrap();
        assert_eq!(current, "gen-000003");
        let before: Vec<&str> = before.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(before, vec!["gen-000002", "gen-000001"]);
        assert!(make_current(&lock, "gen-000002", "gen-000003")
            .unwrap()
            .is_empty());
        assert_eq!(resolve(&root).unwrap(), root.join("gen-000002"));
        // The generation rolled back from is emptied, its directory kept, also by the next
        // writer, so the next commit takes a new name.
        assert!(std::fs::read_dir(root.join("gen-000003"))
            .unwrap()
            .next()
            .is_none());
        drop(lock);
        let lock = WriterLock::acquire(&root).unwrap();
        assert!(root.join("gen-000003").is_dir());
        assert_eq!(commit_one(&lock), "gen-000004");
        // A second rollback goes past the emptied one.
        let before = earlier(&root).unwrap().unwrap().before;
        let before: Vec<&str> = before.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(before, vec!["gen-000002", "gen-000001"]);
        assert_eq!(names(&root), vec!["gen-000001", "gen-000002", "gen-000004"]);
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
