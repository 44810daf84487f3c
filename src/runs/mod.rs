//! Saved runs: every training run (app, CLI or sweep) gets a folder under `runs/` with its
//! settings, per-epoch metrics, summary and weights; presets of the course's settings; and
//! sweeps over hyperparameters.
//!
//! A run folder holds:
//! - `config.toml` — the settings the run started with;
//! - `changes.json` — every change made while it trained (live hyperparameters with the step
//!   and epoch they took effect, epochs added), oldest first; absent when nothing changed;
//! - `meta.json` — name, creation time, data set, class names, image shape, set sizes, status;
//! - `metrics.jsonl` — one [`EpochMetrics`] per line, appended and synced at each epoch end,
//!   so a crash or kill loses at most the epoch in progress;
//! - `steps.csv` — every training step: `step,epoch,batch_loss,eta` (global step from 0,
//!   fractional epoch after it, the mini-batch's loss, the η it used), appended at each epoch
//!   end and when the run ends;
//! - `evals.jsonl` — with `eval_every`, one [`crate::train::steps::EvalPoint`] per line: the
//!   training and validation sets evaluated within epochs, at their update step;
//! - `weights.bin` — the latest weights (replaced atomically at each epoch end): an MLP's
//!   (see [`save_weights`]) or a layer stack's (see [`stack_weights`]);
//! - `summary.json` — the final numbers, once finished or diverged (`"status"` says which);
//! - `test.json` — the test-set evaluation (with its confusion matrix) the run finished with.

pub mod errors;
mod json;
pub mod npz;
pub mod presets;
pub mod race;
pub mod report;
pub mod stack_weights;
mod store;
pub mod sweep;

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::data::ImageShape;
use crate::model::{Activation, BatchNorm, Layer, Network};
use crate::report::write_atomic;
pub use crate::train::record::differing_keys;
use crate::train::record::{RunSettings, SettingChange, differing_in, value_of};
use crate::train::steps::{self, EvalPoint, STEPS_HEADER, StepRecord};
use crate::train::{EpochMetrics, Evaluation, Model, RunInfo, Summary, TrainConfig};
#[cfg(test)]
use rand::SeedableRng;

pub use crate::env::RUNS as RUNS_ENV;

/// What can go wrong with saved runs.
#[derive(Debug, Error)]
pub enum RunError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file is not what it should be.
    #[error("{path}: {problem}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RunError + '_ {
    move |source| RunError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The runs folder: `$TRAINVIZ_RUNS`, else `runs/` in the working directory.
pub fn default_runs_dir() -> PathBuf {
    crate::env::runs_dir().map_or_else(|| PathBuf::from("runs"), PathBuf::from)
}

pub use crate::train::metrics::RunStatus;
pub use store::{Folders, saving};

/// The facts about a run kept in `meta.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunMeta {
    /// Name shown in the run browser (editable).
    pub name: String,
    /// Creation time, seconds since 1970.
    pub created: u64,
    /// Data set name.
    pub dataset: String,
    /// Class names.
    pub class_names: Vec<String>,
    /// Image shape.
    pub shape: ImageShape,
    /// Training, validation and test images.
    pub sizes: [usize; 3],
    /// How it ended.
    pub status: RunStatus,
    /// True once a person renamed the run; until then its name is derived from its settings.
    #[serde(default)]
    pub renamed: bool,
    /// Why it diverged, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Files and folders of the data that were skipped when it loaded, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<crate::data::DataWarning>,
}

/// Writes one run's folder as it trains.
pub struct RunWriter {
    dir: PathBuf,
    meta: RunMeta,
    metrics: File,
    /// The run's lock file, held (flock) while this writer lives: the operating system
    /// lets go of it when the process ends however it ends, so a run whose process was
    /// killed is told from a live one. `None` where the file system cannot lock.
    _lock: Option<File>,
}

/// The file in a run folder that the process writing the run holds locked.
pub const LOCK_FILE: &str = "trainviz.lock";

/// Takes the lock of the run in `dir` for this process (`None` where it cannot be taken:
/// the run is then told apart by the age of its files, as before locks).
fn take_lock(dir: &Path) -> Option<File> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(LOCK_FILE))
        .ok()?;
    file.try_lock().ok()?;
    Some(file)
}

/// Whether a live process is writing the run in `dir`: `Some(true)` when its lock is held,
/// `Some(false)` when nobody holds it (the process that wrote it ended), `None` when the
/// run has no lock file (saved by an older trainviz) or it cannot be checked.
pub fn held_by_live_process(dir: &Path) -> Option<bool> {
    let path = dir.join(LOCK_FILE);
    if !path.is_file() {
        return None;
    }
    let file = OpenOptions::new().write(true).open(&path).ok()?;
    match file.try_lock() {
        // Taken just now: nobody held it. Dropping the file lets go of it again.
        Ok(()) => Some(false),
        Err(std::fs::TryLockError::WouldBlock) => Some(true),
        Err(std::fs::TryLockError::Error(_)) => None,
    }
}

/// A folder name from the time and the starting settings, e.g.
/// `20261122-193012-linear-ce-l0.1-e0.001`.
fn folder_name(created: u64, settings: &RunSettings) -> String {
    format!("{}-{}", utc_stamp(created), settings.slug())
}

/// `YYYYMMDD-HHMMSS` (UTC) of a Unix time.
pub fn utc_stamp(secs: u64) -> String {
    i64::try_from(secs)
        .ok()
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .map_or_else(
            || "00000000-000000".to_string(),
            |t| t.strftime("%Y%m%d-%H%M%S").to_string(),
        )
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl RunWriter {
    /// Creates a new folder for a run under `root` (a unique name from the time and the
    /// settings) and writes its settings.
    pub fn create(root: &Path, info: &RunInfo) -> Result<Self, RunError> {
        let created = now_secs();
        let base = folder_name(created, &info.settings);
        let mut dir = root.join(&base);
        let mut n = 2;
        while dir.exists() {
            dir = root.join(format!("{base}-{n}"));
            n += 1;
        }
        Self::create_at(dir, info, None)
    }

    /// Creates the run folder `dir` (which must not hold a run yet); `name` defaults to the
    /// folder's name.
    pub fn create_at(dir: PathBuf, info: &RunInfo, name: Option<String>) -> Result<Self, RunError> {
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let meta = RunMeta {
            name: name.clone().unwrap_or_else(|| {
                dir.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            }),
            created: now_secs(),
            dataset: info.dataset.clone(),
            class_names: info.class_names.clone(),
            shape: info.shape,
            sizes: info.sizes,
            status: RunStatus::Running,
            renamed: name.is_some(),
            message: None,
            warnings: info.warnings.clone(),
        };
        write_text(&dir.join("config.toml"), &info.settings.start.to_toml())?;
        write_changes(&dir, &info.settings.changes)?;
        write_meta(&dir, &meta)?;
        write_text(&dir.join("steps.csv"), STEPS_HEADER)?;
        let path = dir.join("metrics.jsonl");
        let metrics = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&path)
            .map_err(io(&path))?;
        let _lock = take_lock(&dir);
        Ok(RunWriter {
            dir,
            meta,
            metrics,
            _lock,
        })
    }

    /// Reopens a saved run's folder to append epochs (continuing its training), recording
    /// `changes` (the saved ones and any made since).
    pub fn resume(dir: &Path, changes: &[SettingChange]) -> Result<Self, RunError> {
        let run = SavedRun::load(dir)?;
        let mut meta = run.meta.clone();
        meta.status = RunStatus::Running;
        meta.message = None;
        write_changes(dir, changes)?;
        write_meta(dir, &meta)?;
        remove_stale(&dir.join("summary.json"))?;
        let path = dir.join("metrics.jsonl");
        // Rewrite the complete lines only, so a torn last line does not stay in the middle.
        let text = json::to_json_lines(&path, &run.history)?;
        write_text(&path, &text)?;
        // Steps beyond the saved weights (those of the epoch in progress, or of a divergence)
        // are trained again: they leave the record.
        let end = run.history.last().map_or(0, |m| m.step);
        // A damaged steps.csv or evals.jsonl costs its curve, not the run: said in the log.
        fn dropped<T>(what: &str) -> impl FnOnce(RunError) -> Vec<T> + '_ {
            move |e| {
                log::warn!("{e}; the continued run starts its {what} again");
                Vec::new()
            }
        }
        let kept: Vec<StepRecord> = run
            .steps()
            .unwrap_or_else(dropped("step losses"))
            .into_iter()
            .filter(|r| r.step < end)
            .collect();
        write_text(
            &dir.join("steps.csv"),
            &format!("{STEPS_HEADER}{}", steps::csv_lines(&kept)),
        )?;
        let points: Vec<EvalPoint> = run
            .points()
            .unwrap_or_else(dropped("evaluations within epochs"))
            .into_iter()
            .filter(|p| p.step <= end)
            .collect();
        let evals = dir.join("evals.jsonl");
        write_text(&evals, &json::to_json_lines(&evals, &points)?)?;
        remove_stale(&dir.join("test.json"))?;
        let metrics = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        Ok(RunWriter {
            dir: dir.to_path_buf(),
            meta,
            metrics,
            _lock: take_lock(dir),
        })
    }

    /// The run's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Records a finished epoch and the weights after it; durable when this returns.
    pub fn epoch(&mut self, metrics: &EpochMetrics, model: &Model) -> Result<(), RunError> {
        let path = self.dir.join("metrics.jsonl");
        let line = serde_json::to_string(metrics).map_err(|e| RunError::Corrupt {
            path: path.clone(),
            problem: e.to_string(),
        })?;
        self.metrics
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|()| self.metrics.sync_data())
            .map_err(io(&path))?;
        let path = self.dir.join("weights.bin");
        match model {
            Model::Mlp(network) => save_weights(&path, network),
            Model::Stack(stack) => stack_weights::save_stack(&path, stack),
        }
    }

    /// Appends training steps to `steps.csv` (durable when this returns).
    pub fn steps(&mut self, records: &[StepRecord]) -> Result<(), RunError> {
        let path = self.dir.join("steps.csv");
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        let fresh = file.metadata().map(|m| m.len() == 0).unwrap_or(false);
        let mut text = if fresh {
            STEPS_HEADER.to_string()
        } else {
            String::new()
        };
        text.push_str(&steps::csv_lines(records));
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(io(&path))
    }

    /// Appends evaluations made within epochs to `evals.jsonl` (durable when this returns).
    pub fn points(&mut self, points: &[EvalPoint]) -> Result<(), RunError> {
        let path = self.dir.join("evals.jsonl");
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        file.write_all(json::to_json_lines(&path, points)?.as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(io(&path))
    }

    /// Records the end of the run: its summary and the test evaluation it ended with.
    pub fn finish(&mut self, summary: &Summary, test: &Evaluation) -> Result<(), RunError> {
        let path = self.dir.join("summary.json");
        write_text(&path, &json::to_json(&path, summary, true)?)?;
        let path = self.dir.join("test.json");
        write_text(&path, &json::to_json(&path, test, false)?)?;
        self.meta.status = RunStatus::Finished;
        write_meta(&self.dir, &self.meta)
    }

    /// Records that the run diverged: its summary (of the last good weights, status
    /// `diverged`) and why.
    pub fn diverged(&mut self, summary: &Summary, message: &str) -> Result<(), RunError> {
        let path = self.dir.join("summary.json");
        write_text(&path, &json::to_json(&path, summary, true)?)?;
        self.meta.status = RunStatus::Diverged;
        self.meta.message = Some(message.to_string());
        write_meta(&self.dir, &self.meta)
    }

    /// Records that the run stopped before its last epoch (replaced or the window closed).
    pub fn stopped(&mut self) -> Result<(), RunError> {
        self.meta.status = RunStatus::Stopped;
        write_meta(&self.dir, &self.meta)
    }

    /// Marks an ended run as training again (continued after it finished or diverged).
    pub fn reopen(&mut self) -> Result<(), RunError> {
        remove_stale(&self.dir.join("summary.json"))?;
        remove_stale(&self.dir.join("test.json"))?;
        self.meta.status = RunStatus::Running;
        self.meta.message = None;
        write_meta(&self.dir, &self.meta)
    }

    /// Records the changes made while training (all of them, oldest first).
    pub fn changes(&mut self, changes: &[SettingChange]) -> Result<(), RunError> {
        write_changes(&self.dir, changes)
    }
}

/// Removes `path` when it is there: the summary or test evaluation of a run that trains
/// again must not stay behind to be read as its result.
fn remove_stale(path: &Path) -> Result<(), RunError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(path)(e)),
        _ => Ok(()),
    }
}

fn write_text(path: &Path, text: &str) -> Result<(), RunError> {
    write_atomic(path, text.as_bytes()).map_err(|e| RunError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })
}

fn write_changes(dir: &Path, changes: &[SettingChange]) -> Result<(), RunError> {
    let path = dir.join("changes.json");
    if changes.is_empty() {
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(&path)(e)),
            _ => Ok(()),
        };
    }
    write_text(&path, &json::to_json(&path, changes, true)?)
}

fn write_meta(dir: &Path, meta: &RunMeta) -> Result<(), RunError> {
    let path = dir.join("meta.json");
    write_text(&path, &json::to_json(&path, meta, true)?)
}

/// Magic of `weights.bin` files written before batch norm (still read).
const WEIGHTS_MAGIC_V1: &[u8; 8] = b"TVWGHT01";
/// Magic of `weights.bin`: version 2 adds batch norm to each layer.
const WEIGHTS_MAGIC: &[u8; 8] = b"TVWGHT02";

/// Saves a network: magic, activation, layer count, then per layer rows, cols (u32 LE),
/// weights and bias (f32 LE), and a batch-norm flag (u32, 0 or 1) followed, when 1, by γ,
/// β, running mean and running variance (f32 LE, one per row). Atomic.
pub fn save_weights(path: &Path, net: &Network<f32>) -> Result<(), RunError> {
    let mut bytes = WEIGHTS_MAGIC.to_vec();
    let act: u32 = match net.activation {
        Activation::Relu => 0,
        Activation::Tanh => 1,
        Activation::Sigmoid => 2,
    };
    bytes.extend(act.to_le_bytes());
    bytes.extend((net.layers.len() as u32).to_le_bytes());
    for l in &net.layers {
        let (r, c) = l.weights.dim();
        bytes.extend((r as u32).to_le_bytes());
        bytes.extend((c as u32).to_le_bytes());
        for v in l.weights.iter().chain(l.bias.iter()) {
            bytes.extend(v.to_le_bytes());
        }
        bytes.extend(u32::from(l.bn.is_some()).to_le_bytes());
        if let Some(bn) = &l.bn {
            for v in [&bn.gamma, &bn.beta, &bn.mean, &bn.var]
                .into_iter()
                .flatten()
            {
                bytes.extend(v.to_le_bytes());
            }
        }
    }
    write_atomic(path, &bytes).map_err(|e| RunError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })
}

/// Reads little-endian values from a byte slice; `None` past its end.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let s = self.bytes.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }
    fn u32(&mut self) -> Option<usize> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?) as usize)
    }
    fn floats(&mut self, n: usize) -> Option<Vec<f32>> {
        Some(
            self.take(n.checked_mul(4)?)?
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
        )
    }
}

/// Loads a network saved by [`save_weights`], checking every size against the file.
pub fn load_weights(path: &Path) -> Result<Network<f32>, RunError> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(io(path))?;
    parse_weights(&bytes, path)
}

/// What [`parse_weights`] says of a layer stack's weights.
pub const NOT_AN_MLP: &str = "a layer stack's weights (a ConvNet, set with `layers`), not a \
     linear classifier's or an MLP's: this is shown for linear and MLP runs";

/// Loads either kind of weights file: an MLP's ([`save_weights`]) or a layer stack's
/// ([`stack_weights`]).
pub fn load_model(path: &Path) -> Result<Model, RunError> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(io(path))?;
    if bytes.starts_with(stack_weights::STACK_MAGIC) {
        stack_weights::parse_stack(&bytes, path).map(Model::Stack)
    } else {
        parse_weights(&bytes, path).map(Model::Mlp)
    }
}

/// Parses the bytes of a `weights.bin` of a linear classifier or MLP (a layer stack's is
/// refused with [`NOT_AN_MLP`]); `path` is only used in messages.
pub fn parse_weights(bytes: &[u8], path: &Path) -> Result<Network<f32>, RunError> {
    let corrupt = |problem: &str| RunError::Corrupt {
        path: path.to_path_buf(),
        problem: problem.to_string(),
    };
    let mut cursor = Cursor { bytes, pos: 0 };
    let magic = cursor
        .take(8)
        .ok_or_else(|| corrupt("the file ends early"))?;
    let with_bn = if magic == WEIGHTS_MAGIC {
        true
    } else if magic == WEIGHTS_MAGIC_V1 {
        false
    } else if magic == stack_weights::STACK_MAGIC {
        return Err(corrupt(NOT_AN_MLP));
    } else {
        return Err(corrupt("not a trainviz weights file"));
    };
    let activation = match cursor.u32().ok_or_else(|| corrupt("the file ends early"))? {
        0 => Activation::Relu,
        1 => Activation::Tanh,
        2 => Activation::Sigmoid,
        _ => return Err(corrupt("unknown activation")),
    };
    let count = cursor.u32().ok_or_else(|| corrupt("the file ends early"))?;
    if count == 0 || count > 64 {
        return Err(corrupt("implausible number of layers"));
    }
    let mut layers = Vec::with_capacity(count);
    for _ in 0..count {
        let (r, c) = cursor
            .u32()
            .zip(cursor.u32())
            .ok_or_else(|| corrupt("the file ends early"))?;
        if r == 0 || c == 0 || r.saturating_mul(c) > 100_000_000 {
            return Err(corrupt("implausible layer size"));
        }
        let w = cursor
            .floats(r * c)
            .ok_or_else(|| corrupt("the file ends early"))?;
        let b = cursor
            .floats(r)
            .ok_or_else(|| corrupt("the file ends early"))?;
        let bn = match with_bn.then(|| cursor.u32()) {
            None => None,
            Some(None) => return Err(corrupt("the file ends early")),
            Some(Some(0)) => None,
            Some(Some(1)) => {
                let mut next = || {
                    cursor
                        .floats(r)
                        .map(Array1::from)
                        .ok_or_else(|| corrupt("the file ends early"))
                };
                Some(BatchNorm {
                    gamma: next()?,
                    beta: next()?,
                    mean: next()?,
                    var: next()?,
                })
            }
            Some(Some(_)) => return Err(corrupt("bad batch-norm flag")),
        };
        layers.push(Layer {
            weights: Array2::from_shape_vec((r, c), w).map_err(|_| corrupt("bad shape"))?,
            bias: Array1::from(b),
            bn,
        });
    }
    for pair in layers.windows(2) {
        if pair[0].weights.nrows() != pair[1].weights.ncols() {
            return Err(corrupt("layer sizes do not chain"));
        }
    }
    Ok(Network { layers, activation })
}

/// A saved run, as read back.
#[derive(Debug, Clone)]
pub struct SavedRun {
    /// Its folder.
    pub dir: PathBuf,
    /// `meta.json`.
    pub meta: RunMeta,
    /// `config.toml` (the start) and `changes.json` (what changed while it trained).
    pub settings: RunSettings,
    /// The complete lines of `metrics.jsonl` (a torn last line is dropped).
    pub history: Vec<EpochMetrics>,
    /// `summary.json`, if the run finished.
    pub summary: Option<Summary>,
}

impl SavedRun {
    /// Reads a run folder.
    pub fn load(dir: &Path) -> Result<Self, RunError> {
        let meta_path = dir.join("meta.json");
        let text = std::fs::read_to_string(&meta_path).map_err(io(&meta_path))?;
        let meta: RunMeta = serde_json::from_str(&text).map_err(|e| RunError::Corrupt {
            path: meta_path.clone(),
            problem: e.to_string(),
        })?;
        let config_path = dir.join("config.toml");
        let config = TrainConfig::from_toml_file(&config_path).map_err(|e| RunError::Corrupt {
            path: config_path.clone(),
            problem: e.to_string(),
        })?;
        let changes_path = dir.join("changes.json");
        let changes: Vec<SettingChange> = match std::fs::read_to_string(&changes_path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| RunError::Corrupt {
                path: changes_path.clone(),
                problem: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io(&changes_path)(e)),
        };
        let settings = RunSettings {
            start: config,
            changes,
        };
        let metrics_path = dir.join("metrics.jsonl");
        let mut history = Vec::new();
        if let Ok(f) = File::open(&metrics_path) {
            for line in BufReader::new(f).lines() {
                let Ok(line) = line else { break };
                // A line cut short by a crash does not parse: everything before it stands.
                match serde_json::from_str::<EpochMetrics>(&line) {
                    Ok(m) => history.push(m),
                    Err(_) => break,
                }
            }
        }
        let summary = json::read_optional(&dir.join("summary.json"));
        Ok(SavedRun {
            dir: dir.to_path_buf(),
            meta,
            settings,
            history,
            summary,
        })
    }

    /// The training steps saved with the run (`steps.csv`; none for runs saved by older
    /// versions). Read on demand: a long run has tens of thousands.
    pub fn steps(&self) -> Result<Vec<StepRecord>, RunError> {
        let path = self.dir.join("steps.csv");
        match std::fs::read_to_string(&path) {
            Ok(text) => steps::parse_csv(&text).map_err(|e| RunError::Corrupt {
                path: path.clone(),
                problem: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(io(&path)(e)),
        }
    }

    /// The evaluations made within epochs (`evals.jsonl`, written with `eval_every`; none
    /// otherwise). A last line cut short by a crash is dropped.
    pub fn points(&self) -> Result<Vec<EvalPoint>, RunError> {
        let path = self.dir.join("evals.jsonl");
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&path)(e)),
        };
        let mut out = Vec::new();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            match serde_json::from_str(line) {
                Ok(p) => out.push(p),
                Err(_) if i + 1 == lines.len() && !text.ends_with('\n') => break,
                Err(e) => {
                    return Err(RunError::Corrupt {
                        path: path.clone(),
                        problem: format!("line {}: {e}", i + 1),
                    });
                }
            }
        }
        Ok(out)
    }

    /// The test evaluation the run finished with (`test.json`), if it saved one.
    pub fn test(&self) -> Option<Evaluation> {
        json::read_optional(&self.dir.join("test.json"))
    }

    /// The weights saved with the run, when it is a linear classifier or an MLP (a layer
    /// stack's are refused with [`NOT_AN_MLP`]; see [`Self::model`]).
    pub fn weights(&self) -> Result<Network<f32>, RunError> {
        load_weights(&self.dir.join("weights.bin"))
    }

    /// The weights saved with the run, of either kind.
    pub fn model(&self) -> Result<Model, RunError> {
        load_model(&self.dir.join("weights.bin"))
    }

    /// Whether the run is a layer stack (set with `layers`) rather than an MLP.
    pub fn is_stack(&self) -> bool {
        self.settings.start.uses_stack()
    }

    /// Best validation accuracy over the epochs (NaN before the first epoch).
    pub fn best_val_accuracy(&self) -> f64 {
        self.history
            .iter()
            .map(|m| m.val.accuracy)
            .fold(f64::NAN, f64::max)
    }

    /// The run's facts in the form the worker reports them.
    pub fn info(&self) -> RunInfo {
        RunInfo {
            dataset: self.meta.dataset.clone(),
            class_names: self.meta.class_names.clone(),
            shape: self.meta.shape,
            sizes: self.meta.sizes,
            settings: self.settings.clone(),
            warnings: self.meta.warnings.clone(),
        }
    }

    /// The name people see: the one given by renaming, else the settings as trained.
    pub fn name(&self) -> String {
        if self.meta.renamed && !self.meta.name.is_empty() {
            self.meta.name.clone()
        } else {
            self.settings.title()
        }
    }

    /// The settings in force when the run stopped.
    pub fn config(&self) -> TrainConfig {
        self.settings.in_force()
    }

    /// Renames the run (its `name`, not its folder).
    pub fn rename(&mut self, name: &str) -> Result<(), RunError> {
        self.meta.name = name.trim().to_string();
        self.meta.renamed = !self.meta.name.is_empty();
        write_meta(&self.dir, &self.meta)
    }

    /// Deletes the run's folder.
    pub fn delete(self) -> Result<(), RunError> {
        std::fs::remove_dir_all(&self.dir).map_err(io(&self.dir))
    }
}

/// Labels for runs that say what differs between them: for each run, `key value` for every
/// setting in force in it (see [`RunSettings::applies`]) that [`differing_keys`] finds;
/// the run's name when none differs. A setting that did nothing in a run (β₁ with plain
/// SGD) is not named for that run.
pub fn differing_labels(runs: &[&SavedRun]) -> Vec<String> {
    let tables: Vec<Vec<(String, String)>> =
        runs.iter().map(|r| r.settings.settings_table()).collect();
    let differing = differing_in(&tables);
    runs.iter()
        .zip(&tables)
        .map(|(run, t)| {
            let named: Vec<String> = differing
                .iter()
                .filter_map(|k| {
                    // Words, as a person would write them ("η 0.01", "hidden layers 50").
                    // A linear run has no "hidden" row: beside MLPs it says so.
                    let v = value_of(t, k).or_else(|| (*k == "hidden").then(|| "none".into()));
                    v.map(|v| format!("{} {v}", crate::train::config::setting_label(k)))
                })
                .collect();
            if named.is_empty() {
                run.name()
            } else {
                named.join(", ")
            }
        })
        .collect()
}

/// Every run under `root` (folders holding a `meta.json`, including sweep points up to two
/// levels down), newest first. Unreadable runs are skipped and reported in the second list.
pub fn list_runs(root: &Path) -> (Vec<SavedRun>, Vec<RunError>) {
    fn visit(dir: &Path, depth: usize, runs: &mut Vec<SavedRun>, errors: &mut Vec<RunError>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            if !path.is_dir() {
                continue;
            }
            if path.join("meta.json").is_file() {
                match SavedRun::load(&path) {
                    Ok(r) => runs.push(r),
                    Err(err) => errors.push(err),
                }
            } else if depth < 2 {
                visit(&path, depth + 1, runs, errors);
            }
        }
    }
    let mut runs = Vec::new();
    let mut errors = Vec::new();
    visit(root, 0, &mut runs, &mut errors);
    runs.sort_by(|a, b| {
        b.meta
            .created
            .cmp(&a.meta.created)
            .then_with(|| b.dir.cmp(&a.dir))
    });
    (runs, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_with(config: TrainConfig) -> SavedRun {
        SavedRun {
            dir: PathBuf::from("r"),
            meta: RunMeta {
                name: String::new(),
                created: 0,
                dataset: "CIFAR-10".into(),
                class_names: Vec::new(),
                shape: crate::data::ImageShape::CIFAR,
                sizes: [10_000, 10_000, 10_000],
                status: RunStatus::Finished,
                renamed: false,
                message: None,
                warnings: Vec::new(),
            },
            settings: RunSettings::new(config),
            history: Vec::new(),
            summary: None,
        }
    }

    #[test]
    fn overlay_labels_name_only_relevant_differences() {
        use crate::train::OptimizerKind;
        // SGD against Adam: β₁, β₂, ε and momentum have their defaults in both, and the
        // SGD run never used them: only the optimiser is named, and nothing about β for
        // the SGD run.
        let sgd = run_with(TrainConfig::default());
        let adam = run_with(TrainConfig {
            optimizer: OptimizerKind::Adam,
            beta1: 0.8,
            ..Default::default()
        });
        let labels = differing_labels(&[&sgd, &adam]);
        assert_eq!(labels[0], "optimiser SGD", "{labels:?}");
        assert_eq!(labels[1], "optimiser Adam, β₁ 0.8", "{labels:?}");
        // Two linear runs differing only in a hidden-layer setting they do not use: the
        // same run as far as the overlay can tell, so they keep their names.
        let a = run_with(TrainConfig::default());
        let b = run_with(TrainConfig {
            dropout: 0.5,
            ..Default::default()
        });
        let labels = differing_labels(&[&a, &b]);
        assert_eq!(labels[0], a.name());
        assert_eq!(labels[1], b.name());
    }

    #[test]
    fn utc_stamps() {
        assert_eq!(utc_stamp(0), "19700101-000000");
        assert_eq!(utc_stamp(1_795_376_412), "20261122-194012");
        assert_eq!(utc_stamp(951_782_400), "20000229-000000");
    }

    #[test]
    fn weights_round_trip_and_bad_files_are_named() {
        let mut rng = rand::rngs::SmallRng::seed_from_u64(3);
        let net = Network::<f32>::new(
            12,
            &[5],
            3,
            Activation::Tanh,
            crate::model::InitKind::Xavier,
            0.01,
            &mut rng,
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.bin");
        save_weights(&path, &net).unwrap();
        let back = load_weights(&path).unwrap();
        assert_eq!(back.activation, Activation::Tanh);
        assert_eq!(back.layers[0].weights, net.layers[0].weights);
        assert_eq!(back.layers[1].bias, net.layers[1].bias);
        assert_eq!(back, net);

        // Batch norm's γ, β and running averages come back too.
        let mut bn_net = net.clone().with_batch_norm(true);
        if let Some(bn) = &mut bn_net.layers[0].bn {
            bn.gamma.fill(1.5);
            bn.beta.fill(-0.25);
            bn.mean.fill(0.125);
            bn.var.fill(2.0);
        }
        let bn_path = dir.path().join("bn.bin");
        save_weights(&bn_path, &bn_net).unwrap();
        assert_eq!(load_weights(&bn_path).unwrap(), bn_net);

        // A file of the first version (no batch-norm flags) still loads.
        let mut v1 = b"TVWGHT01".to_vec();
        v1.extend(1u32.to_le_bytes());
        v1.extend(1u32.to_le_bytes());
        v1.extend(2u32.to_le_bytes());
        v1.extend(3u32.to_le_bytes());
        for v in 0..8 {
            v1.extend((v as f32).to_le_bytes());
        }
        let old = parse_weights(&v1, Path::new("old.bin")).unwrap();
        assert_eq!(old.activation, Activation::Tanh);
        assert_eq!(old.layers[0].weights[[1, 2]], 5.0);
        assert_eq!(old.layers[0].bias[1], 7.0);
        assert!(old.layers[0].bn.is_none());

        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        let err = load_weights(&path).unwrap_err().to_string();
        assert!(err.contains("w.bin") && err.contains("ends early"), "{err}");
        std::fs::write(&path, b"garbage!").unwrap();
        assert!(
            load_weights(&path)
                .unwrap_err()
                .to_string()
                .contains("not a trainviz")
        );
    }
}
