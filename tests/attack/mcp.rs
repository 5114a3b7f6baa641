//! The attack suite: mcp.

#[allow(unused_imports)]
use crate::support;
