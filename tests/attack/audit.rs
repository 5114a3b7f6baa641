//! The attack suite: audit.

#[allow(unused_imports)]
use crate::support;
