//! Fault injection: what a hurried user or a failing machine does to lore — a wrong path, a
//! full disk, a stray file name, a moved folder, an edited source, an option out of range —
//! tried with real files and the real binary; the index survives it, and every error names the
//! file or option and what to do. Each module holds one part.

#[path = "../common/mod.rs"]
mod common;

mod identity;
mod limits;
