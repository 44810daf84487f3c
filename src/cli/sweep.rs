//! `trainviz sweep`: trains the points of a sweep file and ranks them.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use super::flags::TrainArgs;

pub(super) fn sweep_cmd(
    global: &TrainArgs,
    runs: Option<PathBuf>,
    point: Option<usize>,
    list: bool,
) -> Result<()> {
    let file = global
        .config
        .clone()
        .context("give the sweep file with --config sweep.toml")?;
    // The other flags (e.g. --data) set the base every point starts from.
    let base = TrainArgs {
        config: None,
        ..global.clone()
    }
    .resolve()?;
    let root = runs.unwrap_or_else(crate::runs::default_runs_dir);
    let sweep = crate::runs::sweep::prepare(&file, &base, &root).map_err(anyhow::Error::msg)?;
    if list {
        for (k, p) in sweep.points.iter().enumerate() {
            println!("{k:>4}  {}", p.id);
        }
        return Ok(());
    }
    if let Some(k) = point
        && k >= sweep.points.len()
    {
        bail!(
            "--point {k} is out of range: the sweep has {} points (0 to {})",
            sweep.points.len(),
            sweep.points.len().saturating_sub(1)
        );
    }
    println!(
        "sweep of {} points in {}, {} at a time",
        sweep.points.len(),
        sweep.dir.display(),
        sweep.parallel
    );
    let stop = std::sync::atomic::AtomicBool::new(false);
    let failures = std::sync::Mutex::new(Vec::new());
    let report = |e: crate::runs::sweep::SweepEvent| {
        use crate::runs::sweep::SweepEvent;
        match e {
            SweepEvent::Started { id } => println!("{id}: training"),
            SweepEvent::Epoch { .. } => {}
            SweepEvent::Done(r) => println!(
                "{}: {} best val {:.2} %, test {:.2} %",
                r.id,
                if r.reused { "saved before," } else { "done," },
                100.0 * r.best_val_acc,
                100.0 * r.summary.test_acc
            ),
            SweepEvent::Failed { id, message } => {
                eprintln!("{id}: failed: {message}");
                failures
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(id);
            }
        }
    };
    let results = crate::runs::sweep::run(&sweep, point, &stop, &report);
    println!("\n{}", crate::runs::sweep::table(&results));
    // A single point of a spread-out sweep leaves the table to the run that collects them.
    if point.is_none() {
        for path in crate::runs::sweep::write_results(&sweep, &results)? {
            println!("wrote {}", path.display());
        }
    }
    let failed = failures
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !failed.is_empty() {
        bail!("{} of {} points failed", failed.len(), sweep.points.len());
    }
    Ok(())
}
