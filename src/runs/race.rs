//! Races: a few variants of the same settings trained side by side, one thread each, their
//! curves compared as they come in; every variant is saved as a run.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use super::errors::{RaceError, TrainingError};
use super::sweep::{DataCache, load_cached};
use crate::train::config::{ConfigError, NUMERIC_SETTINGS, setting_text};
use crate::train::{
    EpochMetrics, OptimizerKind, RunEnd, SaveTo, Session, TrainConfig, default_threads,
};
use crate::words::Words;

/// Most variants in one race (the initialisation preset needs six: three σ × batch norm
/// on/off).
pub const MAX_VARIANTS: usize = 6;

/// The settings a race can vary: (TOML key, name for people). The names are the settings'
/// own ([`crate::train::config::setting_label`]), so a race says what the settings panel,
/// the run titles and the report say.
pub static RACE_SETTINGS: std::sync::LazyLock<[(&str, &str); 9]> = std::sync::LazyLock::new(|| {
    [
        "optimizer",
        "batch_norm",
        "lambda",
        "eta",
        "sigma",
        "dropout",
        "activation",
        "label_smoothing",
        "layers",
    ]
    .map(|key| (key, crate::train::config::setting_label(key)))
});

/// What separates the values of `layers` in a race (a stack's text has commas of its own).
pub const LAYERS_SEPARATOR: char = ';';

/// One contestant: what differs, and its settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    /// E.g. "optimiser Adam, batch norm on".
    pub label: String,
    /// What differs as (setting's name for people, value as people read it) pairs, for
    /// short names under bars.
    pub values: Vec<(String, String)>,
    /// Its full settings.
    pub config: TrainConfig,
}

/// A ready-made race of the chapter's experiments.
#[derive(Debug, Clone, Copy)]
pub struct RacePreset {
    /// Short name.
    pub name: &'static str,
    /// What it shows, for menus.
    pub label: &'static str,
    /// The preset (see `presets.rs`) the variants start from.
    pub base: &'static str,
    /// (setting key, values as typed).
    pub vary: &'static [(&'static str, &'static str)],
    /// Settings (TOML) every variant takes on top of the base preset; empty for none.
    pub set: &'static str,
}

/// The races of the chapter, in menu order.
pub const RACE_PRESETS: &[RacePreset] = &[
    RacePreset {
        name: "optimisers",
        label: "Optimisers: SGD, momentum, Adam at η = 0.01 and 0.001 (4 × 100 ReLU, 4,000 images)",
        base: "adam-4x100",
        vary: &[("optimizer", "sgd, momentum, adam"), ("eta", "0.01, 0.001")],
        set: "",
    },
    RacePreset {
        name: "initialisation",
        label: "Initialisation σ = 1e-1, 1e-3, 1e-4, with and without batch norm",
        base: "tiny-init-bn",
        vary: &[("sigma", "0.1, 0.001, 0.0001"), ("batch_norm", "on, off")],
        set: "",
    },
    RacePreset {
        name: "batch-norm-9",
        label: "9 layers with and without batch norm",
        base: "bn-9-layer",
        vary: &[("batch_norm", "on, off")],
        set: "",
    },
    RacePreset {
        name: "dropout",
        label: "Dropout 0, 0.3, 0.5 (MLP 500, 4,000 images)",
        base: "dropout",
        vary: &[("dropout", "0, 0.3, 0.5")],
        set: "",
    },
    RacePreset {
        name: "activations-spiral",
        label: "Sigmoid, tanh, ReLU on the spiral in the plane (2 × 8, Adam η 0.01, 2,000 epochs): the race to 100 % training accuracy",
        base: "spiral-2x8-tanh",
        vary: &[("activation", "sigmoid, tanh, relu")],
        // At the preset's η 0.03 ReLU stalls near 90 %; at 0.01 all three reach 100 %
        // (seed 0: ReLU first, near epoch 90, then tanh and sigmoid, near 560 and 730).
        set: "eta = 0.01\nepochs = 2000",
    },
    RacePreset {
        name: "a3-patch-sizes",
        label: "Assignment 3: patchify f = 2, 4, 8, 16 with nf = 3, 10, 40, 160, dense 50 (4,800 steps each); Export table writes the accuracy and time bars",
        base: "a3-f4",
        // The four a3-fN presets' layers (a test checks they stay so).
        vary: &[(
            "layers",
            "patchify 2:3, relu, dense 50, relu; patchify 4:10, relu, dense 50, relu; \
             patchify 8:40, relu, dense 50, relu; patchify 16:160, relu, dense 50, relu",
        )],
        set: "",
    },
    RacePreset {
        name: "a3-label-smoothing",
        label: "Assignment 3: label smoothing ε = 0 and 0.1 (patchify 4:40, dense 300, λ 0.0025, 4 doubling cycles = 24,000 steps)",
        base: "a3-wide",
        vary: &[("label_smoothing", "0, 0.1")],
        set: "",
    },
];

/// The name people use for setting `key`.
pub fn setting_name(key: &str) -> &str {
    RACE_SETTINGS
        .iter()
        .find(|(k, _)| *k == key)
        .map_or(key, |(_, name)| name)
}

/// Parses the comma-separated `text` of values for `key`: optimiser and activation names,
/// on/off for batch norm, layer stacks separated by [`LAYERS_SEPARATOR`], numbers for the
/// rest.
pub fn parse_values(key: &str, text: &str) -> Result<Vec<toml::Value>, RaceError> {
    if key == "layers" {
        return parse_layer_stacks(text);
    }
    let values: Result<Vec<toml::Value>, RaceError> = text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|v| match key {
            "optimizer" => OptimizerKind::ALL
                .iter()
                .find(|k| {
                    k.label().eq_ignore_ascii_case(v) || format!("{k:?}").eq_ignore_ascii_case(v)
                })
                .map(|k| toml::Value::String(format!("{k:?}").to_lowercase()))
                .ok_or_else(|| RaceError::NotOptimizer {
                    value: v.to_string(),
                }),
            "activation" => crate::model::Activation::ALL
                .iter()
                .find(|a| {
                    a.label().eq_ignore_ascii_case(v) || format!("{a:?}").eq_ignore_ascii_case(v)
                })
                .map(|a| toml::Value::String(format!("{a:?}").to_lowercase()))
                .ok_or_else(|| RaceError::NotActivation {
                    value: v.to_string(),
                }),
            "batch_norm" => match v.to_ascii_lowercase().as_str() {
                "on" | "true" | "yes" => Ok(toml::Value::Boolean(true)),
                "off" | "false" | "no" => Ok(toml::Value::Boolean(false)),
                _ => Err(RaceError::NotOnOff {
                    value: v.to_string(),
                }),
            },
            _ => {
                let x = v.parse::<f64>().map_err(|_| RaceError::NotANumber {
                    setting: setting_name(key).to_string(),
                    value: v.to_string(),
                })?;
                // Checked here, as typed, with the range the engine accepts.
                if let Some(spec) = NUMERIC_SETTINGS.iter().find(|s| s.key == key)
                    && !(x.is_finite() && spec.range().contains(&x))
                {
                    return Err(RaceError::OutOfRange {
                        setting: setting_name(key).to_string(),
                        value: v.to_string(),
                        allowed: spec.allowed(),
                    });
                }
                Ok(toml::Value::Float(x))
            }
        })
        .collect();
    let values = values?;
    if values.is_empty() {
        return Err(RaceError::NoValues {
            setting: setting_name(key).to_string(),
        });
    }
    Ok(values)
}

/// The stacks of `text`, separated by [`LAYERS_SEPARATOR`], each checked as the layers
/// setting is (whether it fits the data is checked when the variants are made).
fn parse_layer_stacks(text: &str) -> Result<Vec<toml::Value>, RaceError> {
    let values = text
        .split(LAYERS_SEPARATOR)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|v| {
            crate::model::layers::parse(v)
                .map(|_| toml::Value::String(v.to_string()))
                .map_err(|e| RaceError::NotLayers {
                    value: v.to_string(),
                    reason: e.to_string(),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if values.is_empty() {
        return Err(RaceError::NoValues {
            setting: setting_name("layers").to_string(),
        });
    }
    Ok(values)
}

/// A value as people read it (on/off, the optimiser's name).
fn value_text(key: &str, v: &toml::Value) -> String {
    match (key, v) {
        ("batch_norm", toml::Value::Boolean(b)) => if *b { "on" } else { "off" }.to_string(),
        ("activation", toml::Value::String(s)) => crate::model::Activation::ALL
            .iter()
            .find(|a| format!("{a:?}").eq_ignore_ascii_case(s))
            .map_or_else(|| s.clone(), |a| a.label().to_string()),
        ("optimizer", toml::Value::String(s)) => OptimizerKind::ALL
            .iter()
            .find(|k| format!("{k:?}").eq_ignore_ascii_case(s))
            .map_or_else(|| s.clone(), |k| k.label().to_string()),
        _ => setting_text(v),
    }
}

/// The variants of `base` where each `(key, values)` takes each of its values (every
/// combination when there are two). Errors name a bad value or too many variants.
pub fn variants(
    base: &TrainConfig,
    vary: &[(String, Vec<toml::Value>)],
) -> Result<Vec<Variant>, RaceError> {
    let mut combos: Vec<Vec<(String, toml::Value)>> = vec![Vec::new()];
    for (key, values) in vary {
        combos = combos
            .into_iter()
            .flat_map(|c| {
                values.iter().map(move |v| {
                    let mut c = c.clone();
                    c.push((key.clone(), v.clone()));
                    c
                })
            })
            .collect();
    }
    if combos.len() < 2 || combos.len() > MAX_VARIANTS {
        return Err(RaceError::VariantCount {
            count: combos.len(),
            max: MAX_VARIANTS,
        });
    }
    combos
        .into_iter()
        .map(|combo| {
            let table: toml::Table = combo.iter().cloned().collect();
            let config = base.with_overrides(&table)?;
            let values: Vec<(String, String)> = combo
                .iter()
                .map(|(k, v)| (setting_name(k).to_string(), value_text(k, v)))
                .collect();
            let label = values
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ");
            Ok(Variant {
                label,
                values,
                config,
            })
        })
        .collect()
}

/// The variants of a ready-made race on top of `base` (data location etc.).
pub fn preset_variants(preset: &RacePreset, base: &TrainConfig) -> Result<Vec<Variant>, RaceError> {
    let mut start = super::presets::get(preset.base)?.config(base)?;
    if !preset.set.is_empty() {
        let table: toml::Table =
            toml::from_str(preset.set).map_err(|e| ConfigError::toml(&e, Some(preset.set)))?;
        start = start.with_overrides(&table)?;
    }
    let vary = preset
        .vary
        .iter()
        .map(|(k, text)| Ok((k.to_string(), parse_values(k, text)?)))
        .collect::<Result<Vec<_>, RaceError>>()?;
    variants(&start, &vary)
}

/// What a race reports, tagged with the variant's index.
#[derive(Debug, Clone)]
pub enum RaceEvent {
    /// A variant finished an epoch.
    Epoch {
        /// Which variant.
        variant: usize,
        /// Its metrics.
        metrics: Box<EpochMetrics>,
    },
    /// A variant is done.
    Finished {
        /// Which variant.
        variant: usize,
        /// Its test accuracy.
        test_accuracy: f64,
        /// Its test cost.
        test_cost: f64,
        /// Seconds it spent training (steps and each epoch's evaluation), as its summary.
        seconds: f64,
        /// Where it was saved (`None` when not saved).
        dir: Option<PathBuf>,
        /// It stopped because its loss diverged (not a finite number, or far above its
        /// start), not because its epochs were done.
        diverged: bool,
    },
    /// A variant could not run (bad data, unwritable folder); the others go on.
    Failed {
        /// Which variant.
        variant: usize,
        /// Why.
        message: String,
    },
}

/// The last finite training loss of a variant's epochs: what a diverged variant reached
/// before its loss ran away.
pub fn last_finite_loss(history: &[EpochMetrics]) -> Option<f64> {
    last_finite(history.iter().map(|m| m.train.loss))
}

/// The last finite value of `values`.
pub fn last_finite(values: impl DoubleEndedIterator<Item = f64>) -> Option<f64> {
    values.rev().find(|v| v.is_finite())
}

/// Trains every variant to the end, all at once, each on its share of the thread budget
/// (its `threads`, else one per core, divided by the number of variants), saving
/// each as a run under `runs_root` when given. Stops between steps when `stop` is set.
pub fn run(
    variants: &[Variant],
    runs_root: Option<&Path>,
    stop: &AtomicBool,
    report: &(dyn Fn(RaceEvent) + Sync),
) {
    let cache: DataCache = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for (i, v) in variants.iter().enumerate() {
            let cache = &cache;
            let spawned = std::thread::Builder::new()
                .name(format!("trainviz-race-{i}"))
                .spawn_scoped(s, move || {
                    if let Err(e) =
                        run_variant(i, variants.len(), v, runs_root, cache, stop, report)
                    {
                        report(RaceEvent::Failed {
                            variant: i,
                            message: e.to_string(),
                        });
                    }
                });
            if let Err(e) = spawned {
                report(RaceEvent::Failed {
                    variant: i,
                    message: format!("cannot start a thread: {e}"),
                });
            }
        }
    });
}

fn run_variant(
    i: usize,
    variants: usize,
    v: &Variant,
    runs_root: Option<&Path>,
    cache: &DataCache,
    stop: &AtomicBool,
    report: &(dyn Fn(RaceEvent) + Sync),
) -> Result<(), TrainingError> {
    // The variants load their common data once.
    let splits = load_cached(cache, &v.config.data_request())?;
    // The one training session (engine, run folder, divergence rule, summary), as for the
    // window's runs, `trainviz train` and sweep points.
    let save = match runs_root {
        Some(root) => {
            let secs = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let base = format!("{}-race-{}", super::utc_stamp(secs), i + 1);
            let mut dir = root.join(&base);
            let mut n = 2;
            while dir.exists() {
                dir = root.join(format!("{base}-{n}"));
                n += 1;
            }
            Some(super::saving(SaveTo::At {
                dir,
                name: format!("race: {}", v.label),
            }))
        }
        None => None,
    };
    let mut session = Session::new(v.config.clone(), splits, None, save)?;
    // The variants share the thread budget (theirs, else one per core) between them.
    let budget = v.config.threads.unwrap_or_else(default_threads);
    session.set_threads((budget / variants).max(1));
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        let a = session.advance(std::time::Duration::from_millis(200), |_| {});
        if let Some(e) = a.save_error {
            return Err(TrainingError::Save(e));
        }
        if let Some(m) = a.epoch {
            report(RaceEvent::Epoch {
                variant: i,
                metrics: Box::new(m),
            });
        }
        let (test_accuracy, test_cost, seconds, diverged) = match a.end {
            Some(RunEnd::Finished { test, summary }) => {
                (test.accuracy, test.cost, summary.seconds, false)
            }
            Some(RunEnd::Diverged { summary, .. }) => {
                (summary.test_acc, summary.test_cost, summary.seconds, true)
            }
            None => continue,
        };
        report(RaceEvent::Finished {
            variant: i,
            test_accuracy,
            test_cost,
            seconds,
            dir: session.dir().map(Path::to_path_buf),
            diverged,
        });
        return Ok(());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::DatasetKind;

    #[test]
    fn a_diverged_variant_keeps_its_last_finite_loss() {
        let losses = [2.3, 1.9, f64::NAN, f64::INFINITY];
        assert_eq!(last_finite(losses.into_iter()), Some(1.9));
        assert_eq!(last_finite([f64::NAN].into_iter()), None);
        assert_eq!(last_finite_loss(&[]), None);
    }

    #[test]
    fn variants_combine_and_are_labelled_in_words() {
        let base = TrainConfig::default();
        let vary = vec![
            (
                "optimizer".to_string(),
                parse_values("optimizer", "SGD, adam").unwrap(),
            ),
            (
                "batch_norm".to_string(),
                parse_values("batch_norm", "on, off").unwrap(),
            ),
        ];
        let v = variants(&base, &vary).unwrap();
        assert_eq!(v.len(), 4);
        assert_eq!(v[0].label, "optimiser SGD, batch norm on");
        assert_eq!(v[3].config.optimizer, OptimizerKind::Adam);
        assert!(!v[3].config.batch_norm);
        assert!(
            parse_values("eta", "0.1, x")
                .unwrap_err()
                .to_string()
                .contains("x")
        );
        assert_eq!(
            parse_values("eta", "0.1, x"),
            Err(RaceError::NotANumber {
                setting: setting_name("eta").to_string(),
                value: "x".into()
            })
        );
        assert_eq!(
            parse_values("batch_norm", "on, maybe"),
            Err(RaceError::NotOnOff {
                value: "maybe".into()
            })
        );
        assert!(parse_values("optimizer", "lbfgs").is_err());
        let one = vec![("eta".to_string(), parse_values("eta", "0.1").unwrap())];
        assert!(
            variants(&base, &one)
                .unwrap_err()
                .to_string()
                .contains("2 to")
        );
        assert_eq!(
            variants(&base, &one).unwrap_err(),
            RaceError::VariantCount {
                count: 1,
                max: MAX_VARIANTS
            }
        );
        // Values are checked against the setting's range as they are parsed.
        assert!(
            parse_values("dropout", "0, 2")
                .unwrap_err()
                .to_string()
                .contains("dropout")
        );
        for p in RACE_PRESETS {
            let v = preset_variants(p, &base).unwrap_or_else(|e| panic!("{}: {e}", p.name));
            assert!((2..=MAX_VARIANTS).contains(&v.len()), "{}", p.name);
        }
    }

    /// A race over layer stacks reads stacks separated by semicolons, names a stack that
    /// does not read, and its assignment race trains exactly the four a3-fN presets.
    #[test]
    fn a_race_varies_layer_stacks() {
        let two = parse_values(
            "layers",
            "patchify 4:10, relu, dense 50, relu; conv 3:8, relu",
        )
        .expect("two stacks read");
        assert_eq!(two.len(), 2);
        let bad = parse_values("layers", "patchify 4:10; conv three").unwrap_err();
        assert!(
            matches!(&bad, RaceError::NotLayers { value, .. } if value == "conv three"),
            "{bad:?}"
        );
        assert!(bad.to_string().contains("semicolons"), "{bad}");
        assert!(matches!(
            parse_values("layers", " ; "),
            Err(RaceError::NoValues { .. })
        ));
        let base = TrainConfig::default();
        let race = RACE_PRESETS
            .iter()
            .find(|p| p.name == "a3-patch-sizes")
            .expect("the assignment's race is there");
        let v = preset_variants(race, &base).expect("its variants fit");
        let names = ["a3-f2", "a3-f4", "a3-f8", "a3-f16"];
        assert_eq!(v.len(), names.len());
        for (variant, name) in v.iter().zip(names) {
            let preset = super::super::presets::get(name)
                .and_then(|p| p.config(&base))
                .expect("the preset reads");
            assert_eq!(variant.config, preset, "{name}");
            assert_eq!(variant.label, format!("layers {}", preset.layers));
        }
    }

    /// Races `base` under each of `optimizers` (as the `optimizer` values are written),
    /// saving the runs under `root`; every event the race sent.
    fn race_optimizers(base: &TrainConfig, optimizers: &str, root: &Path) -> Vec<RaceEvent> {
        let vary = vec![(
            "optimizer".to_string(),
            parse_values("optimizer", optimizers).unwrap(),
        )];
        let v = variants(base, &vary).unwrap();
        let events = Mutex::new(Vec::new());
        run(&v, Some(root), &AtomicBool::new(false), &|e| {
            events.lock().unwrap().push(e)
        });
        events.into_inner().unwrap()
    }

    /// Three optimisers on the synthetic set, side by side, each saved as a run.
    #[test]
    fn a_race_trains_every_variant_and_saves_it() {
        let base = TrainConfig {
            dataset: DatasetKind::Synthetic,
            train_limit: Some(300),
            hidden: vec![16],
            epochs: 2,
            eta: 0.01,
            ..Default::default()
        };
        let root = tempfile::tempdir().unwrap();
        let events = race_optimizers(&base, "sgd, momentum, adam", root.path());
        let epochs = events
            .iter()
            .filter(|e| matches!(e, RaceEvent::Epoch { .. }))
            .count();
        assert_eq!(epochs, 6);
        let saved: Vec<PathBuf> = events
            .iter()
            .filter_map(|e| match e {
                RaceEvent::Finished { dir, .. } => dir.clone(),
                _ => None,
            })
            .collect();
        assert_eq!(saved.len(), 3);
        for dir in saved {
            let run = crate::runs::SavedRun::load(&dir).unwrap();
            assert!(run.meta.name.starts_with("race: optimiser"));
            assert_eq!(run.config().epochs, 2);
        }
    }

    /// A race of layer stacks (the same ConvNet under two optimisers) trains through the
    /// session like any race: every epoch reported, each variant saved with its weights.
    #[test]
    fn a_race_of_convnets_trains_and_saves_each() {
        let base = TrainConfig {
            dataset: DatasetKind::Synthetic,
            train_limit: Some(400),
            layers: "patchify 4:4, relu, dense 10, relu".into(),
            init: crate::model::InitKind::He,
            epochs: 2,
            eta: 0.01,
            ..Default::default()
        };
        let root = tempfile::tempdir().unwrap();
        let events = race_optimizers(&base, "sgd, adam", root.path());
        let failed: Vec<_> = events
            .iter()
            .filter(|e| matches!(e, RaceEvent::Failed { .. }))
            .collect();
        assert!(failed.is_empty(), "{failed:?}");
        let epochs = events
            .iter()
            .filter(|e| matches!(e, RaceEvent::Epoch { .. }))
            .count();
        assert_eq!(epochs, 4);
        for e in &events {
            if let RaceEvent::Finished { dir, .. } = e {
                let run = crate::runs::SavedRun::load(dir.as_ref().unwrap()).unwrap();
                assert!(run.is_stack());
                assert!(matches!(run.model(), Ok(crate::train::Model::Stack(_))));
            }
        }
    }

    /// The ready-made activation race is what its label says: on its spiral, sigmoid,
    /// tanh and ReLU each reach 100 % training accuracy (within 800 of its 2,000 epochs,
    /// to keep the test short).
    #[test]
    fn the_activation_race_reaches_100_percent_training_accuracy() {
        let preset = RACE_PRESETS
            .iter()
            .find(|p| p.name == "activations-spiral")
            .unwrap();
        let mut v = preset_variants(preset, &TrainConfig::default()).unwrap();
        assert_eq!(v[0].config.epochs, 2000);
        for variant in &mut v {
            variant.config.epochs = 800;
            variant.config.threads = Some(1);
        }
        let best = Mutex::new(vec![0f64; v.len()]);
        run(&v, None, &AtomicBool::new(false), &|e| {
            if let RaceEvent::Epoch { variant, metrics } = e {
                let mut best = best.lock().unwrap();
                best[variant] = best[variant].max(metrics.train.accuracy);
            }
        });
        for (variant, acc) in v.iter().zip(best.into_inner().unwrap()) {
            assert_eq!(acc, 1.0, "{}", variant.label);
        }
    }
}
