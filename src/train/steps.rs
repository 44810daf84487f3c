//! The per-step record of a run: every mini-batch's loss and the η it used, at its global
//! step and (fractional) epoch. Kept while training, saved as `steps.csv` in the run folder
//! (so a run reopened later draws the same mini-batch and η figures), and read back. Also the
//! evaluations made every few update steps (`eval_every`), for curves against the step.

use serde::{Deserialize, Serialize};

use super::config::LiveParams;
use super::metrics::{EpochMetrics, Evaluation, float};

/// The training and validation sets evaluated at one update step: within an epoch (every
/// `eval_every` steps) or at its end.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EvalPoint {
    /// Update steps done when evaluated.
    pub step: usize,
    /// Epochs done then, with the fraction of the current one.
    #[serde(with = "float")]
    pub epoch: f64,
    /// η of the last step.
    #[serde(with = "float")]
    pub eta: f64,
    /// The live hyperparameters in force.
    pub live: LiveParams,
    /// Training set: mean loss, cost, accuracy.
    pub train: PointScores,
    /// Validation set: mean loss, cost, accuracy.
    pub val: PointScores,
}

/// Loss, cost and accuracy of one set (an [`Evaluation`] without its matrices).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PointScores {
    /// Mean loss.
    #[serde(with = "float")]
    pub loss: f64,
    /// Mean loss + λ Σ‖W‖².
    #[serde(with = "float")]
    pub cost: f64,
    /// Fraction classified correctly.
    #[serde(with = "float")]
    pub accuracy: f64,
}

impl From<&Evaluation> for PointScores {
    fn from(e: &Evaluation) -> Self {
        PointScores {
            loss: e.loss,
            cost: e.cost,
            accuracy: e.accuracy,
        }
    }
}

impl EvalPoint {
    /// The point of an epoch's end (`live` when the record has none: older runs).
    pub fn of_epoch(m: &EpochMetrics, live: LiveParams) -> Self {
        EvalPoint {
            step: m.step,
            epoch: m.epoch as f64,
            eta: m.eta,
            live: m.live.unwrap_or(live),
            train: (&m.train).into(),
            val: (&m.val).into(),
        }
    }
}

/// Every evaluation of a run in step order: the epochs' ends (`history`) and the points
/// within epochs (`within`), for curves against the update step.
pub fn all_points(
    history: &[EpochMetrics],
    within: &[EvalPoint],
    live: LiveParams,
) -> Vec<EvalPoint> {
    let mut all: Vec<EvalPoint> = history
        .iter()
        .map(|m| EvalPoint::of_epoch(m, live))
        .chain(within.iter().copied())
        .collect();
    // Stable: an epoch's end sorts after a point made at the same step.
    all.sort_by(|a, b| a.step.cmp(&b.step).then(a.epoch.total_cmp(&b.epoch)));
    all
}

/// One training step as it happened.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// Global step, from 0.
    pub step: usize,
    /// Epochs done after this step, with the fraction of the current one (the x of the
    /// mini-batch plots): 2.5 is half-way through the third epoch.
    pub epoch: f64,
    /// Mean loss of the mini-batch (before the update).
    pub loss: f64,
    /// Learning rate the step used.
    pub eta: f64,
}

/// The header line of `steps.csv`.
pub const STEPS_HEADER: &str = "step,epoch,batch_loss,eta\n";

/// `steps` as lines of `steps.csv` (without the header). Numbers are written in their
/// shortest form that reads back exactly, so a reloaded run draws the same figures.
pub fn csv_lines(steps: &[StepRecord]) -> String {
    let mut s = String::with_capacity(steps.len() * 48);
    for r in steps {
        s.push_str(&format!("{},{},{},{}\n", r.step, r.epoch, r.loss, r.eta));
    }
    s
}

/// A `steps.csv` that cannot be read back: which line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StepsCsvError {
    /// The first line is not the header.
    #[error("line 1 is not the header {}", STEPS_HEADER.trim())]
    Header,
    /// A line (1-based) that is not four numbers.
    #[error("line {line} is not step,epoch,batch_loss,eta")]
    Line {
        /// The line, counted from 1.
        line: usize,
    },
}

/// Reads `steps.csv` (header and lines). A last line cut short by a crash is dropped; any
/// other bad line is an error naming its line number.
pub fn parse_csv(text: &str) -> Result<Vec<StepRecord>, StepsCsvError> {
    let mut out = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if i == 0 {
            if line.trim() != STEPS_HEADER.trim() {
                return Err(StepsCsvError::Header);
            }
            continue;
        }
        let parsed = parse_line(line);
        match parsed {
            Some(r) => out.push(r),
            // Torn by a crash while it was written: everything before it stands.
            None if i + 1 == lines.len() && !text.ends_with('\n') => break,
            None => return Err(StepsCsvError::Line { line: i + 1 }),
        }
    }
    Ok(out)
}

fn parse_line(line: &str) -> Option<StepRecord> {
    let mut parts = line.split(',');
    let record = StepRecord {
        step: parts.next()?.trim().parse().ok()?,
        epoch: parts.next()?.trim().parse().ok()?,
        loss: parts.next()?.trim().parse().ok()?,
        eta: parts.next()?.trim().parse().ok()?,
    };
    parts.next().is_none().then_some(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_read_back_exactly() {
        let steps = vec![
            StepRecord {
                step: 0,
                epoch: 1.0 / 3.0,
                loss: f64::from(2.312_345_f32),
                eta: 1.120_306_122_448_880_8e-4,
            },
            StepRecord {
                step: 1,
                epoch: 0.666_666_666_666_666_6,
                loss: f64::NAN,
                eta: 0.1,
            },
            StepRecord {
                step: 2,
                epoch: 1.0,
                loss: f64::INFINITY,
                eta: 1e-5,
            },
        ];
        let text = format!("{STEPS_HEADER}{}", csv_lines(&steps));
        let back = parse_csv(&text).expect("parses");
        assert_eq!(back.len(), 3);
        assert_eq!(back[0], steps[0]);
        assert!(back[1].loss.is_nan() && back[1].epoch == steps[1].epoch);
        assert_eq!(back[2], steps[2]);
        // A torn last line is dropped; a bad line in the middle is named.
        let torn = format!("{text}3,1.3");
        assert_eq!(parse_csv(&torn).expect("torn tail").len(), 3);
        let bad = format!("{STEPS_HEADER}0,0.5,abc,0.1\n1,1,2,0.1\n");
        assert!(parse_csv(&bad).unwrap_err().to_string().contains("line 2"));
        assert_eq!(parse_csv(&bad), Err(StepsCsvError::Line { line: 2 }));
    }
}
