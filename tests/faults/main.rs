//! Fault injection: what a hurried user or a failing machine does to lore — a wrong path, an
//! emptied or unmounted input, a full disk, a killed writer, a rollback, a demo pointed at
//! someone's index, a stray file name, a moved folder, an edited source, an option out of
//! range — tried with real files and the real binary; the index survives it, answers flag what
//! changed under them, and every error names the file or option and what to do. Each module
//! holds one part; `common` (`tests/common`) runs the binary.

#[path = "../common/mod.rs"]
mod common;

mod identity;
mod limits;
mod safety;
mod stale;
