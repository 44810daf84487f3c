//! The settings panel: live hyperparameters (applied at the next step) and settings that
//! apply when the run is reset.

use egui::{ComboBox, Slider, Ui};

use super::words::Words;
use crate::data::DatasetKind;
use crate::model::InitKind;
use crate::train::config::{self as settings, NumericSetting};
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
    /// Text of the hidden-layers field, kept while it is being typed.
    hidden_text: Option<String>,
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

/// A slider over a setting's whole allowed range (the range validation accepts, so a value
/// typed into it is never silently changed), with its name and help.
pub fn setting_slider<N: egui::emath::Numeric>(
    ui: &mut Ui,
    value: &mut N,
    spec: &NumericSetting,
) -> egui::Response {
    let mut slider = Slider::new(value, N::from_f64(spec.min)..=N::from_f64(spec.max))
        .logarithmic(spec.log)
        .clamping(egui::SliderClamping::Never)
        .text(spec.label);
    if spec.log && spec.min == 0.0 {
        slider = slider.smallest_positive(1e-5);
    }
    ui.add(slider).on_hover_text(spec.help)
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
        let Self {
            hidden_text,
            dragging,
            active: active_cache,
            held,
        } = self;
        let mut actions = Vec::new();

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
            // Tall enough for every preset: none hides below a scroll.
            .height(f32::INFINITY)
            .show_ui(ui, |ui| {
                for p in crate::runs::presets::PRESETS {
                    let is_active = active.is_some_and(|a| a.name == p.name);
                    if ui.selectable_label(is_active, p.label).clicked()
                        && let Ok(c) = p.config(edited)
                    {
                        *edited = c;
                        *hidden_text = None;
                        actions.push(UiAction::ResetForPreset(p.label));
                    }
                }
            })
            .response
            .on_hover_text("Set up a classic experiment of the course (starts a new run); the one in use is marked");

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
        let mut watch = |r: egui::Response| {
            editing |= r.dragged() || r.has_focus();
        };
        if edited.schedule == ScheduleKind::Cyclic {
            ui.label(format!(
                "η follows the cyclic schedule ({}…{}); set its range below.",
                crate::train::record::number(edited.eta_min),
                crate::train::record::number(edited.eta_max)
            ));
        } else {
            watch(setting_slider(ui, &mut live.eta, &settings::ETA));
        }
        watch(setting_slider(ui, &mut live.lambda, &settings::LAMBDA));
        watch(setting_slider(ui, &mut live.batch, &settings::BATCH));
        if edited.schedule == ScheduleKind::Exp {
            watch(setting_slider(ui, &mut live.decay, &settings::DECAY));
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
        if editing {
            *dragging = Some(live);
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

        ui.separator();
        ui.heading("On reset");
        let pending = running.is_some_and(|r| {
            let mut start = r.start.clone();
            start.set_live(&edited.live());
            start.epochs = edited.epochs;
            start != *edited
        });
        if pending {
            ui.colored_label(ui.visuals().warn_fg_color, "Changed: applies on Reset (R).");
        } else {
            ui.label("Apply when you press Reset (R).");
        }
        let counted = edited.schedule == ScheduleKind::Cyclic && edited.cycles > 0;
        ui.add_enabled_ui(!counted, |ui| {
            setting_slider(ui, &mut edited.epochs, &settings::EPOCHS);
        })
        .response
        .on_disabled_hover_text(
            "The run ends with its last cycle: the epochs follow from the cycles.",
        );
        combo(
            ui,
            "η schedule",
            &mut edited.schedule,
            "How η changes during training.",
        );
        match edited.schedule {
            ScheduleKind::Exp => {
                ui.weak("Decay factor: in the Live section above.");
            }
            ScheduleKind::Step => {
                setting_slider(ui, &mut edited.step_every, &settings::STEP_EVERY);
                setting_slider(ui, &mut edited.step_factor, &settings::STEP_FACTOR);
            }
            ScheduleKind::Cyclic => {
                setting_slider(ui, &mut edited.eta_min, &settings::ETA_MIN);
                setting_slider(ui, &mut edited.eta_max, &settings::ETA_MAX);
                setting_slider(ui, &mut edited.half_cycle, &settings::HALF_CYCLE);
                setting_slider(ui, &mut edited.cycles, &settings::CYCLES);
                if edited.cycles > 1 {
                    setting_slider(ui, &mut edited.cycle_growth, &settings::CYCLE_GROWTH);
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
        setting_slider(ui, &mut edited.flip, &settings::FLIP);
        setting_slider(ui, &mut edited.translate, &settings::TRANSLATE);
        ui.add_enabled_ui(edited.loss != crate::model::LossKind::Svm, |ui| {
            setting_slider(ui, &mut edited.label_smoothing, &settings::LABEL_SMOOTHING);
        })
        .response
        .on_disabled_hover_text("The SVM's hinge has no targets to smooth.");
        ui.checkbox(&mut edited.shuffle, "shuffle each epoch")
            .on_hover_text("Visit the training images in a new random order every epoch.");
        setting_slider(ui, &mut edited.eval_every, &settings::EVAL_EVERY);

        ui.separator();
        ui.heading("Model");
        // The settings may have changed under the field (a loaded run, a preset): a text
        // that reads as other widths than those in force is replaced; a half-typed one
        // ("50,") that reads as nothing is kept.
        if hidden_text
            .as_deref()
            .is_some_and(|t| parse_widths(t).is_ok_and(|h| h != edited.hidden))
        {
            *hidden_text = None;
        }
        let text = hidden_text.get_or_insert_with(|| {
            edited
                .hidden
                .iter()
                .map(|w| w.to_string())
                .collect::<Vec<_>>()
                .join(",")
        });
        ui.horizontal(|ui| {
            ui.label("hidden layers");
            let r = ui
                .add(
                    egui::TextEdit::singleline(text)
                        .desired_width(90.0)
                        .hint_text("none"),
                )
                .on_hover_text(
                    "Widths of hidden layers, e.g. 50 or 100,50. Empty: a linear classifier.",
                );
            if r.changed()
                && let Ok(h) = parse_widths(text)
            {
                edited.hidden = h;
            }
        });
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
        combo(
            ui,
            "weight init",
            &mut edited.init,
            "How the weights start (biases start at 0).",
        );
        if edited.init == InitKind::Gaussian {
            setting_slider(ui, &mut edited.sigma, &settings::SIGMA);
        }

        if !edited.hidden.is_empty() {
            ui.checkbox(&mut edited.batch_norm, "batch normalisation")
                .on_hover_text(
                    "Normalise each hidden unit over the mini-batch before its activation, then scale and shift it by learned γ and β. Evaluation uses running averages.",
                );
            setting_slider(ui, &mut edited.dropout, &settings::DROPOUT);
        }
        match edited.optimizer {
            OptimizerKind::Momentum | OptimizerKind::Nesterov => {
                setting_slider(ui, &mut edited.momentum, &settings::MOMENTUM);
            }
            OptimizerKind::Rmsprop => {
                setting_slider(ui, &mut edited.beta2, &settings::BETA2);
                setting_slider(ui, &mut edited.eps, &settings::EPS);
            }
            OptimizerKind::Adam => {
                setting_slider(ui, &mut edited.beta1, &settings::BETA1);
                setting_slider(ui, &mut edited.beta2, &settings::BETA2);
                setting_slider(ui, &mut edited.eps, &settings::EPS);
            }
            OptimizerKind::Sgd => {}
        }
        ui.separator();
        ui.heading("Data");
        combo(
            ui,
            "data set",
            &mut edited.dataset,
            "CIFAR-10, Fashion-MNIST and image folders are read from the folder below; the practice set and the points in the plane (the playground: see the Plane and Network tabs) need no files.",
        );
        if edited.dataset == DatasetKind::Folder {
            setting_slider(ui, &mut edited.image_size, &settings::IMAGE_SIZE);
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
        ui.add(egui::DragValue::new(&mut edited.seed).prefix("seed "))
            .on_hover_text("Seed of initialisation, shuffling and flips: same seed, same run.");
        threads_setting(ui, &mut edited.threads);
        actions
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

/// Hidden-layer widths typed as "100,50" (empty: none).
fn parse_widths(text: &str) -> Result<Vec<usize>, std::num::ParseIntError> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::parse)
        .collect()
}
