//! The command line: `trainviz train`, `gradcheck`, `bench`, and the app's own flags.

pub mod stack;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};

use crate::data::plane::Feature;
use crate::data::{self, DatasetKind, Normalizer, Preprocess, SplitKind};
use crate::model::{Activation, InitKind, LossKind};
use crate::report::PngSize;
use crate::train::config as settings;

use crate::train::{Event, OptimizerKind, ScheduleKind, Summary, TrainConfig, WorkerHandle};

mod lr_range;
mod table;

pub use lr_range::LrRangeArgs;
pub use table::TableArgs;

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
        /// Train point K alone (counted from 0, in the order `--list` prints), e.g. as one
        /// job of a Slurm array; a later plain `trainviz sweep` collects it.
        #[arg(long, value_name = "K")]
        point: Option<usize>,
        /// Print the points (K, settings) and exit.
        #[arg(long)]
        list: bool,
    },
    /// Write a saved run's report (every figure as PNG, SVG and CSV under figures/,
    /// report.md, results.csv, results.tex): the same report as when it finished.
    Report {
        /// The run's folder (under runs/).
        run: PathBuf,
        /// Folder for the report (default: report/ in the run's folder).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Width of PNG figures, inches.
        #[arg(long, default_value_t = 6.4)]
        figure_width: f64,
        /// Resolution of PNG figures, dots per inch.
        #[arg(long, default_value_t = 300.0)]
        dpi: f64,
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
    /// Write a 2-D map (PCA or t-SNE) of a layer of a saved run's weights on validation
    /// images as PNG, SVG and CSV (the figure of the window's Embedding tab).
    Embed(EmbedArgs),
    /// Print each layer of --layers with its output shape, parameters and multiply-adds
    /// per image (or the layer that does not fit the data set's images).
    Layers {
        /// Settings (the layers and the data set).
        #[command(flatten)]
        args: TrainArgs,
    },
    /// Learning-rate range test: η grows exponentially over a short run; writes the loss
    /// against η (lr_range.png, .svg, .csv) into --out and prints the suggested eta_min and
    /// eta_max for the cyclic schedule.
    LrRange(LrRangeArgs),
    /// Results table of saved runs (settings that differ, training/validation/test accuracy
    /// and cost) as table.csv, table.tex (booktabs) and table.md in --out.
    Table(TableArgs),
    /// Write a saved run's weights and input normalisation as a NumPy .npz file.
    ExportNpz {
        /// The run's folder (under runs/).
        run: PathBuf,
        /// The file to write (default: weights.npz in the run's folder).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Options of `trainviz embed`.
#[derive(Debug, Args, Clone)]
pub struct EmbedArgs {
    /// The run's folder (under runs/).
    pub run: PathBuf,
    /// Layer to embed: 1 is the first hidden layer, the number of hidden layers + 1 the
    /// class scores (default: the last hidden layer, or the class scores without one).
    #[arg(long)]
    pub layer: Option<usize>,
    /// pca or tsne (Barnes-Hut t-SNE, perplexity 30).
    #[arg(long, value_parser = by_name::<crate::train::analysis::Projection>, default_value = "tsne")]
    pub method: crate::train::analysis::Projection,
    /// Validation images embedded (at most 10,000).
    #[arg(long, default_value_t = 2000)]
    pub points: usize,
    /// Folder for embedding.png, embedding.svg and embedding.csv.
    #[arg(long)]
    pub out: PathBuf,
    /// Width of the PNG, inches.
    #[arg(long, default_value_t = 6.4)]
    pub figure_width: f64,
    /// Resolution of the PNG, dots per inch.
    #[arg(long, default_value_t = 300.0)]
    pub dpi: f64,
    /// Also run the exact O(n²) t-SNE on the same points (at most 5,000) and print the
    /// share of 10 nearest neighbours each layout keeps, and both times.
    #[arg(long)]
    pub compare_exact: bool,
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
    /// Data set: cifar10, fashion-mnist, folder, synthetic, or points in the plane: spiral,
    /// circle, xor, gauss, moons (these start from the playground's settings: 2 × 8 tanh,
    /// Adam η 0.03, batch 10, 300 epochs); default: CIFAR-10 when found, else synthetic.
    #[arg(long, value_parser = by_name::<DatasetKind>, global = true)]
    pub dataset: Option<DatasetKind>,
    /// classic: batch 1 / batch 2; all: all batches minus --val.
    #[arg(long, value_parser = by_name::<SplitKind>, global = true)]
    pub split: Option<SplitKind>,
    /// See [`crate::train::config::VAL`].
    #[arg(long, help = settings::VAL.help, global = true)]
    pub val: Option<usize>,
    /// Use at most N training images.
    #[arg(long, global = true)]
    pub train_limit: Option<usize>,
    /// Input normalisation.
    #[arg(long, value_parser = by_name::<Preprocess>, global = true)]
    pub preprocess: Option<Preprocess>,
    /// See [`crate::train::config::EPOCHS`].
    #[arg(long, help = settings::EPOCHS.help, global = true)]
    pub epochs: Option<usize>,
    /// See [`crate::train::config::BATCH`].
    #[arg(long, help = settings::BATCH.help, global = true)]
    pub batch: Option<usize>,
    /// See [`crate::train::config::ETA`].
    #[arg(long, help = settings::ETA.help, global = true)]
    pub eta: Option<f64>,
    /// See [`crate::train::config::LAMBDA`].
    #[arg(long = "lambda", help = settings::LAMBDA.help, global = true)]
    pub lambda: Option<f64>,
    /// Loss: ce (softmax cross-entropy), bce (sigmoids), svm (hinge).
    #[arg(long, value_parser = by_name::<LossKind>, global = true)]
    pub loss: Option<LossKind>,
    /// See [`crate::train::config::LABEL_SMOOTHING`].
    #[arg(long, help = settings::LABEL_SMOOTHING.help, global = true)]
    pub label_smoothing: Option<f64>,
    /// Learning-rate schedule.
    #[arg(long, value_parser = by_name::<ScheduleKind>, global = true)]
    pub schedule: Option<ScheduleKind>,
    /// See [`crate::train::config::DECAY`].
    #[arg(long, help = settings::DECAY.help, global = true)]
    pub decay: Option<f64>,
    /// See [`crate::train::config::STEP_EVERY`].
    #[arg(long, help = settings::STEP_EVERY.help, global = true)]
    pub step_every: Option<usize>,
    /// See [`crate::train::config::STEP_FACTOR`].
    #[arg(long, help = settings::STEP_FACTOR.help, global = true)]
    pub step_factor: Option<f64>,
    /// See [`crate::train::config::ETA_MIN`].
    #[arg(long, help = settings::ETA_MIN.help, global = true)]
    pub eta_min: Option<f64>,
    /// See [`crate::train::config::ETA_MAX`].
    #[arg(long, help = settings::ETA_MAX.help, global = true)]
    pub eta_max: Option<f64>,
    /// See [`crate::train::config::HALF_CYCLE`].
    #[arg(long, help = settings::HALF_CYCLE.help, global = true)]
    pub half_cycle: Option<usize>,
    /// See [`crate::train::config::CYCLES`].
    #[arg(long, help = settings::CYCLES.help, global = true)]
    pub cycles: Option<usize>,
    /// See [`crate::train::config::CYCLE_GROWTH`].
    #[arg(long, help = settings::CYCLE_GROWTH.help, global = true)]
    pub cycle_growth: Option<f64>,
    /// See [`crate::train::config::FLIP`].
    #[arg(long, help = settings::FLIP.help, global = true)]
    pub flip: Option<f64>,
    /// See [`crate::train::config::TRANSLATE`].
    #[arg(long, help = settings::TRANSLATE.help, global = true)]
    pub translate: Option<usize>,
    /// Keep the training order fixed.
    #[arg(long, global = true)]
    pub no_shuffle: bool,
    /// Weight initialisation.
    #[arg(long, value_parser = by_name::<InitKind>, global = true)]
    pub init: Option<InitKind>,
    /// See [`crate::train::config::SIGMA`].
    #[arg(long, help = settings::SIGMA.help, global = true)]
    pub sigma: Option<f64>,
    /// Hidden-layer widths, e.g. 50 or 50,50 (empty: linear classifier).
    #[arg(long, value_delimiter = ',', global = true)]
    pub hidden: Option<Vec<usize>>,
    /// Activation of hidden layers.
    #[arg(long, value_parser = by_name::<Activation>, global = true)]
    pub activation: Option<Activation>,
    /// The network as layers in words instead of --hidden, e.g. "patchify 4:10, relu, dense
    /// 50, relu"; forms: patchify F:N, conv K:N, pool 2, flatten, dense N, relu, tanh,
    /// sigmoid, bn, dropout P (the output layer is implied).
    #[arg(long, global = true)]
    pub layers: Option<String>,
    /// Random seed.
    #[arg(long, global = true)]
    pub seed: Option<u64>,
    /// See [`crate::train::config::IMAGE_SIZE`].
    #[arg(long, help = settings::IMAGE_SIZE.help, global = true)]
    pub image_size: Option<usize>,
    /// Batch normalisation after every hidden layer's linear part.
    #[arg(long, global = true)]
    pub batch_norm: bool,
    /// Update rule: sgd, momentum, nesterov, rmsprop or adam.
    #[arg(long, value_parser = by_name::<OptimizerKind>, global = true)]
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
    /// See [`crate::train::config::EVAL_EVERY`].
    #[arg(long, help = settings::EVAL_EVERY.help, global = true)]
    pub eval_every: Option<usize>,
    /// See [`crate::train::config::L1`].
    #[arg(long, help = settings::L1.help, global = true)]
    pub l1: Option<f64>,
    /// See [`crate::train::config::POINTS`]. Not global: `embed` has its own `--points`.
    #[arg(long, help = settings::POINTS.help)]
    pub points: Option<usize>,
    /// See [`crate::train::config::NOISE`].
    #[arg(long, help = settings::NOISE.help, global = true)]
    pub noise: Option<f64>,
    /// See [`crate::train::config::TEST_SHARE`].
    #[arg(long, help = settings::TEST_SHARE.help, global = true)]
    pub test_share: Option<f64>,
    /// See [`crate::train::config::CLASSES`].
    #[arg(long, help = settings::CLASSES.help, global = true)]
    pub classes: Option<usize>,
    /// Data in the plane: the network's inputs, comma-separated from x1, x2, x1sq, x2sq,
    /// x1x2, sinx1, sinx2 (default x1,x2).
    #[arg(long, value_delimiter = ',', value_parser = by_name::<Feature>, global = true)]
    pub features: Option<Vec<Feature>>,
    /// Start from a preset of the course's settings (see `trainviz presets`); the config
    /// file and flags override it.
    #[arg(long, global = true)]
    pub preset: Option<String>,
    /// Threads that share each training step and the evaluation (default: one per core, or
    /// one with TRAINVIZ_ONE_THREAD set); sweeps divide them among the points they train
    /// at once, and `bench` times with this many.
    #[arg(long, global = true)]
    pub threads: Option<usize>,
}

impl TrainArgs {
    /// The settings for a fresh start: defaults, then the preset, then the config file, then
    /// the flags; with no data named anywhere, CIFAR-10 when found, else the synthetic set.
    pub fn resolve(&self) -> Result<TrainConfig> {
        let (mut c, mut named_data) = self.apply(&TrainConfig::default())?;
        if c.dataset.is_plane() && self.preset.is_none() {
            // Data in the plane starts from the playground's settings (a small tanh network
            // trained by Adam), not the course's CIFAR-10 ones.
            (c, named_data) = self.apply(&TrainConfig::plane(c.dataset))?;
        }
        if !named_data {
            c.dataset = if data::default_cifar_dir().is_some() {
                DatasetKind::Cifar10
            } else {
                DatasetKind::Synthetic
            };
        }
        c.validate()?;
        Ok(c)
    }

    /// `base` (e.g. the window's remembered settings) with only what these flags name
    /// changed: a preset replaces the whole configuration but the data location, a config
    /// file sets its keys, each flag its setting.
    pub fn apply_to(&self, base: &TrainConfig) -> Result<TrainConfig> {
        let (c, _) = self.apply(base)?;
        c.validate()?;
        Ok(c)
    }

    /// The settings and whether the data set was named (by flag, data folder or file).
    fn apply(&self, base: &TrainConfig) -> Result<(TrainConfig, bool)> {
        let mut start = base.clone();
        if let Some(name) = &self.preset {
            let preset = crate::runs::presets::find(name).with_context(|| {
                format!(
                    "unknown preset {name:?}; presets: {}",
                    crate::runs::presets::names()
                )
            })?;
            start = preset
                .config(&start)
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
                (
                    c,
                    table.contains_key("dataset") || table.contains_key("data"),
                )
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
        set!(activation, seed, image_size, layers);
        set!(optimizer, momentum, beta1, beta2, eps, dropout, eval_every);
        set!(label_smoothing, cycles, cycle_growth, translate);
        set!(l1, points, noise, test_share, classes, features);
        if self.batch_norm {
            c.batch_norm = true;
        }
        if self.train_limit.is_some() {
            c.train_limit = self.train_limit;
        }
        if self.threads.is_some() {
            c.threads = self.threads;
        }
        if self.no_shuffle {
            c.shuffle = false;
        }
        if let Some(dir) = &self.data {
            c.data = Some(dir.clone());
            c.dataset = data::detect_kind(dir);
        }
        if let Some(d) = self.dataset {
            c.dataset = d;
        }
        let preset_sets_dataset = (self.preset.as_deref())
            .and_then(crate::runs::presets::find)
            .is_some_and(|p| p.names_dataset());
        let named = self.dataset.is_some()
            || self.data.is_some()
            || file_sets_dataset
            || preset_sets_dataset;
        Ok((c, named))
    }
}

/// Parses a setting's value by its TOML name (`ce`, `fashion-mnist`, …), so the engine's
/// types need no command-line derive; the error lists the names allowed.
fn by_name<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    T::deserialize(toml::Value::String(text.to_string())).map_err(|e| e.to_string())
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
    /// Also print the figures as one JSON object, as the last line.
    #[arg(long)]
    pub json: bool,
    /// Time only these ConvNets (patchify, patchify-wide, vgg; comma-separated) and skip
    /// the linear and MLP settings.
    #[arg(long, value_delimiter = ',')]
    pub nets: Option<Vec<String>>,
    /// Timed training steps per ConvNet (after 20 warm-up steps).
    #[arg(long, default_value_t = 200)]
    pub steps: usize,
}

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
fn peak_memory_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Runs a subcommand; `global` holds the settings flags given before or after it.
pub fn run(command: CliCommand, global: &TrainArgs) -> Result<()> {
    match command {
        CliCommand::Sweep { runs, point, list } => sweep_cmd(global, runs, point, list),
        CliCommand::Eval { run } => eval_cmd(&run),
        CliCommand::Report {
            run,
            out,
            figure_width,
            dpi,
        } => {
            let size = PngSize {
                width_inches: figure_width,
                dpi,
            };
            size.validate()?;
            let out = out.unwrap_or_else(|| run.join("report"));
            let files = crate::runs::report::export_saved_report(
                &run,
                &out,
                size,
                crate::report::DEFAULT_SMOOTHING,
            )?;
            println!(
                "wrote {} report files; open {}",
                files.len(),
                out.join("report.md").display()
            );
            Ok(())
        }
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
        CliCommand::Bench(b) => bench(&b, global.threads),
        CliCommand::Layers { args } => stack::layers_cmd(&args.resolve()?),
        CliCommand::Embed(e) => embed_cmd(&e, global),
        CliCommand::LrRange(a) => lr_range::lr_range_cmd(&a),
        CliCommand::Table(a) => table::table_cmd(&a),
        CliCommand::ExportNpz { run, out } => {
            let out = out.unwrap_or_else(|| run.join("weights.npz"));
            let saved = crate::runs::SavedRun::load(&run)?;
            let data_dir = global.data.clone();
            crate::runs::npz::export_run(&saved, data_dir, &out)?;
            println!("wrote {}", out.display());
            Ok(())
        }
    }
}

/// The exit code of `trainviz train` when the run diverged (1 is any other error).
pub const EXIT_DIVERGED: u8 = 3;

/// The error `train` ends with when the run diverged (its summary is written first).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Diverged {
    /// What happened and what to do.
    pub message: String,
    /// The numbers of the last good weights.
    pub summary: Summary,
}

/// The header of `metrics.csv`: one row per evaluation, at an epoch's end (`epoch` whole)
/// or, with `--eval-every`, within an epoch (`epoch` with its fraction); `step` is the
/// update steps done then.
const METRICS_HEADER: [&str; 14] = [
    "epoch",
    "eta",
    "lambda",
    "batch",
    "loss_function",
    "decay",
    "train_loss",
    "train_cost",
    "train_acc",
    "val_loss",
    "val_cost",
    "val_acc",
    "seconds",
    "step",
];

/// One epoch's row of `metrics.csv`, with the live settings in force.
fn metrics_row(m: &crate::train::EpochMetrics) -> Vec<String> {
    let live = m.live;
    vec![
        m.epoch.to_string(),
        m.eta.to_string(),
        m.lambda.to_string(),
        live.map_or_else(String::new, |l| l.batch.to_string()),
        live.map_or_else(String::new, |l| crate::train::record::key_of(&l.loss)),
        live.map_or_else(String::new, |l| l.decay.to_string()),
        m.train.loss.to_string(),
        m.train.cost.to_string(),
        m.train.accuracy.to_string(),
        m.val.loss.to_string(),
        m.val.cost.to_string(),
        m.val.accuracy.to_string(),
        m.seconds.to_string(),
        m.step.to_string(),
    ]
}

/// The row of an evaluation within an epoch (no seconds: the epoch's own row has them).
fn point_row(p: &crate::train::steps::EvalPoint) -> Vec<String> {
    let live = p.live;
    vec![
        p.epoch.to_string(),
        p.eta.to_string(),
        live.lambda.to_string(),
        live.batch.to_string(),
        crate::train::record::key_of(&live.loss),
        live.decay.to_string(),
        p.train.loss.to_string(),
        p.train.cost.to_string(),
        p.train.accuracy.to_string(),
        p.val.loss.to_string(),
        p.val.cost.to_string(),
        p.val.accuracy.to_string(),
        String::new(),
        p.step.to_string(),
    ]
}

/// `metrics.csv` of these epochs and of the evaluations within them, in step order.
fn metrics_csv(
    history: &[crate::train::EpochMetrics],
    points: &[crate::train::steps::EvalPoint],
) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(METRICS_HEADER)?;
    let mut points = points.iter().peekable();
    for m in history {
        while let Some(p) = points.next_if(|p| p.step < m.step) {
            w.write_record(point_row(p))?;
        }
        w.write_record(metrics_row(m))?;
    }
    for p in points {
        w.write_record(point_row(p))?;
    }
    w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
}

/// `trainviz embed`: the saved weights' layer on validation images, projected to 2-D and
/// written as a figure; prints the time taken (and with `--compare-exact`, the quality
/// against the exact method).
fn embed_cmd(e: &EmbedArgs, global: &TrainArgs) -> Result<()> {
    use crate::train::analysis::{self, MAX_EMBEDDING_POINTS, Projection, TsneSettings};
    let size = PngSize {
        width_inches: e.figure_width,
        dpi: e.dpi,
    };
    size.validate()?;
    if e.compare_exact && e.method != Projection::Tsne {
        bail!("--compare-exact compares two t-SNE methods: use it with --method tsne");
    }
    if e.points < 1 || e.points > MAX_EMBEDDING_POINTS {
        bail!("--points must be between 1 and {MAX_EMBEDDING_POINTS}");
    }
    let saved = crate::runs::SavedRun::load(&e.run)?;
    let net = saved.weights()?;
    let hidden = net.layers.len() - 1;
    let layer = match e.layer {
        None => hidden.max(1),
        Some(l) if (1..=hidden + 1).contains(&l) => l,
        Some(l) => bail!(
            "--layer {l}: this network has {hidden} hidden layer(s); use 1 to {}",
            hidden + 1
        ),
    } - 1;
    let mut request = saved.settings.start.data_request();
    if global.data.is_some() {
        request.dir = global.data.clone();
    }
    let data = data::load(&request)?;
    if net.input_dim() != data.shape().dim() || net.classes() != data.num_classes() {
        bail!("the saved weights do not fit the run's data");
    }
    let norm = Normalizer::fit(&data.train, saved.settings.start.preprocess);
    let (acts, labels) = analysis::layer_activations(&net, &norm, &data.val, layer, e.points);
    if acts.nrows() == 0 {
        bail!("the run's data has no validation images to embed");
    }
    let start = Instant::now();
    let (points, axes) = match e.method {
        Projection::Pca => {
            let pca = analysis::pca2_with_variance(&acts);
            (
                pca.points,
                analysis::axis_names(Projection::Pca, Some(pca.variance_share)),
            )
        }
        Projection::Tsne => {
            let mut search_done = None;
            let points = analysis::tsne2(&acts, TsneSettings::default(), |f| {
                // The neighbour search and input similarities come first (a tenth).
                if f > 0.1 && search_done.is_none() {
                    search_done = Some(start.elapsed().as_secs_f64());
                }
                true
            });
            if let Some(s) = search_done {
                println!("neighbour search and input similarities: {s:.2} s");
            }
            (points, analysis::axis_names(Projection::Tsne, None))
        }
    };
    let seconds = start.elapsed().as_secs_f64();
    let widths: Vec<usize> = net.layers.iter().map(|l| l.weights.nrows()).collect();
    let layer_name = if layer == hidden {
        format!("the class scores ({})", widths[layer])
    } else {
        format!("hidden layer {} ({} units)", layer + 1, widths[layer])
    };
    let method = match e.method {
        Projection::Pca => "PCA",
        Projection::Tsne => "t-SNE",
    };
    println!(
        "{method} of {layer_name} on {} validation images: {seconds:.2} s",
        crate::report::figures::thousands(points.len())
    );
    if e.compare_exact && e.method == Projection::Tsne {
        if points.len() > 5000 {
            bail!("--compare-exact needs at most 5,000 points (the exact method is O(n²))");
        }
        let start = Instant::now();
        let exact = analysis::tsne2(&acts, TsneSettings::default().exact(), |_| true);
        let exact_seconds = start.elapsed().as_secs_f64();
        println!(
            "share of 10 nearest neighbours kept: Barnes-Hut {:.4} ({seconds:.2} s), exact {:.4} ({exact_seconds:.2} s)",
            analysis::neighbour_preservation(&acts, &points, 10),
            analysis::neighbour_preservation(&acts, &exact, 10),
        );
    }
    let figure = crate::report::figures::embedding(
        &points,
        &labels,
        &saved.meta.class_names,
        &format!("{method} of {layer_name}"),
        &axes,
    );
    std::fs::create_dir_all(&e.out)
        .with_context(|| format!("cannot create {}", e.out.display()))?;
    for ext in ["png", "svg", "csv"] {
        let path = e.out.join(format!("embedding.{ext}"));
        crate::report::export_figure(&figure, &path, size)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// Trains with `config` on a worker thread, printing one line per epoch when `print` is set
/// and writing the results to `out`. Returns the summary; a diverged run ends with a
/// [`Diverged`] error after its files are written.
/// With `figures`, the report goes into `out` as well (see [`crate::report::export_report`]);
/// with `runs`, the run is saved there (see [`crate::runs`]).
pub fn train(
    config: TrainConfig,
    out: Option<&Path>,
    print: bool,
    figures: Option<PngSize>,
    runs: Option<PathBuf>,
) -> Result<Summary> {
    if config.uses_stack() {
        // Layer stacks train on their own engine (not yet through the worker, the saved
        // runs or the report): say so rather than drop what was asked for.
        if figures.is_some() {
            bail!("--figures is not available for --layers networks yet");
        }
        if print && runs.is_some() {
            eprintln!("note: runs with --layers are not saved under runs/ yet");
        }
        return stack::train_stack(&config, out, print);
    }
    if let Some(dir) = out {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        crate::report::write_atomic(&dir.join("config.toml"), config.to_toml().as_bytes())?;
    }
    let worker = WorkerHandle::spawn_saving(None, runs);
    worker.send(crate::train::Command::Reset(Box::new(config.clone())));
    worker.send(crate::train::Command::Start);
    // A run that counts its cycles plans its epochs when it starts (see `Ready`).
    let mut epochs = config.epochs;
    let mut info = None;
    let mut history = Vec::new();
    let mut network = None;
    let mut test = None;
    let mut steps = Vec::new();
    let mut points = Vec::new();
    for event in worker.events().iter() {
        match event {
            Event::Progress { steps: s, .. } => steps.extend(s),
            Event::Evaluated { point, .. } => {
                if print {
                    println!(
                        "  step {:>6} (epoch {:.2})  train cost {:.4} acc {:.4} | val cost {:.4} acc {:.4}",
                        point.step,
                        point.epoch,
                        point.train.cost,
                        point.train.accuracy,
                        point.val.cost,
                        point.val.accuracy
                    );
                }
                points.push(point);
                if let Some(dir) = out {
                    crate::report::write_atomic(
                        &dir.join("metrics.csv"),
                        &metrics_csv(&history, &points)?,
                    )?;
                }
            }
            Event::Weights { network: n, .. } => network = Some(n),
            Event::Saved { dir, .. } if print => println!("saving the run in {}", dir.display()),
            Event::Test { eval, .. } => test = Some(eval),
            Event::Ready { info: i, .. } => {
                info = Some(i.clone());
                epochs = i.settings.epochs();
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
                    info.settings.title()
                );
                for warning in &info.warnings {
                    eprintln!("warning: {warning}");
                }
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
                    if let Some(images) = m.images {
                        println!(
                            "           (the last cycle ended here, {images} training images into the epoch)"
                        );
                    }
                }
                history.push(*m);
                if let Some(dir) = out {
                    crate::report::write_atomic(
                        &dir.join("metrics.csv"),
                        &metrics_csv(&history, &points)?,
                    )?;
                }
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
                        let steps = crate::report::StepLosses::from_steps(
                            &steps,
                            crate::report::DEFAULT_SMOOTHING,
                        )
                        .with_evals(
                            &history,
                            &points,
                            info.settings.start.live(),
                        );
                        let files =
                            crate::report::export_report_with_steps(&record, &steps, dir, size)?;
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
            Event::Diverged {
                message, summary, ..
            } => {
                if let Some(dir) = out {
                    let json = serde_json::to_string_pretty(&*summary)?;
                    crate::report::write_atomic(&dir.join("summary.json"), json.as_bytes())?;
                }
                return Err(Diverged {
                    message,
                    summary: *summary,
                }
                .into());
            }
            Event::Error { message, .. } => bail!(message),
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

fn sweep_cmd(
    global: &TrainArgs,
    runs: Option<PathBuf>,
    point: Option<usize>,
    list: bool,
) -> Result<()> {
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
    if list {
        for (k, p) in sweep.points.iter().enumerate() {
            println!("{k:>4}  {}", p.id);
        }
        return Ok(());
    }
    if let Some(k) = point
        && k >= sweep.points.len()
    {
        bail!(
            "--point {k} is out of range: the sweep has {} points (0 to {})",
            sweep.points.len(),
            sweep.points.len().saturating_sub(1)
        );
    }
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
    let results = crate::runs::sweep::run(&sweep, point, &stop, &report);
    println!("\n{}", crate::runs::sweep::table(&results));
    // A single point of a spread-out sweep leaves the table to the run that collects them.
    if point.is_none() {
        for path in crate::runs::sweep::write_table(&sweep, &results)? {
            println!("wrote {}", path.display());
        }
    }
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
    let data = std::sync::Arc::new(data::load(&saved.settings.start.data_request())?);
    let mut t = crate::train::Trainer::new(saved.settings.start.clone(), data, None)?;
    if net.input_dim() != t.network().input_dim() || net.classes() != t.network().classes() {
        bail!("the saved weights do not fit the run's data");
    }
    let epochs = saved.history.len();
    let name = saved.name();
    t.restore(net, saved.history, saved.settings.changes);
    let test = t.evaluate(crate::train::Subset::Test);
    println!(
        "{} ({} epochs): test cost {:.4}, loss {:.4}, accuracy {:.2} % of {} images",
        name,
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
        crate::train::RunSettings::new(config.clone()).title()
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

/// Times `epochs` epochs of `config`; returns the median seconds per epoch and the GFLOP of
/// an epoch (multiply-adds ×2 of the steps and of the evaluation of the training and
/// validation sets).
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
    let (trained, evaluated) = (splits.train.len(), splits.train.len() + splits.val.len());
    let gflop = 2.0 * t.network().multiply_adds_per_epoch(trained, evaluated) / 1e9;
    Ok((crate::train::metrics::median(&secs), gflop))
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

fn bench(b: &BenchArgs, threads: Option<usize>) -> Result<()> {
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
        let peaks = crate::model::kernels::measure_peaks(cores);
        let report = stack::bench_nets(&linear, &splits, nets, b.steps, peaks.gflops)?;
        println!(
            "machine peak with {cores} threads: {:.1} GFLOP/s f32 multiply-add",
            peaks.gflops
        );
        if b.json {
            println!("{}", serde_json::to_string(&report)?);
        }
        return Ok(());
    }
    // The reference's MLP setting is the mlp-relu preset.
    let mlp = TrainConfig {
        epochs: b.epochs,
        ..crate::runs::presets::find("mlp-relu")
            .context("the mlp-relu preset")?
            .config(&linear)
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
    let mut ours = Vec::new();
    let mut gflops = Vec::new();
    let mut theirs = Vec::new();
    for (name, config, extra) in cases {
        let (seconds, gflop) = time_trainviz(config, &splits)?;
        ours.push(seconds);
        gflops.push(gflop);
        let Some(extra) = extra.filter(|_| !b.no_reference) else {
            println!("{name:<34} {seconds:>12.4} {:>12} {:>8}", "-", "-");
            theirs.push(None);
            continue;
        };
        let reference = time_reference(b, &dir, extra)?;
        println!(
            "{name:<34} {seconds:>12.4} {reference:>12.4} {:>7.1}×",
            reference / seconds
        );
        theirs.push(Some(reference));
    }
    let t = crate::train::Trainer::new(linear.clone(), splits.clone(), None)?;
    let reps = 5;
    let started = Instant::now();
    for _ in 0..reps {
        std::hint::black_box(t.evaluate(crate::train::Subset::Train));
    }
    let eval = started.elapsed().as_secs_f64() / reps as f64;
    // The linear and MLP epochs with 1 thread and with one per core, for the scaling.
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
                time_trainviz(&with(&linear), &splits)?.0,
                time_trainviz(&with(&mlp), &splits)?.0,
            )
        };
        println!("{n} thread(s): linear {linear_epoch_s:.4} s, MLP {mlp_epoch_s:.4} s per epoch");
        scaling.push(ThreadTiming {
            threads: n,
            linear_epoch_s,
            mlp_epoch_s,
        });
    }
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
    println!(
        "linear epoch: {:.2} GFLOP, {:.0} % of the FMA peak; MLP epoch: {:.2} GFLOP, {:.0} %; peak memory {}",
        linear_gflop,
        100.0 * report.linear_share_of_peak,
        mlp_gflop,
        100.0 * report.mlp_share_of_peak,
        report
            .peak_memory_mb
            .map_or("unknown".to_string(), |mb| format!("{mb:.0} MB"))
    );
    if b.json {
        println!("{}", serde_json::to_string(&report)?);
    }
    Ok(())
}
