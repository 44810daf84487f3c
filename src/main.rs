//! The `trainviz` binary: the window by default, headless subcommands otherwise.

use clap::Parser;
use trainviz::cli::Cli;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(cmd) => trainviz::cli::run(cmd, &cli.app),
        None => trainviz::ui::run_app(&cli.app),
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
