//! Deeper networks on real CIFAR-10: batch normalisation, initialisation and optimisers
//! (the course's k-layer chapter and CS231n's comparisons). Skipped (with a note) where the
//! data is absent, always run in CI (`TRAINVIZ_CIFAR10` is set there).

use crate::common;

use std::sync::Arc;

use trainviz::data::{self, SplitKind};
use trainviz::model::InitKind;
use trainviz::train::{OptimizerKind, ScheduleKind, Subset, TrainConfig, Trainer};

/// The chapter's setting: all data minus 5,000 for validation, He initialisation, λ=0.005,
/// cyclic η between 1e-5 and 0.1 with a half-cycle of 2,250 steps, 20 epochs (two cycles).
fn chapter(dir: std::path::PathBuf, hidden: &[usize], batch_norm: bool) -> TrainConfig {
    TrainConfig {
        data: Some(dir),
        split: SplitKind::All,
        val: 5000,
        hidden: hidden.to_vec(),
        batch_norm,
        init: InitKind::He,
        lambda: 0.005,
        schedule: ScheduleKind::Cyclic,
        eta_min: 1e-5,
        eta_max: 0.1,
        half_cycle: 2250,
        epochs: 20,
        ..Default::default()
    }
}

/// Trains `config` to the end; returns the trainer and its test accuracy.
fn train(config: TrainConfig, splits: &Arc<data::Splits>) -> (Trainer, f64) {
    let started = std::time::Instant::now();
    let mut t = Trainer::new(config, splits.clone(), None).expect("valid settings");
    while !t.is_finished() {
        t.run_epoch();
    }
    let test = t.evaluate(Subset::Test).accuracy;
    eprintln!(
        "{}: test accuracy {test:.4}, final training loss {:.4}, {:.1} s",
        t.settings().title(),
        t.history().last().map_or(f64::NAN, |m| m.train.loss),
        started.elapsed().as_secs_f64()
    );
    (t, test)
}

fn load(config: &TrainConfig) -> Arc<data::Splits> {
    Arc::new(data::load(&config.data_request()).expect("CIFAR-10 loads"))
}

#[test]
fn two_hidden_layers_with_batch_norm() {
    let Some(dir) = common::cifar_dir() else {
        return;
    };
    let config = chapter(dir, &[50, 50], true);
    let splits = load(&config);
    let (t, acc) = train(config, &splits);
    assert!(acc >= 0.53, "test accuracy {acc} < 0.53");
    // The saved weights carry batch norm and evaluate the same after a round trip.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weights.bin");
    trainviz::runs::save_weights(&path, t.network()).unwrap();
    let back = trainviz::runs::load_weights(&path).unwrap();
    assert_eq!(&back, t.network());
    // The Layers tab's numbers are there for every layer and every epoch.
    for m in t.history() {
        assert_eq!(m.layers.len(), 3);
        assert!(
            m.layers
                .iter()
                .all(|l| l.grad_norm > 0.0 && l.update_ratio > 0.0)
        );
    }
}

#[test]
fn nine_layers_learn_better_with_batch_norm() {
    let Some(dir) = common::cifar_dir() else {
        return;
    };
    let hidden = [50, 30, 20, 20, 10, 10, 10, 10];
    let with = chapter(dir.clone(), &hidden, true);
    let splits = load(&with);
    let (_, acc_bn) = train(with, &splits);
    let (_, acc_plain) = train(chapter(dir, &hidden, false), &splits);
    assert!(
        acc_bn >= 0.50,
        "with batch norm: test accuracy {acc_bn} < 0.50"
    );
    assert!(
        acc_bn > acc_plain,
        "batch norm {acc_bn} is not above plain {acc_plain}"
    );
}

#[test]
fn tiny_initialisation_needs_batch_norm() {
    let Some(dir) = common::cifar_dir() else {
        return;
    };
    let config = |batch_norm| TrainConfig {
        init: InitKind::Gaussian,
        sigma: 1e-4,
        epochs: 8,
        half_cycle: 900,
        ..chapter(dir.clone(), &[50, 50], batch_norm)
    };
    let splits = load(&config(false));
    let (_, plain) = train(config(false), &splits);
    let (_, bn) = train(config(true), &splits);
    assert!(plain <= 0.15, "without batch norm it learned: {plain}");
    assert!(bn >= 0.48, "with batch norm: test accuracy {bn} < 0.48");
}

#[test]
fn adam_beats_momentum_beats_sgd_on_training_loss() {
    let Some(dir) = common::cifar_dir() else {
        return;
    };
    let config = |optimizer, eta| TrainConfig {
        data: Some(dir.clone()),
        train_limit: Some(4000),
        hidden: vec![100, 100, 100, 100],
        sigma: 0.05,
        lambda: 0.0,
        epochs: 5,
        batch: 100,
        optimizer,
        eta,
        momentum: 0.9,
        ..Default::default()
    };
    let splits = load(&config(OptimizerKind::Sgd, 1e-2));
    let final_loss = |optimizer, eta| {
        let (t, _) = train(config(optimizer, eta), &splits);
        t.history().last().expect("epochs ran").train.loss
    };
    let adam = final_loss(OptimizerKind::Adam, 1e-3);
    let momentum = final_loss(OptimizerKind::Momentum, 1e-2);
    let sgd = final_loss(OptimizerKind::Sgd, 1e-2);
    assert!(
        adam < momentum && momentum < sgd,
        "training loss: Adam {adam}, momentum {momentum}, SGD {sgd}"
    );
}

#[test]
fn dropout_trains_and_switching_optimiser_is_recorded() {
    let Some(dir) = common::cifar_dir() else {
        return;
    };
    let config = TrainConfig {
        data: Some(dir),
        train_limit: Some(4000),
        hidden: vec![100],
        init: InitKind::He,
        dropout: 0.5,
        eta: 0.01,
        lambda: 0.0,
        epochs: 2,
        ..Default::default()
    };
    let splits = load(&config);
    let mut t = Trainer::new(config, splits, None).unwrap();
    t.run_epoch();
    let mut live = t.live();
    live.optimizer = OptimizerKind::Nesterov;
    t.set_live(live).unwrap();
    let m = t.run_epoch();
    assert_eq!(m.optimizer, OptimizerKind::Nesterov);
    assert_eq!(m.optimizer_switches.len(), 1);
    assert_eq!(m.optimizer_switches[0].from, OptimizerKind::Sgd);
    assert_eq!(m.optimizer_switches[0].step, t.steps_per_epoch());
    assert!(
        m.val.accuracy > 0.2,
        "dropout 0.5: validation accuracy {}",
        m.val.accuracy
    );
}
