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
    let title = crate::train::RunSettings::new(config.clone()).title();
    let report = if config.uses_stack() {
        // A convolution reads whole images: --dims counts the entries of each parameter
        // array compared instead (four passes each).
        let d = dims.max(1);
        println!(
            "gradient check on {n} whole {} images, at most {d} entries of each array: {title}",
            splits.name
        );
        crate::train::analysis::stack_gradient_check(config, &splits, &norm, n, d)?
    } else {
        let d = dims.clamp(1, splits.shape().dim());
        println!(
            "gradient check on {n} {} images, first {d} dimensions: {title}",
            splits.name
        );
        crate::train::analysis::gradient_check(config, &splits, &norm, n, d)
    };
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
