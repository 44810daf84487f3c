//! Learning-rate schedules.

use super::config::{ScheduleKind, TrainConfig};

/// The learning rate for a step, given the run's settings, the base η (which may have been
/// changed live), the epoch (from 0) and the global step count (from 0).
pub fn learning_rate(
    config: &TrainConfig,
    base_eta: f64,
    decay: f64,
    epoch: usize,
    step: usize,
) -> f64 {
    match config.schedule {
        ScheduleKind::Constant => base_eta,
        ScheduleKind::Exp => base_eta * decay.powi(epoch as i32),
        ScheduleKind::Step => {
            base_eta * config.step_factor.powi((epoch / config.step_every) as i32)
        }
        ScheduleKind::Cyclic => {
            let (lo, hi, ns) = (config.eta_min, config.eta_max, config.half_cycle);
            let c = step % (2 * ns);
            let frac = if c < ns {
                c as f64 / ns as f64
            } else {
                2.0 - c as f64 / ns as f64
            };
            lo + (hi - lo) * frac
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_by_hand() {
        let mut c = TrainConfig {
            schedule: ScheduleKind::Exp,
            ..Default::default()
        };
        assert!((learning_rate(&c, 0.01, 0.9, 2, 0) - 0.0081).abs() < 1e-15);
        c.schedule = ScheduleKind::Step;
        c.step_every = 5;
        c.step_factor = 0.5;
        assert_eq!(learning_rate(&c, 1.0, 0.9, 4, 0), 1.0);
        assert_eq!(learning_rate(&c, 1.0, 0.9, 10, 0), 0.25);
        c.schedule = ScheduleKind::Cyclic;
        c.eta_min = 0.0;
        c.eta_max = 1.0;
        c.half_cycle = 10;
        assert_eq!(learning_rate(&c, 9.0, 0.9, 0, 0), 0.0);
        assert_eq!(learning_rate(&c, 9.0, 0.9, 0, 5), 0.5);
        assert_eq!(learning_rate(&c, 9.0, 0.9, 0, 10), 1.0);
        assert_eq!(learning_rate(&c, 9.0, 0.9, 0, 15), 0.5);
        assert_eq!(learning_rate(&c, 9.0, 0.9, 0, 20), 0.0);
    }
}
