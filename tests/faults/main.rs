//! The fault-injection suite: what a hurried user, a full disk or a strange file system does to
//! lore, tried with real files and the real binary. Each module holds one part.

#[path = "../common/mod.rs"]
mod common;
mod identity;
