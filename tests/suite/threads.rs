//! Training on N threads agrees with one thread up to float rounding, for every optimiser,
//! with batch norm, dropout and flips.
//!
//! "Up to rounding" is measured, not assumed: the same run on one thread with every first-layer
//! weight nudged by one unit in the last place shows how far rounding alone carries the
//! weights in two epochs. Plain and momentum rules keep that within ~1e-7 of the weights'
//! scale; RMSProp and Adam divide by the root of a running mean of g², so a gradient that is
//! near zero in exact arithmetic becomes a ±η step whose sign rounding decides, and a weight or
//! two of the 61,440 move ~1e-3 of the scale apart, on one thread as on four. The threads'
//! runs must stay within a small multiple of that. (With this batch and width the steps are
//! shared: the trainer's own tests check that these sizes give one part per thread.)

use std::sync::Arc;

use trainviz::data::Splits;
use trainviz::data::synthetic::{SyntheticSpec, generate};
use trainviz::model::Network;
use trainviz::train::{OptimizerKind, TrainConfig, Trainer};

/// How far two networks' weights are apart: the largest difference as a share of each
/// matrix's largest weight, and how many weights differ by more than 1e-4 of it.
fn distance(a: &Network<f32>, b: &Network<f32>) -> (f32, usize) {
    let mut worst = 0f32;
    let mut off = 0;
    for (la, lb) in a.layers.iter().zip(&b.layers) {
        let scale = lb.weights.iter().fold(0f32, |m, v| m.max(v.abs()));
        for (x, y) in la.weights.iter().zip(&lb.weights) {
            let d = (x - y).abs() / scale;
            worst = worst.max(d);
            off += usize::from(d > 1e-4);
        }
    }
    (worst, off)
}

/// Two epochs of `optimizer` on `threads` threads; with `nudge`, the first layer's initial
/// weights are moved by one unit in the last place first.
fn two_epochs(
    data: &Arc<Splits>,
    optimizer: OptimizerKind,
    threads: usize,
    nudge: bool,
) -> Trainer {
    let config = TrainConfig {
        hidden: vec![20],
        batch_norm: true,
        dropout: 0.3,
        flip: 0.5,
        batch: 50,
        // RMSProp keeps no bias correction: its first steps are ~30 η (decay 0.999), which
        // at η = 0.001 throws the weights about so far that a one-ulp nudge moves all of them.
        eta: if optimizer == OptimizerKind::Rmsprop {
            1e-4
        } else {
            1e-3
        },
        lambda: 0.01,
        optimizer,
        ..TrainConfig::default()
    };
    let mut t = Trainer::new(config, data.clone(), None).expect("valid config");
    t.set_threads(threads);
    if nudge {
        let mut net = t.network().clone();
        for w in &mut net.layers[0].weights {
            *w = f32::from_bits(w.to_bits() + 1);
        }
        t.restore(net, Vec::new(), Vec::new());
    }
    t.run_epoch();
    t.run_epoch();
    t
}

#[test]
fn every_optimiser_on_two_three_and_four_threads_agrees_with_one_up_to_rounding() {
    let data = Arc::new(generate(&SyntheticSpec {
        train: 1000,
        val: 100,
        test: 100,
        ..SyntheticSpec::default()
    }));
    for optimizer in [
        OptimizerKind::Sgd,
        OptimizerKind::Momentum,
        OptimizerKind::Nesterov,
        OptimizerKind::Rmsprop,
        OptimizerKind::Adam,
    ] {
        let one = two_epochs(&data, optimizer, 1, false);
        let (noise, noise_off) = distance(
            two_epochs(&data, optimizer, 1, true).network(),
            one.network(),
        );
        let weights: usize = one.network().layers.iter().map(|l| l.weights.len()).sum();
        for threads in 2..=4 {
            let other = two_epochs(&data, optimizer, threads, false);
            let (worst, off) = distance(other.network(), one.network());
            eprintln!(
                "{optimizer:?}, {threads} threads: worst {worst:.2e} of the scale, {off} of \
                 {weights} weights past 1e-4 (a one-ulp nudge: {noise:.2e}, {noise_off})"
            );
            assert!(
                worst <= 10.0 * noise.max(1e-6),
                "{optimizer:?} on {threads} threads: {worst:.2e} apart, rounding gives {noise:.2e}"
            );
            assert!(
                off <= 10 * noise_off.max(1) && off * 1000 <= weights,
                "{optimizer:?} on {threads} threads: {off} weights apart, rounding gives {noise_off}"
            );
            let (a, b) = (&other.history()[1], &one.history()[1]);
            assert!(
                (a.train.cost - b.train.cost).abs() < 1e-3,
                "{optimizer:?} on {threads} threads: cost {} against {}",
                a.train.cost,
                b.train.cost
            );
        }
    }
}
