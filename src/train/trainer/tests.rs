//! The engine's tests: the same steps on any thread count, translations, counted cycles.

use super::*;
use crate::data::synthetic::{SyntheticSpec, generate};
use crate::model::Activation;

/// The thread counts every path is checked with (3 and 4 oversubscribe a 2-core
/// machine, which must only slow them down).
const THREADS: [usize; 4] = [1, 2, 3, 4];

/// One epoch from the same seed on each of [`THREADS`] threads.
fn on_each_thread_count(config: &TrainConfig) -> Vec<Trainer> {
    on_thread_counts(config, &THREADS)
}

/// One epoch from the same seed on each of `counts` threads.
fn on_thread_counts(config: &TrainConfig, counts: &[usize]) -> Vec<Trainer> {
    let data = Arc::new(generate(&SyntheticSpec {
        train: 1000,
        val: 100,
        test: 100,
        ..SyntheticSpec::default()
    }));
    counts
        .iter()
        .map(|&n| {
            let mut t = Trainer::new(config.clone(), data.clone(), None).expect("valid config");
            t.set_threads(n);
            let parts = t.team_parts().map_or(1, |p| p.len());
            assert_eq!(parts, n, "big enough to share among {n} threads");
            t.run_epoch();
            t
        })
        .collect()
}

/// Every run of `runs` agrees with the first (one thread).
fn assert_all_same(runs: &[Trainer]) {
    for other in &runs[1..] {
        eprintln!("checking {} threads against 1", other.threads());
        assert_same_network(other, &runs[0]);
    }
}

fn assert_same_network(a: &Trainer, b: &Trainer) {
    for (la, lb) in a.network().layers.iter().zip(&b.network().layers) {
        let scale = lb.weights.iter().fold(0f32, |m, v| m.max(v.abs()));
        for (x, y) in la.weights.iter().zip(&lb.weights) {
            assert!((x - y).abs() <= 1e-4 * scale, "{x} vs {y}");
        }
        for (x, y) in la.bias.iter().zip(&lb.bias) {
            assert!((x - y).abs() <= 1e-4 * scale.max(1e-3), "bias {x} vs {y}");
        }
    }
    assert_eq!(a.steps_done(), b.steps_done());
    let (ha, hb) = (&a.history()[0], &b.history()[0]);
    assert!((ha.train.cost - hb.train.cost).abs() < 1e-4);
}

#[test]
fn steps_on_any_thread_count_match_one_thread_linear_with_flips() {
    let config = TrainConfig {
        flip: 0.5,
        eta: 0.01,
        ..TrainConfig::default()
    };
    assert_all_same(&on_each_thread_count(&config));
}

#[test]
fn steps_on_any_thread_count_match_one_thread_with_rules_that_keep_state() {
    // Each part keeps the moments of its own columns of W₀; upper layers and biases
    // step on the calling thread.
    let config = |optimizer, dropout| TrainConfig {
        hidden: vec![20],
        batch_norm: true,
        dropout,
        flip: 0.5,
        batch: 50,
        eta: 0.001,
        lambda: 0.01,
        optimizer,
        ..TrainConfig::default()
    };
    // Momentum on every thread count, with dropout; Adam on two, without. With dropout,
    // or on 3 threads, Adam leaves one weight in 60,000 ~1e-3 of the scale apart, more
    // than this check allows: that is rounding magnified by the rule (a one-ulp nudge on
    // one thread does the same), which tests/suite/threads.rs measures for every
    // optimiser on 1–4 threads.
    for (optimizer, dropout, threads) in [
        (OptimizerKind::Momentum, 0.3, &THREADS[..]),
        (OptimizerKind::Adam, 0.0, &THREADS[..2]),
    ] {
        let mut runs = on_thread_counts(&config(optimizer, dropout), threads);
        assert_all_same(&runs);
        // A second call of the shared steps starts from the moments the first wrote
        // back.
        for t in &mut runs {
            t.run_epoch();
        }
        assert_all_same(&runs);
    }
}

#[test]
fn steps_on_any_thread_count_match_one_thread_with_translations_and_smoothing() {
    // Both paths shift the same images by the same amounts: the two threads each
    // write their half of a shifted image, the one thread the whole of it.
    let config = TrainConfig {
        flip: 0.5,
        translate: 3,
        label_smoothing: 0.1,
        hidden: vec![20],
        batch: 50,
        eta: 0.01,
        ..TrainConfig::default()
    };
    assert_all_same(&on_each_thread_count(&config));
}

fn synthetic(train: usize) -> Arc<Splits> {
    Arc::new(generate(&SyntheticSpec {
        train,
        val: 50,
        test: 50,
        ..SyntheticSpec::default()
    }))
}

/// The same seed trains the same network with translations; translations change it.
#[test]
fn translations_are_reproducible_and_matter() {
    let data = synthetic(300);
    let run = |translate| {
        let config = TrainConfig {
            translate,
            batch: 50,
            eta: 0.01,
            ..TrainConfig::default()
        };
        let mut t = Trainer::new(config, data.clone(), None).expect("valid config");
        t.run_epoch();
        t.network().layers[0].weights.clone()
    };
    assert_eq!(run(2), run(2));
    assert_ne!(run(2), run(0));
}

/// Two cycles growing ×2 from a half-cycle of 3: 6 + 12 = 18 steps. With 10 steps an
/// epoch the run plans 2 epochs, ends after step 18, and its second epoch says it used 800
/// images. η at the last step is where the second cycle ends.
#[test]
fn counted_cycles_end_the_run_mid_epoch() {
    let data = synthetic(1000);
    let config = TrainConfig {
        schedule: crate::train::ScheduleKind::Cyclic,
        eta_min: 1e-7,
        eta_max: 0.01,
        half_cycle: 3,
        cycles: 2,
        cycle_growth: 2.0,
        epochs: 40,
        ..TrainConfig::default()
    };
    let mut t = Trainer::new(config, data, None).expect("valid config");
    assert_eq!(t.settings().epochs(), 2, "epochs follow from the cycles");
    assert_eq!(t.step_limit(), Some(18));
    let first = t.run_epoch();
    assert_eq!(first.images, None, "a whole pass");
    assert!(!t.is_finished());
    let second = t.run_epoch();
    assert_eq!(t.steps_done(), 18);
    assert_eq!(second.images, Some(800));
    let want = 1e-7 + (0.01 - 1e-7) / 6.0;
    assert!((second.eta - want).abs() < 1e-12, "{}", second.eta);
    assert!(t.is_finished());
    // "+1 epoch" goes on past the cycles, a whole pass.
    t.extend(1);
    assert!(!t.is_finished());
    let third = t.run_epoch();
    assert_eq!(third.images, None);
    assert_eq!(t.steps_done(), 28);
    assert!(t.is_finished());
}

#[test]
fn steps_on_any_thread_count_match_one_thread_mlp() {
    let config = TrainConfig {
        hidden: vec![20, 10],
        activation: Activation::Tanh,
        loss: LossKind::Svm,
        batch_norm: true,
        dropout: 0.2,
        batch: 50,
        eta: 0.01,
        ..TrainConfig::default()
    };
    assert_all_same(&on_each_thread_count(&config));
}
