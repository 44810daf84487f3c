//! `trainviz gradcheck`: compares the analytic gradients with numerical ones.

use anyhow::{Result, bail};

use crate::data::{self, Normalizer};
use crate::format::{Notation, number, significant};

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
            "{:>4} ({:>6} values): max rel error {}, mean {}",
            p.name,
            p.count,
            significant(p.max_rel_error, 4, Notation::Auto),
            significant(p.mean_rel_error, 4, Notation::Auto)
        );
        worst = worst.max(p.max_rel_error);
    }
    if worst > tol || worst.is_nan() {
        bail!(
            "gradient check failed: largest relative error {} exceeds {}",
            significant(worst, 4, Notation::Auto),
            number(tol)
        );
    }
    println!(
        "ok: largest relative error {} ≤ {}",
        significant(worst, 4, Notation::Auto),
        number(tol)
    );
    Ok(())
}
