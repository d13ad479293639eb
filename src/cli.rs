//! The command line: `vigil run`, `vigil check`, `vigil simulate`.
//!
//! Exit codes: 0 success, 1 failure at run time, 2 invalid usage or configuration.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::app::{Application, StartupProgress};
use crate::config::Settings;

const EXIT_INVALID: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "vigil",
    version,
    about = "Observability and incident-response control plane for a blockchain protocol"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run everything: the embedded core, collectors, detector, responder and the web server.
    Run(RunArgs),
    /// Validate a config file and report every problem with its field path.
    Check(CheckArgs),
    /// Start or stop a fault scenario in a running Vigil's embedded core.
    Simulate(SimulateArgs),
    /// Score `timestamp,value` CSV streams with the live detector, writing `timestamp,value,anomaly_score`.
    Replay(ReplayArgs),
    /// Grade anomaly scores with the Numenta Anomaly Benchmark rules (replaying a NAB data tree first).
    Nab(NabArgs),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["input", "input_dir"])))]
pub struct ReplayArgs {
    /// One CSV file to score.
    #[arg(long, requires = "output", conflicts_with = "input_dir")]
    pub input: Option<PathBuf>,
    /// Where to write the scored CSV.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// A directory tree of CSV files; the output mirrors it.
    #[arg(long, requires = "output_dir")]
    pub input_dir: Option<PathBuf>,
    #[arg(long)]
    pub output_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct NabArgs {
    /// The NAB data directory (categories of CSV files); omit with --score-only.
    #[arg(long, required_unless_present = "score_only")]
    pub data: Option<PathBuf>,
    /// NAB's combined windows (labels) JSON.
    #[arg(long)]
    pub labels: PathBuf,
    /// Where scored CSVs are written (or read, with --score-only).
    #[arg(long, default_value = "./vigil-data/nab-results")]
    pub results: PathBuf,
    /// Grade existing results without replaying.
    #[arg(long)]
    pub score_only: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// TOML config file; without it every field has its default.
    #[arg(long, env = "VIGIL_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address of the HTTP server (overrides server.listen).
    #[arg(long, env = "VIGIL_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Data directory (overrides storage.data_dir).
    #[arg(long, env = "VIGIL_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// sqlite:PATH or postgres://… (overrides storage.database_url).
    #[arg(long, env = "VIGIL_DATABASE_URL")]
    pub database_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// TOML config file to check.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// validator-outage, block-stall, depeg, exploit-drain, latency-spike, error-burst, admin-takeover,
    /// oracle-stale or reorg.
    pub scenario: String,
    /// Stop the scenario instead of starting it.
    #[arg(long)]
    pub stop: bool,
    /// The module to target (exploit-drain, error-burst, admin-takeover, reorg).
    #[arg(long)]
    pub module: Option<String>,
    /// The validator to take offline (validator-outage), e.g. v3.
    #[arg(long)]
    pub validator: Option<String>,
    /// Base URL of the running Vigil.
    #[arg(long, env = "VIGIL_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Environment variable holding an admin token, when the server has [[tokens]].
    #[arg(long, default_value = "VIGIL_TOKEN")]
    pub token_env: String,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let env: HashMap<String, String> = std::env::vars().collect();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match cli.command {
        Command::Run(args) => runtime.block_on(run(args, env)),
        Command::Check(args) => check(args, &env),
        Command::Simulate(args) => runtime.block_on(simulate(args, &env)),
        Command::Replay(args) => replay(args),
        Command::Nab(args) => nab(args),
    }
}

fn load_settings(
    path: Option<&PathBuf>,
    env: &HashMap<String, String>,
) -> Result<Settings, ExitCode> {
    match path {
        None => Ok(Settings::default()),
        Some(path) => Settings::load(path, env).map_err(|error| {
            eprintln!("{error}");
            ExitCode::from(EXIT_INVALID)
        }),
    }
}

fn check(args: CheckArgs, env: &HashMap<String, String>) -> ExitCode {
    // The defaults are checked too: they read ./runbooks and ./alerts/policy.toml when present.
    let loaded = load_settings(args.config.as_ref(), env).and_then(|settings| {
        let issues = settings.validate(env);
        if issues.is_empty() {
            Ok(settings)
        } else {
            for issue in issues {
                eprintln!("{issue}");
            }
            Err(ExitCode::from(EXIT_INVALID))
        }
    });
    match loaded {
        Ok(_) => {
            let name = args.config.map_or_else(
                || "the built-in defaults".to_owned(),
                |path| path.display().to_string(),
            );
            println!("{name}: ok");
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

struct Spinner(ProgressBar);

impl StartupProgress for Spinner {
    fn step(&self, message: &str) {
        self.0.set_message(message.to_owned());
    }
}

async fn run(args: RunArgs, env: HashMap<String, String>) -> ExitCode {
    crate::telemetry::init("info");
    let mut settings = match load_settings(args.config.as_ref(), &env) {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    if let Some(listen) = args.listen {
        settings.server.listen = listen;
    }
    if let Some(data_dir) = args.data_dir {
        settings.storage.data_dir = data_dir;
    }
    if let Some(url) = args.database_url {
        settings.storage.database_url = Some(url);
    }
    let issues = settings.validate(&env);
    if !issues.is_empty() {
        for issue in issues {
            eprintln!("invalid configuration: {issue}");
        }
        return ExitCode::from(EXIT_INVALID);
    }

    // Hidden automatically when stderr is not a terminal.
    let spinner = ProgressBar::new_spinner()
        .with_style(ProgressStyle::with_template("{spinner} {msg}").expect("valid template"));
    spinner.enable_steady_tick(Duration::from_millis(100));
    let app = match Application::build(settings, &env, &Spinner(spinner.clone())).await {
        Ok(app) => app,
        Err(error) => {
            spinner.finish_and_clear();
            eprintln!("error: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    spinner.finish_and_clear();
    let address = app.local_addr();
    tracing::info!(%address, "listening");
    eprintln!("Vigil is up: http://{address}/api/v1/core  (metrics at /metrics, Ctrl-C to stop)");
    match app.run_until_stopped(crate::app::os_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn simulate(args: SimulateArgs, env: &HashMap<String, String>) -> ExitCode {
    crate::telemetry::ensure_crypto_provider();
    let mut body = serde_json::json!({"name": args.scenario, "action": if args.stop { "stop" } else { "start" }});
    if let Some(module) = &args.module {
        body["module"] = module.clone().into();
    }
    if let Some(validator) = &args.validator {
        body["validator"] = validator.clone().into();
    }
    let url = format!("{}/api/v1/core/scenarios", args.url.trim_end_matches('/'));
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(client) => client,
        Err(error) => {
            eprintln!("error: cannot build an HTTP client: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut request = client.post(&url).json(&body);
    if let Some(token) = env.get(&args.token_env) {
        request = request.bearer_auth(token);
    }
    let response = match request.send().await {
        Ok(response) => response,
        Err(error) => {
            eprintln!("error: cannot reach Vigil at {url}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if status.is_success() {
        println!("{text}");
        ExitCode::SUCCESS
    } else {
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|body| body["error"]["message"].as_str().map(str::to_owned))
            .unwrap_or(text);
        eprintln!("error: {status}: {message}");
        ExitCode::FAILURE
    }
}

fn progress_bar(total: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(total as u64).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}").expect("valid template"),
    );
    bar.set_message(what.to_owned());
    bar
}

fn replay(args: ReplayArgs) -> ExitCode {
    let config = detector::ReplayConfig::default();
    let outcome = match (&args.input, &args.output, &args.input_dir, &args.output_dir) {
        (Some(input), Some(output), None, None) => detector::replay_file(input, output, &config),
        (None, None, Some(input_dir), Some(output_dir)) => {
            let mut bar: Option<ProgressBar> = None;
            let outcome =
                detector::replay_dir(input_dir, output_dir, &config, &mut |done, total, path| {
                    let bar = bar.get_or_insert_with(|| progress_bar(total, "files"));
                    bar.set_position(done as u64);
                    bar.set_message(path.display().to_string());
                });
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            outcome
        }
        _ => {
            eprintln!(
                "error: give --input FILE --output FILE, or --input-dir DIR --output-dir DIR"
            );
            return ExitCode::from(EXIT_INVALID);
        }
    };
    match outcome {
        Ok(stats) => {
            println!(
                "scored {} rows in {} file(s); highest score {:.3}",
                stats.rows, stats.files, stats.max_score
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn nab(args: NabArgs) -> ExitCode {
    let outcome = if args.score_only {
        detector::nab::score_results(&args.results, &args.labels).map(|report| (report, Vec::new()))
    } else {
        let data = args
            .data
            .as_ref()
            .expect("clap requires --data without --score-only");
        let mut bar: Option<ProgressBar> = None;
        let outcome = detector::nab::run_benchmark(
            data,
            &args.labels,
            &args.results,
            &detector::ReplayConfig::default(),
            &mut |done, total, path| {
                let bar = bar.get_or_insert_with(|| progress_bar(total, "files"));
                bar.set_position(done as u64);
                bar.set_message(path.display().to_string());
            },
        );
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        outcome
    };
    match outcome {
        Ok((report, held_out)) => {
            println!("{report}");
            if !held_out.is_empty() {
                println!(
                    "leave-one-category-out (threshold chosen on the other categories): standard / low_FP / low_FN"
                );
                for score in held_out {
                    println!(
                        "  {:<24} {:>7.2} {:>7.2} {:>7.2}",
                        score.category, score.scores[0], score.scores[1], score.scores[2]
                    );
                }
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
