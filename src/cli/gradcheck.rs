//! `trainviz gradcheck`: compares the analytic gradients with numerical ones.

use anyhow::{Result, bail};

use crate::data::{self, Normalizer};

use crate::train::TrainConfig;

pub(super) fn gradcheck_cmd(
    config: &TrainConfig,
    tol: f64,
    samples: usize,
    dims: usize,
) -> Result<()> {
    let splits = data::load(&config.data_request())?;
    let norm = Normalizer::fit(&splits.train, config.preprocess);
    let n = samples.clamp(1, splits.train.len());
    let d = dims.clamp(1, splits.shape().dim());
    println!(
        "gradient check on {n} {} images, first {d} dimensions: {}",
        splits.name,
        crate::train::RunSettings::new(config.clone()).title()
    );
    let report = crate::train::analysis::gradient_check(config, &splits, &norm, n, d);
    let mut worst = 0.0f64;
    for p in &report {
        println!(
            "{:>4} ({:>6} values): max rel error {:.3e}, mean {:.3e}",
            p.name, p.count, p.max_rel_error, p.mean_rel_error
        );
        worst = worst.max(p.max_rel_error);
    }
    if worst > tol || worst.is_nan() {
        bail!("gradient check failed: largest relative error {worst:.3e} exceeds {tol:.1e}");
    }
    println!("ok: largest relative error {worst:.3e} ≤ {tol:.1e}");
    Ok(())
}
