//! The command line's side of layer stacks: `trainviz layers` and `trainviz train` for a
//! network set with `--layers`.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::data::{self, DatasetKind, ImageShape};
use crate::model::layers::{self, Shape};
use crate::train::metrics::median;
use crate::train::stack_trainer::StackTrainer;
use crate::train::{RunStatus, Summary, TrainConfig};

/// The image shape and class count `config`'s data set has, without loading the built-in
/// sets (an image folder is read to find out).
fn data_shape(config: &TrainConfig) -> Result<(Shape, usize)> {
    let (shape, classes) = match config.dataset {
        DatasetKind::Cifar10 | DatasetKind::Synthetic => (ImageShape::CIFAR, 10),
        DatasetKind::FashionMnist => (ImageShape::FASHION, 10),
        // An image folder is read to find out; points in the plane are generated (cheap).
        DatasetKind::Folder
        | DatasetKind::Spiral
        | DatasetKind::Circle
        | DatasetKind::Xor
        | DatasetKind::Gauss
        | DatasetKind::Moons => {
            let splits = data::load(&config.data_request())?;
            (splits.shape(), splits.num_classes())
        }
    };
    Ok((
        Shape {
            h: shape.height,
            w: shape.width,
            c: shape.channels,
        },
        classes,
    ))
}

/// `trainviz layers`: each layer's output shape, parameters and multiply-adds per image, or
/// the layer that does not fit.
pub fn layers_cmd(config: &TrainConfig) -> Result<()> {
    if !config.uses_stack() {
        bail!(
            "give the network with --layers, e.g. --layers \"patchify 4:10, relu, dense 50, relu\""
        );
    }
    let specs = layers::parse(&config.layers).context("--layers")?;
    let (shape, classes) = data_shape(config)?;
    let infos = layers::describe(&specs, shape, classes)
        .with_context(|| format!("--layers on {}×{}×{} images", shape.h, shape.w, shape.c))?;
    print!("{}", layers::table(shape, &infos));
    Ok(())
}

/// Trains a layer stack headless, one line per epoch, then evaluates on the test set;
/// writes config.toml, metrics.csv and summary.json into `out` when given.
pub fn train_stack(config: &TrainConfig, out: Option<&Path>, print: bool) -> Result<Summary> {
    let splits = Arc::new(data::load(&config.data_request())?);
    let mut trainer = StackTrainer::new(config.clone(), splits.clone(), None)?;
    if print {
        println!(
            "{}: {} training, {} validation, {} test images; layers \"{}\" ({} parameters, {} multiply-adds per image)",
            splits.name,
            splits.train.len(),
            splits.val.len(),
            splits.test.len(),
            layers::to_text(&trainer.stack().specs[..trainer.stack().specs.len() - 1]),
            trainer
                .stack()
                .params()
                .iter()
                .map(|p| p.len())
                .sum::<usize>(),
            trainer.stack().multiply_adds_per_image(),
        );
    }
    let started = Instant::now();
    let mut epoch_seconds = Vec::new();
    let mut csv = String::from("epoch,eta,train_loss,val_cost,val_acc,seconds\n");
    let mut status = RunStatus::Finished;
    let mut val = None;
    while !trainer.is_finished() {
        let (train_loss, seconds) = trainer.run_epoch();
        let eta = trainer.current_eta();
        let v = trainer.evaluate(&splits.val, None);
        epoch_seconds.push(seconds);
        let epoch = trainer.epochs_done();
        if print {
            println!(
                "epoch {epoch:>3}/{}  train loss {train_loss:.4} (batch mean) | val cost {:.4} acc {:.4} | η {} | {seconds:.3} s",
                config.epochs,
                v.cost,
                v.accuracy,
                crate::format::short_number(eta)
            );
        }
        csv.push_str(&format!(
            "{epoch},{eta},{train_loss},{},{},{seconds}\n",
            v.cost, v.accuracy
        ));
        val = Some(v);
        if !train_loss.is_finite() || !trainer.stack().is_finite() {
            status = RunStatus::Diverged;
            break;
        }
    }
    let train_seconds: f64 = epoch_seconds.iter().sum();
    // The training set's cost and accuracy on (at most) 10,000 of its images.
    let train = trainer.evaluate(&splits.train, Some(10_000));
    let test = trainer.evaluate(&splits.test, None);
    let val = val.unwrap_or_else(|| trainer.evaluate(&splits.val, None));
    let summary = Summary {
        train_cost: train.cost,
        train_acc: train.accuracy,
        val_cost: val.cost,
        val_acc: val.accuracy,
        test_cost: test.cost,
        test_acc: test.accuracy,
        epochs: trainer.epochs_done(),
        seconds: started.elapsed().as_secs_f64(),
        epoch_seconds_median: median(&epoch_seconds),
        status,
    };
    if print {
        println!(
            "test cost {:.4} acc {:.4} | {:.2} s of training steps ({} steps), {:.2} s in all",
            test.cost,
            test.accuracy,
            train_seconds,
            trainer.steps_done(),
            summary.seconds
        );
    }
    if let Some(dir) = out {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        crate::report::write_atomic(&dir.join("config.toml"), config.to_toml().as_bytes())?;
        crate::report::write_atomic(&dir.join("metrics.csv"), csv.as_bytes())?;
        let json = serde_json::to_string_pretty(&summary)?;
        crate::report::write_atomic(&dir.join("summary.json"), json.as_bytes())?;
    }
    if status == RunStatus::Diverged {
        bail!("the run diverged (a loss or weight is not finite); try a smaller η");
    }
    Ok(summary)
}

/// The ConvNets `trainviz bench` times: its name for `--nets`, and the layers.
pub const BENCH_NETS: [(&str, &str); 3] = [
    ("patchify", "patchify 4:10, relu, dense 50, relu"),
    ("patchify-wide", "patchify 4:40, relu, dense 300, relu"),
    (
        "vgg",
        "conv 3:32, relu, conv 3:32, relu, pool 2, conv 3:64, relu, conv 3:64, relu, pool 2, dense 256, relu",
    ),
];

/// The ConvNets' figures in `trainviz bench --json` (absent: not timed in this run).
/// `*_images_per_s` counts training steps alone (batch 100, after 20 warm-up steps), as the
/// PyTorch peer's `--time-only` does; `*_epoch_s` is one epoch of the full training set's
/// steps at that rate plus one evaluation of the training and validation sets (timed on
/// 2,000 of their images and scaled); `*_gflop_per_epoch` counts 2 FLOP per multiply-add of
/// those steps (forward, weight and input gradients; none for the first layer's input) and
/// of that evaluation; `*_share_of_peak` is the epoch's GFLOP/s over the machine's FMA peak.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ConvBenchReport {
    /// See the struct's doc.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patchify_epoch_s: Option<f64>,
    /// See the struct's doc.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patchify_gflop_per_epoch: Option<f64>,
    /// See the struct's doc.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patchify_share_of_peak: Option<f64>,
    /// See the struct's doc.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patchify_images_per_s: Option<f64>,
    /// See the struct's doc.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patchify_wide_epoch_s: Option<f64>,
    /// See the struct's doc.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patchify_wide_gflop_per_epoch: Option<f64>,
    /// See the struct's doc.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patchify_wide_share_of_peak: Option<f64>,
    /// See the struct's doc.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patchify_wide_images_per_s: Option<f64>,
    /// See the struct's doc.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vgg_epoch_s: Option<f64>,
    /// See the struct's doc.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vgg_gflop_per_epoch: Option<f64>,
    /// See the struct's doc.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vgg_share_of_peak: Option<f64>,
    /// See the struct's doc.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vgg_images_per_s: Option<f64>,
}

/// Checks `--nets` names against [`BENCH_NETS`].
pub fn check_bench_nets(names: &[String]) -> Result<()> {
    for n in names {
        if !BENCH_NETS.iter().any(|(name, _)| name == n) {
            let known: Vec<&str> = BENCH_NETS.iter().map(|(n, _)| *n).collect();
            bail!(
                "--nets: unknown net \"{n}\"; the nets are {}",
                known.join(", ")
            );
        }
    }
    Ok(())
}

/// Times the ConvNets named in `names` on `splits` (the full training set, batch 100) with
/// `steps` timed steps each, printing a line per net; `peak_gflops` is the machine's FMA peak.
pub fn bench_nets(
    base: &TrainConfig,
    splits: &Arc<data::Splits>,
    names: &[String],
    steps: usize,
    peak_gflops: f64,
) -> Result<ConvBenchReport> {
    let mut report = ConvBenchReport::default();
    for (name, text) in BENCH_NETS {
        if !names.iter().any(|n| n == name) {
            continue;
        }
        let config = TrainConfig {
            layers: text.to_string(),
            hidden: Vec::new(),
            batch: 100,
            init: crate::model::InitKind::He,
            lambda: 0.003,
            eta: 0.01,
            ..base.clone()
        };
        let mut t = StackTrainer::new(config, splits.clone(), None)?;
        for _ in 0..20 {
            t.step();
        }
        let started = Instant::now();
        for _ in 0..steps.max(1) {
            t.step();
        }
        let step_s = started.elapsed().as_secs_f64() / steps.max(1) as f64;
        let images_per_s = 100.0 / step_s;
        let sample = 2_000.min(splits.train.len());
        let started = Instant::now();
        std::hint::black_box(t.evaluate(&splits.train, Some(sample)));
        let evaluated = splits.train.len() + splits.val.len();
        let eval_s = started.elapsed().as_secs_f64() * evaluated as f64 / sample.max(1) as f64;
        let trained = splits.train.len();
        let epoch_s = trained as f64 / images_per_s + eval_s;
        let specs = layers::parse(text)?;
        let infos = layers::describe(&specs, image_shape_of(splits), splits.num_classes())?;
        let forward: f64 = infos.iter().map(|l| l.multiply_adds as f64).sum();
        let first = infos
            .iter()
            .find(|l| l.multiply_adds > 0)
            .map_or(0.0, |l| l.multiply_adds as f64);
        let gflop =
            2.0 * (trained as f64 * (3.0 * forward - first) + evaluated as f64 * forward) / 1e9;
        let share = gflop / epoch_s / peak_gflops;
        println!(
            "{name:<14} {images_per_s:>9.0} images/s in training steps | epoch {epoch_s:.2} s, {gflop:.1} GFLOP, {:.0} % of the FMA peak",
            100.0 * share
        );
        let slots = match name {
            "patchify" => (
                &mut report.patchify_epoch_s,
                &mut report.patchify_gflop_per_epoch,
                &mut report.patchify_share_of_peak,
                &mut report.patchify_images_per_s,
            ),
            "patchify-wide" => (
                &mut report.patchify_wide_epoch_s,
                &mut report.patchify_wide_gflop_per_epoch,
                &mut report.patchify_wide_share_of_peak,
                &mut report.patchify_wide_images_per_s,
            ),
            _ => (
                &mut report.vgg_epoch_s,
                &mut report.vgg_gflop_per_epoch,
                &mut report.vgg_share_of_peak,
                &mut report.vgg_images_per_s,
            ),
        };
        *slots.0 = Some(epoch_s);
        *slots.1 = Some(gflop);
        *slots.2 = Some(share);
        *slots.3 = Some(images_per_s);
    }
    Ok(report)
}

fn image_shape_of(splits: &data::Splits) -> Shape {
    crate::train::stack_trainer::image_shape(splits)
}
