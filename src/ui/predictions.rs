//! Predictions gallery: images with their true class, the predicted class and the top-3
//! probabilities of the run's model (an MLP or a ConvNet); filter to mistakes or to one
//! class.

use std::collections::HashMap;
use std::sync::Arc;

use egui::{Color32, ColorImage, TextureHandle, TextureOptions, Ui};

use super::export::ExportRequest;
use super::history::RunHistory;
use super::model::SharedModel;
use crate::data::Splits;
use crate::train::analysis::Prediction;
use crate::train::{AnalysisRequest, AnalysisResult, Subset};

/// Images per page.
const PAGE: usize = 48;
/// Most images a prediction request covers.
const MAX_IMAGES: usize = 10_000;

/// State of the gallery.
pub struct PredictionsPanel {
    /// Only misclassified images.
    pub only_mistakes: bool,
    /// Only images of this true class.
    pub class: Option<u8>,
    /// First image of the page shown (index into the filtered list).
    pub page_start: usize,
    textures: HashMap<usize, TextureHandle>,
    /// (run, weights version) of the predictions shown, to know when they are stale.
    shown_for: Option<(u64, u64)>,
    /// (run, predictions shown) when new ones were asked for: waiting until they change.
    waiting: Option<(u64, usize)>,
}

impl Default for PredictionsPanel {
    fn default() -> Self {
        PredictionsPanel {
            only_mistakes: true,
            class: None,
            page_start: 0,
            textures: HashMap::new(),
            shown_for: None,
            waiting: None,
        }
    }
}

/// The address of the predictions shown (0 without), to tell when new ones arrive.
fn predictions_id(history: &RunHistory) -> usize {
    match &history.predictions {
        Some(AnalysisResult::Predictions { predictions, .. }) => Arc::as_ptr(predictions) as usize,
        _ => 0,
    }
}

impl PredictionsPanel {
    /// Draws the gallery; returns a request for fresh predictions, and an export request.
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        history: &RunHistory,
    ) -> (Option<AnalysisRequest>, Option<ExportRequest>) {
        let request = self.request_row(ui, history);
        let Some(AnalysisResult::Predictions {
            data, predictions, ..
        }) = &history.predictions
        else {
            ui.label("Press the button to see test images with the model's top-3 guesses.");
            return (request, None);
        };
        let names = &data.class_names;
        self.filter_row(ui, names);
        let shown: Vec<&Prediction> = predictions
            .iter()
            .filter(|p| !self.only_mistakes || !p.correct())
            .filter(|p| self.class.is_none_or(|c| p.label == c))
            .collect();
        let export = self.page_row(ui, data, predictions, &shown);
        self.page_start = self
            .page_start
            .min(shown.len().saturating_sub(1) / PAGE * PAGE);
        self.cards(ui, data, &shown);
        (request, export)
    }

    /// The button that asks for predictions with the latest weights, and what is waited for.
    fn request_row(&mut self, ui: &mut Ui, history: &RunHistory) -> Option<AnalysisRequest> {
        let mut request = None;
        let version = (history.run, history.network_version);
        let stale = self.shown_for != Some(version);
        let current = (history.run, predictions_id(history));
        if self.waiting.is_some_and(|w| w != current) {
            self.waiting = None;
        }
        ui.horizontal(|ui| {
            let label = if history.predictions.is_none() {
                "Predict the test set"
            } else {
                "Refresh with the latest weights"
            };
            let model = SharedModel::of(history);
            let button = ui.add_enabled(model.is_some(), egui::Button::new(label));
            if button
                .on_hover_text("Runs the current weights over the test set")
                .clicked()
            {
                request = Some(AnalysisRequest::Predictions {
                    set: Subset::Test,
                    max: MAX_IMAGES,
                });
                self.shown_for = Some(version);
                self.waiting = Some(current);
                self.textures.clear();
            }
            if self.waiting.is_some() {
                ui.spinner();
                ui.label("Predicting (a ConvNet takes seconds on 10,000 images)…");
            } else if stale && history.predictions.is_some() {
                ui.weak("(the weights have changed since)");
            }
        });
        request
    }

    /// Only mistakes, and which true class.
    fn filter_row(&mut self, ui: &mut Ui, names: &[String]) {
        let name = |c: u8| names.get(usize::from(c)).map_or("?", String::as_str);
        ui.horizontal(|ui| {
            if ui
                .checkbox(&mut self.only_mistakes, "only misclassified")
                .changed()
            {
                self.page_start = 0;
            }
            let selected = self.class.map_or("all classes", name);
            egui::ComboBox::from_label("true class")
                .selected_text(selected)
                .show_ui(ui, |ui| {
                    let before = self.class;
                    ui.selectable_value(&mut self.class, None, "all classes");
                    for c in 0..names.len() {
                        ui.selectable_value(&mut self.class, Some(c as u8), name(c as u8));
                    }
                    if before != self.class {
                        self.page_start = 0;
                    }
                });
        });
    }

    /// The count, previous/next page and the page's export.
    fn page_row(
        &mut self,
        ui: &mut Ui,
        data: &Splits,
        predictions: &[Prediction],
        shown: &[&Prediction],
    ) -> Option<ExportRequest> {
        let mut export = None;
        let correct = predictions.iter().filter(|p| p.correct()).count();
        ui.horizontal(|ui| {
            ui.label(format!(
                "{} images shown; {} of {} test images right ({:.1} %)",
                shown.len(),
                correct,
                predictions.len(),
                100.0 * correct as f64 / predictions.len().max(1) as f64
            ));
            if ui
                .add_enabled(self.page_start > 0, egui::Button::new("< Previous"))
                .clicked()
            {
                self.page_start = self.page_start.saturating_sub(PAGE);
            }
            if ui
                .add_enabled(
                    self.page_start + PAGE < shown.len(),
                    egui::Button::new("Next >"),
                )
                .clicked()
            {
                self.page_start += PAGE;
            }
            if ui
                .button("Export page…")
                .on_hover_text("The images of this page as a labelled grid (PNG/SVG); CSV: every image shown, with its top 3")
                .clicked()
            {
                let page: Vec<_> = shown
                    .iter()
                    .skip(self.page_start)
                    .take(PAGE)
                    .map(|p| (*p, data.test.rgb(p.index)))
                    .collect();
                let fig = crate::report::figures::predictions(
                    &page,
                    shown,
                    data.shape(),
                    &data.class_names,
                );
                export = Some(ExportRequest::Figure(Box::new(fig)));
            }
        });
        export
    }

    /// The page's images, each with its true class and top-3 guesses.
    fn cards(&mut self, ui: &mut Ui, data: &Splits, shown: &[&Prediction]) {
        let names = &data.class_names;
        let name = |c: u8| names.get(usize::from(c)).map_or("?", String::as_str);
        let shape = data.shape();
        // Rows of as many cards as fit (wrapping layouts do not wrap groups reliably).
        let columns = ((ui.available_width() / 166.0).floor() as usize).max(1);
        let page: Vec<_> = shown.iter().skip(self.page_start).take(PAGE).collect();
        for row in page.chunks(columns) {
            ui.horizontal(|ui| {
                for p in row {
                    let texture = self.textures.entry(p.index).or_insert_with(|| {
                        let image = ColorImage::from_rgb(
                            [shape.width, shape.height],
                            &data.test.rgb(p.index),
                        );
                        ui.ctx().load_texture(
                            format!("pred-{}", p.index),
                            image,
                            TextureOptions::NEAREST,
                        )
                    });
                    ui.group(|ui| {
                        ui.set_width(140.0);
                        ui.vertical(|ui| {
                            ui.image((texture.id(), egui::vec2(96.0, 96.0)));
                            ui.label(format!("true: {}", name(p.label)));
                            for (i, (c, prob)) in p.top3.iter().enumerate() {
                                let text = format!("{}. {} {:.0} %", i + 1, name(*c), 100.0 * prob);
                                let colour = if *c == p.label {
                                    Color32::from_rgb(60, 170, 90)
                                } else if i == 0 {
                                    Color32::from_rgb(220, 80, 60)
                                } else {
                                    ui.visuals().text_color()
                                };
                                ui.colored_label(colour, text);
                            }
                        });
                    });
                }
            });
        }
    }
}
