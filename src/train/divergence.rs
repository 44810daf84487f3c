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

pub use crate::format::plain_number;

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

/// A diverging run that blew up within this many steps of its (re)start is far past the
/// edge: the suggestion goes two decades down instead of one.
pub const FAST_STEPS: usize = 100;

/// The η to suggest after a run diverged with `diverged` (the η of its last step):
/// - the largest η below it that trained a whole epoch well in this run (`trained_well`), when
///   there is one;
/// - else a tenth of it, or a hundredth when it blew up within [`FAST_STEPS`] steps
///   (`steps` since it started or was last retried);
/// - then a tenth lower again until below every η already known to diverge in this run
///   (`failed`: retries that diverged too), so the suggestion is never one that failed;
/// - rounded down to one significant digit, so it reads as people type it (0.1, 0.002).
pub fn suggest_eta(diverged: f64, trained_well: &[f64], failed: &[f64], steps: usize) -> f64 {
    let good = trained_well
        .iter()
        .copied()
        .filter(|e| e.is_finite() && *e > 0.0 && *e < 0.99 * diverged)
        .fold(None, |best: Option<f64>, e| {
            Some(best.map_or(e, |b| b.max(e)))
        });
    let mut eta = good.unwrap_or(if steps <= FAST_STEPS {
        diverged / 100.0
    } else {
        diverged / 10.0
    });
    let lowest_failed = failed
        .iter()
        .copied()
        .chain(std::iter::once(diverged))
        .filter(|e| e.is_finite() && *e > 0.0)
        .fold(f64::INFINITY, f64::min);
    while eta >= 0.99 * lowest_failed && eta > 1e-12 {
        eta /= 10.0;
    }
    one_digit_down(eta)
}

/// `x` rounded down to one significant digit (0.0734 → 0.07).
fn one_digit_down(x: f64) -> f64 {
    if !(x.is_finite() && x > 0.0) {
        return x;
    }
    let scale = 10f64.powf(x.log10().floor());
    // The small nudge keeps 0.3 (stored as 0.29999…) from rounding down to 0.2.
    let digit = (x / scale * (1.0 + 1e-9)).floor().max(1.0);
    // Through decimal text, so 3 × 0.1 comes back as 0.3, not 0.30000000000000004.
    let decimals = (-x.log10().floor()).max(0.0) as usize;
    format!("{:.decimals$}", digit * scale)
        .parse()
        .unwrap_or(digit * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_suggested_eta_is_below_every_eta_that_diverged() {
        // η = 10 blew up after 60 steps with nothing better known: two decades down.
        assert_eq!(suggest_eta(10.0, &[], &[], 60), 0.1);
        // Late divergence: one decade down.
        assert_eq!(suggest_eta(1.0, &[], &[], 5000), 0.1);
        // A retry at the suggested value that diverged again goes lower still.
        let s = suggest_eta(10.0, &[], &[1.0, 0.5], 5000);
        assert!(s < 0.5, "{s}");
        assert_eq!(s, 0.1);
        // An η that trained whole epochs well is the suggestion.
        assert_eq!(suggest_eta(0.5, &[0.05, 0.02], &[], 5000), 0.05);
        // One that trained at the diverging η itself is no evidence.
        assert_eq!(suggest_eta(0.3, &[0.3], &[], 5000), 0.03);
        assert_eq!(one_digit_down(0.0734), 0.07);
        assert_eq!(one_digit_down(0.3), 0.3);
    }

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
