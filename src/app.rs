//! The running application: builds every part from [`Settings`], serves until told to stop, then shuts down
//! in order (stop accepting requests, stop background work, close the store).

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::api::{self, AppState, HttpLimits};
use crate::auth::TokenTable;
use crate::config::Settings;
use crate::metrics::{InfoLabels, MetricsHub, VigilMetrics};

/// Reports start-up steps to whoever is watching (a progress spinner in the CLI, nothing in tests).
pub trait StartupProgress {
    fn step(&self, message: &str);
}

impl StartupProgress for () {
    fn step(&self, _message: &str) {}
}

pub struct Application {
    listener: TcpListener,
    core_listener: Option<TcpListener>,
    router: axum::Router,
    state: AppState,
    tasks: TaskTracker,
    shutdown: CancellationToken,
    grace: std::time::Duration,
}

impl Application {
    /// Opens the store, starts the core and binds the listeners. Nothing is served until [`run_until_stopped`].
    ///
    /// [`run_until_stopped`]: Application::run_until_stopped
    pub async fn build(
        settings: Settings,
        env: &HashMap<String, String>,
        progress: &dyn StartupProgress,
    ) -> anyhow::Result<Self> {
        let issues = settings.validate(env);
        if !issues.is_empty() {
            let text: Vec<String> = issues.iter().map(ToString::to_string).collect();
            anyhow::bail!("invalid configuration:\n{}", text.join("\n"));
        }
        crate::telemetry::ensure_crypto_provider();
        let tokens = TokenTable::new(settings.token_digests(env));
        if tokens.is_open() {
            tracing::warn!(
                listen = %settings.server.listen,
                "no [[tokens]] configured: serving loopback only and treating every request as admin"
            );
        }

        let database_url = settings.storage.effective_database_url();
        if database_url.starts_with("sqlite:") {
            std::fs::create_dir_all(&settings.storage.data_dir).with_context(|| {
                format!(
                    "cannot create the data directory {}",
                    settings.storage.data_dir.display()
                )
            })?;
        }
        progress.step("opening and migrating the database");
        let store = responder::connect(&database_url)
            .await
            .with_context(|| format!("cannot open the store at {database_url}"))?;
        tracing::info!(backend = store.backend(), "store ready");

        let shutdown = CancellationToken::new();
        let tasks = TaskTracker::new();
        let core = if settings.core.enabled {
            progress.step("starting the embedded protocol core");
            let handle = protocol::CoreHandle::new(settings.core.core_config())
                .context("cannot start the embedded core")?;
            protocol::spawn_driver(handle.clone(), shutdown.clone(), &tasks);
            tracing::info!(
                seed = settings.core.seed,
                slot_ms = settings.core.slot_ms,
                validators = settings.core.validators,
                "embedded core running"
            );
            Some(handle)
        } else {
            None
        };

        let mut registry = Registry::default();
        let vigil = VigilMetrics::register(&mut registry);
        vigil
            .info
            .get_or_create(&InfoLabels {
                version: env!("CARGO_PKG_VERSION").into(),
                store: store.backend().into(),
            })
            .set(1);

        progress.step("binding the listeners");
        let listener = TcpListener::bind(settings.server.listen)
            .await
            .with_context(|| format!("cannot listen on {}", settings.server.listen))?;
        let local = listener
            .local_addr()
            .context("the listener has no address")?;
        let core_listener = match (settings.core.listen, &core) {
            (Some(address), Some(_)) => Some(
                TcpListener::bind(address)
                    .await
                    .with_context(|| format!("cannot listen on {address} for the core"))?,
            ),
            _ => None,
        };

        progress.step("starting the responder");
        let mut responder_config = settings.responder_config();
        if responder_config.base_url == responder::ResponderConfig::default().base_url {
            // Ack links must point at where this Vigil really listens.
            responder_config.base_url = format!("http://{local}");
        }
        let runbooks =
            Arc::new(settings.runbooks.load().map_err(|problems| {
                anyhow::anyhow!("invalid runbooks:\n{}", problems.join("\n"))
            })?);
        if settings.runbooks.uses_built_in() {
            tracing::info!(
                count = runbooks.len(),
                "runbooks loaded (built in: there is no ./runbooks here)"
            );
        } else {
            tracing::info!(count = runbooks.len(), dir = %settings.runbooks.dir.display(), "runbooks loaded");
        }
        let env_for_secrets = env.clone();
        let mut builder = responder::Responder::builder(store.clone(), responder_config.clone())
            .env(move |name| env_for_secrets.get(name).cloned())
            .runbooks(responder::runbooks::resolver(Arc::clone(&runbooks)));
        if responder_config.ack_secret_env.is_none() {
            // Links already sent must keep working after a restart and on every replica, so the key
            // lives in the database (an older data dir's key file is adopted the first time).
            builder = builder.ack_secret(
                shared_link_key(&*store, &settings.storage.data_dir.join("ack-secret")).await?,
            );
        }
        let responder = builder.build().context("cannot start the responder")?;
        responder.spawn_workers(&tasks, shutdown.clone());

        // Membership and leadership; the first heartbeat runs now so the member list is never empty.
        let cluster = responder::cluster::Cluster::new(
            store.clone(),
            Arc::new(responder::SystemClock),
            settings.cluster.clone(),
            &local.to_string(),
        );
        if let Err(error) = cluster.tick().await {
            tracing::warn!(error = %error, "first cluster heartbeat failed; retrying in the background");
        }
        cluster.spawn(&tasks, shutdown.clone());
        tracing::info!(
            member = cluster.id(),
            leader = cluster.is_leader(),
            "cluster member started"
        );

        // The pause backend comes first: chain watching must know which account Vigil pauses from.
        let pause_config = settings.resolved_pause();
        let env_for_backend = env.clone();
        let backend: Arc<dyn responder::pause::PauseBackend> =
            match responder::pause::build_backend(&pause_config, &move |name| {
                env_for_backend.get(name).cloned()
            })
            .context("cannot build the pause backend")?
            {
                Some(backend) => backend,
                None => match &core {
                    Some(handle) => Arc::new(crate::actions::CorePauseBackend(handle.clone())),
                    None => anyhow::bail!(
                        "pause.backend = \"core\" needs the embedded core ([core] enabled = true)"
                    ),
                },
            };
        let (opened_tx, opened_rx) = tokio::sync::mpsc::unbounded_channel();
        progress.step("starting the collectors and the detector");
        let mut targets = settings.targets.clone();
        let mut chains = settings.chains.clone();
        let mut contracts = settings.contracts.clone();
        if let Some(handle) = &core {
            let core_addr = core_listener
                .as_ref()
                .and_then(|listener| listener.local_addr().ok())
                .unwrap_or(local);
            targets.extend(collector::config::core_targets(
                &format!("http://{core_addr}"),
                settings.core.scrape_interval.get(),
                settings.core.slot_ms as f64 / 1000.0,
            ));
            // The core is watched through the same contract watching a real chain gets.
            let (chain, core_contracts) = crate::chain::core_watch(
                &handle.lock(),
                &format!("http://{core_addr}/core/rpc"),
                settings.core.price_tick.get(),
            );
            chains.push(chain);
            contracts.extend(core_contracts);
        }
        let chains = collector::chain::config::compile(&chains, &contracts, &settings.config_dir)
            .map_err(|issues| {
            anyhow::anyhow!(
                "invalid chain watching:\n{}",
                issues
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        })?;
        cluster.set_targets(u32::try_from(targets.len()).unwrap_or(u32::MAX));
        let live = crate::pipeline::start(
            crate::pipeline::LiveLoopParts {
                targets,
                collector: &settings.collector,
                detector: &settings.detector,
                alerts: collector::alerts::AlertStoreConfig::default(),
                responder: responder.clone(),
                registry: &mut registry,
                opened: opened_tx.clone(),
                chains,
                store: store.clone(),
                pausers: backend.pauser().into_iter().collect(),
            },
            shutdown.clone(),
            &tasks,
        )?;
        let metrics = MetricsHub {
            registry: Arc::new(registry),
            vigil,
        };

        progress.step("starting the pause service, runbooks and health checks");
        // The modules whose pause path every health-check round verifies.
        let pause_modules: Vec<String> = match (&pause_config.evm, &core) {
            (Some(evm), _) if pause_config.backend == responder::pause::PauseBackendKind::Evm => {
                evm.contracts.keys().cloned().collect()
            }
            (_, Some(handle)) => handle
                .lock()
                .modules()
                .iter()
                .map(|module| module.name.to_owned())
                .collect(),
            _ => Vec::new(),
        };
        let pause = responder::pause::PauseService::new(responder.clone(), backend, pause_config)
            .context("cannot start the pause service")?;
        let healthchecks = responder::healthchecks::HealthcheckService::new(
            responder.clone(),
            Arc::new(crate::actions::LiveCheckData(live.clone())),
            settings.healthcheck_suites(),
        )
        .context("cannot set up the health checks")?
        .with_pause(pause.backend().clone(), pause_modules)
        .leader_only(cluster.clone());
        let scheduler = healthchecks
            .start_scheduler(shutdown.child_token())
            .await
            .context("cannot start the health-check scheduler")?;
        tasks.spawn(async move {
            let _ = scheduler.await;
        });
        let executor =
            responder::runbooks::RunbookExecutor::new(Arc::clone(&runbooks), responder.clone())
                .with_pause(pause.clone())
                .with_suites(Arc::new(healthchecks.clone()));
        crate::actions::spawn_runbook_runner(
            executor,
            responder.clone(),
            core.clone(),
            opened_rx,
            shutdown.clone(),
            &tasks,
        );
        let actions = crate::actions::Actions {
            pause,
            healthchecks,
        };

        let state = AppState {
            store,
            core,
            responder,
            live,
            actions,
            opened: opened_tx,
            cluster,
            shutdown: shutdown.clone(),
            tokens,
            metrics,
            scenario_lock: Arc::default(),
        };
        let limits = HttpLimits {
            max_body_bytes: settings.server.max_body_bytes,
            request_timeout: settings.server.request_timeout.get(),
        };
        let router = api::router(state.clone(), limits);
        Ok(Self {
            listener,
            core_listener,
            router,
            state,
            tasks,
            shutdown,
            grace: settings.server.shutdown_grace.get(),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn core_addr(&self) -> Option<SocketAddr> {
        self.core_listener
            .as_ref()
            .and_then(|listener| listener.local_addr().ok())
    }

    /// The responder, for tests and tools in the same process.
    pub fn responder(&self) -> responder::Responder {
        self.state.responder.clone()
    }

    /// The embedded core, for tests and tools in the same process.
    pub fn core(&self) -> Option<protocol::CoreHandle> {
        self.state.core.clone()
    }

    /// Serves until `stop` resolves, then drains: requests in flight finish, background work stops, the store
    /// closes (so every committed write is on disk).
    pub async fn run_until_stopped(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Self {
            listener,
            core_listener,
            router,
            state,
            tasks,
            shutdown,
            grace,
        } = self;
        let trigger = shutdown.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = stop => trigger.cancel(),
                () = trigger.cancelled() => {}
            }
        });
        if let (Some(listener), Some(core)) = (core_listener, state.core.clone()) {
            let cancel = shutdown.clone();
            tasks.spawn(async move {
                let served = axum::serve(listener, protocol::router(core))
                    .with_graceful_shutdown(cancel.cancelled_owned())
                    .await;
                if let Err(error) = served {
                    tracing::error!(%error, "core listener failed");
                }
            });
        }
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown.clone().cancelled_owned())
            .await;
        shutdown.cancel();
        tasks.close();
        if tokio::time::timeout(grace, tasks.wait()).await.is_err() {
            tracing::warn!(grace = ?grace, "background tasks did not stop in time");
        }
        state.store.close().await;
        tracing::info!("stopped");
        served.context("the HTTP server failed")
    }
}

/// Reads a 32-byte secret kept in `path`, creating it (owner-readable only) on first use.
/// The key that signs acknowledge and subscription links, shared through the store by every replica.
/// The first member to start proposes one (an existing `ack-secret` file from an older data dir, else a
/// fresh random key); everyone gets whichever was stored first.
async fn shared_link_key(
    store: &dyn responder::Store,
    legacy_file: &std::path::Path,
) -> anyhow::Result<Vec<u8>> {
    let candidate = match std::fs::read_to_string(legacy_file) {
        Ok(text) => {
            hex::decode(text.trim())
                .with_context(|| format!("{} is not a hex secret", legacy_file.display()))?;
            text.trim().to_owned()
        }
        Err(_) => {
            let mut secret = [0u8; 32];
            getrandom::fill(&mut secret)
                .map_err(|error| anyhow::anyhow!("no randomness for the link key: {error}"))?;
            hex::encode(secret)
        }
    };
    let stored = store
        .shared_secret("link-signing-key", &candidate, model::now_ms())
        .await
        .context("cannot read or store the link-signing key")?;
    hex::decode(&stored).context("the stored link-signing key is not hex")
}

/// Resolves on Ctrl-C or SIGTERM, logging which.
pub async fn os_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!(signal = "SIGINT", "shutting down"),
        () = terminate => tracing::info!(signal = "SIGTERM", "shutting down"),
    }
}
