//! Fault injection: what lore does when its world goes wrong under it (a wrong path, a full
//! disk, a stray file name, a moved folder, an edited or deleted source), with the real binary
//! on small fixture exports. Each module holds one fault.

#[path = "../common/mod.rs"]
mod common;
mod stale;
