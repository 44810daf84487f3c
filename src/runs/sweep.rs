//! Sweeps: grid or random search over hyperparameters. Each point is a saved run in the
//! sweep's folder; points whose run finished are not redone, so a stopped or killed sweep
//! resumes where it was. Points run in parallel, one per core by default, and share the
//! thread budget (`threads`, else one per core) between them.
//!
//! A sweep file (TOML):
//! ```toml
//! name = "lambda-eta"          # folder name under runs/sweeps/ (default: the file's stem)
//! preset = "classic"           # optional starting point
//! mode = "grid"                # or "random"
//! samples = 10                 # random: number of points
//! parallel = 2                 # points at a time (default: the number of cores)
//! [base]                       # settings every point shares (any config key)
//! epochs = 10
//! [params]                     # what varies: a list of values, or a range
//! lambda = [0, 0.01, 0.1, 1]
//! eta = [0.001, 0.01]
//! batch = { min = 50, max = 200, steps = 4 }          # grid: evenly spaced
//! # eta = { min = 1e-4, max = 1e-1, log = true }      # random: log-uniform
//! ```

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rand::{Rng, SeedableRng, rngs::SmallRng};
use serde::Deserialize;

use super::errors::{SweepError, TrainingError};
use super::{SavedRun, presets};
use crate::data::{self, DataError, DataRequest, Splits};
use crate::train::config::{ConfigError, setting_text};
use crate::train::{
    RunEnd, RunSettings, RunStatus, SaveTo, Session, Summary, TrainConfig, default_threads,
};

/// Grid or random search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum SweepMode {
    /// Every combination of the listed values.
    #[default]
    Grid,
    /// `samples` random combinations.
    Random,
}

/// The values one parameter takes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum ParamValues {
    /// Exactly these.
    List(Vec<toml::Value>),
    /// A range: `steps` evenly spaced values for a grid, uniform draws for random search;
    /// `log` spaces or draws on a log scale.
    Range {
        /// Lowest value.
        min: f64,
        /// Highest value.
        max: f64,
        /// Values of a grid over the range.
        #[serde(default)]
        steps: Option<usize>,
        /// Log scale.
        #[serde(default)]
        log: bool,
    },
}

/// A sweep file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    /// Folder name under `runs/sweeps/`.
    #[serde(default)]
    pub name: Option<String>,
    /// Preset to start from.
    #[serde(default)]
    pub preset: Option<String>,
    /// Grid or random.
    #[serde(default)]
    pub mode: SweepMode,
    /// Points of a random search.
    #[serde(default = "default_samples")]
    pub samples: usize,
    /// Seed of a random search.
    #[serde(default)]
    pub seed: u64,
    /// Points trained at a time.
    #[serde(default)]
    pub parallel: Option<usize>,
    /// Settings every point shares.
    #[serde(default)]
    pub base: toml::Table,
    /// What varies, in order.
    pub params: toml::Table,
}

/// Most points a sweep may have.
pub const MAX_POINTS: usize = 10_000;

fn default_samples() -> usize {
    10
}

/// One point of a sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepPoint {
    /// Folder name, stable across restarts: index and values.
    pub id: String,
    /// The varied settings, as (key, value text).
    pub values: Vec<(String, String)>,
    /// The complete settings.
    pub config: TrainConfig,
}

/// A sweep ready to run: where it lives and its points.
#[derive(Debug, Clone)]
pub struct Sweep {
    /// The sweep's folder.
    pub dir: PathBuf,
    /// Its points.
    pub points: Vec<SweepPoint>,
    /// Points at a time.
    pub parallel: usize,
}

/// The values of a range for a grid.
fn range_values(
    name: &str,
    min: f64,
    max: f64,
    steps: usize,
    log: bool,
) -> Result<Vec<toml::Value>, SweepError> {
    if !(min.is_finite() && max.is_finite()) || min > max || (log && min <= 0.0) {
        return Err(SweepError::Range {
            key: name.to_string(),
            min,
            max,
            log,
        });
    }
    Ok((0..steps.max(1))
        .map(|i| {
            let f = if steps <= 1 {
                0.0
            } else {
                i as f64 / (steps - 1) as f64
            };
            let v = if log {
                (min.ln() + f * (max.ln() - min.ln())).exp()
            } else {
                min + f * (max - min)
            };
            toml::Value::Float(v)
        })
        .collect())
}

impl SweepSpec {
    /// Parses a sweep file's text.
    pub fn from_toml(text: &str) -> Result<Self, SweepError> {
        toml::from_str(text).map_err(
            |e: toml::de::Error| match ConfigError::toml(&e, Some(text)) {
                ConfigError::Toml { line, message } => SweepError::Toml { line, message },
                _ => SweepError::Toml {
                    line: None,
                    message: e.message().to_string(),
                },
            },
        )
    }

    /// The points of the sweep, starting from `base` (the defaults, or settings given on
    /// the command line such as the data folder). Every point's settings are validated; an
    /// error names the parameter.
    pub fn points(&self, base: &TrainConfig) -> Result<Vec<SweepPoint>, SweepError> {
        let mut start = base.clone();
        if let Some(name) = &self.preset {
            start = presets::get(name)?.config(&start)?;
        }
        start = start.with_overrides(&self.base).map_err(SweepError::Base)?;
        let mut params: Vec<(String, ParamValues)> = Vec::new();
        for (k, v) in &self.params {
            let values: ParamValues =
                v.clone()
                    .try_into()
                    .map_err(|e: toml::de::Error| SweepError::Param {
                        key: k.clone(),
                        message: e.message().to_string(),
                    })?;
            params.push((k.clone(), values));
        }
        if params.is_empty() {
            return Err(SweepError::NoParams);
        }
        let count = match self.mode {
            SweepMode::Random => self.samples as u128,
            SweepMode::Grid => params.iter().fold(1u128, |n, (_, v)| {
                n.saturating_mul(match v {
                    ParamValues::List(l) => l.len() as u128,
                    ParamValues::Range { steps, .. } => steps.unwrap_or(1) as u128,
                })
            }),
        };
        if count > MAX_POINTS as u128 {
            return Err(SweepError::TooMany {
                count,
                max: MAX_POINTS,
            });
        }
        let combos = match self.mode {
            SweepMode::Grid => grid_combos(&params)?,
            SweepMode::Random => self.random_combos(&params),
        };
        combos
            .into_iter()
            .enumerate()
            .map(|(i, combo)| point(&start, i, &combo))
            .collect()
    }
}

/// One sweep point's combination of values: (setting, value) pairs.
type Combo = Vec<(String, toml::Value)>;

/// Every combination of the parameters' values (a grid).
fn grid_combos(params: &[(String, ParamValues)]) -> Result<Vec<Combo>, SweepError> {
    let mut combos = vec![Vec::new()];
    for (k, values) in params {
        let list = match values {
            ParamValues::List(l) => l.clone(),
            ParamValues::Range {
                min,
                max,
                steps,
                log,
            } => range_values(
                k,
                *min,
                *max,
                steps.ok_or_else(|| SweepError::NoSteps { key: k.clone() })?,
                *log,
            )?,
        };
        if list.is_empty() {
            return Err(SweepError::NoValues { key: k.clone() });
        }
        combos = combos
            .into_iter()
            .flat_map(|c| {
                list.iter().map(move |v| {
                    let mut c = c.clone();
                    c.push((k.clone(), v.clone()));
                    c
                })
            })
            .collect();
    }
    Ok(combos)
}

impl SweepSpec {
    /// `samples` random combinations (seeded by the sweep's `seed`).
    fn random_combos(&self, params: &[(String, ParamValues)]) -> Vec<Combo> {
        let mut rng = SmallRng::seed_from_u64(self.seed);
        (0..self.samples.max(1))
            .map(|_| {
                params
                    .iter()
                    .map(|(k, values)| {
                        let v = match values {
                            ParamValues::List(l) if !l.is_empty() => {
                                l[rng.random_range(0..l.len())].clone()
                            }
                            ParamValues::List(_) => toml::Value::Float(f64::NAN),
                            ParamValues::Range { min, max, log, .. } => {
                                let f: f64 = rng.random();
                                toml::Value::Float(if *log && *min > 0.0 {
                                    (min.ln() + f * (max.ln() - min.ln())).exp()
                                } else {
                                    min + f * (max - min)
                                })
                            }
                        };
                        (k.clone(), v)
                    })
                    .collect()
            })
            .collect()
    }
}

/// Point `i` (from 0) of the sweep: `start` with the values of `combo`, checked, and its id
/// (its number and values, in characters every file system takes).
fn point(start: &TrainConfig, i: usize, combo: &Combo) -> Result<SweepPoint, SweepError> {
    let table: toml::Table = combo.iter().cloned().collect();
    let config = start
        .with_overrides(&table)
        .map_err(|problem| SweepError::Point {
            number: i + 1,
            problem,
        })?;
    let values: Vec<(String, String)> = combo
        .iter()
        .map(|(k, v)| (k.clone(), setting_text(v)))
        .collect();
    let tag: String = values
        .iter()
        .map(|(k, v)| format!("-{k}{v}"))
        .collect::<String>()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    Ok(SweepPoint {
        id: format!("p{:03}{tag}", i + 1),
        values,
        config,
    })
}

/// Reads a sweep file and lays the sweep out under `runs_root/sweeps/`.
pub fn prepare(file: &Path, base: &TrainConfig, runs_root: &Path) -> Result<Sweep, SweepError> {
    let text = std::fs::read_to_string(file).map_err(|e| SweepError::Read {
        path: file.to_path_buf(),
        problem: e.to_string(),
    })?;
    let in_file = |e: SweepError| SweepError::In {
        path: file.to_path_buf(),
        problem: Box::new(e),
    };
    let spec = SweepSpec::from_toml(&text).map_err(in_file)?;
    let name = spec.name.clone().unwrap_or_else(|| {
        file.file_stem()
            .map_or_else(|| "sweep".into(), |s| s.to_string_lossy().into_owned())
    });
    let points = spec.points(base).map_err(in_file)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    Ok(Sweep {
        dir: runs_root.join("sweeps").join(name),
        parallel: spec.parallel.unwrap_or(cores).clamp(1, 64),
        points,
    })
}

/// The outcome of one point.
#[derive(Debug, Clone, PartialEq)]
pub struct PointResult {
    /// Which point.
    pub id: String,
    /// Its varied settings.
    pub values: Vec<(String, String)>,
    /// Final numbers (NaN costs when it diverged).
    pub summary: Summary,
    /// Best validation accuracy over its epochs.
    pub best_val_acc: f64,
    /// True when it was done before this start and not redone.
    pub reused: bool,
}

/// What a running sweep reports.
#[derive(Debug, Clone, PartialEq)]
pub enum SweepEvent {
    /// A point started training.
    Started {
        /// Which point.
        id: String,
    },
    /// A point finished an epoch.
    Epoch {
        /// Which point.
        id: String,
        /// Epochs done.
        epoch: usize,
        /// Its validation accuracy.
        val_acc: f64,
    },
    /// A point is done (now or before).
    Done(PointResult),
    /// A point failed (bad data, unwritable folder); the others go on.
    Failed {
        /// Which point.
        id: String,
        /// Why.
        message: String,
    },
}

/// Data sets loaded so far, shared by the points that ask for the same data.
pub(super) type DataCache = Mutex<Vec<(DataRequest, Arc<Splits>)>>;

pub(super) fn load_cached(
    cache: &DataCache,
    request: &DataRequest,
) -> Result<Arc<Splits>, DataError> {
    let mut cache = cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, d)) = cache.iter().find(|(r, _)| r == request) {
        return Ok(d.clone());
    }
    let d = Arc::new(data::load(request)?);
    cache.push((request.clone(), d.clone()));
    Ok(d)
}

/// A point's result read back from its folder, if it ended (finished or diverged).
fn finished_result(point: &SweepPoint, dir: &Path) -> Option<PointResult> {
    // summary.json is written when a run ends (finished or diverged) and removed when it is
    // continued, so its presence is what "ended" means, whatever meta.json had time to say.
    let run = SavedRun::load(dir).ok()?;
    let summary = run.summary.clone()?;
    Some(PointResult {
        id: point.id.clone(),
        values: point.values.clone(),
        best_val_acc: run.best_val_accuracy(),
        summary,
        reused: true,
    })
}

/// Trains one point into `dir` on `threads` threads through the one training
/// [`Session`], reporting epochs; `None` when stopped.
fn train_point(
    point: &SweepPoint,
    dir: &Path,
    threads: usize,
    cache: &DataCache,
    stop: &AtomicBool,
    report: &(dyn Fn(SweepEvent) + Sync),
) -> Result<Option<PointResult>, TrainingError> {
    let data = load_cached(cache, &point.config.data_request())?;
    let save = super::saving(SaveTo::At {
        dir: dir.to_path_buf(),
        name: point.id.clone(),
    });
    let mut session = Session::new(point.config.clone(), data, None, Some(save))?;
    // The points trained at once share the thread budget.
    session.set_threads(threads);
    let mut best = f64::NAN;
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let a = session.run_epoch();
        if let Some(e) = a.save_error {
            return Err(TrainingError::Save(e));
        }
        if let Some(m) = &a.epoch {
            best = best.max(m.val.accuracy);
            report(SweepEvent::Epoch {
                id: point.id.clone(),
                epoch: m.epoch,
                val_acc: m.val.accuracy,
            });
        }
        let summary = match a.end {
            Some(RunEnd::Finished { summary, .. } | RunEnd::Diverged { summary, .. }) => summary,
            None => continue,
        };
        return Ok(Some(PointResult {
            id: point.id.clone(),
            values: point.values.clone(),
            summary,
            best_val_acc: best,
            reused: false,
        }));
    }
}

/// Runs the sweep: finished points are read back, the rest trained `parallel` at a time
/// (with `only = Some(k)`, point k alone: a job of a sweep spread over machines).
/// Returns every finished point's result, best validation accuracy first. Stops between
/// epochs when `stop` is set (the unfinished points are redone on the next start).
pub fn run(
    sweep: &Sweep,
    only: Option<usize>,
    stop: &AtomicBool,
    report: &(dyn Fn(SweepEvent) + Sync),
) -> Vec<PointResult> {
    let cache: DataCache = Mutex::new(Vec::new());
    let results = Mutex::new(Vec::new());
    let next = AtomicUsize::new(0);
    // Each point creates its folder (and says so if it cannot); this is only the parent.
    if let Err(e) = std::fs::create_dir_all(&sweep.dir) {
        log::warn!("{}: {e}", sweep.dir.display());
    }
    let at_once = match only {
        Some(_) => 1,
        None => sweep.parallel.min(sweep.points.len()).max(1),
    };
    let work = || {
        loop {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let i = next.fetch_add(1, Ordering::Relaxed);
            let point = match only {
                Some(_) if i > 0 => return,
                Some(k) => sweep.points.get(k),
                None => sweep.points.get(i),
            };
            let Some(point) = point else {
                return;
            };
            let dir = sweep.dir.join(&point.id);
            let outcome = match finished_result(point, &dir) {
                Some(r) => Ok(Some(r)),
                None => {
                    report(SweepEvent::Started {
                        id: point.id.clone(),
                    });
                    let budget = point.config.threads.unwrap_or_else(default_threads);
                    let threads = (budget / at_once).max(1);
                    train_point(point, &dir, threads, &cache, stop, report)
                }
            };
            match outcome {
                Ok(Some(r)) => {
                    report(SweepEvent::Done(r.clone()));
                    results
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(r);
                }
                Ok(None) => return,
                Err(e) => report(SweepEvent::Failed {
                    id: point.id.clone(),
                    message: e.to_string(),
                }),
            }
        }
    };
    std::thread::scope(|s| {
        for _ in 1..at_once {
            s.spawn(work);
        }
        work();
    });
    let mut results = results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    sort_results(&mut results);
    results
}

/// Best validation accuracy first (NaN last).
pub fn sort_results(results: &mut [PointResult]) {
    results.sort_by(|a, b| {
        let key = |r: &PointResult| {
            if r.best_val_acc.is_nan() {
                -1.0
            } else {
                r.best_val_acc
            }
        };
        key(b).total_cmp(&key(a)).then_with(|| a.id.cmp(&b.id))
    });
}

/// The results as a text table: rank, varied settings, best and final validation
/// accuracy, test accuracy, and whether the point was reused.
pub fn table(results: &[PointResult]) -> String {
    let keys: Vec<String> = results
        .first()
        .map(|r| r.values.iter().map(|(k, _)| k.clone()).collect())
        .unwrap_or_default();
    let mut out = format!("{:>4}", "rank");
    for k in &keys {
        out.push_str(&format!(" {k:>12}"));
    }
    out.push_str(&format!(
        " {:>9} {:>9} {:>9} {:>8}\n",
        "best val", "final val", "test", ""
    ));
    for (rank, r) in results.iter().enumerate() {
        out.push_str(&format!("{:>4}", rank + 1));
        for (_, v) in &r.values {
            out.push_str(&format!(" {v:>12}"));
        }
        out.push_str(&format!(
            " {:>8.2}% {:>8.2}% {:>8.2}% {:>8}\n",
            100.0 * r.best_val_acc,
            100.0 * r.summary.val_acc,
            100.0 * r.summary.test_acc,
            match (r.summary.status, r.reused) {
                (RunStatus::Diverged, _) => "diverged",
                (_, true) => "(saved)",
                _ => "",
            }
        ));
    }
    out
}

/// Writes the sweep's results into its folder: the ranked table of `results` (in the order
/// given: best first after [`sort_results`]) as `table.csv`, `table.tex` and `table.md`,
/// built as every other results table (see [`crate::report::table`]): a rank column, the
/// settings that differ between the points, accuracy and cost on each set; and the bar
/// charts of test accuracy and training time per point (see [`write_bars`]). Returns the
/// files written.
pub fn write_results(
    sweep: &Sweep,
    results: &[PointResult],
) -> Result<Vec<PathBuf>, crate::report::ExportError> {
    use crate::report::table::{RunResults, TableRun, runs_table};
    let rows: Vec<TableRun> = results
        .iter()
        .filter_map(|r| {
            // The saved record (with any change made while it trained), else the point's
            // settings as the sweep made them (every result is of one of its points).
            let settings = SavedRun::load(&sweep.dir.join(&r.id))
                .map(|s| s.settings)
                .ok()
                .or_else(|| {
                    sweep
                        .points
                        .iter()
                        .find(|p| p.id == r.id)
                        .map(|p| RunSettings::new(p.config.clone()))
                })?;
            Some(TableRun {
                name: r.id.clone(),
                settings,
                results: RunResults::of_summary(&r.summary),
                status: r.summary.status,
            })
        })
        .collect();
    let mut files = runs_table(&rows, true).write(&sweep.dir)?;
    files.extend(write_bars(sweep, results)?);
    Ok(files)
}

/// The bar charts the third assignment asks for, one bar per point in the sweep's own order
/// (as its file lists them: `a3-f2 … a3-f16` stay in order): `test_accuracy_bars` and
/// `training_time_bars` (wall-clock seconds of training and its evaluations), each as PNG,
/// SVG and CSV. A point without a result (failed, or not run yet) has no bar.
pub fn write_bars(
    sweep: &Sweep,
    results: &[PointResult],
) -> Result<Vec<PathBuf>, crate::report::ExportError> {
    use crate::report::convnet::{RunBar, comparison_bars};
    let bars: Vec<RunBar> = sweep
        .points
        .iter()
        .filter_map(|p| {
            let r = results.iter().find(|r| r.id == p.id)?;
            Some(RunBar {
                name: crate::report::convnet::bar_name(&p.values),
                test_accuracy: r.summary.test_acc,
                train_seconds: r.summary.seconds,
            })
        })
        .collect();
    if bars.is_empty() {
        return Ok(Vec::new());
    }
    let what = format!(
        "{} points of {}",
        bars.len(),
        sweep
            .dir
            .file_name()
            .map_or_else(|| "the sweep".into(), |n| n.to_string_lossy().into_owned())
    );
    let mut files = Vec::new();
    for figure in comparison_bars(&bars, &what) {
        for ext in ["png", "svg", "csv"] {
            let path = sweep.dir.join(format!("{}.{ext}", figure.id));
            crate::report::export_figure(&figure, &path, crate::report::PngSize::default())?;
            files.push(path);
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runs::errors::PresetError;

    #[test]
    fn grid_points_cover_every_combination_with_stable_ids() {
        let spec = SweepSpec::from_toml(
            "[params]\nlambda = [0, 0.01, 0.1, 1]\neta = [0.001, 0.01]\n[base]\nepochs = 3",
        )
        .unwrap();
        let points = spec.points(&TrainConfig::default()).unwrap();
        assert_eq!(points.len(), 8);
        assert_eq!(points[0].config.lambda, 0.0);
        assert_eq!(points[0].config.epochs, 3);
        assert_eq!(points[7].config.lambda, 1.0);
        assert_eq!(points[7].config.eta, 0.01);
        assert!(
            points[1].id.starts_with("p002-lambda0-eta0.01"),
            "{}",
            points[1].id
        );
        assert_eq!(spec.points(&TrainConfig::default()).unwrap(), points);
    }

    #[test]
    fn ranges_and_random_search() {
        let spec = SweepSpec::from_toml(
            "mode = \"random\"\nsamples = 5\n[params]\neta = { min = 1e-4, max = 1e-1, log = true }\nbatch = [50, 100]",
        )
        .unwrap();
        let points = spec.points(&TrainConfig::default()).unwrap();
        assert_eq!(points.len(), 5);
        assert!(points.iter().all(|p| (1e-4..=1e-1).contains(&p.config.eta)));
        assert!(points.iter().all(|p| [50, 100].contains(&p.config.batch)));
        let grid = SweepSpec::from_toml(
            "[params]\neta = { min = 0.001, max = 0.1, steps = 3, log = true }",
        )
        .unwrap();
        let etas: Vec<f64> = grid
            .points(&TrainConfig::default())
            .unwrap()
            .iter()
            .map(|p| p.config.eta)
            .collect();
        assert!((etas[1] - 0.01).abs() < 1e-12, "{etas:?}");
    }

    #[test]
    fn bad_sweeps_name_the_problem() {
        let err = |t: &str| {
            SweepSpec::from_toml(t)
                .and_then(|s| s.points(&TrainConfig::default()).map(|_| ()))
                .unwrap_err()
                .to_string()
        };
        assert!(err("[params]\nlambda = [-1]").contains("lambda"));
        assert!(err("[params]\nlamda = [1]").contains("lamda"));
        assert!(err("[params]\neta = { min = 0.1, max = 1 }").contains("steps"));
        assert!(err("preset = \"nope\"\n[params]\neta = [0.1]").contains("unknown preset"));
    }

    #[test]
    fn sweep_errors_carry_the_wrong_value() {
        let points = |t: &str| {
            SweepSpec::from_toml(t)
                .unwrap()
                .points(&TrainConfig::default())
                .unwrap_err()
        };
        assert_eq!(
            points("[params]\neta = { min = 0.1, max = 0.01, steps = 2 }"),
            SweepError::Range {
                key: "eta".into(),
                min: 0.1,
                max: 0.01,
                log: false
            }
        );
        assert!(matches!(
            points("[params]\nlambda = [0, -1]"),
            SweepError::Point {
                number: 2,
                problem: ConfigError::OutOfRange { name: "lambda", .. }
            }
        ));
        assert!(matches!(
            points("preset = \"nope\"\n[params]\neta = [0.1]"),
            SweepError::Preset(PresetError::Unknown { name, .. }) if name == "nope"
        ));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s.toml");
        std::fs::write(&file, "[params]\n\neta = [1]\n= oops\n").unwrap();
        let e = prepare(&file, &TrainConfig::default(), dir.path()).unwrap_err();
        assert!(
            matches!(&e, SweepError::In { path, problem }
                if path == &file && matches!(**problem, SweepError::Toml { line: Some(4), .. })),
            "{e:?}"
        );
    }
}
