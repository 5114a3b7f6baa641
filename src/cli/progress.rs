//! Progress of long commands (`lore index`, `rm`, `demo`, `eval`), on stderr.
//!
//! [`reporter`] picks one of three by where stderr goes:
//! * a terminal: indicatif bars, one per stage ([`Bars`]);
//! * not a terminal (a log file, a pipeline): plain lines ([`Lines`]): while a stage advances,
//!   at most one every [`INTERVAL`], e.g. `lore: embedding 1200/5461 (18.3/s, eta 3m52s)`, and
//!   one when a stage that lasted at least [`INTERVAL`] ends; quick stages print nothing;
//! * `--quiet`: nothing at all.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use lore::{NoProgress, Progress};

/// The least time between two progress lines, and the least length of a stage whose end is
/// reported.
pub const INTERVAL: Duration = Duration::from_secs(10);

/// The progress reporter for a command: nothing when `quiet`, bars when stderr is a terminal,
/// plain lines otherwise.
pub fn reporter(quiet: bool) -> Arc<dyn Progress> {
    if quiet {
        Arc::new(NoProgress)
    } else if std::io::stderr().is_terminal() {
        Arc::new(Bars::new())
    } else {
        Arc::new(Lines::new())
    }
}

/// indicatif bars, one per build stage.
pub struct Bars {
    bar: Mutex<Option<ProgressBar>>,
}

impl Bars {
    pub fn new() -> Self {
        Bars {
            bar: Mutex::new(None),
        }
    }
}

impl Progress for Bars {
    fn start(&self, stage: &str, total: u64) {
        let bar = if total == 0 {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} {pos} [{elapsed}]")
                    .expect("valid template"),
            );
            bar
        } else {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg:>22} [{bar:30}] {pos}/{len} ({per_sec}, eta {eta})",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar
        };
        bar.set_message(stage.to_string());
        if let Ok(mut slot) = self.bar.lock() {
            *slot = Some(bar);
        }
    }

    fn advance(&self, n: u64) {
        if let Ok(slot) = self.bar.lock() {
            if let Some(bar) = slot.as_ref() {
                bar.inc(n);
            }
        }
    }

    fn finish(&self) {
        if let Ok(mut slot) = self.bar.lock() {
            if let Some(bar) = slot.take() {
                bar.finish_and_clear();
            }
        }
    }
}

/// Plain progress lines for a stderr that is not a terminal.
///
/// `advance` (called from many threads) adds to a counter and reads the clock; only the call
/// that first finds the next report due (a compare-and-swap on its time) takes the lock and
/// prints.
pub struct Lines {
    /// When this reporter was made; times below are milliseconds since then.
    epoch: Instant,
    /// Steps done in the current stage.
    done: AtomicU64,
    /// When the next line is due.
    next_ms: AtomicU64,
    /// The current stage.
    stage: Mutex<Option<Stage>>,
}

struct Stage {
    name: String,
    total: u64,
    started: Instant,
}

impl Lines {
    pub fn new() -> Self {
        Lines {
            epoch: Instant::now(),
            done: AtomicU64::new(0),
            next_ms: AtomicU64::new(u64::MAX),
            stage: Mutex::new(None),
        }
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn print(line: &str) {
        // A closed stderr is no reason to fail the command.
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }
}

impl Progress for Lines {
    fn start(&self, stage: &str, total: u64) {
        if let Ok(mut slot) = self.stage.lock() {
            *slot = Some(Stage {
                name: stage.to_string(),
                total,
                started: Instant::now(),
            });
            self.done.store(0, Ordering::Relaxed);
            self.next_ms.store(
                self.now_ms() + INTERVAL.as_millis() as u64,
                Ordering::Relaxed,
            );
        }
    }

    fn advance(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
        let due = self.next_ms.load(Ordering::Relaxed);
        let now = self.now_ms();
        if now < due {
            return;
        }
        let next = now + INTERVAL.as_millis() as u64;
        if self
            .next_ms
            .compare_exchange(due, next, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return; // another thread prints this one
        }
        if let Ok(slot) = self.stage.lock() {
            if let Some(s) = slot.as_ref() {
                let done = self.done.load(Ordering::Relaxed);
                Self::print(&progress_line(&s.name, done, s.total, s.started.elapsed()));
            }
        }
    }

    fn finish(&self) {
        if let Ok(mut slot) = self.stage.lock() {
            self.next_ms.store(u64::MAX, Ordering::Relaxed);
            if let Some(s) = slot.take() {
                let elapsed = s.started.elapsed();
                if elapsed >= INTERVAL {
                    let done = self.done.load(Ordering::Relaxed);
                    Self::print(&finished_line(&s.name, done, elapsed));
                }
            }
        }
    }
}

/// A line for a running stage: `lore: embedding 1200/5461 (18.3/s, eta 3m52s)`, or for a stage
/// of unknown length (`total` 0) `lore: building vector graph 1200 (elapsed 40s)`.
fn progress_line(stage: &str, done: u64, total: u64, elapsed: Duration) -> String {
    if total == 0 {
        return format!("lore: {stage} {done} (elapsed {})", duration(elapsed));
    }
    let rate = rate(done, elapsed);
    let eta = if rate > 0.0 {
        let left = total.saturating_sub(done) as f64 / rate;
        duration(Duration::from_secs_f64(left.min(1e9)))
    } else {
        "?".to_string()
    };
    format!("lore: {stage} {done}/{total} ({rate:.1}/s, eta {eta})")
}

/// The line for a stage that ended: `lore: embedding done, 5461 in 5m02s (18.1/s)`, or
/// `lore: building vector graph done in 1m20s` when it counted nothing.
fn finished_line(stage: &str, done: u64, elapsed: Duration) -> String {
    if done == 0 {
        return format!("lore: {stage} done in {}", duration(elapsed));
    }
    format!(
        "lore: {stage} done, {done} in {} ({:.1}/s)",
        duration(elapsed),
        rate(done, elapsed)
    )
}

/// Steps per second.
fn rate(done: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        done as f64 / secs
    } else {
        0.0
    }
}

/// A duration for a person, in whole seconds: `40s`, `3m52s`, `2h05m`.
fn duration(d: Duration) -> String {
    let s = d.as_secs_f64().round() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration(Duration::ZERO), "0s");
        assert_eq!(duration(Duration::from_millis(40_400)), "40s");
        assert_eq!(duration(Duration::from_millis(59_600)), "1m00s");
        assert_eq!(duration(Duration::from_secs(232)), "3m52s");
        assert_eq!(duration(Duration::from_secs(3600 + 5 * 60 + 59)), "1h05m");
    }

    #[test]
    fn lines() {
        let secs = Duration::from_secs;
        // 1200 in 65.6 s is 18.3/s; 4261 left at that rate is 3m53s.
        assert_eq!(
            progress_line("embedding", 1200, 5461, Duration::from_millis(65_600)),
            "lore: embedding 1200/5461 (18.3/s, eta 3m53s)"
        );
        assert_eq!(
            progress_line("building vector graph", 1200, 0, secs(40)),
            "lore: building vector graph 1200 (elapsed 40s)"
        );
        assert_eq!(
            progress_line("loading", 0, 10, secs(10)),
            "lore: loading 0/10 (0.0/s, eta ?)"
        );
        assert_eq!(
            progress_line("loading", 12, 10, secs(12)),
            "lore: loading 12/10 (1.0/s, eta 0s)"
        );
        assert_eq!(
            finished_line("embedding", 5461, secs(302)),
            "lore: embedding done, 5461 in 5m02s (18.1/s)"
        );
        assert_eq!(
            finished_line("building vector graph", 0, secs(80)),
            "lore: building vector graph done in 1m20s"
        );
    }

    /// A stage makes a line due [`INTERVAL`] after its start; no stage, or its end, makes none
    /// due.
    #[test]
    fn a_stage_arms_the_next_line_and_its_end_disarms_it() {
        let lines = Lines::new();
        assert_eq!(lines.next_ms.load(Ordering::Relaxed), u64::MAX);
        lines.start("loading", 3);
        lines.advance(1);
        let due = lines.next_ms.load(Ordering::Relaxed);
        assert!(
            due >= INTERVAL.as_millis() as u64 && due != u64::MAX,
            "{due}"
        );
        lines.advance(2);
        lines.finish();
        assert_eq!(lines.next_ms.load(Ordering::Relaxed), u64::MAX);
        assert!(lines.stage.lock().unwrap().is_none());
        // advance outside a stage is harmless.
        lines.advance(5);
    }
}
