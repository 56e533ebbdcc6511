//! Logging for the command: the library's `tracing` events on standard
//! error (level from `RUST_LOG`, warnings by default), and the files the
//! backends skip while listing (symbolic links out of the root, names that
//! are not valid paths) collected so that `check` and `copy` can report them
//! as results rather than as log lines that scroll by.

use std::sync::Mutex;

use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// The target of the backends' events about a file they do not show.
const SKIPPED: &str = "dman::skipped";

/// A file a backend's listing left out, and why.
#[derive(Debug, Clone)]
pub struct Skip {
    /// The file, as the backend names it.
    pub path: String,
    /// Why it was left out.
    pub reason: String,
}

static SKIPS: Mutex<Vec<Skip>> = Mutex::new(Vec::new());

/// The skipped files seen since the last call.
pub fn take_skips() -> Vec<Skip> {
    std::mem::take(
        &mut *SKIPS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    )
}

/// Installs the subscriber. `RUST_LOG` sets the level (`warn` by default;
/// `-v` makes it `info`, `-vv` `debug`); skipped files are collected, not
/// printed.
pub fn init(verbose: u8, quiet: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(default))
        .add_directive(
            format!("{SKIPPED}=off")
                .parse()
                .unwrap_or_else(|_| tracing::Level::ERROR.into()),
        );
    let print = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        )
        .with_target(false)
        .without_time()
        .with_filter(filter);
    // Best effort: a second installation (there is none) would keep the first.
    let _ = tracing_subscriber::registry()
        .with(print)
        .with(Collect)
        .try_init();
}

/// Collects the events of [`SKIPPED`].
struct Collect;

impl<S: tracing::Subscriber> Layer<S> for Collect {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != SKIPPED {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        SKIPS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(Skip {
                path: fields.path,
                reason: fields.message,
            });
    }
}

#[derive(Default)]
struct Fields {
    path: String,
    message: String,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "path" => self.path = format!("{value:?}"),
            "message" => self.message = format!("{value:?}"),
            _ => {}
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "path" => self.path = value.to_string(),
            "message" => self.message = value.to_string(),
            _ => {}
        }
    }
}
