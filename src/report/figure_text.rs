//! The words every figure shares: how a title names its run, how a CSV field is quoted.
//! (Apart from `figures.rs`, so the files of single figures use them without a cycle.)

use crate::train::RunInfo;

/// How a figure's title names the run it shows: the data set and the settings as trained
/// ("CIFAR-10, linear · softmax cross-entropy · λ 0.1 · η 0.001"), as the per-epoch curves'
/// titles do, so figures of different runs can be told apart.
pub fn run_label(info: &RunInfo) -> String {
    format!("{}, {}", info.dataset, info.settings.title())
}

/// `base`, followed by the run's name when the figure is of a known run.
pub(crate) fn titled(base: &str, run: Option<&RunInfo>) -> String {
    match run {
        Some(info) => format!("{base} — {}", run_label(info)),
        None => base.to_string(),
    }
}

/// Quotes a CSV field when it needs it.
pub(crate) fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
