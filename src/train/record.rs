//! The record of what a run really trained with: its starting settings and every change made
//! while it ran (live hyperparameters, epochs added). Names, legends, titles, tables and
//! reports are all derived from this record, so they cannot drift from the training.

use serde::{Deserialize, Serialize};

use super::config::{LiveParams, ScheduleKind, TrainConfig};
use super::schedule::cycle_steps;
use crate::words::Words;

pub use crate::format::number;

/// One change of a running training's settings, in force from `step` on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettingChange {
    /// Global step (from 0) of the first step that used the new values.
    pub step: usize,
    /// Epochs completed when the change took effect.
    pub epoch: usize,
    /// New live hyperparameters, when they changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveParams>,
    /// New planned number of epochs, when the run was continued ("+N epochs").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epochs: Option<usize>,
}

/// A run's settings as trained: where it started and what changed, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSettings {
    /// The settings the run started with.
    pub start: TrainConfig,
    /// Every change, oldest first.
    pub changes: Vec<SettingChange>,
}

/// Live settings in the order people name them, with their TOML keys.
const LIVE_KEYS: [&str; 6] = ["eta", "lambda", "batch", "decay", "loss", "optimizer"];

impl RunSettings {
    /// A run that has not changed yet.
    pub fn new(start: TrainConfig) -> Self {
        RunSettings {
            start,
            changes: Vec::new(),
        }
    }

    /// Adds a change. Changes at the same step (no step trained in between, e.g. a slider
    /// moved twice while paused) merge into one, so the record lists what really trained.
    pub fn record(&mut self, change: SettingChange) {
        if let Some(last) = self.changes.last_mut()
            && last.step == change.step
            && last.live.is_some() == change.live.is_some()
            && last.epochs.is_some() == change.epochs.is_some()
        {
            *last = change;
        } else {
            self.changes.push(change);
        }
        // A change back to the values already in force before it is no change at all.
        let n = self.changes.len();
        if n >= 1 && self.changes[n - 1].epochs.is_none() {
            let before = RunSettings {
                start: self.start.clone(),
                changes: self.changes[..n - 1].to_vec(),
            };
            if self.changes[n - 1].live == Some(before.live()) {
                self.changes.pop();
            }
        }
    }

    /// The settings in force now: the start with every change applied.
    pub fn in_force(&self) -> TrainConfig {
        let mut c = self.start.clone();
        for ch in &self.changes {
            if let Some(live) = &ch.live {
                c.set_live(live);
            }
            if let Some(e) = ch.epochs {
                c.epochs = e;
            }
        }
        c
    }

    /// The live hyperparameters in force now.
    pub fn live(&self) -> LiveParams {
        self.changes
            .iter()
            .rev()
            .find_map(|c| c.live)
            .unwrap_or_else(|| self.start.live())
    }

    /// The planned number of epochs now.
    pub fn epochs(&self) -> usize {
        self.changes
            .iter()
            .rev()
            .find_map(|c| c.epochs)
            .unwrap_or(self.start.epochs)
    }

    /// Whether the live setting `key` ever changed while the run trained.
    pub fn changed(&self, key: &str) -> bool {
        let mut value = live_value(&self.start.live(), key);
        for ch in &self.changes {
            if let Some(live) = &ch.live {
                let v = live_value(live, key);
                if v != value {
                    return true;
                }
                value = v;
            }
        }
        false
    }

    /// How a setting read over the run, for tables and legends: its value, or its history
    /// ("0.001 → 0.05 at epoch 10"), or for η under the cyclic schedule "cyclic 1e-05…0.1".
    /// `key` is a TOML key of [`TrainConfig`].
    pub fn setting_text(&self, key: &str) -> String {
        let c = &self.start;
        if key == "eta" && c.schedule == ScheduleKind::Cyclic {
            return format!("cyclic {}…{}", number(c.eta_min), number(c.eta_max));
        }
        if key == "epochs" {
            let mut text = c.epochs.to_string();
            if let Some(steps) = cycle_steps(c) {
                text.push_str(&format!(
                    " (ending with cycle {} at step {steps})",
                    c.cycles
                ));
            }
            for ch in &self.changes {
                if let Some(e) = ch.epochs {
                    text.push_str(&format!(" → {e} after epoch {}", ch.epoch));
                }
            }
            return text;
        }
        // Choices read in words, as the window's menus show them.
        match key {
            "dataset" => return c.dataset.label().to_string(),
            "split" => return c.split.label().to_string(),
            "preprocess" => return c.preprocess.label().to_string(),
            "schedule" => return c.schedule.label().to_string(),
            "init" => return c.init.label().to_string(),
            "activation" => return c.activation.label().to_string(),
            "hidden" => {
                let widths: Vec<String> = c.hidden.iter().map(usize::to_string).collect();
                return widths.join(", ");
            }
            "translate" => return translation_text(c.translate),
            "cycles" if c.cycles == 0 => return "not counted".to_string(),
            "shuffle" | "batch_norm" => {
                return (if toml_text(c, key) == "true" {
                    "on"
                } else {
                    "off"
                })
                .to_string();
            }
            _ => {}
        }
        if !LIVE_KEYS.contains(&key) {
            return toml_text(c, key);
        }
        let mut value = live_value(&c.live(), key);
        let mut text = value.clone();
        for ch in &self.changes {
            let Some(live) = &ch.live else { continue };
            let v = live_value(live, key);
            if v != value {
                text.push_str(&format!(" → {v} at epoch {}", ch.epoch + 1));
                value = v;
            }
        }
        text
    }

    /// Every setting in force over the run as (TOML key, text over the run), in the order of
    /// [`TrainConfig`]; settings that did nothing (see [`RunSettings::applies`]) are left out.
    pub fn settings_table(&self) -> Vec<(String, String)> {
        toml::Table::try_from(&self.start)
            .map(|t| {
                t.keys()
                    .filter(|k| self.applies(k))
                    .map(|k| (k.clone(), self.setting_text(k)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether the setting `key` (a TOML key of [`TrainConfig`]) had any effect on the run:
    /// the cyclic range only under the cyclic schedule, decay only under the exponential
    /// one, momentum and β only with an optimiser that uses them (at any time of the run),
    /// activation, dropout and batch norm only with hidden layers, σ only with the Gaussian
    /// initialisation, the validation size only where the split takes it.
    pub fn applies(&self, key: &str) -> bool {
        use super::optimizer::OptimizerKind as O;
        let c = &self.start;
        let used = |kinds: &[O]| {
            kinds.contains(&c.optimizer)
                || self
                    .changes
                    .iter()
                    .filter_map(|ch| ch.live)
                    .any(|l| kinds.contains(&l.optimizer))
        };
        let hidden = !c.hidden.is_empty();
        match key {
            "decay" => c.schedule == ScheduleKind::Exp,
            "step_every" | "step_factor" => c.schedule == ScheduleKind::Step,
            "eta_min" | "eta_max" | "half_cycle" | "cycles" => c.schedule == ScheduleKind::Cyclic,
            "cycle_growth" => c.schedule == ScheduleKind::Cyclic && c.cycles > 1,
            "momentum" => used(&[O::Momentum, O::Nesterov]),
            "beta1" => used(&[O::Adam]),
            "beta2" | "eps" => used(&[O::Rmsprop, O::Adam]),
            "hidden" | "activation" | "batch_norm" | "dropout" => hidden,
            "sigma" => c.init == crate::model::InitKind::Gaussian,
            // The classic split validates on a whole file; only the others hold images out.
            "val" => {
                c.split == crate::data::SplitKind::All
                    || c.dataset == crate::data::DatasetKind::Folder
            }
            "image_size" => c.dataset == crate::data::DatasetKind::Folder,
            "eval_every" => c.eval_every > 0,
            // The points' settings only for data in the plane; the image settings not there.
            "points" | "noise" | "test_share" | "classes" | "features" => c.dataset.is_plane(),
            "added_points" => c.dataset.is_plane() && !c.added_points.is_empty(),
            "split" | "train_limit" | "flip" => !c.dataset.is_plane(),
            "l1" => c.l1 > 0.0,
            _ => true,
        }
    }

    /// The live changes made while the run trained, for markers on plots: (global step of
    /// the first step with the new values, epochs completed then, what changed in a few
    /// words, e.g. "η 0.001 → 0.05, λ 0.1 → 0").
    pub fn markers(&self) -> Vec<(usize, usize, String)> {
        let mut before = self.start.live();
        let mut out = Vec::new();
        for ch in &self.changes {
            let Some(live) = ch.live else { continue };
            let parts: Vec<String> = LIVE_KEYS
                .iter()
                .filter(|k| **k != "decay" || self.start.schedule == ScheduleKind::Exp)
                .filter_map(|k| {
                    let (a, b) = (live_value(&before, k), live_value(&live, k));
                    (a != b).then(|| format!("{} {a} → {b}", live_name(k)))
                })
                .collect();
            if !parts.is_empty() {
                out.push((ch.step, ch.epoch, parts.join(", ")));
            }
            before = live;
        }
        out
    }

    /// A short name of the run as trained, e.g. "linear · softmax cross-entropy · λ 0.1 ·
    /// η 0.001 → 0.05 at epoch 10".
    pub fn title(&self) -> String {
        let c = &self.start;
        let mut parts = vec![model_words(c), self.setting_text("loss")];
        parts.push(format!("λ {}", self.setting_text("lambda")));
        if c.l1 > 0.0 {
            parts.push(format!("λ₁ {}", number(c.l1)));
        }
        parts.push(format!("η {}", self.setting_text("eta")));
        if !c.hidden.is_empty() && c.batch_norm {
            parts.push(super::config::setting_label("batch_norm").into());
        }
        if !c.hidden.is_empty() && c.dropout > 0.0 {
            parts.push(format!("dropout {}", number(c.dropout)));
        }
        if self.changed("optimizer") || c.optimizer != super::optimizer::OptimizerKind::Sgd {
            parts.push(self.setting_text("optimizer"));
        }
        if c.schedule != ScheduleKind::Constant && c.schedule != ScheduleKind::Cyclic {
            parts.push(c.schedule.label().to_lowercase());
        }
        if let Some(cycles) = cycles_text(c) {
            parts.push(cycles);
        }
        if c.label_smoothing > 0.0 {
            parts.push(format!("smoothing ε {}", number(c.label_smoothing)));
        }
        if c.translate > 0 {
            parts.push(translation_text(c.translate));
        }
        if self.changed("batch") || c.batch != TrainConfig::default().batch {
            parts.push(format!("batch {}", self.setting_text("batch")));
        }
        parts.join(" · ")
    }

    /// A folder-name-safe summary of the starting settings, e.g. `linear-ce-l0.1-e0.001` or
    /// `mlp50-ce-l0.005-cyc1e-05-0.1`.
    pub fn slug(&self) -> String {
        let c = &self.start;
        let arch = if c.uses_stack() {
            // "patchify 4:10, relu, dense 50" → "patchify4x10-relu-dense50" (cut at 60).
            let parts: Vec<String> = c
                .layers
                .split(',')
                .map(|p| p.trim().replace(' ', "").replace(':', "x"))
                .collect();
            parts.join("-").chars().take(60).collect()
        } else if c.hidden.is_empty() {
            "linear".to_string()
        } else {
            let widths: Vec<String> = c.hidden.iter().map(usize::to_string).collect();
            format!("mlp{}", widths.join("x"))
        };
        let eta = if c.schedule == ScheduleKind::Cyclic {
            format!("cyc{}-{}", number(c.eta_min), number(c.eta_max))
        } else {
            format!("e{}", number(c.eta))
        };
        let mut slug = format!("{arch}-{}-l{}-{eta}", key_of(&c.loss), number(c.lambda));
        if cycle_steps(c).is_some() {
            slug.push_str(&format!("-c{}x{}", c.cycles, number(c.cycle_growth)));
        }
        if c.label_smoothing > 0.0 {
            slug.push_str(&format!("-ls{}", number(c.label_smoothing)));
        }
        if c.translate > 0 {
            slug.push_str(&format!("-t{}", c.translate));
        }
        slug
    }
}

/// The counted cycles of a cyclic schedule in a few words, e.g. "3 cycles ×2" (each twice
/// the last) or "1 cycle"; `None` when the cycles are not counted.
fn cycles_text(c: &TrainConfig) -> Option<String> {
    cycle_steps(c)?;
    let n = c.cycles;
    let mut text = format!("{n} cycle{}", if n == 1 { "" } else { "s" });
    if n > 1 && c.cycle_growth != 1.0 {
        text.push_str(&format!(" ×{}", number(c.cycle_growth)));
    }
    Some(text)
}

/// A translation's largest shift as people read it: "±4 px", or "0 px" for none.
fn translation_text(pixels: usize) -> String {
    if pixels == 0 {
        "0 px".to_string()
    } else {
        format!("±{pixels} px")
    }
}

/// The TOML/CLI key of an enum value, e.g. `ce` for [`crate::model::LossKind::Ce`].
pub fn key_of<T: Serialize>(value: &T) -> String {
    match toml::Value::try_from(value) {
        Ok(toml::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// A live setting's short name on a plot's marker.
fn live_name(key: &str) -> &'static str {
    match key {
        "eta" => "η",
        "lambda" => "λ",
        "batch" => "batch",
        "decay" => "decay",
        "loss" => "loss",
        _ => "optimiser",
    }
}

/// A live setting's value as text.
fn live_value(live: &LiveParams, key: &str) -> String {
    match key {
        "eta" => number(live.eta),
        "lambda" => number(live.lambda),
        "batch" => live.batch.to_string(),
        "decay" => number(live.decay),
        "loss" => live.loss.label().to_string(),
        "optimizer" => live.optimizer.label().to_string(),
        _ => String::new(),
    }
}

/// Any setting's value as text (strings without quotes, numbers as people write them,
/// lists as TOML).
fn toml_text(c: &TrainConfig, key: &str) -> String {
    toml::Table::try_from(c)
        .ok()
        .and_then(|t| {
            t.get(key).map(|v| match v {
                toml::Value::Float(f) => number(*f),
                other => super::config::setting_text(other),
            })
        })
        .unwrap_or_default()
}

/// The setting keys whose values differ between runs, in the order of the settings: a
/// setting differs when the runs that use it use different values (over the run, see
/// [`RunSettings::setting_text`]: changes made while training count), or when some runs use
/// it with a value other than its default and the others do not use it at all (Adam with
/// β₁ 0.8 beside plain SGD); Adam's default β₂ beside SGD is no difference.
pub fn differing_keys(runs: &[&RunSettings]) -> Vec<String> {
    let tables: Vec<Vec<(String, String)>> = runs.iter().map(|r| r.settings_table()).collect();
    differing_in(&tables)
}

/// [`differing_keys`] of the runs' settings tables.
pub(crate) fn differing_in(tables: &[Vec<(String, String)>]) -> Vec<String> {
    // Every key in force in some run, in the order of the settings.
    let mut keys: Vec<&str> = Vec::new();
    for t in tables {
        for (k, _) in t {
            if !keys.contains(&k.as_str()) {
                keys.push(k);
            }
        }
    }
    let defaults = RunSettings::new(TrainConfig::default());
    keys.into_iter()
        .filter(|k| {
            let present: Vec<String> = tables.iter().filter_map(|t| value_of(t, k)).collect();
            let distinct = present.iter().any(|v| *v != present[0]);
            let unusual = present.len() < tables.len()
                && present.iter().any(|v| *v != defaults.setting_text(k));
            distinct || unusual
        })
        .map(str::to_string)
        .collect()
}

/// The value of `key` in a settings table, when the setting is in force there.
pub(crate) fn value_of(table: &[(String, String)], key: &str) -> Option<String> {
    table.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

/// The model `c` trains, in words: "linear", "MLP 50-50 ReLU" or "layers patchify 4:10,
/// relu, dense 50, relu" (the one wording of run titles, the Runs table and the window).
pub fn model_words(c: &TrainConfig) -> String {
    if c.uses_stack() {
        format!("layers {}", c.layers.trim())
    } else if c.hidden.is_empty() {
        "linear".to_string()
    } else {
        let widths: Vec<String> = c.hidden.iter().map(usize::to_string).collect();
        format!("MLP {} {}", widths.join("-"), c.activation.label())
    }
}

#[cfg(test)]
mod tests {

    /// A ConvNet is named by its layers wherever a run is named (the Runs table called an
    /// a3-bonus run "Linear").
    #[test]
    fn a_layer_stack_is_named_by_its_layers() {
        let c = TrainConfig {
            layers: "patchify 4:10, relu, dense 50, relu".into(),
            hidden: vec![],
            ..Default::default()
        };
        assert_eq!(
            model_words(&c),
            "layers patchify 4:10, relu, dense 50, relu"
        );
        assert!(
            RunSettings::new(c)
                .title()
                .starts_with("layers patchify 4:10")
        );
        let linear = TrainConfig {
            hidden: vec![],
            ..Default::default()
        };
        assert_eq!(model_words(&linear), "linear");
    }
    use super::*;
    use crate::model::LossKind;

    fn change(step: usize, epoch: usize, live: LiveParams) -> SettingChange {
        SettingChange {
            step,
            epoch,
            live: Some(live),
            epochs: None,
        }
    }

    #[test]
    fn changes_read_as_history() {
        let mut s = RunSettings::new(TrainConfig::default());
        assert_eq!(s.setting_text("eta"), "0.001");
        let mut live = s.live();
        live.eta = 0.05;
        s.changes.push(change(4900, 9, live));
        live.loss = LossKind::Svm;
        s.changes.push(change(5000, 10, live));
        assert_eq!(s.setting_text("eta"), "0.001 → 0.05 at epoch 10");
        let svm = format!("→ {} at epoch 11", LossKind::Svm.label());
        assert!(
            s.setting_text("loss").ends_with(&svm),
            "{}",
            s.setting_text("loss")
        );
        assert_eq!(s.setting_text("lambda"), "0.1");
        assert!(s.changed("eta") && !s.changed("lambda"));
        assert_eq!(s.in_force().eta, 0.05);
        assert_eq!(s.in_force().loss, LossKind::Svm);
        assert!(
            s.title().contains("η 0.001 → 0.05 at epoch 10"),
            "{}",
            s.title()
        );
        s.changes.push(SettingChange {
            step: 8000,
            epoch: 40,
            live: None,
            epochs: Some(50),
        });
        assert_eq!(s.epochs(), 50);
        assert_eq!(s.in_force().epochs, 50);
        assert_eq!(s.live().loss, LossKind::Svm);
        assert_eq!(s.setting_text("epochs"), "40 → 50 after epoch 40");
    }

    #[test]
    fn only_settings_in_force_are_listed() {
        let keys = |s: &RunSettings| -> Vec<String> {
            s.settings_table().into_iter().map(|(k, _)| k).collect()
        };
        let linear = RunSettings::new(TrainConfig::default());
        let k = keys(&linear);
        for absent in [
            "eta_min",
            "eta_max",
            "half_cycle",
            "decay",
            "step_every",
            "step_factor",
            "momentum",
            "beta1",
            "beta2",
            "eps",
            "activation",
            "dropout",
            "batch_norm",
            "hidden",
            "val",
            "image_size",
        ] {
            assert!(!k.iter().any(|x| x == absent), "{absent} listed: {k:?}");
        }
        for present in [
            "eta",
            "lambda",
            "batch",
            "loss",
            "optimizer",
            "init",
            "sigma",
        ] {
            assert!(k.iter().any(|x| x == present), "{present} missing: {k:?}");
        }
        let mut adam = RunSettings::new(TrainConfig {
            hidden: vec![50],
            schedule: ScheduleKind::Exp,
            split: crate::data::SplitKind::All,
            ..Default::default()
        });
        let mut live = adam.live();
        live.optimizer = crate::train::OptimizerKind::Adam;
        adam.changes.push(change(300, 3, live));
        let k = keys(&adam);
        for present in [
            "decay",
            "beta1",
            "beta2",
            "eps",
            "activation",
            "dropout",
            "val",
        ] {
            assert!(k.iter().any(|x| x == present), "{present} missing: {k:?}");
        }
        assert!(
            !k.iter().any(|x| x == "momentum" || x == "eta_max"),
            "{k:?}"
        );
    }

    #[test]
    fn live_changes_become_plot_markers() {
        let mut s = RunSettings::new(TrainConfig::default());
        let mut live = s.live();
        live.eta = 0.05;
        s.changes.push(change(4900, 9, live));
        live.lambda = 0.0;
        live.batch = 200;
        s.changes.push(change(5000, 10, live));
        // An added epoch is no marker.
        s.changes.push(SettingChange {
            step: 6000,
            epoch: 12,
            live: None,
            epochs: Some(50),
        });
        assert_eq!(
            s.markers(),
            vec![
                (4900, 9, "η 0.001 → 0.05".to_string()),
                (5000, 10, "λ 0.1 → 0, batch 100 → 200".to_string()),
            ]
        );
    }

    #[test]
    fn cyclic_runs_name_their_cycle_not_the_unused_eta() {
        let s = RunSettings::new(TrainConfig {
            schedule: ScheduleKind::Cyclic,
            eta: 0.05,
            ..Default::default()
        });
        assert_eq!(s.setting_text("eta"), "cyclic 1e-5…0.1");
        assert!(!s.slug().contains("e0.05"), "{}", s.slug());
        assert!(!s.title().contains("0.05"), "{}", s.title());
    }
}

#[cfg(test)]
mod new_settings_tests {
    use super::*;

    /// Label smoothing, counted cycles and translations are named where they are not the
    /// default, and not otherwise.
    #[test]
    fn smoothing_cycles_and_translations_are_named() {
        let plain = RunSettings::new(TrainConfig::default());
        for absent in ["ε", "cycle", "px"] {
            assert!(!plain.title().contains(absent), "{}", plain.title());
        }
        assert_eq!(plain.slug(), "linear-ce-l0.1-e0.001");
        let s = RunSettings::new(TrainConfig {
            schedule: ScheduleKind::Cyclic,
            cycles: 3,
            cycle_growth: 2.0,
            half_cycle: 800,
            epochs: 33,
            label_smoothing: 0.1,
            translate: 4,
            ..Default::default()
        });
        let title = s.title();
        for part in ["3 cycles ×2", "smoothing ε 0.1", "±4 px"] {
            assert!(title.contains(part), "{part} missing: {title}");
        }
        assert!(s.slug().ends_with("-c3x2-ls0.1-t4"), "{}", s.slug());
        assert_eq!(s.setting_text("translate"), "±4 px");
        assert_eq!(s.setting_text("label_smoothing"), "0.1");
        assert_eq!(
            s.setting_text("epochs"),
            "33 (ending with cycle 3 at step 11200)"
        );
        let keys: Vec<String> = s.settings_table().into_iter().map(|(k, _)| k).collect();
        for key in ["cycles", "cycle_growth", "label_smoothing", "translate"] {
            assert!(keys.iter().any(|k| k == key), "{key} missing: {keys:?}");
        }
        let one = RunSettings::new(TrainConfig {
            schedule: ScheduleKind::Cyclic,
            cycles: 1,
            ..Default::default()
        });
        assert!(one.title().contains("1 cycle"), "{}", one.title());
        assert!(
            !one.settings_table()
                .iter()
                .any(|(k, _)| k == "cycle_growth")
        );
    }
}
