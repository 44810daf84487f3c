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
        None => {
            let flags = cli.app;
            // Remembered settings with only what the flags name changed; a first launch
            // starts from the flags alone.
            trainviz::ui::run_app(move |remembered| match remembered {
                Some(c) => flags.apply_to(&c),
                None => flags.resolve(),
            })
        }
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

/// `trainviz bench --ui-epochs N` / `--ui-while-training S`: the window's frame benchmarks.
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
