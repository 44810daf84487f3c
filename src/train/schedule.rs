//! Learning-rate schedules, and the length of a run that counts its cycles.

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
            let (c, ns) = position_in_cycle(config, step);
            let frac = if c < ns {
                c as f64 / ns as f64
            } else {
                2.0 - c as f64 / ns as f64
            };
            let (lo, hi) = (config.eta_min, config.eta_max);
            lo + (hi - lo) * frac
        }
    }
}

/// Where `step` falls in the cyclic schedule: (steps into its cycle, the cycle's
/// half-cycle). Without counted cycles every cycle has `half_cycle`; with them, cycle k
/// (from 0) has [`half_cycles`]`[k]`, and steps beyond the last cycle (a run continued past
/// its cycles) go round the last cycle again.
fn position_in_cycle(config: &TrainConfig, step: usize) -> (usize, usize) {
    let halves = half_cycles(config);
    let Some(&last) = halves.last() else {
        let ns = config.half_cycle.max(1);
        return (step % (2 * ns), ns);
    };
    let mut rest = step;
    for &ns in &halves {
        if rest < 2 * ns {
            return (rest, ns);
        }
        rest -= 2 * ns;
    }
    (rest % (2 * last), last)
}

/// The half-cycles (steps) of the counted cycles of a cyclic schedule: the first is
/// `half_cycle`, each next `cycle_growth` times the last (rounded to a step); empty when the
/// cycles are not counted (`cycles` = 0) or the schedule is not cyclic.
pub fn half_cycles(config: &TrainConfig) -> Vec<usize> {
    if config.schedule != ScheduleKind::Cyclic {
        return Vec::new();
    }
    (0..config.cycles)
        .map(|k| {
            let steps = config.half_cycle as f64 * config.cycle_growth.powi(k as i32);
            (steps.round() as usize).max(1)
        })
        .collect()
}

/// The steps of a run whose cyclic schedule counts its cycles: the run ends after the last
/// step of the last cycle. `None` when the cycles are not counted (the run lasts `epochs`).
pub fn cycle_steps(config: &TrainConfig) -> Option<usize> {
    let halves = half_cycles(config);
    (!halves.is_empty()).then(|| halves.iter().map(|&n| 2 * n).sum())
}

/// The epochs a run of counted cycles takes with `steps_per_epoch` steps in an epoch: the
/// last one may be cut short where the last cycle ends.
pub fn cycle_epochs(config: &TrainConfig, steps_per_epoch: usize) -> Option<usize> {
    cycle_steps(config).map(|steps| steps.div_ceil(steps_per_epoch.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::config::cycle_steps_estimate;

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
        assert_eq!(cycle_steps(&c), None, "uncounted cycles repeat");
        assert_eq!(learning_rate(&c, 9.0, 0.9, 0, 2010), 1.0);
    }

    /// Three cycles that double from a half-cycle of 10 between 0 and 1: cycle 1 is steps
    /// 0–19 (peak at 10), cycle 2 steps 20–59 (peak at 40), cycle 3 steps 60–139 (peak at
    /// 100); the run takes 140 steps.
    #[test]
    fn growing_cycles_by_hand() {
        let c = TrainConfig {
            schedule: ScheduleKind::Cyclic,
            eta_min: 0.0,
            eta_max: 1.0,
            half_cycle: 10,
            cycles: 3,
            cycle_growth: 2.0,
            ..Default::default()
        };
        let eta = |step| learning_rate(&c, 9.0, 0.9, 0, step);
        assert_eq!(half_cycles(&c), vec![10, 20, 40]);
        assert_eq!(cycle_steps(&c), Some(140));
        assert_eq!(eta(0), 0.0, "start");
        assert_eq!(eta(10), 1.0, "peak of cycle 1");
        assert_eq!(eta(15), 0.5);
        assert_eq!(eta(20), 0.0, "end of cycle 1 = start of cycle 2");
        assert_eq!(eta(30), 0.5, "cycle 2 climbs for 20 steps");
        assert_eq!(eta(40), 1.0, "peak of cycle 2");
        assert_eq!(eta(55), 0.25);
        assert_eq!(eta(60), 0.0, "end of cycle 2");
        assert_eq!(eta(100), 1.0, "peak of cycle 3");
        assert!(
            (eta(139) - 1.0 / 40.0).abs() < 1e-15,
            "last step of the run"
        );
        // Past the last cycle (a continued run) the last cycle comes round again.
        assert_eq!(eta(140), 0.0);
        assert_eq!(eta(180), 1.0);
        // 49,000 images in batches of 100: 490 steps an epoch, so 140 steps end in epoch 1.
        assert_eq!(cycle_epochs(&c, 490), Some(1));
        assert_eq!(
            cycle_epochs(&c, 30),
            Some(5),
            "the fifth epoch is cut short"
        );
    }

    /// Growth 1 is the plain schedule, counted; growth 1.5 rounds each half-cycle.
    #[test]
    fn counted_cycles_without_growth_match_the_plain_schedule() {
        let mut c = TrainConfig {
            schedule: ScheduleKind::Cyclic,
            half_cycle: 7,
            cycles: 4,
            ..Default::default()
        };
        let plain = TrainConfig {
            cycles: 0,
            ..c.clone()
        };
        for step in 0..56 {
            assert_eq!(
                learning_rate(&c, 1.0, 0.9, 0, step),
                learning_rate(&plain, 1.0, 0.9, 0, step)
            );
        }
        assert_eq!(cycle_steps(&c), Some(56));
        c.cycle_growth = 1.5;
        assert_eq!(half_cycles(&c), vec![7, 11, 16, 24]);
        assert_eq!(cycle_steps_estimate(&c), 116.0);
    }
}
