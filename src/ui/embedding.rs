//! A 2-D map (PCA or t-SNE) of one layer's outputs on validation images, coloured by class:
//! an MLP's hidden layers or any layer of a ConvNet (a convolution's maps flattened), and
//! the class scores; computed by the worker on its own thread, with a progress bar here.

use egui::{Color32, Ui};
use egui_plot::Points;

use super::export::ExportRequest;
use super::history::RunHistory;
use super::model::SharedModel;
use crate::report::{figures, svg::TABLEAU10};
use crate::train::AnalysisRequest;
use crate::train::AnalysisResult;
use crate::train::analysis::{self, MAX_EMBEDDING_POINTS, Projection};

/// State of the embedding panel.
pub struct EmbeddingPanel {
    /// Layer to embed (0-based; the last is the class scores).
    pub layer: usize,
    /// PCA or t-SNE.
    pub projection: Projection,
    /// Validation images used.
    pub count: usize,
    /// How the embedding asked for last is computed (for its progress bar).
    computing: Projection,
}

impl Default for EmbeddingPanel {
    fn default() -> Self {
        EmbeddingPanel {
            layer: 0,
            projection: Projection::Tsne,
            count: 2000,
            computing: Projection::Tsne,
        }
    }
}

/// `#rrggbb` to a colour.
fn colour(hex: &str) -> Color32 {
    let v = u32::from_str_radix(hex.trim_start_matches('#'), 16).unwrap_or(0);
    Color32::from_rgb((v >> 16) as u8, (v >> 8) as u8, v as u8)
}

impl EmbeddingPanel {
    /// Draws the panel; returns a request to the worker and/or an export request.
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        history: &RunHistory,
    ) -> (Option<AnalysisRequest>, Option<ExportRequest>) {
        let Some(model) = SharedModel::of(history) else {
            ui.label("The embedding can be computed once a run is ready.");
            return (None, None);
        };
        let model = model.view();
        let names: Vec<String> = (0..analysis::layer_count(model))
            .map(|l| analysis::layer_name(model, l))
            .collect();
        self.layer = self.layer.min(names.len() - 1);
        let mut request = self.controls(ui, history, &names);
        // A wide layer (a convolution's maps) is embedded on fewer images: said before.
        let width = analysis::layer_width(model, self.layer);
        if let (_, Some(note)) = analysis::embedding_points(width, self.count) {
            ui.weak(format!("This layer will be embedded {note}."));
        }
        if let Some(f) = history.embedding_progress {
            ui.horizontal(|ui| {
                let what = projection_name(self.computing);
                ui.add(
                    egui::ProgressBar::new(f)
                        .desired_width(ui.available_width() - 80.0)
                        .text(format!("{what} {:.0} %", 100.0 * f)),
                );
                if ui.button("Cancel").clicked() {
                    request = Some(AnalysisRequest::CancelEmbedding);
                }
            });
        }
        let Some(AnalysisResult::Embedding {
            layer,
            projection,
            axes,
            points,
            labels,
            note,
        }) = &history.embedding
        else {
            ui.label("Pick a layer and press Compute.");
            return (request, None);
        };
        let class_names = history
            .info
            .as_ref()
            .map(|i| i.class_names.clone())
            .unwrap_or_default();
        let what = format!(
            "{} of {}",
            projection_name(*projection),
            names[(*layer).min(names.len() - 1)],
        );
        let mut export = None;
        ui.horizontal(|ui| {
            ui.label(format!(
                "{what} on {} validation images",
                figures::thousands(points.len())
            ));
            if ui.button("Export…").clicked() {
                let fig = figures::embedding(points, labels, &class_names, &what, axes);
                export = Some(ExportRequest::Figure(Box::new(fig)));
            }
        });
        if let Some(note) = note {
            ui.weak(format!("Embedded {note}."));
        }
        plot(ui, &class_names, axes, points, labels);
        (request, export)
    }

    /// The layer, the projection, the number of images and Compute.
    fn controls(
        &mut self,
        ui: &mut Ui,
        history: &RunHistory,
        names: &[String],
    ) -> Option<AnalysisRequest> {
        let mut request = None;
        ui.horizontal(|ui| {
            egui::ComboBox::from_label("layer")
                .selected_text(names[self.layer].as_str())
                .show_ui(ui, |ui| {
                    for (l, name) in names.iter().enumerate() {
                        ui.selectable_value(&mut self.layer, l, name.as_str());
                    }
                });
            ui.selectable_value(&mut self.projection, Projection::Pca, "PCA")
                .on_hover_text("Two directions of largest variance; instant");
            ui.selectable_value(&mut self.projection, Projection::Tsne, "t-SNE")
                .on_hover_text(
                    "Keeps neighbourhoods (perplexity 30, Barnes-Hut); seconds for 10,000 images",
                );
            // No more than the validation set holds: the control shows what will be used.
            let available = history
                .info
                .as_ref()
                .map_or(MAX_EMBEDDING_POINTS, |i| i.sizes[1])
                .clamp(1, MAX_EMBEDDING_POINTS);
            self.count = self.count.min(available);
            ui.add(
                egui::DragValue::new(&mut self.count)
                    .range(available.min(100)..=available)
                    .speed(50)
                    .suffix(" images"),
            )
            .on_hover_text(format!(
                "Validation images to embed (at most {}, or as many as the validation set has)",
                figures::thousands(MAX_EMBEDDING_POINTS)
            ));
            let busy = history.embedding_progress.is_some();
            if ui
                .add_enabled(!busy, egui::Button::new("Compute"))
                .on_disabled_hover_text("An embedding is being computed")
                .clicked()
            {
                self.computing = self.projection;
                request = Some(AnalysisRequest::Embedding {
                    layer: self.layer,
                    projection: self.projection,
                    count: self.count,
                });
            }
        });
        request
    }
}

/// "PCA" or "t-SNE".
fn projection_name(projection: Projection) -> &'static str {
    match projection {
        Projection::Pca => "PCA",
        Projection::Tsne => "t-SNE",
    }
}

/// The legend above the plot and the points, coloured by class.
fn plot(ui: &mut Ui, names: &[String], axes: &[String; 2], points: &[[f32; 2]], labels: &[u8]) {
    // The legend above the plot, in class order (egui_plot's own sorted it by name and
    // stacked it bottom-up in a lower corner), with dots like the plot's.
    ui.horizontal_wrapped(|ui| {
        for (c, name) in names.iter().enumerate() {
            ui.colored_label(colour(TABLEAU10[c % TABLEAU10.len()]), "●");
            ui.label(name.as_str());
            ui.add_space(6.0);
        }
    });
    // The same ticks as every other plot: three labelled ones at least, at any size.
    super::plots::readable_plot("embedding", &axes[0], &axes[1], false)
        .height((ui.available_height() - 10.0).max(300.0))
        .data_aspect(1.0)
        .show(ui, |plot| {
            for (c, name) in names.iter().enumerate() {
                let pts: Vec<[f64; 2]> = points
                    .iter()
                    .zip(labels)
                    .filter(|(_, l)| usize::from(**l) == c)
                    .map(|(p, _)| [f64::from(p[0]), f64::from(p[1])])
                    .collect();
                let colour = colour(TABLEAU10[c % TABLEAU10.len()]);
                plot.points(Points::new(name.as_str(), pts).radius(3.0).color(colour));
            }
        });
}
