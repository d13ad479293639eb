//! Logging set-up: `tracing` to stderr, filtered by `RUST_LOG` (default `info`, with chatty
//! dependencies held to warnings).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; later calls do nothing (tests call it many times).
pub fn init(default_filter: &str) {
    // The cron scheduler logs its internal bookkeeping ("Job creator created") at info.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{default_filter},tokio_cron_scheduler=warn")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// Installs the ring crypto provider for rustls before any TLS client is built (reqwest is built without one).
pub fn ensure_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
