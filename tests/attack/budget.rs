//! The attack suite: budget.

#[allow(unused_imports)]
use crate::support;
