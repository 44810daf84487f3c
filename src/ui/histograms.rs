//! Histograms: gradients of each weight matrix (with a scrubber over epochs), weight values
//! of the latest weights, and the probability given to the true class, split into right and
//! wrong answers (how softmax and sigmoid losses differ).

use egui::{Color32, Ui};
use egui_plot::{Bar, BarChart};

use super::export::ExportRequest;
use super::history::RunHistory;
use super::plots::{TRAIN_COLOUR, VAL_COLOUR, number, placed_legend, readable_plot};
use crate::report::figures;
use crate::train::{EpochMetrics, Histogram};

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

/// Bars of a histogram, in data coordinates, each named by its bin for the read-out.
fn bars(h: &Histogram) -> Vec<Bar> {
    let w = h.bin_width();
    h.counts
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let c = h.bin_centre(i);
            Bar::new(c, f64::from(n)).width(w).name(format!(
                "{} to {}",
                number(c - w / 2.0),
                number(c + w / 2.0)
            ))
        })
        .collect()
}

/// One series of a histogram plot: name, colour, bars.
type HistSeries = (String, Color32, Vec<Bar>);

/// One histogram plot `width` × `height`; hovering a bar shows its bin and count.
fn histogram_plot(
    ui: &mut Ui,
    id: String,
    title: &str,
    x_label: &str,
    series: Vec<HistSeries>,
    size: egui::Vec2,
) {
    ui.vertical(|ui| {
        ui.set_width(size.x);
        ui.label(title);
        // The top tick's label is centred on the plot's edge: room for it under the title.
        ui.add_space(6.0);
        // The legend goes in a corner clear of the bars, else above the plot.
        let tops: Vec<Vec<egui_plot::PlotPoint>> = series
            .iter()
            .map(|(_, _, b)| {
                b.iter()
                    .map(|b| egui_plot::PlotPoint::new(b.argument, b.value))
                    .collect()
            })
            .collect();
        let refs: Vec<&[egui_plot::PlotPoint]> = tops.iter().map(Vec::as_slice).collect();
        let mut plot = readable_plot(&id, x_label, "count", false)
            .width(size.x)
            .height(size.y)
            .include_y(0.0)
            .allow_scroll(false);
        if series.len() > 1 {
            let entries: Vec<(&str, egui::Color32)> =
                series.iter().map(|(n, c, _)| (n.as_str(), *c)).collect();
            plot = placed_legend(ui, plot, &refs, &entries);
        }
        plot.show(ui, |plot| {
            for (name, colour, b) in series {
                let label = name.clone();
                plot.bar_chart(
                    BarChart::new(name, b)
                        .color(colour)
                        .element_formatter(Box::new(move |bar, _| {
                            format!("{label}\nbin {}\ncount {}", bar.name, bar.value)
                        })),
                );
            }
        });
    });
}

/// Size of each of `n` plots side by side in `width` (wrapping onto rows of at most 3).
fn plot_size(width: f32, n: usize, view_height: f32) -> egui::Vec2 {
    let per_row = n.clamp(1, 3) as f32;
    let w = ((width - 12.0 * per_row) / per_row).max(200.0);
    let h = ((view_height - 200.0) / 3.2).clamp(140.0, 420.0);
    egui::vec2(w, h)
}

/// One histogram per weight matrix, side by side, titled with `names` (W1, W2… where a name
/// is missing).
fn matrix_histograms(
    ui: &mut Ui,
    id: &str,
    names: &[String],
    hists: &[Histogram],
    (series, x_label): (&str, &str),
    view_height: f32,
) {
    let size = plot_size(ui.available_width(), hists.len(), view_height);
    let per_row = ((ui.available_width() / (size.x + 12.0)).floor() as usize).max(1);
    for (r, row) in hists.chunks(per_row).enumerate() {
        ui.horizontal(|ui| {
            for (j, h) in row.iter().enumerate() {
                let l = r * per_row + j;
                let name = names
                    .get(l)
                    .cloned()
                    .unwrap_or_else(|| format!("W{}", l + 1));
                histogram_plot(
                    ui,
                    format!("{id}-{l}"),
                    &name,
                    x_label,
                    vec![(series.to_string(), TRAIN_COLOUR, bars(h))],
                    size,
                );
            }
        });
    }
}

impl HistogramsPanel {
    /// Draws the panel; returns an export request when the user asks for one.
    /// `view_height` is the height of the view, which the plots share.
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        history: &RunHistory,
        view_height: f32,
    ) -> Option<ExportRequest> {
        let n = history.epochs.len();
        if n == 0 {
            ui.label("Histograms appear after the first epoch.");
            return None;
        }
        self.epoch_slider(ui, n);
        let metrics = &history.epochs[self.epoch - 1];
        let shapes: Vec<(usize, usize)> = history
            .network
            .as_deref()
            .map(figures::layer_shapes)
            .unwrap_or_default();
        let names = figures::layer_names(shapes.iter().copied());

        let mut request = None;
        if heading_with_export(ui, format!("Gradients, epoch {}", metrics.epoch)) {
            let fig = figures::gradient_histograms(metrics, &shapes, history.info.as_ref());
            request = Some(ExportRequest::Figure(Box::new(fig)));
        }
        matrix_histograms(
            ui,
            "grad",
            &names,
            &metrics.gradient_histograms,
            ("∂cost/∂w", "gradient ∂cost/∂w"),
            view_height,
        );
        if let Some(r) = truth_probability(ui, history, metrics, view_height) {
            request = Some(r);
        }
        if let Some(r) = self.weight_histograms(ui, history, &names, view_height) {
            request = Some(r);
        }
        request
    }

    /// The epoch slider (held at the newest epoch, of `n`, while following it) and the
    /// "follow latest" choice.
    fn epoch_slider(&mut self, ui: &mut Ui, n: usize) {
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
    }

    /// The latest weights' values, a histogram per matrix titled with `names` (counted
    /// again only for new weights); returns an export request when asked for one.
    fn weight_histograms(
        &mut self,
        ui: &mut Ui,
        history: &RunHistory,
        names: &[String],
        view_height: f32,
    ) -> Option<ExportRequest> {
        let net = history.network.as_deref()?;
        let version = (history.run, history.network_version);
        if version != self.weights_version {
            self.weights_version = version;
            self.weights = net
                .layers
                .iter()
                .map(|l| Histogram::of_matrix(&l.weights))
                .collect();
        }
        let mut request = None;
        if heading_with_export(ui, "Weight values (latest weights)".to_string()) {
            let fig = figures::weight_histograms(net, history.info.as_ref());
            request = Some(ExportRequest::Figure(Box::new(fig)));
        }
        matrix_histograms(
            ui,
            "weights",
            names,
            &self.weights,
            ("w", "weight value"),
            view_height,
        );
        request
    }
}

/// A section's heading with its Export… button; true when the button was clicked.
fn heading_with_export(ui: &mut Ui, title: String) -> bool {
    ui.horizontal(|ui| {
        ui.strong(title);
        ui.button("Export…").clicked()
    })
    .inner
}

/// The probability the network gives the true class of each validation image at the
/// epoch of `metrics`, right and wrong answers apart; returns an export request when
/// asked for one.
fn truth_probability(
    ui: &mut Ui,
    history: &RunHistory,
    metrics: &EpochMetrics,
    view_height: f32,
) -> Option<ExportRequest> {
    let mut request = None;
    let title = format!(
        "Probability of the true class, validation set, epoch {}",
        metrics.epoch
    );
    if heading_with_export(ui, title) {
        let loss = history
            .info
            .as_ref()
            .map(|i| i.settings.live().loss)
            .unwrap_or_default();
        let fig = figures::truth_probability(&metrics.val, "val", loss, history.info.as_ref());
        request = Some(ExportRequest::Figure(Box::new(fig)));
    }
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
        "probability given to the true class",
        vec![
            (
                "correctly classified".into(),
                TRAIN_COLOUR,
                bars(&as_hist(&tp.correct)),
            ),
            (
                "misclassified".into(),
                VAL_COLOUR,
                bars(&as_hist(&tp.wrong)),
            ),
        ],
        plot_size(ui.available_width(), 1, view_height),
    );
    request
}
