//! Progress bars on standard error, for a person watching a long walk
//! (9 001 objects on S3 take seconds): none when standard error is not a
//! terminal or `-q` was given, so that pipes and logs stay clean.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use indicatif::{ProgressBar, ProgressStyle};

/// Set by `-q`: no bars at all.
static QUIET: AtomicBool = AtomicBool::new(false);

/// Turns the bars off (`-q`).
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// A bar of `len` steps saying `what`, when someone can see it. Short walks
/// (under a hundred steps) get none: they end before it would be read.
pub fn bar(len: u64, what: &str) -> Option<ProgressBar> {
    if len < 100 || QUIET.load(Ordering::Relaxed) || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} {msg} ({eta})") {
        bar.set_style(style);
    }
    bar.set_message(what.to_string());
    Some(bar)
}

/// A spinner saying `what`, for a step whose length is not known in
/// advance (the tree reads every array's header, 16 at a time), when
/// someone can see it.
pub fn spinner(what: &str) -> Option<ProgressBar> {
    if QUIET.load(Ordering::Relaxed) || !std::io::stderr().is_terminal() {
        return None;
    }
    let spinner = ProgressBar::new_spinner();
    spinner.set_message(what.to_string());
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(spinner)
}

/// One step done.
pub fn inc(bar: &Option<ProgressBar>) {
    if let Some(bar) = bar {
        bar.inc(1);
    }
}

/// Removes the bar, leaving the terminal as it was.
pub fn finish(bar: Option<ProgressBar>) {
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
}
