//! The command line: `trainviz train`, `gradcheck`, `bench`, and the app's own flags.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};

use crate::data::{self, DatasetKind, Normalizer, Preprocess, SplitKind};
use crate::model::{Activation, InitKind, LossKind};
use crate::report::PngSize;
use crate::train::{Event, OptimizerKind, ScheduleKind, Summary, TrainConfig, WorkerHandle};

/// trainviz: watch a classifier learn. Without a subcommand, opens the window.
#[derive(Debug, Parser)]
#[command(name = "trainviz", version, about)]
pub struct Cli {
    /// What to do; nothing opens the app.
    #[command(subcommand)]
    pub command: Option<CliCommand>,
    /// Settings for the app's first run (same flags as `train`).
    #[command(flatten)]
    pub app: TrainArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Train headless, print one line per epoch, optionally write results to --out.
    Train {
        /// Settings.
        #[command(flatten)]
        args: TrainArgs,
        /// Directory for config.toml, metrics.csv and summary.json.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also write the report into --out: every figure as PNG, SVG and CSV under
        /// figures/, report.md, results.csv and results.tex.
        #[arg(long, requires = "out")]
        figures: bool,
        /// Width of PNG figures, inches.
        #[arg(long, default_value_t = 6.4)]
        figure_width: f64,
        /// Resolution of PNG figures, dots per inch.
        #[arg(long, default_value_t = 300.0)]
        dpi: f64,
        /// Where runs are saved (default: $TRAINVIZ_RUNS or runs/).
        #[arg(long)]
        runs: Option<PathBuf>,
        /// Do not save the run under runs/.
        #[arg(long)]
        no_save: bool,
    },
    /// Run a sweep (grid or random search) from the sweep file given with --config; finished
    /// points are kept, so running it again resumes. Prints the results table.
    Sweep {
        /// Where the sweep's runs go (default: $TRAINVIZ_RUNS or runs/), under sweeps/NAME.
        #[arg(long)]
        runs: Option<PathBuf>,
    },
    /// Evaluate a saved run's weights on the test set.
    Eval {
        /// The run's folder (under runs/).
        run: PathBuf,
    },
    /// List the presets.
    Presets,
    /// Download a data set (resumable, checked against its published MD5).
    Download {
        /// Which: only cifar10 for now.
        #[arg(value_parser = ["cifar10"])]
        what: String,
        /// Folder the data set goes into.
        #[arg(long, default_value = "data")]
        dir: PathBuf,
        /// Address to fetch instead of the official one (e.g. a mirror).
        #[arg(long)]
        url: Option<String>,
        /// The MD5 to expect with --url.
        #[arg(long)]
        md5: Option<String>,
    },
    /// Compare analytic and numerical gradients on a small subset.
    Gradcheck {
        /// Settings (model, loss, data).
        #[command(flatten)]
        args: TrainArgs,
        /// Largest relative error allowed.
        #[arg(long, default_value_t = 1e-6)]
        tol: f64,
        /// Images used.
        #[arg(long, default_value_t = 10)]
        samples: usize,
        /// Input dimensions used (the first ones of each image).
        #[arg(long, default_value_t = 100)]
        dims: usize,
    },
    /// Time training epochs beside the NumPy reference and print the ratio.
    Bench(BenchArgs),
}

/// Every training setting as an optional flag; unset flags keep the config file's or the
/// default value.
#[derive(Debug, Args, Default, Clone)]
pub struct TrainArgs {
    /// TOML file with settings (same keys as the flags, underscores for dashes).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Data directory (CIFAR-10 or Fashion-MNIST files).
    #[arg(long, global = true)]
    pub data: Option<PathBuf>,
    /// Data set; default: CIFAR-10 when found, else the built-in synthetic set.
    #[arg(long, value_enum, global = true)]
    pub dataset: Option<DatasetKind>,
    /// classic: batch 1 / batch 2; all: all batches minus --val.
    #[arg(long, value_enum, global = true)]
    pub split: Option<SplitKind>,
    /// Validation images for --split all.
    #[arg(long, global = true)]
    pub val: Option<usize>,
    /// Use at most N training images.
    #[arg(long, global = true)]
    pub train_limit: Option<usize>,
    /// Input normalisation.
    #[arg(long, value_enum, global = true)]
    pub preprocess: Option<Preprocess>,
    /// Epochs.
    #[arg(long, global = true)]
    pub epochs: Option<usize>,
    /// Mini-batch size.
    #[arg(long, global = true)]
    pub batch: Option<usize>,
    /// Learning rate η.
    #[arg(long, global = true)]
    pub eta: Option<f64>,
    /// L2 strength λ.
    #[arg(long = "lambda", global = true)]
    pub lambda: Option<f64>,
    /// Loss: ce (softmax cross-entropy), bce (sigmoids), svm (hinge).
    #[arg(long, value_enum, global = true)]
    pub loss: Option<LossKind>,
    /// Learning-rate schedule.
    #[arg(long, value_enum, global = true)]
    pub schedule: Option<ScheduleKind>,
    /// Per-epoch factor of the exp schedule.
    #[arg(long, global = true)]
    pub decay: Option<f64>,
    /// Epochs between drops of the step schedule.
    #[arg(long, global = true)]
    pub step_every: Option<usize>,
    /// Factor of each drop of the step schedule.
    #[arg(long, global = true)]
    pub step_factor: Option<f64>,
    /// Lowest η of the cyclic schedule.
    #[arg(long, global = true)]
    pub eta_min: Option<f64>,
    /// Highest η of the cyclic schedule.
    #[arg(long, global = true)]
    pub eta_max: Option<f64>,
    /// Half-cycle of the cyclic schedule, in steps.
    #[arg(long, global = true)]
    pub half_cycle: Option<usize>,
    /// Probability of a horizontal flip per training image.
    #[arg(long, global = true)]
    pub flip: Option<f64>,
    /// Keep the training order fixed.
    #[arg(long, global = true)]
    pub no_shuffle: bool,
    /// Weight initialisation.
    #[arg(long, value_enum, global = true)]
    pub init: Option<InitKind>,
    /// σ of the gaussian initialisation.
    #[arg(long, global = true)]
    pub sigma: Option<f64>,
    /// Hidden-layer widths, e.g. 50 or 50,50 (empty: linear classifier).
    #[arg(long, value_delimiter = ',', global = true)]
    pub hidden: Option<Vec<usize>>,
    /// Activation of hidden layers.
    #[arg(long, value_enum, global = true)]
    pub activation: Option<Activation>,
    /// Random seed.
    #[arg(long, global = true)]
    pub seed: Option<u64>,
    /// Side of the square images an image folder is resized to (8–128).
    #[arg(long, global = true)]
    pub image_size: Option<usize>,
    /// Batch normalisation after every hidden layer's linear part.
    #[arg(long, global = true)]
    pub batch_norm: bool,
    /// Update rule: sgd, momentum, nesterov, rmsprop or adam.
    #[arg(long, value_enum, global = true)]
    pub optimizer: Option<OptimizerKind>,
    /// μ of the momentum and Nesterov optimisers (default 0.9).
    #[arg(long, global = true)]
    pub momentum: Option<f64>,
    /// β₁ of Adam (default 0.9).
    #[arg(long, global = true)]
    pub beta1: Option<f64>,
    /// β₂ of Adam and RMSProp's decay (default 0.999).
    #[arg(long, global = true)]
    pub beta2: Option<f64>,
    /// ε of RMSProp and Adam (default 1e-8).
    #[arg(long, global = true)]
    pub eps: Option<f64>,
    /// Probability of dropping a hidden unit's output while training (inverted dropout).
    #[arg(long, global = true)]
    pub dropout: Option<f64>,
    /// Start from a preset of the course's settings (see `trainviz presets`); the config
    /// file and flags override it.
    #[arg(long, global = true)]
    pub preset: Option<String>,
}

impl TrainArgs {
    /// The settings: defaults, then the preset, then the config file, then the flags.
    pub fn resolve(&self) -> Result<TrainConfig> {
        let mut start = TrainConfig::default();
        if let Some(name) = &self.preset {
            let preset = crate::runs::presets::find(name).with_context(|| {
                format!(
                    "unknown preset {name:?}; presets: {}",
                    crate::runs::presets::names()
                )
            })?;
            start = preset
                .apply(&start)
                .map_err(|e| anyhow::anyhow!("preset {name}: {e}"))?;
        }
        let (mut c, file_sets_dataset) = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read config file {}", path.display()))?;
                let table: toml::Table = toml::from_str(&text)
                    .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.message()))?;
                let c = start
                    .with_overrides(&table)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
                (c, table.contains_key("dataset"))
            }
            None => (start, false),
        };
        macro_rules! set {
            ($($field:ident),*) => { $( if let Some(v) = &self.$field { c.$field = v.clone(); } )* };
        }
        set!(
            split, val, preprocess, epochs, batch, eta, lambda, loss, schedule, decay
        );
        set!(
            step_every,
            step_factor,
            eta_min,
            eta_max,
            half_cycle,
            flip,
            init,
            sigma,
            hidden
        );
        set!(activation, seed, image_size);
        set!(optimizer, momentum, beta1, beta2, eps, dropout);
        if self.batch_norm {
            c.batch_norm = true;
        }
        if self.train_limit.is_some() {
            c.train_limit = self.train_limit;
        }
        if self.data.is_some() {
            c.data = self.data.clone();
        }
        if self.no_shuffle {
            c.shuffle = false;
        }
        c.dataset = match self.dataset {
            Some(d) => d,
            None if file_sets_dataset => c.dataset,
            None if c.data.is_some() => {
                data::detect_kind(c.data.as_deref().unwrap_or(Path::new(".")))
            }
            None if data::default_cifar_dir().is_some() => DatasetKind::Cifar10,
            None => DatasetKind::Synthetic,
        };
        c.validate()?;
        Ok(c)
    }
}

/// Options of `trainviz bench`.
#[derive(Debug, Args, Clone)]
pub struct BenchArgs {
    /// CIFAR-10 directory (default: $TRAINVIZ_CIFAR10 or data/).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Epochs per measurement (the median is reported).
    #[arg(long, default_value_t = 5)]
    pub epochs: usize,
    /// The NumPy reference trainer.
    #[arg(long, default_value = "../shared/bench/ref_numpy.py")]
    pub reference: PathBuf,
    /// Python interpreter for the reference.
    #[arg(long, default_value = "python3")]
    pub python: String,
    /// Skip the reference (only time trainviz).
    #[arg(long)]
    pub no_reference: bool,
    /// Instead of training, time building the window's frame with this many epochs of
    /// history.
    #[arg(long)]
    pub ui_epochs: Option<usize>,
    /// Instead of timing epochs, time the window's frames for this many seconds while its
    /// worker trains the linear classifier on the full set.
    #[arg(long, value_name = "SECONDS")]
    pub ui_while_training: Option<f64>,
}

/// Runs a subcommand; `global` holds the settings flags given before or after it.
pub fn run(command: CliCommand, global: &TrainArgs) -> Result<()> {
    match command {
        CliCommand::Sweep { runs } => sweep_cmd(global, runs),
        CliCommand::Eval { run } => eval_cmd(&run),
        CliCommand::Download { dir, url, md5, .. } => download_cmd(dir, url, md5),
        CliCommand::Presets => {
            for p in crate::runs::presets::PRESETS {
                println!("{:<22} {}", p.name, p.label);
            }
            Ok(())
        }
        CliCommand::Train {
            args,
            out,
            figures,
            figure_width,
            dpi,
            runs,
            no_save,
        } => {
            let config = args.resolve()?;
            let figures = figures.then_some(PngSize {
                width_inches: figure_width,
                dpi,
            });
            if let Some(size) = &figures {
                size.validate()?;
            }
            let runs = (!no_save).then(|| runs.unwrap_or_else(crate::runs::default_runs_dir));
            train(config, out.as_deref(), true, figures, runs).map(|_| ())
        }
        CliCommand::Gradcheck {
            args,
            tol,
            samples,
            dims,
        } => gradcheck_cmd(&args.resolve()?, tol, samples, dims),
        CliCommand::Bench(b) => bench(&b),
    }
}

/// Trains with `config` on a worker thread, printing one line per epoch when `print` is set
/// and writing the results to `out`. Returns the summary.
/// With `figures`, the report goes into `out` as well (see [`crate::report::export_report`]);
/// with `runs`, the run is saved there (see [`crate::runs`]).
pub fn train(
    config: TrainConfig,
    out: Option<&Path>,
    print: bool,
    figures: Option<PngSize>,
    runs: Option<PathBuf>,
) -> Result<Summary> {
    if let Some(dir) = out {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        crate::report::write_atomic(&dir.join("config.toml"), config.to_toml().as_bytes())?;
    }
    let mut csv = String::from(
        "epoch,eta,lambda,train_loss,train_cost,train_acc,val_loss,val_cost,val_acc,seconds\n",
    );
    let worker = WorkerHandle::spawn_saving(None, runs);
    worker.send(crate::train::Command::Reset(Box::new(config.clone())));
    worker.send(crate::train::Command::Start);
    let epochs = config.epochs;
    let mut info = None;
    let mut history = Vec::new();
    let mut network = None;
    let mut test = None;
    for event in worker.events().iter() {
        match event {
            Event::Weights { network: n, .. } => network = Some(n),
            Event::Saved { dir, .. } if print => println!("saving the run in {}", dir.display()),
            Event::Test { eval, .. } => test = Some(eval),
            Event::Ready { info: i, .. } => {
                info = Some(i.clone());
                if !print {
                    continue;
                }
                let info = i;
                println!(
                    "{}: {} training, {} validation, {} test images; {}",
                    info.dataset,
                    info.sizes[0],
                    info.sizes[1],
                    info.sizes[2],
                    config.describe_model()
                );
            }
            Event::Epoch { metrics: m, .. } => {
                if print {
                    println!(
                        "epoch {:>3}/{epochs}  train cost {:.4} acc {:.4} | val cost {:.4} acc {:.4} | η {:.2e} | {:.3} s",
                        m.epoch,
                        m.train.cost,
                        m.train.accuracy,
                        m.val.cost,
                        m.val.accuracy,
                        m.eta,
                        m.seconds
                    );
                }
                csv.push_str(&format!(
                    "{},{},{},{},{},{},{},{},{},{}\n",
                    m.epoch,
                    m.eta,
                    m.lambda,
                    m.train.loss,
                    m.train.cost,
                    m.train.accuracy,
                    m.val.loss,
                    m.val.cost,
                    m.val.accuracy,
                    m.seconds
                ));
                if let Some(dir) = out {
                    crate::report::write_atomic(&dir.join("metrics.csv"), csv.as_bytes())?;
                }
                history.push(*m);
            }
            Event::Finished { summary, .. } => {
                if print {
                    println!(
                        "test cost {:.4} acc {:.4} | {:.2} s in all, median {:.4} s per epoch",
                        summary.test_cost,
                        summary.test_acc,
                        summary.seconds,
                        summary.epoch_seconds_median
                    );
                }
                if let Some(dir) = out {
                    let json = serde_json::to_string_pretty(&*summary)?;
                    crate::report::write_atomic(&dir.join("summary.json"), json.as_bytes())?;
                    if let (Some(size), Some(info)) = (figures, &info) {
                        let record = crate::report::RunRecord {
                            info,
                            history: &history,
                            network: network.as_deref(),
                            test: test.as_deref(),
                        };
                        let files = crate::report::export_report(&record, dir, size)?;
                        if print {
                            println!(
                                "wrote {} report files; open {}",
                                files.len(),
                                dir.join("report.md").display()
                            );
                        }
                    }
                }
                return Ok(*summary);
            }
            Event::Diverged { message, .. } | Event::Error { message, .. } => bail!(message),
            _ => {}
        }
    }
    bail!("the training worker stopped unexpectedly")
}

fn download_cmd(dir: PathBuf, url: Option<String>, md5: Option<String>) -> Result<()> {
    let mut spec = data::download::DownloadSpec::cifar10(dir);
    if let Some(u) = url {
        spec.url = u;
    }
    if let Some(m) = md5 {
        spec.md5 = m;
    }
    println!("downloading {} into {}", spec.url, spec.dir.display());
    let cancel = std::sync::atomic::AtomicBool::new(false);
    let mut shown = u64::MAX;
    let result = data::download::download(&spec, &cancel, |got, total| {
        // One update per percent (or per MB when the size is unknown).
        let step = (got * 100).checked_div(total).unwrap_or(got >> 20);
        if step != shown {
            shown = step;
            if total > 0 {
                eprint!(
                    "\r  {:>6.1} / {:.1} MB ({step:>3} %)",
                    got as f64 / 1e6,
                    total as f64 / 1e6
                );
            } else {
                eprint!("\r  {:>6.1} MB", got as f64 / 1e6);
            }
        }
    });
    eprintln!();
    let dir = result?;
    println!("CIFAR-10 is ready in {}", dir.display());
    Ok(())
}

fn sweep_cmd(global: &TrainArgs, runs: Option<PathBuf>) -> Result<()> {
    let file = global
        .config
        .clone()
        .context("give the sweep file with --config sweep.toml")?;
    // The other flags (e.g. --data) set the base every point starts from.
    let base = TrainArgs {
        config: None,
        ..global.clone()
    }
    .resolve()?;
    let root = runs.unwrap_or_else(crate::runs::default_runs_dir);
    let sweep = crate::runs::sweep::prepare(&file, &base, &root).map_err(anyhow::Error::msg)?;
    println!(
        "sweep of {} points in {}, {} at a time",
        sweep.points.len(),
        sweep.dir.display(),
        sweep.parallel
    );
    let stop = std::sync::atomic::AtomicBool::new(false);
    let failures = std::sync::Mutex::new(Vec::new());
    let report = |e: crate::runs::sweep::SweepEvent| {
        use crate::runs::sweep::SweepEvent;
        match e {
            SweepEvent::Started { id } => println!("{id}: training"),
            SweepEvent::Epoch { .. } => {}
            SweepEvent::Done(r) => println!(
                "{}: {} best val {:.2} %, test {:.2} %",
                r.id,
                if r.reused { "saved before," } else { "done," },
                100.0 * r.best_val_acc,
                100.0 * r.summary.test_acc
            ),
            SweepEvent::Failed { id, message } => {
                eprintln!("{id}: failed: {message}");
                failures
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(id);
            }
        }
    };
    let results = crate::runs::sweep::run(&sweep, &stop, &report);
    println!("\n{}", crate::runs::sweep::table(&results));
    let failed = failures
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !failed.is_empty() {
        bail!("{} of {} points failed", failed.len(), sweep.points.len());
    }
    Ok(())
}

fn eval_cmd(dir: &Path) -> Result<()> {
    let saved = crate::runs::SavedRun::load(dir)?;
    let net = saved.weights()?;
    let data = std::sync::Arc::new(data::load(&saved.config.data_request())?);
    let mut t = crate::train::Trainer::new(saved.config.clone(), data, None)?;
    if net.input_dim() != t.network().input_dim() || net.classes() != t.network().classes() {
        bail!("the saved weights do not fit the run's data");
    }
    let epochs = saved.history.len();
    t.restore(net, saved.history);
    let test = t.evaluate(crate::train::Subset::Test);
    println!(
        "{} ({} epochs): test cost {:.4}, loss {:.4}, accuracy {:.2} % of {} images",
        saved.meta.name,
        epochs,
        test.cost,
        test.loss,
        100.0 * test.accuracy,
        test.count
    );
    Ok(())
}

fn gradcheck_cmd(config: &TrainConfig, tol: f64, samples: usize, dims: usize) -> Result<()> {
    let splits = data::load(&config.data_request())?;
    let norm = Normalizer::fit(&splits.train, config.preprocess);
    let n = samples.clamp(1, splits.train.len());
    let d = dims.clamp(1, splits.shape().dim());
    println!(
        "gradient check on {n} {} images, first {d} dimensions: {}",
        splits.name,
        config.describe_model()
    );
    let report = crate::train::analysis::gradient_check(config, &splits, &norm, n, d);
    let mut worst = 0.0f64;
    for p in &report {
        println!(
            "{:>4} ({:>6} values): max rel error {:.3e}, mean {:.3e}",
            p.name, p.count, p.max_rel_error, p.mean_rel_error
        );
        worst = worst.max(p.max_rel_error);
    }
    if worst > tol || worst.is_nan() {
        bail!("gradient check failed: largest relative error {worst:.3e} exceeds {tol:.1e}");
    }
    println!("ok: largest relative error {worst:.3e} ≤ {tol:.1e}");
    Ok(())
}

/// Times `epochs` epochs of `config`; returns the median seconds per epoch.
fn time_trainviz(
    config: &TrainConfig,
    splits: &std::sync::Arc<data::Splits>,
) -> Result<(f64, f64)> {
    let mut t = crate::train::Trainer::new(config.clone(), splits.clone(), None)?;
    let mut secs = Vec::new();
    for _ in 0..config.epochs {
        let m = t.run_epoch();
        secs.push(m.seconds);
    }
    let acc = t
        .history()
        .last()
        .map(|m| m.val.accuracy)
        .unwrap_or(f64::NAN);
    Ok((crate::train::metrics::median(&secs), acc))
}

fn time_reference(b: &BenchArgs, dir: &Path, extra: &[&str]) -> Result<f64> {
    let mut cmd = std::process::Command::new(&b.python);
    cmd.arg(&b.reference)
        .arg(dir)
        .args(["--full", "--dtype", "float32", "--epochs"])
        .arg(b.epochs.to_string())
        .args(extra);
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {} {}", b.python, b.reference.display()))?;
    if !out.status.success() {
        bail!(
            "the NumPy reference failed (is numpy installed? `pip install numpy`): {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let json: serde_json::Value = serde_json::from_str(text.lines().last().unwrap_or(""))
        .context("the NumPy reference printed no JSON line")?;
    json["epoch_s_median"]
        .as_f64()
        .context("the NumPy reference's JSON has no epoch_s_median")
}

fn bench(b: &BenchArgs) -> Result<()> {
    if let Some(epochs) = b.ui_epochs {
        return crate::ui::bench::frame_benchmark(epochs, 100);
    }
    let dir = match &b.data {
        Some(d) => d.clone(),
        None => data::default_cifar_dir()
            .context("CIFAR-10 not found: pass --data DIR or set TRAINVIZ_CIFAR10")?,
    };
    let started = Instant::now();
    let linear = TrainConfig {
        data: Some(dir.clone()),
        split: SplitKind::All,
        epochs: b.epochs,
        ..Default::default()
    };
    if let Some(seconds) = b.ui_while_training {
        let config = TrainConfig {
            epochs: 1000,
            ..linear
        };
        return crate::ui::bench::frames_while_training(config, seconds);
    }
    let splits = std::sync::Arc::new(data::load(&linear.data_request())?);
    println!(
        "loaded {} training images in {:.2} s",
        splits.train.len(),
        started.elapsed().as_secs_f64()
    );
    // The reference's MLP setting is the mlp-relu preset.
    let mlp = TrainConfig {
        epochs: b.epochs,
        ..crate::runs::presets::find("mlp-relu")
            .context("the mlp-relu preset")?
            .apply(&linear)
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
    println!(
        "{:<34} {:>12} {:>12} {:>8}",
        "setting", "trainviz s", "numpy32 s", "ratio"
    );
    for (name, config, extra) in cases {
        let (ours, _) = time_trainviz(config, &splits)?;
        let Some(extra) = extra.filter(|_| !b.no_reference) else {
            println!("{name:<34} {ours:>12.4} {:>12} {:>8}", "-", "-");
            continue;
        };
        let theirs = time_reference(b, &dir, extra)?;
        println!(
            "{name:<34} {ours:>12.4} {theirs:>12.4} {:>7.1}×",
            theirs / ours
        );
    }
    let t = crate::train::Trainer::new(linear.clone(), splits.clone(), None)?;
    let reps = 5;
    let started = Instant::now();
    for _ in 0..reps {
        std::hint::black_box(t.evaluate(crate::train::Subset::Train));
    }
    let eval = started.elapsed().as_secs_f64() / reps as f64;
    let bytes = splits.train.pixels.len() as f64;
    println!(
        "evaluation pass alone (linear, {} images): {eval:.4} s, {:.2} GB/s of u8 pixels, {:.2} GFLOP/s",
        splits.train.len(),
        bytes / eval / 1e9,
        2.0 * bytes * 10.0 / eval / 1e9
    );
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let peaks = crate::model::kernels::measure_peaks(cores);
    println!(
        "machine peaks with {cores} threads: {:.1} GFLOP/s f32 multiply-add, {:.1} GB/s reading memory",
        peaks.gflops, peaks.read_gb_per_s
    );
    Ok(())
}
