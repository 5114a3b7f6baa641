//! The attack suite: http.

#[allow(unused_imports)]
use crate::support;
