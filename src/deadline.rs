//! Deadlines: an operation that its caller stopped waiting for stops too.
//!
//! A server answers `timeout` when an operation runs past its time limit; the operation
//! itself should not go on computing an answer nobody will read. [`within`] runs a closure
//! with a deadline for the current thread, and the library's operations ([`Index::search`],
//! `who`, `context`, `decisions`) check it between their stages — before and after the
//! full-text search, the query's embedding and the vector search, between hits as they are
//! read and highlighted, between passages as they are packed — and fail with
//! [`UserError::DeadlineExceeded`] once it has passed. Work inside one stage is not
//! interrupted, so an operation stops within one stage of its deadline.
//!
//! ```
//! use std::time::{Duration, Instant};
//! let past = Instant::now() - Duration::from_millis(1);
//! let result = lore::deadline::within(Some(past), || lore::deadline::check("warm-up"));
//! assert!(result.is_err());
//! assert!(lore::deadline::check("outside").is_ok()); // no deadline outside `within`
//! ```
//!
//! [`Index::search`]: crate::Index::search

use std::cell::Cell;
use std::time::Instant;

use crate::error::{Result, UserError};

thread_local! {
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Run `f` with `deadline` (none: no limit) for the library calls it makes on this thread;
/// the previous deadline is restored afterwards, even if `f` panics.
pub fn within<T>(deadline: Option<Instant>, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<Instant>);
    impl Drop for Restore {
        fn drop(&mut self) {
            DEADLINE.with(|d| d.set(self.0));
        }
    }
    let _restore = Restore(DEADLINE.with(|d| d.replace(deadline)));
    f()
}

/// Fail with [`UserError::DeadlineExceeded`] when this thread's deadline has passed; `stage`
/// names what would have come next.
pub fn check(stage: &'static str) -> Result<()> {
    match DEADLINE.with(Cell::get) {
        Some(deadline) if Instant::now() >= deadline => {
            Err(UserError::DeadlineExceeded { stage }.into())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_deadline_holds_inside_within_only_and_nests() {
        let past = Instant::now() - Duration::from_millis(1);
        let future = Instant::now() + Duration::from_secs(3600);
        assert!(check("a").is_ok());
        within(Some(future), || {
            assert!(check("b").is_ok());
            within(Some(past), || {
                let err = check("ranking").unwrap_err();
                assert!(err.to_string().contains("ranking"), "{err}");
            });
            assert!(check("c").is_ok(), "the outer deadline is back");
        });
        let _ = std::panic::catch_unwind(|| within(Some(past), || panic!("boom")));
        assert!(check("d").is_ok(), "restored after a panic");
    }
}
