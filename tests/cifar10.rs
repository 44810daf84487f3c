//! Accuracy on real CIFAR-10 for the settings the course reports use; skipped (with a note)
//! where the data is absent, always run in CI (`TRAINVIZ_CIFAR10` is set there).

mod common;

use trainviz::data::SplitKind;
use trainviz::train::TrainConfig;

fn train(config: TrainConfig) -> trainviz::train::Summary {
    trainviz::cli::train(config, None, false, None, None).expect("training runs")
}

/// The preset `name` (the one-click settings of the window) on the CIFAR-10 in `dir`.
fn preset(name: &str, dir: std::path::PathBuf) -> TrainConfig {
    let base = TrainConfig {
        data: Some(dir),
        ..Default::default()
    };
    trainviz::runs::presets::find(name)
        .expect("the preset exists")
        .config(&base)
        .expect("the preset applies")
}

#[test]
fn classic_setting_matches_the_reference() {
    let Some(dir) = common::cifar_dir() else {
        return;
    };
    let s = train(TrainConfig {
        data: Some(dir),
        ..Default::default()
    });
    eprintln!("classic: {s:?}");
    assert_eq!(s.epochs, 40);
    assert!(s.test_acc >= 0.385, "test accuracy {} < 0.385", s.test_acc);
}

#[test]
fn all_data_flips_and_decay() {
    let Some(dir) = common::cifar_dir() else {
        return;
    };
    let s = train(preset("all-data-flip-decay", dir));
    eprintln!("all + flips + decay: {s:?}");
    assert!(s.test_acc >= 0.41, "test accuracy {} < 0.41", s.test_acc);
}

#[test]
fn mlp_with_cyclic_learning_rate() {
    let Some(dir) = common::cifar_dir() else {
        return;
    };
    let s = train(preset("mlp-relu", dir));
    eprintln!("MLP 50: {s:?}");
    assert!(s.test_acc >= 0.51, "test accuracy {} < 0.51", s.test_acc);
}

#[test]
fn full_set_loads_fast_and_validates() {
    let Some(dir) = common::cifar_dir() else {
        return;
    };
    let started = std::time::Instant::now();
    let splits = trainviz::data::cifar::load_splits(&dir, SplitKind::All, 1000).unwrap();
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(
        (splits.train.len(), splits.val.len(), splits.test.len()),
        (49_000, 1000, 10_000)
    );
    assert_eq!(splits.class_names[0], "airplane");
    eprintln!("loaded CIFAR-10 in {secs:.3} s");
}
