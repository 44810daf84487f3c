//! The settings panel: live hyperparameters (applied at the next step) and settings that
//! apply when the run is reset.

use egui::{ComboBox, Slider, Ui};

use crate::data::{DatasetKind, Preprocess, SplitKind};
use crate::model::{Activation, InitKind, LossKind};
use crate::train::{LiveParams, OptimizerKind, ScheduleKind, TrainConfig};

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

fn combo<T: PartialEq + Copy + std::fmt::Debug>(
    ui: &mut Ui,
    label: &str,
    value: &mut T,
    all: &[T],
    tip: &str,
) {
    ComboBox::from_label(label)
        .selected_text(format!("{value:?}"))
        .show_ui(ui, |ui| {
            for &v in all {
                ui.selectable_value(value, v, format!("{v:?}"));
            }
        })
        .response
        .on_hover_text(tip);
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

        egui::ComboBox::from_label("preset")
            .selected_text("Course settings…")
            .show_ui(ui, |ui| {
                for p in crate::runs::presets::PRESETS {
                    if ui.button(p.label).clicked()
                        && let Ok(c) = p.apply(edited)
                    {
                        *edited = c;
                        *hidden_text = None;
                        actions.push(UiAction::Reset);
                    }
                }
            })
            .response
            .on_hover_text("Set up a classic experiment of the course (starts a new run)");
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
        ui.add(Slider::new(&mut edited.decay, 0.5..=1.0).text("decay"))
            .on_hover_text("Per-epoch factor of the exp schedule: η ← η·decay after each epoch.");
        combo(
            ui,
            "loss",
            &mut edited.loss,
            &LossKind::ALL,
            "Ce: softmax cross-entropy. Bce: one sigmoid per class (multiple binary cross-entropy). Svm: multiclass hinge, margin 1.",
        );
        ComboBox::from_label("optimiser")
            .selected_text(edited.optimizer.label())
            .show_ui(ui, |ui| {
                for k in OptimizerKind::ALL {
                    ui.selectable_value(&mut edited.optimizer, k, k.label());
                }
            })
            .response
            .on_hover_text(
                "How a gradient becomes a step. A change applies at the next step and restarts the optimiser's memory (velocity, running averages).",
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
            "schedule",
            &mut edited.schedule,
            &ScheduleKind::ALL,
            "How η changes during training.",
        );
        match edited.schedule {
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
            _ => {}
        }
        ui.add(Slider::new(&mut edited.flip, 0.0..=1.0).text("flip probability"))
            .on_hover_text("Chance that a training image is mirrored left–right (augmentation).");
        ui.checkbox(&mut edited.shuffle, "shuffle each epoch")
            .on_hover_text("Visit the training images in a new random order every epoch.");
        combo(
            ui,
            "init",
            &mut edited.init,
            &InitKind::ALL,
            "Gaussian: σ below. Xavier: σ = 1/√d_in. He: σ = √(2/d_in).",
        );
        if edited.init == InitKind::Gaussian {
            ui.add(
                Slider::new(&mut edited.sigma, 1e-4..=1.0)
                    .logarithmic(true)
                    .text("σ"),
            );
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
            let r = ui.text_edit_singleline(text).on_hover_text(
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
        combo(
            ui,
            "activation",
            &mut edited.activation,
            &Activation::ALL,
            "Non-linearity of hidden layers.",
        );
        ui.checkbox(&mut edited.batch_norm, "batch normalisation")
            .on_hover_text(
                "Normalise each hidden unit over the mini-batch before its activation, then scale and shift it by learned γ and β. Evaluation uses running averages.",
            );
        ui.add(Slider::new(&mut edited.dropout, 0.0..=0.9).text("dropout"))
            .on_hover_text(
                "Chance that a hidden unit's output is zeroed at each training step (the rest are scaled up so evaluation needs no change).",
            );
        match edited.optimizer {
            OptimizerKind::Momentum | OptimizerKind::Nesterov => {
                ui.add(Slider::new(&mut edited.momentum, 0.0..=0.999).text("momentum μ"));
            }
            OptimizerKind::Rmsprop => {
                ui.add(Slider::new(&mut edited.beta2, 0.5..=0.9999).text("decay of g² average"));
            }
            OptimizerKind::Adam => {
                ui.add(Slider::new(&mut edited.beta1, 0.0..=0.999).text("β1"));
                ui.add(Slider::new(&mut edited.beta2, 0.5..=0.9999).text("β2"));
            }
            OptimizerKind::Sgd => {}
        }
        ui.separator();
        combo(
            ui,
            "dataset",
            &mut edited.dataset,
            &[
                DatasetKind::Synthetic,
                DatasetKind::Cifar10,
                DatasetKind::FashionMnist,
                DatasetKind::Folder,
            ],
            "Synthetic needs no files; CIFAR-10, Fashion-MNIST and image folders (one sub-folder of PNG/JPEG per class) are read from the folder below.",
        );
        if edited.dataset == DatasetKind::Folder {
            ui.add(Slider::new(&mut edited.image_size, 8..=128).text("image size"))
                .on_hover_text("Images are resized to this many pixels square.");
        }
        ui.horizontal(|ui| {
            let shown = edited
                .data
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "default places".into());
            ui.label(format!("folder: {shown}"));
            if ui
                .button("Choose…")
                .on_hover_text("Pick the folder holding the data set's files.")
                .clicked()
            {
                actions.push(UiAction::ChooseDataFolder);
            }
        });
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
        combo(
            ui,
            "split",
            &mut edited.split,
            &[SplitKind::Classic, SplitKind::All],
            "Classic: train on batch 1, validate on batch 2. All: all batches minus the validation images.",
        );
        combo(
            ui,
            "preprocess",
            &mut edited.preprocess,
            &[
                Preprocess::Standardize,
                Preprocess::MeanOnly,
                Preprocess::None,
            ],
            "Standardize each input dimension, subtract its mean only, or just scale to 0..1.",
        );
        ui.add(egui::DragValue::new(&mut edited.seed).prefix("seed "))
            .on_hover_text("Seed of initialisation, shuffling and flips: same seed, same run.");
        actions
    }
}
