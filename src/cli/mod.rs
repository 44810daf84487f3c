//! The command line: `trainviz train`, `gradcheck`, `bench`, and the app's own flags. One
//! file per command (`train`, `embed`, `bench`, `sweep`…), the clap types in `args`, the
//! settings flags and their layering in `flags`; this file dispatches.

pub mod stack;

use anyhow::Result;

mod lr_range;
mod table;

pub use lr_range::LrRangeArgs;
pub use table::TableArgs;

mod args;
mod bench;
mod download;
mod embed;
mod eval;
mod figure_size;
mod flags;
mod gradcheck;
mod metrics_csv;
mod numpy;
mod sweep;
mod train;

pub use args::{BenchArgs, Cli, CliCommand};
use bench::bench;
pub use bench::{BenchReport, ThreadTiming, bench_linear_config};
use download::download_cmd;
pub use embed::EmbedArgs;
use embed::embed_cmd;
use eval::eval_cmd;
pub use figure_size::FigureSizeArgs;
pub use flags::TrainArgs;
use gradcheck::gradcheck_cmd;
use sweep::sweep_cmd;
pub use train::{Diverged, EXIT_DIVERGED, train};

/// Runs a subcommand; `global` holds the settings flags given before or after it.
pub fn run(command: CliCommand, global: &TrainArgs) -> Result<()> {
    match command {
        CliCommand::Sweep { runs, point, list } => sweep_cmd(global, runs, point, list),
        CliCommand::Eval { run } => eval_cmd(&run),
        CliCommand::Report { run, out, figure } => {
            let size = figure.size()?;
            let out = out.unwrap_or_else(|| run.join("report"));
            let files = crate::runs::report::export_saved_report(
                &run,
                &out,
                size,
                crate::report::DEFAULT_SMOOTHING,
            )?;
            println!(
                "wrote {} report files; open {}",
                files.len(),
                out.join("report.md").display()
            );
            Ok(())
        }
        CliCommand::Download { dir, url, md5, .. } => download_cmd(dir, url, md5),
        CliCommand::Presets => {
            for p in crate::runs::presets::PRESETS {
                println!("{:<22} {}", p.name, p.label);
            }
            Ok(())
        }
        CliCommand::Train {
            args,
            out,
            figures,
            figure,
            runs,
            no_save,
        } => {
            let config = args.resolve()?;
            let figures = if figures { Some(figure.size()?) } else { None };
            let runs = (!no_save).then(|| runs.unwrap_or_else(crate::runs::default_runs_dir));
            train(config, out.as_deref(), true, figures, runs).map(|_| ())
        }
        CliCommand::Gradcheck {
            args,
            tol,
            samples,
            dims,
        } => gradcheck_cmd(&args.resolve()?, tol, samples, dims),
        CliCommand::Bench(b) => bench(&b, global.threads),
        CliCommand::Layers { args } => stack::layers_cmd(&args.resolve()?),
        CliCommand::Embed(e) => embed_cmd(&e, global),
        CliCommand::LrRange(a) => lr_range::lr_range_cmd(&a),
        CliCommand::Table(a) => table::table_cmd(&a),
        CliCommand::ExportNpz { run, out } => {
            let out = out.unwrap_or_else(|| run.join("weights.npz"));
            let saved = crate::runs::SavedRun::load(&run)?;
            let data_dir = global.data.clone();
            crate::runs::npz::export_run(&saved, data_dir, &out)?;
            println!("wrote {}", out.display());
            Ok(())
        }
    }
}
