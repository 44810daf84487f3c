//! The `trainviz` binary: the window by default, headless subcommands otherwise.

use clap::Parser;
use trainviz::cli::{BenchArgs, Cli, CliCommand};

fn main() -> std::process::ExitCode {
    // Errors and warnings of the libraries (e.g. the file dialog's) reach the terminal;
    // RUST_LOG=debug shows more.
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let cli = Cli::parse();
    let result = match cli.command {
        Some(CliCommand::Bench(b)) if b.ui_epochs.is_some() || b.ui_while_training.is_some() => {
            window_bench(&b)
        }
        Some(cmd) => trainviz::cli::run(cmd, &cli.app),
        None => open_window(cli.app, cli.runs),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            if e.downcast_ref::<trainviz::cli::Diverged>().is_some() {
                std::process::ExitCode::from(trainviz::cli::EXIT_DIVERGED)
            } else {
                std::process::ExitCode::FAILURE
            }
        }
    }
}

/// The window, with the remembered settings and only what the flags name changed (a first
/// launch starts from the flags alone).
#[cfg(feature = "window")]
fn open_window(
    flags: trainviz::cli::TrainArgs,
    runs: Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    let runs = runs.unwrap_or_else(trainviz::runs::default_runs_dir);
    trainviz::ui::run_app(runs, move |remembered| match remembered {
        Some(c) => flags.apply_to(&c),
        None => flags.resolve(),
    })
}

/// A build without the `window` feature has no window to open: say how to get one.
#[cfg(not(feature = "window"))]
fn open_window(
    _flags: trainviz::cli::TrainArgs,
    _runs: Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    anyhow::bail!(
        "this trainviz was built without its window (cargo's --no-default-features); \
         use a subcommand (trainviz --help), or build with the default features for the window"
    )
}

/// Without the window there is no frame to time.
#[cfg(not(feature = "window"))]
fn window_bench(_b: &BenchArgs) -> anyhow::Result<()> {
    anyhow::bail!(
        "--ui-epochs and --ui-while-training time the window: build with its default features"
    )
}

/// `trainviz bench --ui-epochs N` / `--ui-while-training S`: the window's frame benchmarks.
#[cfg(feature = "window")]
fn window_bench(b: &BenchArgs) -> anyhow::Result<()> {
    if let Some(epochs) = b.ui_epochs {
        return trainviz::ui::bench::frame_benchmark(epochs, 100);
    }
    let seconds = b.ui_while_training.unwrap_or(10.0);
    let config = trainviz::train::TrainConfig {
        epochs: 1000,
        ..trainviz::cli::bench_linear_config(b)?
    };
    trainviz::ui::bench::frames_while_training(config, seconds)
}
