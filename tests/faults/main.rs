//! Fault injection: the real binary against wrong paths, emptied and unmounted inputs, full
//! disks, killed writers, rollbacks and a demo pointed at someone's index. Each module holds
//! one part; `common` (`tests/common`) runs the binary.

#[path = "../common/mod.rs"]
mod common;
mod safety;
