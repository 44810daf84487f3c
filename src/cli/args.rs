//! The command line's clap types: the top-level parser and its subcommands.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use super::lr_range::LrRangeArgs;
use super::table::TableArgs;

use super::embed::EmbedArgs;
use super::figure_size::FigureSizeArgs;
use super::flags::TrainArgs;

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
    /// Where the window saves its runs and browses them (default: $TRAINVIZ_RUNS or runs/).
    #[arg(long)]
    pub runs: Option<PathBuf>,
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
        /// figures/, report.md, results.csv, results.tex and layers.csv (the last epoch's
        /// numbers per layer).
        #[arg(long, requires = "out")]
        figures: bool,
        /// The PNG figures' size.
        #[command(flatten)]
        figure: FigureSizeArgs,
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
    /// report.md, results.csv, results.tex, layers.csv): the same report as when it
    /// finished.
    Report {
        /// The run's folder (under runs/).
        run: PathBuf,
        /// Folder for the report (default: report/ in the run's folder).
        #[arg(long)]
        out: Option<PathBuf>,
        /// The PNG figures' size.
        #[command(flatten)]
        figure: FigureSizeArgs,
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
        /// Input dimensions used (the first ones of each image); for a ConvNet (--layers),
        /// which reads whole images, the entries of each parameter array compared.
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
