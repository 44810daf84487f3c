//! The settings panel: live hyperparameters (applied at the next step) and settings that
//! apply when the run is reset.

use egui::{ComboBox, Slider, Ui};

use super::words::Words;
use crate::data::DatasetKind;
use crate::model::InitKind;
use crate::train::{LiveParams, ScheduleKind, TrainConfig};

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
    /// Evaluate the current weights on the test set.
    EvaluateTest,
    /// Set up a new run with the edited settings.
    Reset,
    /// Apply changed live hyperparameters.
    SetLive(LiveParams),
    /// Ask for a folder holding a data set.
    ChooseDataFolder,
    /// Download CIFAR-10 into data/.
    DownloadCifar,
}

/// State of the settings panel (only what is not in the config itself).
#[derive(Default)]
pub struct ControlsPanel {
    /// Text of the hidden-layers field, kept while it is being typed.
    hidden_text: Option<String>,
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
        .find(|p| p.apply(config).is_ok_and(|c| c == *config))
}

impl ControlsPanel {
    /// Draws the panel. `edited` is the config being edited; `running` is the config of the
    /// current run (to tell which edits wait for a reset).
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        edited: &mut TrainConfig,
        running: Option<&TrainConfig>,
    ) -> Vec<UiAction> {
        let Self { hidden_text } = self;
        let mut actions = Vec::new();

        let active = active_preset(edited);
        egui::ComboBox::from_id_salt("preset")
            .selected_text(active.map_or("Course settings…", |p| p.label))
            .width(ui.available_width().min(300.0))
            // Tall enough for every preset: none hides below a scroll.
            .height(f32::INFINITY)
            .show_ui(ui, |ui| {
                for p in crate::runs::presets::PRESETS {
                    let is_active = active.is_some_and(|a| a.name == p.name);
                    if ui.selectable_label(is_active, p.label).clicked()
                        && let Ok(c) = p.apply(edited)
                    {
                        *edited = c;
                        *hidden_text = None;
                        actions.push(UiAction::Reset);
                    }
                }
            })
            .response
            .on_hover_text("Set up a classic experiment of the course (starts a new run); the one in use is marked");
        let before = edited.live();

        ui.heading("Live");
        ui.label("Applied at the next step.");
        ui.add(
            Slider::new(&mut edited.eta, 1e-6..=1.0)
                .logarithmic(true)
                .text("η learning rate"),
        )
        .on_hover_text("Step size of gradient descent. Too large diverges, too small crawls.");
        ui.add(
            Slider::new(&mut edited.lambda, 0.0..=10.0)
                .logarithmic(true)
                .smallest_positive(1e-5)
                .text("λ L2 penalty"),
        )
        .on_hover_text(
            "Weight decay: cost = mean loss + λ·Σ|W|². Larger λ gives smoother templates.",
        );
        ui.add(
            Slider::new(&mut edited.batch, 1..=2000)
                .logarithmic(true)
                .text("batch size"),
        )
        .on_hover_text("Images per gradient step.");
        if edited.schedule == ScheduleKind::Exp {
            ui.add(Slider::new(&mut edited.decay, 0.5..=1.0).text("η decay per epoch"))
                .on_hover_text("η ← η·decay after each epoch.");
        }
        combo(
            ui,
            "loss",
            &mut edited.loss,
            "What the classifier minimises.",
        );
        if edited.live() != before {
            actions.push(UiAction::SetLive(edited.live()));
        }

        ui.separator();
        ui.heading("On reset");
        let pending = running.is_some_and(|r| {
            let mut r = r.clone();
            r.set_live(&edited.live());
            r != *edited
        });
        if pending {
            ui.colored_label(ui.visuals().warn_fg_color, "Changed: applies on Reset (R).");
        } else {
            ui.label("Apply when you press Reset (R).");
        }
        ui.add(
            Slider::new(&mut edited.epochs, 1..=500)
                .logarithmic(true)
                .text("epochs"),
        )
        .on_hover_text("Passes over the training set.");
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
                ui.add(Slider::new(&mut edited.step_every, 1..=100).text("step every (epochs)"));
                ui.add(Slider::new(&mut edited.step_factor, 0.01..=1.0).text("step factor"));
            }
            ScheduleKind::Cyclic => {
                ui.add(
                    Slider::new(&mut edited.eta_min, 1e-6..=1.0)
                        .logarithmic(true)
                        .text("η min"),
                );
                ui.add(
                    Slider::new(&mut edited.eta_max, 1e-6..=1.0)
                        .logarithmic(true)
                        .text("η max"),
                );
                ui.add(
                    Slider::new(&mut edited.half_cycle, 10..=10_000)
                        .logarithmic(true)
                        .text("half cycle (steps)"),
                );
            }
            ScheduleKind::Constant => {}
        }
        ui.add(Slider::new(&mut edited.flip, 0.0..=1.0).text("flip probability"))
            .on_hover_text("Chance that a training image is mirrored left–right (augmentation).");
        ui.checkbox(&mut edited.shuffle, "shuffle each epoch")
            .on_hover_text("Visit the training images in a new random order every epoch.");

        ui.separator();
        ui.heading("Model");
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
            if r.changed() {
                let parsed: Result<Vec<usize>, _> = text
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::parse)
                    .collect();
                if let Ok(h) = parsed {
                    edited.hidden = h;
                }
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
            ui.add(
                Slider::new(&mut edited.sigma, 1e-4..=1.0)
                    .logarithmic(true)
                    .text("σ"),
            )
            .on_hover_text("Spread of the initial weights.");
        }

        ui.separator();
        ui.heading("Data");
        combo(
            ui,
            "data set",
            &mut edited.dataset,
            "CIFAR-10, Fashion-MNIST and image folders are read from the folder below; the practice set needs no files.",
        );
        if edited.dataset == DatasetKind::Folder {
            ui.add(Slider::new(&mut edited.image_size, 8..=128).text("image size"))
                .on_hover_text("Images are resized to this many pixels square.");
        }
        if edited.dataset != DatasetKind::Synthetic {
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
        actions
    }
}
