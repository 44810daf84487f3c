//! The NumPy reference harness: runs the reference script of `../shared/bench` and reads its
//! time, for `trainviz bench`.

use std::path::Path;

use anyhow::{Context, Result, bail};

use super::args::BenchArgs;

pub(super) fn time_reference(b: &BenchArgs, dir: &Path, extra: &[&str]) -> Result<f64> {
    let mut cmd = std::process::Command::new(&b.python);
    cmd.arg(&b.reference)
        .arg(dir)
        .args(["--full", "--dtype", "float32", "--epochs"])
        .arg(b.epochs.to_string())
        .args(extra);
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {} {}", b.python, b.reference.display()))?;
    if !out.status.success() {
        bail!(
            "the NumPy reference failed (is numpy installed? `pip install numpy`): {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let json: serde_json::Value = serde_json::from_str(text.lines().last().unwrap_or(""))
        .context("the NumPy reference printed no JSON line")?;
    json["epoch_s_median"]
        .as_f64()
        .context("the NumPy reference's JSON has no epoch_s_median")
}
