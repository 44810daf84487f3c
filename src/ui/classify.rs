//! "Classify your own picture": a PNG or JPEG dropped on the window (or chosen) shown as the
//! model (an MLP or a ConvNet) sees it, with the five most probable classes. The decoding, resizing,
//! normalisation and forward pass are the engine's ([`classify_picture`]), run on a
//! background [`Task`]; this panel only shows the result.

use std::path::PathBuf;
use std::sync::Arc;

use egui::{ColorImage, TextureHandle, TextureOptions, Ui};

use super::background::{Task, repaint_waker};
use super::history::RunHistory;
use super::model::SharedModel;
use crate::data::Normalizer;
use crate::train::analysis::{ClassifiedPicture, classify_picture, normalizer_for};

/// Classes listed for a picture.
const TOP: usize = 5;

/// What the background task hands back: the answer and the run's normaliser (kept for the
/// next picture).
type Answer = (ClassifiedPicture, Arc<Normalizer>);

/// A picture with the model's answer.
struct Shown {
    name: String,
    picture: ClassifiedPicture,
    class_names: Vec<String>,
    texture: Option<TextureHandle>,
}

/// Classifying one picture off the window's thread.
type ClassifyTask = Task<Answer, ClassifyFailed>;

/// Why a picture could not be classified.
#[derive(Debug, thiserror::Error)]
pub enum ClassifyFailed {
    /// The file could not be read.
    #[error("Cannot read {}: {problem}", path.display())]
    Read {
        /// The picture's file.
        path: std::path::PathBuf,
        /// The system's reason.
        problem: String,
    },
    /// The picture could not be decoded, or the run's data (for its normalisation) loaded.
    #[error(transparent)]
    Data(#[from] crate::data::DataError),
}

/// State of the picture classifier.
#[derive(Default)]
pub struct ClassifyPanel {
    /// The normalisation of run `.0`, fitted once per run.
    normalizer: Option<(u64, Arc<Normalizer>)>,
    task: Option<(u64, String, Vec<String>, ClassifyTask)>,
    shown: Option<Shown>,
    error: Option<String>,
    typed: String,
}

impl ClassifyPanel {
    /// The classes and probabilities of the picture shown, most probable first (for tests).
    pub fn top(&self) -> Vec<(String, f32)> {
        self.shown.as_ref().map_or_else(Vec::new, |s| {
            s.picture
                .top
                .iter()
                .map(|&(c, p)| {
                    let name = crate::words::class_name(&s.class_names, usize::from(c));
                    (name, p)
                })
                .collect()
        })
    }

    /// The picture shown, by its file's name, resized to the model's input (the Network
    /// tab's feature maps can be of it).
    pub fn picture(&self) -> Option<(&str, &crate::data::ImageSet)> {
        self.shown
            .as_ref()
            .map(|s| (s.name.as_str(), &s.picture.image))
    }

    /// The last error, if the last picture could not be classified.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Classifies the picture at `path` (its `bytes` when already read) with the run in
    /// `history`, on a background task.
    pub fn classify(
        &mut self,
        path: PathBuf,
        bytes: Option<Vec<u8>>,
        history: &RunHistory,
        ctx: &egui::Context,
    ) {
        let (Some(model), Some(info)) = (SharedModel::of(history), history.info.clone()) else {
            self.error = Some("Start or load a run first: a picture needs a model.".into());
            return;
        };
        let run = history.run;
        // A ConvNet's run sends its normalisation with its sample images; otherwise it is
        // fitted once per run (the data loaded again).
        let cached = self
            .normalizer
            .as_ref()
            .filter(|(r, _)| *r == run)
            .map(|(_, n)| n.clone())
            .or_else(|| history.samples.as_ref().map(|(n, _)| n.clone()));
        let loss = info.settings.live().loss;
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        self.error = None;
        let task = Task::spawn(
            "Classifying the picture",
            Some(repaint_waker(ctx)),
            move |_| {
                let bytes = match bytes {
                    Some(b) => b,
                    None => std::fs::read(&path).map_err(|e| ClassifyFailed::Read {
                        path: path.clone(),
                        problem: e.to_string(),
                    })?,
                };
                let norm = match cached {
                    Some(n) => n,
                    None => Arc::new(normalizer_for(&info.settings.start)?),
                };
                let picture =
                    classify_picture(&bytes, &path, model.view(), &norm, info.shape, loss, TOP)?;
                Ok((picture, norm))
            },
        );
        self.task = Some((run, name, history_class_names(history), task));
    }

    /// Draws the panel: the drop hint, a path field, and the picture with its top-5.
    pub fn ui(&mut self, ui: &mut Ui, history: &RunHistory) {
        if let Some((run, _, _, task)) = &mut self.task
            && let Some(outcome) = task.poll()
        {
            let run = *run;
            if let Some((_, name, class_names, _)) = self.task.take() {
                match outcome {
                    Ok((picture, norm)) => {
                        self.normalizer = Some((run, norm));
                        self.shown = Some(Shown {
                            name,
                            picture,
                            class_names,
                            texture: None,
                        });
                    }
                    Err(e) => self.error = Some(e.to_string()),
                }
            }
        }
        ui.label(
            "Drop a PNG or JPEG anywhere on the window, or type its path, to see how the model \
             classifies it.",
        );
        ui.horizontal(|ui| {
            ui.label("Picture:");
            let edit = ui.add(
                egui::TextEdit::singleline(&mut self.typed)
                    .desired_width(320.0)
                    .hint_text("/path/to/photo.jpg"),
            );
            let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if (ui.button("Classify").clicked() || enter) && !self.typed.trim().is_empty() {
                let path = PathBuf::from(self.typed.trim());
                self.classify(path, None, history, ui.ctx());
            }
        });
        if let Some((_, name, _, _)) = &self.task {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(format!("Classifying {name}…"));
            });
        }
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        let Some(shown) = &mut self.shown else { return };
        let shape = shown.picture.image.shape;
        let texture = shown.texture.get_or_insert_with(|| {
            let image =
                ColorImage::from_rgb([shape.width, shape.height], &shown.picture.image.rgb(0));
            ui.ctx()
                .load_texture("classified-picture", image, TextureOptions::NEAREST)
        });
        ui.horizontal(|ui| {
            ui.vertical(|ui| {
                ui.image((texture.id(), egui::vec2(160.0, 160.0)));
                ui.small(format!(
                    "{}, as the model sees it ({}×{})",
                    shown.name, shape.width, shape.height
                ));
            });
            ui.vertical(|ui| {
                ui.strong("Most probable classes");
                egui::Grid::new("classified-top").show(ui, |ui| {
                    for &(c, p) in &shown.picture.top {
                        let name = shown
                            .class_names
                            .get(usize::from(c))
                            .map_or("?", String::as_str);
                        ui.label(name);
                        ui.add(
                            egui::ProgressBar::new(p.clamp(0.0, 1.0))
                                .desired_width(160.0)
                                .text(format!("{:.1} %", 100.0 * p)),
                        );
                        ui.end_row();
                    }
                });
            });
        });
    }
}

fn history_class_names(history: &RunHistory) -> Vec<String> {
    history
        .info
        .as_ref()
        .map(|i| i.class_names.clone())
        .unwrap_or_default()
}
