//! When a run has diverged: the one rule the window, the command line and sweep points share.
//!
//! A run diverges when a loss becomes NaN or infinite, or when the training loss grows far
//! above where it started. The growth rule compares with the loss of the very first
//! mini-batch (before any update: about ln 10 ≈ 2.3 for softmax cross-entropy on ten
//! classes), so it needs no tuning per loss:
//! - a mini-batch loss above [`BATCH_FACTOR`] times the start stops at once (a step that
//!   large is never noise);
//! - an epoch whose training loss is above [`EPOCH_FACTOR`] times the start stops at its end.
//!
//! Measured on CIFAR-10 (classic split, 40 epochs): the noisiest healthy course setting
//! (λ=0, η=0.1) peaks at an epoch training loss of 10.3 against a start of 2.44 (4.2×), and
//! no course preset triggers either rule; η=10 has a mini-batch 1000× above the start after
//! about 60 steps of its first epoch.

/// A mini-batch loss this many times the first one is divergence.
pub const BATCH_FACTOR: f64 = 1000.0;
/// An epoch's training loss this many times the first mini-batch's is divergence.
pub const EPOCH_FACTOR: f64 = 10.0;

/// Watches the losses of one run.
#[derive(Debug, Clone, Default)]
pub struct DivergenceGuard {
    /// Loss of the first mini-batch (the scale of "where it started").
    start: Option<f64>,
}

impl DivergenceGuard {
    /// A guard for a run whose starting loss is known (a continued run), or not yet.
    pub fn new(start: Option<f64>) -> Self {
        DivergenceGuard {
            start: start.filter(|s| s.is_finite() && *s > 0.0),
        }
    }

    /// The starting loss, once seen.
    pub fn start(&self) -> Option<f64> {
        self.start
    }

    /// Checks one mini-batch's loss; `Some(reason)` when the run diverged.
    pub fn check_batch(&mut self, loss: f64) -> Option<String> {
        if !loss.is_finite() {
            return Some("the loss became NaN or infinite".into());
        }
        let start = *self.start.get_or_insert(loss.max(1e-3));
        (loss > BATCH_FACTOR * start).then(|| {
            format!(
                "a mini-batch loss reached {loss:.3e}, more than {BATCH_FACTOR:.0} times the \
                 starting {start:.3}"
            )
        })
    }

    /// Checks an epoch's training loss and cost; `Some(reason)` when the run diverged.
    pub fn check_epoch(&mut self, train_loss: f64, train_cost: f64) -> Option<String> {
        if !train_loss.is_finite() || !train_cost.is_finite() {
            return Some("the cost became NaN or infinite".into());
        }
        let start = self.start?;
        (train_loss > EPOCH_FACTOR * start).then(|| {
            format!(
                "the training loss grew from {start:.3} to {train_loss:.3e} (more than \
                 {EPOCH_FACTOR:.0} times where it started)"
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_and_growth_diverge_noise_does_not() {
        let mut g = DivergenceGuard::default();
        assert_eq!(g.check_batch(2.3), None);
        assert_eq!(g.start(), Some(2.3));
        for l in [1.9, 8.0, 30.0, 2.0] {
            assert_eq!(g.check_batch(l), None, "{l}");
        }
        assert!(g.check_batch(f64::NAN).is_some());
        assert!(g.check_batch(5000.0).unwrap().contains("mini-batch"));
        assert_eq!(g.check_epoch(2.1, 2.5), None);
        assert_eq!(g.check_epoch(20.0, 25.0), None);
        assert!(g.check_epoch(40.0, 41.0).unwrap().contains("grew"));
        assert!(g.check_epoch(1.0, f64::INFINITY).is_some());
    }
}
