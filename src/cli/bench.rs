//! `trainviz bench`: times training here beside the NumPy reference, per thread count.

use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::data::{self, SplitKind};

use super::args::BenchArgs;
use super::numpy::time_reference;
use super::stack;
use crate::train::TrainConfig;

/// The figures of one `trainviz bench` run, printed as JSON with `--json`. Times are the
/// median seconds per epoch over the run's epochs; GFLOP counts the multiply-adds ×2 of the
/// steps and of the per-epoch evaluation (training and validation sets).
#[derive(Debug, Clone, serde::Serialize)]
pub struct BenchReport {
    /// Linear classifier, full set, batch 100.
    pub linear_epoch_s: f64,
    /// MLP with 50 ReLU units (the mlp-relu preset: cyclic η), full set, batch 100.
    pub mlp_epoch_s: f64,
    /// The same MLP with batch norm.
    pub mlp_batch_norm_epoch_s: f64,
    /// The same MLP trained by Adam.
    pub mlp_adam_epoch_s: f64,
    /// The NumPy reference (float32) in the linear setting; none with `--no-reference`.
    pub numpy_linear_epoch_s: Option<f64>,
    /// The NumPy reference in the MLP setting.
    pub numpy_mlp_epoch_s: Option<f64>,
    /// FLOP of a linear epoch, in units of 10⁹.
    pub linear_gflop_per_epoch: f64,
    /// FLOP of an MLP epoch, in units of 10⁹.
    pub mlp_gflop_per_epoch: f64,
    /// The achieved GFLOP/s as a share of `peak_fma_gflops`.
    pub linear_share_of_peak: f64,
    /// See `linear_share_of_peak`.
    pub mlp_share_of_peak: f64,
    /// One evaluation of the linear classifier on the training set, seconds.
    pub evaluation_pass_s: f64,
    /// The machine's measured f32 multiply-add rate on all cores, GFLOP/s.
    pub peak_fma_gflops: f64,
    /// The machine's measured rate of reading memory on all cores, GB/s.
    pub peak_read_gbs: f64,
    /// Threads the epochs above were trained with (`--threads`, else one per core).
    pub threads: usize,
    /// The machine's cores.
    pub cores: usize,
    /// The register tiles that ran: "avx512", "avx2" or "scalar".
    pub kernels: &'static str,
    /// The linear and MLP epochs again with 1 thread and with one per core (the same
    /// median over the run's epochs).
    pub scaling: Vec<ThreadTiming>,
    /// The process's largest resident memory while training (Linux), MB.
    pub peak_memory_mb: Option<f64>,
    /// The ConvNets' figures.
    #[serde(flatten)]
    pub convnets: stack::ConvBenchReport,
}

/// Epoch times of the linear classifier and the MLP(50) with a given number of threads.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ThreadTiming {
    /// Threads used.
    pub threads: usize,
    /// Linear classifier, seconds per epoch.
    pub linear_epoch_s: f64,
    /// MLP(50), seconds per epoch.
    pub mlp_epoch_s: f64,
}

/// The largest resident set of this process so far, MB (Linux's `VmHWM`).
pub(super) fn peak_memory_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Times `epochs` epochs of `config`; returns the median seconds per epoch and the GFLOP of
/// an epoch (multiply-adds ×2 of the steps and of the evaluation of the training and
/// validation sets).
pub(super) fn time_trainviz(
    config: &TrainConfig,
    splits: &std::sync::Arc<data::Splits>,
) -> Result<(f64, f64)> {
    let mut t = crate::train::Trainer::new(config.clone(), splits.clone(), None)?;
    let mut secs = Vec::new();
    for _ in 0..config.epochs {
        let m = t.run_epoch();
        secs.push(m.seconds);
    }
    let (trained, evaluated) = (splits.train.len(), splits.train.len() + splits.val.len());
    let gflop = 2.0 * t.network().multiply_adds_per_epoch(trained, evaluated) / 1e9;
    Ok((crate::train::metrics::median(&secs), gflop))
}

/// The benchmark's linear setting: the full CIFAR-10 training set, batch 100.
pub fn bench_linear_config(b: &BenchArgs) -> Result<TrainConfig> {
    let dir = match &b.data {
        Some(d) => d.clone(),
        None => data::default_cifar_dir()
            .context("CIFAR-10 not found: pass --data DIR or set TRAINVIZ_CIFAR10")?,
    };
    Ok(TrainConfig {
        data: Some(dir),
        split: SplitKind::All,
        epochs: b.epochs,
        ..Default::default()
    })
}

/// `trainviz bench`: loads the training set, then either times the ConvNets `--nets` names
/// alone or the whole benchmark (the settings beside NumPy, one evaluation pass, the thread
/// scaling, the machine's peaks and every ConvNet), printing as it goes and the report as
/// JSON with `--json`.
pub(super) fn bench(b: &BenchArgs, threads: Option<usize>) -> Result<()> {
    if b.ui_epochs.is_some() || b.ui_while_training.is_some() {
        bail!("the window's benchmarks run from the trainviz program, not the library");
    }
    let started = Instant::now();
    let cores = crate::train::cores();
    let threads = threads.unwrap_or_else(crate::train::default_threads);
    let linear = TrainConfig {
        threads: Some(threads),
        ..bench_linear_config(b)?
    };
    linear.validate()?;
    println!(
        "{threads} threads on {cores} cores, {} kernels",
        crate::model::kernels::kernel_name()
    );
    if let Some(nets) = &b.nets {
        stack::check_bench_nets(nets)?;
    }
    let dir = linear.data.clone().unwrap_or_default();
    let splits = std::sync::Arc::new(data::load(&linear.data_request())?);
    println!(
        "loaded {} training images in {:.2} s",
        splits.train.len(),
        started.elapsed().as_secs_f64()
    );
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if let Some(nets) = &b.nets {
        return bench_nets_only(b, &linear, &splits, nets, cores);
    }
    let [mlp, mlp_bn, mlp_adam] = mlp_configs(b, &linear)?;
    // The last two have no NumPy counterpart: they show what batch norm and a stateful
    // optimiser add to the MLP's epoch.
    let cases: [(&str, &TrainConfig, Option<&[&str]>); 4] = [
        ("linear, full set, batch 100", &linear, Some(&[])),
        (
            "MLP 50 ReLU, full set, batch 100",
            &mlp,
            Some(&[
                "--hidden", "50", "--lam", "0.005", "--cyclic", "1e-5", "0.1", "980",
            ]),
        ),
        ("MLP 50 ReLU + batch norm", &mlp_bn, None),
        ("MLP 50 ReLU, Adam", &mlp_adam, None),
    ];
    let timed = time_cases(b, &dir, &splits, &cases)?;
    let eval = time_evaluation(&linear, &splits)?;
    let scaling = thread_scaling(&linear, &mlp, &splits, &timed.ours, threads, cores)?;
    let bytes = splits.train.pixels.len() as f64;
    println!(
        "evaluation pass alone (linear, {} images): {eval:.4} s, {:.2} GB/s of u8 pixels, {:.2} GFLOP/s",
        splits.train.len(),
        bytes / eval / 1e9,
        2.0 * bytes * 10.0 / eval / 1e9
    );
    // Before the peak measurement, whose 256 MB buffer is not training's.
    let peak_memory = peak_memory_mb();
    let peaks = crate::model::kernels::measure_peaks(cores);
    let all: Vec<String> = stack::BENCH_NETS
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    let convnets = stack::bench_nets(&linear, &splits, &all, b.steps, peaks.gflops)?;
    println!(
        "machine peaks with {cores} threads: {:.1} GFLOP/s f32 multiply-add, {:.1} GB/s reading memory",
        peaks.gflops, peaks.read_gb_per_s
    );
    let (ours, theirs, gflops) = (&timed.ours, &timed.theirs, &timed.gflops);
    let (linear_gflop, mlp_gflop) = (gflops[0], gflops[1]);
    let share = |gflop: f64, seconds: f64| gflop / seconds / peaks.gflops;
    let report = BenchReport {
        linear_epoch_s: ours[0],
        mlp_epoch_s: ours[1],
        mlp_batch_norm_epoch_s: ours[2],
        mlp_adam_epoch_s: ours[3],
        numpy_linear_epoch_s: theirs[0],
        numpy_mlp_epoch_s: theirs[1],
        linear_gflop_per_epoch: linear_gflop,
        mlp_gflop_per_epoch: mlp_gflop,
        linear_share_of_peak: share(linear_gflop, ours[0]),
        mlp_share_of_peak: share(mlp_gflop, ours[1]),
        evaluation_pass_s: eval,
        peak_fma_gflops: peaks.gflops,
        peak_read_gbs: peaks.read_gb_per_s,
        threads,
        cores,
        kernels: crate::model::kernels::kernel_name(),
        scaling,
        peak_memory_mb: peak_memory,
        convnets,
    };
    print_summary(&report);
    if b.json {
        println!("{}", serde_json::to_string(&report)?);
    }
    Ok(())
}

/// `trainviz bench --nets …`: only the named ConvNets, with the machine's peak.
fn bench_nets_only(
    b: &BenchArgs,
    linear: &TrainConfig,
    splits: &std::sync::Arc<data::Splits>,
    nets: &[String],
    cores: usize,
) -> Result<()> {
    let peaks = crate::model::kernels::measure_peaks(cores);
    let report = stack::bench_nets(linear, splits, nets, b.steps, peaks.gflops)?;
    println!(
        "machine peak with {cores} threads: {:.1} GFLOP/s f32 multiply-add",
        peaks.gflops
    );
    if b.json {
        println!("{}", serde_json::to_string(&report)?);
    }
    Ok(())
}

/// The MLP settings beside the linear one: the reference's MLP (the mlp-relu preset), the
/// same with batch norm, and trained by Adam.
fn mlp_configs(b: &BenchArgs, linear: &TrainConfig) -> Result<[TrainConfig; 3]> {
    let mlp = TrainConfig {
        epochs: b.epochs,
        ..crate::runs::presets::find("mlp-relu")
            .context("the mlp-relu preset")?
            .config(linear)
            .map_err(anyhow::Error::msg)?
    };
    let mlp_bn = TrainConfig {
        batch_norm: true,
        ..mlp.clone()
    };
    let mlp_adam = TrainConfig {
        optimizer: crate::train::OptimizerKind::Adam,
        ..mlp.clone()
    };
    Ok([mlp, mlp_bn, mlp_adam])
}

/// What [`time_cases`] measured, one entry per case in its order.
struct CaseTimes {
    /// trainviz's median seconds per epoch.
    ours: Vec<f64>,
    /// GFLOP of an epoch.
    gflops: Vec<f64>,
    /// The NumPy reference's seconds per epoch, where it has the case and was run.
    theirs: Vec<Option<f64>>,
}

/// Times each (name, settings, the reference's flags) case here and, where it has flags and
/// `--no-reference` is not given, in the NumPy reference; prints a table row per case.
fn time_cases(
    b: &BenchArgs,
    dir: &std::path::Path,
    splits: &std::sync::Arc<data::Splits>,
    cases: &[(&str, &TrainConfig, Option<&[&str]>)],
) -> Result<CaseTimes> {
    println!(
        "{:<34} {:>12} {:>12} {:>8}",
        "setting", "trainviz s", "numpy32 s", "ratio"
    );
    let mut times = CaseTimes {
        ours: Vec::new(),
        gflops: Vec::new(),
        theirs: Vec::new(),
    };
    for &(name, config, extra) in cases {
        let (seconds, gflop) = time_trainviz(config, splits)?;
        times.ours.push(seconds);
        times.gflops.push(gflop);
        let Some(extra) = extra.filter(|_| !b.no_reference) else {
            println!("{name:<34} {seconds:>12.4} {:>12} {:>8}", "-", "-");
            times.theirs.push(None);
            continue;
        };
        let reference = time_reference(b, dir, extra)?;
        println!(
            "{name:<34} {seconds:>12.4} {reference:>12.4} {:>7.1}×",
            reference / seconds
        );
        times.theirs.push(Some(reference));
    }
    Ok(times)
}

/// Seconds of one evaluation of the linear classifier on the training set (mean of five).
fn time_evaluation(linear: &TrainConfig, splits: &std::sync::Arc<data::Splits>) -> Result<f64> {
    let t = crate::train::Trainer::new(linear.clone(), splits.clone(), None)?;
    let reps = 5;
    let started = Instant::now();
    for _ in 0..reps {
        std::hint::black_box(t.evaluate(crate::train::Subset::Train));
    }
    Ok(started.elapsed().as_secs_f64() / reps as f64)
}

/// The linear and MLP epochs with 1 thread and with one per core, for the scaling; the
/// count the main cases ran with reuses their times (`ours`: linear first, MLP second).
fn thread_scaling(
    linear: &TrainConfig,
    mlp: &TrainConfig,
    splits: &std::sync::Arc<data::Splits>,
    ours: &[f64],
    threads: usize,
    cores: usize,
) -> Result<Vec<ThreadTiming>> {
    let mut scaling = Vec::new();
    let mut counts = vec![1, cores];
    counts.dedup();
    for n in counts {
        let (linear_epoch_s, mlp_epoch_s) = if n == threads {
            (ours[0], ours[1])
        } else {
            let with = |c: &TrainConfig| TrainConfig {
                threads: Some(n),
                ..c.clone()
            };
            (
                time_trainviz(&with(linear), splits)?.0,
                time_trainviz(&with(mlp), splits)?.0,
            )
        };
        println!("{n} thread(s): linear {linear_epoch_s:.4} s, MLP {mlp_epoch_s:.4} s per epoch");
        scaling.push(ThreadTiming {
            threads: n,
            linear_epoch_s,
            mlp_epoch_s,
        });
    }
    Ok(scaling)
}

/// The closing line: each epoch's GFLOP and share of the peak, and the peak memory.
fn print_summary(report: &BenchReport) {
    println!(
        "linear epoch: {:.2} GFLOP, {:.0} % of the FMA peak; MLP epoch: {:.2} GFLOP, {:.0} %; peak memory {}",
        report.linear_gflop_per_epoch,
        100.0 * report.linear_share_of_peak,
        report.mlp_gflop_per_epoch,
        100.0 * report.mlp_share_of_peak,
        report
            .peak_memory_mb
            .map_or("unknown".to_string(), |mb| format!("{mb:.0} MB"))
    );
}
