//! `trainviz lr-range`: the learning-rate range test on the command line (see
//! [`crate::train::lr_range`]).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result};
use clap::Args;

use super::TrainArgs;
use super::figure_size::FigureSizeArgs;
use crate::report::export_figure;
use crate::train::divergence::plain_number;
use crate::train::lr_range::{self, RangeSettings};

/// Options of `trainviz lr-range`.
#[derive(Debug, Args, Clone)]
pub struct LrRangeArgs {
    /// Settings of the model, loss, batch, λ and data (η and the schedule are replaced by
    /// the test's growing η).
    #[command(flatten)]
    pub args: TrainArgs,
    /// η of the first step.
    #[arg(long, default_value_t = RangeSettings::default().eta_start)]
    pub eta_start: f64,
    /// η of the last step.
    #[arg(long, default_value_t = RangeSettings::default().eta_end)]
    pub eta_end: f64,
    /// Mini-batch steps over which η grows from --eta-start to --eta-end.
    #[arg(long, default_value_t = RangeSettings::default().steps)]
    pub steps: usize,
    /// Folder for lr_range.png, lr_range.svg and lr_range.csv.
    #[arg(long)]
    pub out: PathBuf,
    /// The PNG's size.
    #[command(flatten)]
    pub figure: FigureSizeArgs,
}

/// Runs the test, writes its figure and prints the suggested bounds.
pub fn lr_range_cmd(a: &LrRangeArgs) -> Result<()> {
    let config = a.args.resolve()?;
    let settings = RangeSettings {
        eta_start: a.eta_start,
        eta_end: a.eta_end,
        steps: a.steps,
    };
    settings.validate()?;
    let size = a.figure.size()?;
    let data = Arc::new(
        crate::data::load(&config.data_request())
            .context("cannot load the data for the range test")?,
    );
    println!(
        "learning-rate range test: η from {} to {} over {} steps, {} training images",
        plain_number(settings.eta_start),
        plain_number(settings.eta_end),
        settings.steps,
        data.train.len()
    );
    let dataset = data.name.clone();
    let test = lr_range::run(
        &config,
        data,
        None,
        &settings,
        &AtomicBool::new(false),
        |_, _| {},
    )?;
    let subject = crate::report::range::subject(&dataset, &config);
    let figure = crate::report::range::lr_range_figure(&test, &subject);
    for ext in ["png", "svg", "csv"] {
        let path = a.out.join(format!("lr_range.{ext}"));
        export_figure(&figure, &path, size)?;
        println!("wrote {}", path.display());
    }
    for note in &test.notes {
        println!("note: {note}");
    }
    match test.bounds {
        Some(b) => {
            println!("eta_min = {}", plain_number(b.eta_min));
            println!("eta_max = {}", plain_number(b.eta_max));
            println!(
                "(the loss falls fastest at η = {}; train with: --schedule cyclic --eta-min {} --eta-max {})",
                plain_number(b.steepest),
                plain_number(b.eta_min),
                plain_number(b.eta_max)
            );
            Ok(())
        }
        None => anyhow::bail!(
            "no bounds to suggest from this range (see the notes above and {})",
            a.out.join("lr_range.png").display()
        ),
    }
}
