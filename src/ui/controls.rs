//! The settings panel: live hyperparameters (applied at the next step) and settings that
//! apply when the run is reset.

use egui::{ComboBox, Ui};

use super::field::{setting_field, text_field};
use crate::train::record::number;

use super::words::Words;
use crate::data::DatasetKind;
use crate::model::InitKind;
use crate::train::config as settings;
use crate::train::{LiveParams, OptimizerKind, RunSettings, ScheduleKind, TrainConfig};

/// What the user asked for in this frame; applied by the app after drawing.
#[must_use]
#[derive(Debug, Clone, PartialEq)]
pub enum UiAction {
    /// Start or resume training.
    Start,
    /// Pause training.
    Pause,
    /// Train one epoch, then pause.
    StepEpoch,
    /// Continue the current run for this many more epochs.
    Continue(usize),
    /// Evaluate the current weights on the test set.
    EvaluateTest,
    /// Set up a new run with the edited settings.
    Reset,
    /// A preset was picked: set up a new run with it, after asking if a run is training.
    ResetForPreset(&'static str),
    /// Apply changed live hyperparameters.
    SetLive(LiveParams),
    /// Ask for a folder holding a data set.
    ChooseDataFolder,
    /// Download CIFAR-10 into data/.
    DownloadCifar,
    /// Open the learning-rate range test (it suggests the cyclic schedule's η range).
    OpenLrRange,
}

/// State of the settings panel (only what is not in the config itself).
#[derive(Default)]
pub struct ControlsPanel {
    /// Live values being dragged to (sent when the drag ends, so one drag is one recorded
    /// change, not thirty).
    dragging: Option<LiveParams>,
    /// The preset the settings equal, for the settings it was worked out for: applying
    /// every preset takes TOML round trips, too slow to repeat in every frame.
    active: Option<(TrainConfig, Option<&'static crate::runs::presets::Preset>)>,
    /// Set by the window each frame while the run can take no step (finished or diverged):
    /// the live values held for when training goes on, and where edits go, in words.
    pub held: Option<(Option<LiveParams>, &'static str)>,
}

/// A menu of `T`'s choices, labelled in words, each explained on hover.
fn combo<T: Words>(ui: &mut Ui, label: &str, value: &mut T, tip: &str) {
    ComboBox::from_label(label)
        .selected_text(value.label())
        .show_ui(ui, |ui| {
            for &v in T::all() {
                ui.selectable_value(value, v, v.label())
                    .on_hover_text(v.explain());
            }
        })
        .response
        .on_hover_text(format!("{tip}\n\nNow: {}", value.explain()));
}

/// The preset whose settings `config` has now, if any.
pub fn active_preset(config: &TrainConfig) -> Option<&'static crate::runs::presets::Preset> {
    crate::runs::presets::PRESETS
        .iter()
        .find(|p| p.config(config).is_ok_and(|c| c == *config))
}

impl ControlsPanel {
    /// Draws the panel. `edited` holds the settings for the next run; `running` is the
    /// record of the current run, whose live values (owned by the engine) the live controls
    /// show and change.
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        edited: &mut TrainConfig,
        running: Option<&RunSettings>,
    ) -> Vec<UiAction> {
        let mut actions = Vec::new();
        self.preset_menu(ui, edited, &mut actions);
        self.live_section(ui, edited, running, &mut actions);
        ui.separator();
        reset_section(ui, edited, running, &mut actions);
        ui.separator();
        model_section(ui, edited);
        ui.separator();
        data_section(ui, edited, &mut actions);
        threads_setting(ui, &mut edited.threads);
        actions
    }

    /// The menu of the course's presets; the one the settings match is marked.
    fn preset_menu(&mut self, ui: &mut Ui, edited: &mut TrainConfig, actions: &mut Vec<UiAction>) {
        let active_cache = &mut self.active;
        let active = match active_cache {
            Some((c, p)) if c == edited => *p,
            _ => {
                let p = active_preset(edited);
                *active_cache = Some((edited.clone(), p));
                p
            }
        };
        egui::ComboBox::from_id_salt("preset")
            .selected_text(active.map_or("Course settings…", |p| p.label))
            .width(ui.available_width().min(300.0))
            // egui caps a menu's height the first time it opens, so the entries a newcomer
            // looks for first (the playground's) are listed first; the rest scroll.
            .show_ui(ui, |ui| {
                for p in crate::runs::presets::PRESETS {
                    let is_active = active.is_some_and(|a| a.name == p.name);
                    if ui.selectable_label(is_active, p.label).clicked()
                        && let Ok(c) = p.config(edited)
                    {
                        *edited = c;
                        // Text left refused in a field ("abc") would hide the preset's value.
                        crate::ui::field::discard_typed_text(ui.ctx());
                        actions.push(UiAction::ResetForPreset(p.label));
                    }
                }
            })
            .response
            .on_hover_text("Set up a classic experiment of the course (starts a new run); the one in use is marked");
    }

    /// The live settings (η, λ, batch, decay, loss, optimiser): sent to the run at the next
    /// step, or held with a note when no step can follow.
    fn live_section(
        &mut self,
        ui: &mut Ui,
        edited: &mut TrainConfig,
        running: Option<&RunSettings>,
        actions: &mut Vec<UiAction>,
    ) {
        let Self { dragging, held, .. } = self;
        ui.heading("Live");
        match held {
            // A finished run's record is never rewritten: say where an edit goes instead.
            Some((_, note)) => {
                ui.colored_label(ui.visuals().warn_fg_color, *note);
            }
            None => {
                ui.label("Applied at the next step.");
            }
        }
        // The engine's values (or those it holds), unless a drag is under way.
        let in_force = held
            .and_then(|h| h.0)
            .unwrap_or_else(|| running.map_or_else(|| edited.live(), RunSettings::live));
        if dragging.is_some_and(|d| d == in_force) {
            *dragging = None;
        }
        let before = dragging.unwrap_or(in_force);
        let mut live = before;
        // A drag or a value being typed is held here and sent once, when it ends: one
        // recorded change, and no half-typed value (a lone "0") reaches the engine.
        let mut editing = false;
        // A field whose text cannot apply blocks the whole live change: nothing half-applies.
        let mut refused = false;
        let ok = super::field::no_extra_check;
        let mut watch = |r: super::field::FieldResponse| {
            editing |= r.editing;
            refused |= r.error.is_some();
        };
        if edited.schedule == ScheduleKind::Cyclic {
            ui.label(format!(
                "η follows the cyclic schedule ({}…{}); set its range below.",
                crate::train::record::number(edited.eta_min),
                crate::train::record::number(edited.eta_max)
            ));
        } else {
            watch(setting_field(ui, &mut live.eta, &settings::ETA, ok));
        }
        watch(setting_field(ui, &mut live.lambda, &settings::LAMBDA, ok));
        watch(setting_field(ui, &mut live.batch, &settings::BATCH, ok));
        if edited.schedule == ScheduleKind::Exp {
            watch(setting_field(ui, &mut live.decay, &settings::DECAY, ok));
        }
        combo(ui, "loss", &mut live.loss, "What the classifier minimises.");
        ComboBox::from_label("optimiser")
            .selected_text(live.optimizer.label())
            .show_ui(ui, |ui| {
                for k in OptimizerKind::ALL {
                    ui.selectable_value(&mut live.optimizer, k, k.label());
                }
            })
            .response
            .on_hover_text(
                "How a gradient becomes a step. A change applies at the next step and restarts the optimiser's memory (velocity, running averages); the change is recorded.",
            );
        if editing || refused {
            // Held (not sent) while typing, and while any live field holds text that
            // cannot apply: the other fields' edits wait for it.
            if live != in_force {
                *dragging = Some(live);
            }
        } else {
            *dragging = None;
            if live != in_force {
                match edited.with_live(&live).validate() {
                    Ok(()) => {
                        edited.set_live(&live);
                        actions.push(UiAction::SetLive(live));
                    }
                    Err(e) => {
                        ui.colored_label(ui.visuals().error_fg_color, format!("Not applied: {e}"));
                    }
                }
            }
        }
    }
}

/// The run's thread count: automatic (one per core) or a number, from the next start.
fn threads_setting(ui: &mut egui::Ui, threads: &mut Option<usize>) {
    let help = "Threads that share each training step and the evaluation, from the next start. \
        Automatic: one per core (one when TRAINVIZ_ONE_THREAD is set). Any count gives the same \
        results up to float rounding; the training threads run at a lower priority than the \
        window, so it stays smooth.";
    ui.horizontal(|ui| {
        let mut automatic = threads.is_none();
        let label = format!("threads: automatic ({})", crate::train::default_threads());
        if ui
            .checkbox(&mut automatic, label)
            .on_hover_text(help)
            .changed()
        {
            *threads = (!automatic).then(crate::train::default_threads);
        }
        if let Some(n) = threads {
            ui.add(egui::DragValue::new(n).range(1..=crate::train::trainer::MAX_THREADS))
                .on_hover_text(help);
        }
    });
}

/// The settings of `edited` that differ from `now` (the run's), in words: "epochs 40 → 200".
fn reset_only_differences(now: &TrainConfig, edited: &TrainConfig) -> Vec<String> {
    if now == edited {
        return Vec::new();
    }
    let (Ok(a), Ok(b)) = (toml::Table::try_from(now), toml::Table::try_from(edited)) else {
        return vec!["settings".into()];
    };
    let text = |v: Option<&toml::Value>| v.map_or("none".into(), settings::setting_text);
    b.iter()
        .filter(|(k, v)| a.get(*k) != Some(*v))
        .map(|(k, v)| {
            format!(
                "{} {} → {}",
                settings::setting_label(k),
                text(a.get(k)),
                text(Some(v))
            )
        })
        .chain(
            a.keys()
                .filter(|k| !b.contains_key(*k))
                .map(|k| format!("{} {} → none", settings::setting_label(k), text(a.get(k)))),
        )
        .collect()
}

/// The settings that apply on Reset: epochs, schedule, augmentation, label smoothing,
/// shuffling, the evaluation interval; the note names those changed.
fn reset_section(
    ui: &mut Ui,
    edited: &mut TrainConfig,
    running: Option<&RunSettings>,
    actions: &mut Vec<UiAction>,
) {
    let ok = super::field::no_extra_check;
    ui.heading("On reset");
    // Every setting that differs from the run's (epochs included) waits for Reset; the
    // note names them, so no reset-only edit passes without a word.
    let counted = edited.schedule == ScheduleKind::Cyclic && edited.cycles > 0;
    let pending = running.map_or_else(Vec::new, |r| {
        let mut now = r.in_force();
        now.set_live(&edited.live());
        // With counted cycles on both sides the run's length follows from the cycles, not
        // from the (greyed) epochs field: a preset's unused default is no change.
        if counted && now.schedule == ScheduleKind::Cyclic && now.cycles > 0 {
            now.epochs = edited.epochs;
        }
        reset_only_differences(&now, edited)
    });
    if pending.is_empty() {
        ui.label("Apply when you press Reset (R).");
    } else {
        ui.colored_label(
            ui.visuals().warn_fg_color,
            format!("Changed, applies on Reset (R): {}", pending.join(", ")),
        );
    }
    ui.add_enabled_ui(!counted, |ui| {
        setting_field(ui, &mut edited.epochs, &settings::EPOCHS, ok);
    })
    .response
    .on_disabled_hover_text("The run ends with its last cycle: the epochs follow from the cycles.");
    combo(
        ui,
        "η schedule",
        &mut edited.schedule,
        "How η changes during training.",
    );
    schedule_settings(ui, edited, actions);
    setting_field(ui, &mut edited.flip, &settings::FLIP, ok);
    setting_field(ui, &mut edited.translate, &settings::TRANSLATE, ok);
    ui.add_enabled_ui(edited.loss != crate::model::LossKind::Svm, |ui| {
        setting_field(
            ui,
            &mut edited.label_smoothing,
            &settings::LABEL_SMOOTHING,
            ok,
        );
    })
    .response
    .on_disabled_hover_text("The SVM's hinge has no targets to smooth.");
    ui.checkbox(&mut edited.shuffle, "shuffle each epoch")
        .on_hover_text("Visit the training images in a new random order every epoch.");
    setting_field(ui, &mut edited.eval_every, &settings::EVAL_EVERY, ok);
}

/// The chosen η schedule's own settings (and the range test for a cyclic one).
fn schedule_settings(ui: &mut Ui, edited: &mut TrainConfig, actions: &mut Vec<UiAction>) {
    let ok = super::field::no_extra_check;
    match edited.schedule {
        ScheduleKind::Exp => {
            ui.weak("Decay factor: in the Live section above.");
        }
        ScheduleKind::Step => {
            setting_field(ui, &mut edited.step_every, &settings::STEP_EVERY, ok);
            setting_field(ui, &mut edited.step_factor, &settings::STEP_FACTOR, ok);
        }
        ScheduleKind::Cyclic => {
            let (lo, hi) = (edited.eta_min, edited.eta_max);
            let lowest = settings::ETA_MIN.label;
            let highest = settings::ETA_MAX.label;
            setting_field(ui, &mut edited.eta_min, &settings::ETA_MIN, |v| {
                if v <= hi {
                    Ok(())
                } else {
                    Err(format!(
                        "{lowest} = {} is above the {highest} ({}): allowed up to it",
                        number(v),
                        number(hi)
                    ))
                }
            });
            setting_field(ui, &mut edited.eta_max, &settings::ETA_MAX, |v| {
                if v >= lo {
                    Ok(())
                } else {
                    Err(format!(
                        "{highest} = {} is below the {lowest} ({}): allowed from it",
                        number(v),
                        number(lo)
                    ))
                }
            });
            setting_field(ui, &mut edited.half_cycle, &settings::HALF_CYCLE, ok);
            setting_field(ui, &mut edited.cycles, &settings::CYCLES, ok);
            if edited.cycles > 1 {
                setting_field(ui, &mut edited.cycle_growth, &settings::CYCLE_GROWTH, ok);
            }
            if let Some(steps) = crate::train::schedule::cycle_steps(edited) {
                ui.weak(format!(
                    "The run ends after step {steps}, with its last cycle."
                ));
            }
            if ui
                .button("Find the η range…")
                .on_hover_text(
                    "Learning-rate range test: a short run with η growing step by step \
                         suggests η min and η max",
                )
                .clicked()
            {
                actions.push(UiAction::OpenLrRange);
            }
        }
        ScheduleKind::Constant => {}
    }
}

/// The model: hidden layers, activation, initialisation, batch norm, dropout and the
/// optimiser's own constants.
fn model_section(ui: &mut Ui, edited: &mut TrainConfig) {
    let ok = super::field::no_extra_check;
    ui.heading("Model");
    if super::layers_field::layers_field(ui, edited) {
        // A layer stack: its hidden layers, activations, batch norm and dropout are in
        // the text; what follows is the MLP's.
        model_constants(ui, edited, ok);
        return;
    }
    // Every width is checked as it is typed ("50,,abc" and "0" are refused beside
    // the field); the model changes only when the whole text reads as widths.
    let width = (ui.available_width() - 110.0).clamp(90.0, 220.0);
    let _ = text_field(
        ui,
        "hidden layers",
        &format!(
            "Widths of hidden layers, e.g. 50 or 100,50. Empty: a linear classifier.\nAllowed: {}",
            settings::hidden_allowed()
        ),
        width,
        &mut edited.hidden,
        |h| {
            h.iter()
                .map(|w| w.to_string())
                .collect::<Vec<_>>()
                .join(",")
        },
        settings::parse_hidden,
    );
    ui.weak(if edited.hidden.is_empty() {
        "A linear classifier: one weight template per class."
    } else {
        "A multilayer perceptron."
    });
    let has_hidden = !edited.hidden.is_empty();
    ui.add_enabled_ui(has_hidden, |ui| {
        combo(
            ui,
            "activation",
            &mut edited.activation,
            "Non-linearity of the hidden layers.",
        );
    })
    .response
    .on_disabled_hover_text("Only for a model with hidden layers: type a width above.");
    if !edited.hidden.is_empty() {
        ui.checkbox(&mut edited.batch_norm, settings::setting_label("batch_norm"))
                .on_hover_text(
                    "Batch normalisation: normalise each hidden unit over the mini-batch before its activation, then scale and shift it by learned γ and β. Evaluation uses running averages.",
                );
        setting_field(ui, &mut edited.dropout, &settings::DROPOUT, ok);
    }
    model_constants(ui, edited, ok);
}

/// The initialisation and the optimiser's own constants (any network).
fn model_constants(
    ui: &mut Ui,
    edited: &mut TrainConfig,
    ok: impl Fn(f64) -> Result<(), std::convert::Infallible> + Copy,
) {
    combo(
        ui,
        "weight init",
        &mut edited.init,
        "How the weights start (biases start at 0).",
    );
    if edited.init == InitKind::Gaussian {
        setting_field(ui, &mut edited.sigma, &settings::SIGMA, ok);
    }
    match edited.optimizer {
        OptimizerKind::Momentum | OptimizerKind::Nesterov => {
            setting_field(ui, &mut edited.momentum, &settings::MOMENTUM, ok);
        }
        OptimizerKind::Rmsprop => {
            setting_field(ui, &mut edited.beta2, &settings::BETA2, ok);
            setting_field(ui, &mut edited.eps, &settings::EPS, ok);
        }
        OptimizerKind::Adam => {
            setting_field(ui, &mut edited.beta1, &settings::BETA1, ok);
            setting_field(ui, &mut edited.beta2, &settings::BETA2, ok);
            setting_field(ui, &mut edited.eps, &settings::EPS, ok);
        }
        OptimizerKind::Sgd => {}
    }
}

/// The data: data set, folder (or download), split, inputs and seed.
fn data_section(ui: &mut Ui, edited: &mut TrainConfig, actions: &mut Vec<UiAction>) {
    let ok = super::field::no_extra_check;
    ui.heading("Data");
    combo(
        ui,
        "data set",
        &mut edited.dataset,
        "CIFAR-10, Fashion-MNIST and image folders are read from the folder below; the practice set and the points in the plane (the playground: see the Plane and Network tabs) need no files.",
    );
    if edited.dataset == DatasetKind::Folder {
        setting_field(ui, &mut edited.image_size, &settings::IMAGE_SIZE, ok);
    }
    if edited.dataset.is_plane() {
        super::plane::data_controls(ui, edited);
    }
    if edited.dataset != DatasetKind::Synthetic && !edited.dataset.is_plane() {
        ui.horizontal_wrapped(|ui| {
            let shown = edited
                .data
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "the usual places".into());
            ui.label(format!("folder: {shown}"));
            if ui
                .button("Choose…")
                .on_hover_text("Pick the folder holding the data set's files.")
                .clicked()
            {
                actions.push(UiAction::ChooseDataFolder);
            }
        });
    }
    if edited.data.is_none()
            && crate::data::default_cifar_dir().is_none()
            && ui
                .button("Download CIFAR-10 (162 MB)")
                .on_hover_text(
                    "From www.cs.toronto.edu into data/, checked against its MD5; resumes if interrupted",
                )
                .clicked()
        {
            actions.push(UiAction::DownloadCifar);
        }
    if matches!(
        edited.dataset,
        DatasetKind::Cifar10 | DatasetKind::FashionMnist
    ) {
        combo(
            ui,
            "split",
            &mut edited.split,
            "Which training images are used for training and which for validation.",
        );
    }
    combo(
        ui,
        "inputs",
        &mut edited.preprocess,
        "How pixels are turned into the model's inputs.",
    );
    let _ = text_field(
        ui,
        "seed",
        "Seed of initialisation, shuffling and flips: same seed, same run.",
        140.0,
        &mut edited.seed,
        u64::to_string,
        |t| {
            t.trim().parse::<u64>().map_err(|_| {
                format!(
                    "seed = \"{}\" is not a whole number: allowed 0 to {}",
                    t.trim(),
                    u64::MAX
                )
            })
        },
    );
}
