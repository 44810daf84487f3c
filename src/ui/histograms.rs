//! Histograms: gradients of each weight matrix (with a scrubber over epochs), weight values
//! of the latest weights, and the probability given to the true class, split into right and
//! wrong answers (how softmax and sigmoid losses differ).

use egui::Ui;
use egui_plot::{Bar, BarChart, Legend, Plot};

use super::export::ExportRequest;
use super::history::RunHistory;
use crate::report::figures;
use crate::train::Histogram;

/// State of the histograms panel.
pub struct HistogramsPanel {
    /// Epoch shown (1-based), when not following the latest.
    pub epoch: usize,
    /// Show the latest epoch as it arrives.
    pub follow_latest: bool,
    weights: Vec<Histogram>,
    weights_version: (u64, u64),
}

impl Default for HistogramsPanel {
    fn default() -> Self {
        HistogramsPanel {
            epoch: 1,
            follow_latest: true,
            weights: Vec::new(),
            weights_version: (u64::MAX, 0),
        }
    }
}

/// Bars of a histogram, in data coordinates.
fn bars(h: &Histogram) -> Vec<Bar> {
    let w = h.bin_width();
    h.counts
        .iter()
        .enumerate()
        .map(|(i, &n)| Bar::new(h.bin_centre(i), f64::from(n)).width(w))
        .collect()
}

/// One small histogram plot.
fn histogram_plot(ui: &mut Ui, id: String, title: &str, series: Vec<(String, Vec<Bar>)>) {
    ui.vertical(|ui| {
        ui.label(title);
        Plot::new(id)
            .height(180.0)
            .width((ui.available_width() - 8.0).clamp(220.0, 420.0))
            .legend(Legend::default())
            .allow_scroll(false)
            .show(ui, |plot| {
                for (name, b) in series {
                    plot.bar_chart(BarChart::new(name, b));
                }
            });
    });
}

/// One histogram per weight matrix, side by side, titled with `names` (W1, W2… where a name
/// is missing).
fn matrix_histograms(ui: &mut Ui, id: &str, names: &[String], hists: &[Histogram], series: &str) {
    ui.horizontal_wrapped(|ui| {
        for (l, h) in hists.iter().enumerate() {
            let name = names
                .get(l)
                .cloned()
                .unwrap_or_else(|| format!("W{}", l + 1));
            histogram_plot(
                ui,
                format!("{id}-{l}"),
                &name,
                vec![(series.to_string(), bars(h))],
            );
        }
    });
}

impl HistogramsPanel {
    /// Draws the panel; returns an export request when the user asks for one.
    pub fn ui(&mut self, ui: &mut Ui, history: &RunHistory) -> Option<ExportRequest> {
        let mut request = None;
        let n = history.epochs.len();
        if n == 0 {
            ui.label("Histograms appear after the first epoch.");
            return None;
        }
        if self.follow_latest || self.epoch > n {
            self.epoch = n;
        }
        ui.horizontal(|ui| {
            ui.label("Epoch");
            let slider = ui
                .add(egui::Slider::new(&mut self.epoch, 1..=n))
                .on_hover_text("Scrub through the epochs of this run");
            if slider.changed() {
                self.follow_latest = self.epoch == n;
            }
            ui.checkbox(&mut self.follow_latest, "follow latest");
        });
        let metrics = &history.epochs[self.epoch - 1];
        let shapes: Vec<(usize, usize)> = history
            .network
            .as_deref()
            .map(figures::layer_shapes)
            .unwrap_or_default();
        let names = figures::layer_names(shapes.iter().copied());

        ui.horizontal(|ui| {
            ui.strong(format!("Gradients, epoch {}", metrics.epoch));
            if ui.button("Export…").clicked() {
                let fig = figures::gradient_histograms(metrics, &shapes);
                request = Some(ExportRequest::Figure(Box::new(fig)));
            }
        });
        matrix_histograms(ui, "grad", &names, &metrics.gradient_histograms, "∂cost/∂w");

        ui.horizontal(|ui| {
            ui.strong(format!(
                "Probability of the true class, validation set, epoch {}",
                metrics.epoch
            ));
            if ui.button("Export…").clicked() {
                let loss = history
                    .info
                    .as_ref()
                    .map(|i| i.settings.live().loss)
                    .unwrap_or_default();
                let fig = figures::truth_probability(&metrics.val, "val", loss);
                request = Some(ExportRequest::Figure(Box::new(fig)));
            }
        });
        let tp = &metrics.val.truth_probability;
        let as_hist = |counts: &Vec<u32>| Histogram {
            min: 0.0,
            max: 1.0,
            counts: counts.clone(),
        };
        histogram_plot(
            ui,
            "truth-probability".into(),
            "p(true class): right vs wrong answers",
            vec![
                ("correctly classified".into(), bars(&as_hist(&tp.correct))),
                ("misclassified".into(), bars(&as_hist(&tp.wrong))),
            ],
        );

        if let Some(net) = history.network.as_deref() {
            let version = (history.run, history.network_version);
            if version != self.weights_version {
                self.weights_version = version;
                self.weights = net
                    .layers
                    .iter()
                    .map(|l| Histogram::of_matrix(&l.weights))
                    .collect();
            }
            ui.horizontal(|ui| {
                ui.strong("Weight values (latest weights)");
                if ui.button("Export…").clicked() {
                    let fig = figures::weight_histograms(net);
                    request = Some(ExportRequest::Figure(Box::new(fig)));
                }
            });
            matrix_histograms(ui, "weights", &names, &self.weights, "w");
        }
        request
    }
}
