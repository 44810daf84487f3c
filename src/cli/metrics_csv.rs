//! `metrics.csv`: one row per evaluation of a run, as `trainviz train --out` writes it.

use anyhow::Result;

use crate::train::steps::PointScores;

/// The header of `metrics.csv`: one row per evaluation, at an epoch's end (`epoch` whole)
/// or, with `--eval-every`, within an epoch (`epoch` with its fraction); `step` is the
/// update steps done then.
pub(super) const METRICS_HEADER: [&str; 14] = [
    "epoch",
    "eta",
    "lambda",
    "batch",
    "loss_function",
    "decay",
    "train_loss",
    "train_cost",
    "train_acc",
    "val_loss",
    "val_cost",
    "val_acc",
    "seconds",
    "step",
];

/// One epoch's row of `metrics.csv`, with the live settings in force.
pub(super) fn metrics_row(m: &crate::train::EpochMetrics) -> Vec<String> {
    let live = m.live;
    let mut row = vec![
        m.epoch.to_string(),
        m.eta.to_string(),
        m.lambda.to_string(),
        live.map_or_else(String::new, |l| l.batch.to_string()),
        live.map_or_else(String::new, |l| crate::train::record::key_of(&l.loss)),
        live.map_or_else(String::new, |l| l.decay.to_string()),
    ];
    row.extend(score_cells((&m.train).into(), (&m.val).into()));
    row.extend([m.seconds.to_string(), m.step.to_string()]);
    row
}

/// The `train_loss` to `val_acc` cells of a row.
fn score_cells(train: PointScores, val: PointScores) -> [String; 6] {
    [
        train.loss,
        train.cost,
        train.accuracy,
        val.loss,
        val.cost,
        val.accuracy,
    ]
    .map(|v| v.to_string())
}

/// The row of an evaluation within an epoch (no seconds: the epoch's own row has them).
pub(super) fn point_row(p: &crate::train::steps::EvalPoint) -> Vec<String> {
    let live = p.live;
    let mut row = vec![
        p.epoch.to_string(),
        p.eta.to_string(),
        live.lambda.to_string(),
        live.batch.to_string(),
        crate::train::record::key_of(&live.loss),
        live.decay.to_string(),
    ];
    row.extend(score_cells(p.train, p.val));
    row.extend([String::new(), p.step.to_string()]);
    row
}

/// `metrics.csv` of these epochs and of the evaluations within them, in step order.
pub(super) fn metrics_csv(
    history: &[crate::train::EpochMetrics],
    points: &[crate::train::steps::EvalPoint],
) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(METRICS_HEADER)?;
    let mut points = points.iter().peekable();
    for m in history {
        while let Some(p) = points.next_if(|p| p.step < m.step) {
            w.write_record(point_row(p))?;
        }
        w.write_record(metrics_row(m))?;
    }
    for p in points {
        w.write_record(point_row(p))?;
    }
    w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
}
