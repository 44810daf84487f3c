//! The central area: the tab bar and each tab's view.

use egui::Ui;

use super::{Tab, TrainvizApp};
use crate::train::Command;
use crate::ui::controls::UiAction;
use crate::ui::export::ExportRequest;
use crate::ui::runs::RunsAction;

impl TrainvizApp {
    /// The central area: tab bar and the chosen view.
    pub(super) fn central(
        &mut self,
        ui: &mut Ui,
        actions: &mut Vec<UiAction>,
    ) -> Option<ExportRequest> {
        ui.horizontal_wrapped(|ui| {
            for (i, tab) in Tab::ALL.iter().enumerate() {
                ui.selectable_value(&mut self.settings.tab, *tab, tab.label())
                    .on_hover_text(format!("Key {}", i + 1));
            }
        });
        ui.separator();
        self.synthetic_notice(ui, actions);
        let mut request = None;
        // The plots share what is left of the window's height.
        let view_height = ui.available_height();
        // Views drawn from an MLP's weights or per-layer records say so for a layer stack.
        let stack_run = self.stack_run();
        let mlp_only = match self.settings.tab {
            Tab::Histograms => Some("Weight and gradient histograms"),
            _ => None,
        };
        if let Some(what) = mlp_only.filter(|_| stack_run) {
            ui.label(convnet_note(what));
            return None;
        }
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| match self.settings.tab {
                Tab::Training => request = self.training_tab(ui, view_height),
                Tab::Confusion => request = self.confusion.ui(ui, &self.history),
                Tab::Layers => request = self.layers.ui(ui, &self.history, view_height),
                Tab::Race => {
                    request = self.race.ui(
                        ui,
                        &self.settings.config,
                        self.runs_dir.clone(),
                        view_height,
                    )
                }
                Tab::Histograms => request = self.histograms.ui(ui, &self.history, view_height),
                Tab::Predictions => {
                    egui::CollapsingHeader::new("Classify your own picture")
                        .default_open(true)
                        .show(ui, |ui| self.classify.ui(ui, &self.history));
                    ui.separator();
                    let (analysis, export) = self.predictions.ui(ui, &self.history);
                    if let Some(r) = analysis {
                        self.send(Command::Analyse(r));
                    }
                    request = export;
                }
                Tab::Embedding => {
                    let (analysis, export) = self.embedding.ui(ui, &self.history);
                    if let Some(r) = analysis {
                        self.send(Command::Analyse(r));
                    }
                    request = export;
                }
                Tab::GradientCheck => {
                    let (analysis, export) = self.gradcheck.ui(ui, &self.history);
                    if let Some(r) = analysis {
                        self.send(Command::Analyse(r));
                    }
                    request = export;
                }
                Tab::Runs => request = self.runs_tab(ui),
                Tab::Plane => {
                    let running = self.history.running;
                    if self
                        .plane
                        .plane_ui(ui, &self.history, &mut self.settings.config)
                    {
                        // New points: a new run on them, training again if it was.
                        actions.push(UiAction::Reset);
                        if running {
                            actions.push(UiAction::Start);
                        }
                    }
                }
                Tab::Network if stack_run => {
                    self.convnet.ui(ui, &self.history, self.classify.picture())
                }
                Tab::Network => self.plane.network_ui(ui, &self.history),
                Tab::Results => {
                    let table = self
                        .record()
                        .map(|r| crate::report::figures::results_table(&r));
                    request = self.results.ui(ui, table.as_ref(), &mut self.settings.png);
                }
            });
        request
    }

    /// The Training tab: curves, the η plot and the class templates; returns what the user
    /// asked to export.
    fn training_tab(&mut self, ui: &mut Ui, view_height: f32) -> Option<ExportRequest> {
        // The templates keep their rows in view; the plots share the rest of the height
        // (half to the per-epoch curves, the rest to the mini-batch loss and η), so the
        // tab fills the window at every size without a band left empty below.
        let width = ui.available_width();
        let columns = crate::ui::plots::epoch_plot_columns(width);
        // Two plots to a row leave the accuracy plot's right free: a ConvNet's filters go
        // there (in half the width) instead of a row of their own.
        let filters_beside = self.stack_run() && 3 % columns != 0;
        let pictures_height = if filters_beside {
            0.0
        } else if self.stack_run() {
            self.convnet.strip_height(ui, width)
        } else {
            self.templates.height_for(ui, width)
        };
        let headings = 6.0 * ui.spacing().interact_size.y + 3.0 * ui.spacing().item_spacing.y;
        let budget = (view_height - pictures_height - headings).max(0.0);
        // The per-epoch plots' half is shared by their rows (one when three fit side by side).
        let rows = 3usize.div_ceil(columns) as f32;
        // A per-epoch plot needs ~115 points for three labelled ticks on its y axis (egui
        // hides labels closer than their height); a short window gives the η plot's share
        // to them (its heading can bring it back).
        let eta_shown = self.eta_plot.shown(view_height >= 640.0);
        let epoch = (budget * 0.5 / rows).clamp(115.0, 700.0);
        let eta_height = if eta_shown {
            (budget * 0.22).clamp(48.0, 260.0)
        } else {
            0.0
        };
        let heights = crate::ui::plots::PlotHeights {
            epoch,
            step: (budget - rows * epoch - eta_height).clamp(56.0, 400.0),
        };
        let (convnet, history) = (&mut self.convnet, &self.history);
        let mut strip = |ui: &mut Ui| convnet.filters_strip(ui, history);
        let mut beside: Option<&mut dyn FnMut(&mut Ui)> = if filters_beside {
            Some(&mut strip)
        } else {
            None
        };
        let (step_loss, curve) = self.plots.ui(ui, &self.history, heights, &mut beside);
        let strip_drawn = filters_beside && beside.is_none();
        let mut request = step_loss;
        if let Some(r) = self.eta_plot.ui(ui, &self.history, eta_height, eta_shown) {
            request = Some(r);
        }
        ui.separator();
        let templates = if self.stack_run() {
            if !strip_drawn {
                self.convnet.filters_strip(ui, &self.history);
            }
            false
        } else {
            self.templates.ui(ui, &self.history)
        };
        if let Some(record) = self.record() {
            // A ConvNet's curves export as an MLP's (its Export… did nothing before).
            if let Some(curve) = curve {
                let fig = if self.history.points.is_empty() {
                    crate::report::figures::curve(&record, curve)
                } else {
                    let points = crate::train::steps::all_points(
                        &self.history.epochs,
                        &self.history.points,
                        record.info.settings.start.live(),
                    );
                    crate::report::figures::curve_per_step(&record, curve, &points)
                };
                request = Some(ExportRequest::Figure(Box::new(fig)));
            }
            if templates
                && let Some(net) = record.network
                && let Some(fig) = crate::report::figures::templates(
                    net,
                    record.info.shape,
                    &record.info.class_names,
                    Some(record.info),
                )
            {
                request = Some(ExportRequest::Figure(Box::new(fig)));
            }
        }
        request
    }

    /// How many convolution layers' filters the ConvNet views show now.
    pub fn convnet_filter_layers(&self) -> usize {
        self.convnet.filter_layers()
    }

    /// Whether the current run is a layer stack (set with `layers`).
    fn stack_run(&self) -> bool {
        self.history
            .info
            .as_ref()
            .is_some_and(|i| i.settings.start.uses_stack())
    }

    /// The Runs tab: a run to load opens in the Training tab.
    fn runs_tab(&mut self, ui: &mut Ui) -> Option<ExportRequest> {
        let current = self
            .history
            .saved_dir
            .as_deref()
            .map(|d| (d, self.history.running));
        match self.runs.ui(ui, &self.settings.config, current) {
            Some(RunsAction::Load(dir, extra_epochs)) => {
                // The settings panel shows the loaded run's settings.
                if let Some(run) = self.runs.runs().iter().find(|r| r.dir == dir) {
                    self.settings.config = run.config();
                }
                self.send(Command::LoadRun { dir, extra_epochs });
                self.settings.tab = Tab::Training;
            }
            Some(RunsAction::Export(r)) => return Some(r),
            None => {}
        }
        None
    }
}

/// What a view drawn from an MLP's weights says for a layer stack (a ConvNet) instead.
pub fn convnet_note(what: &str) -> String {
    format!(
        "{what}: shown for linear and MLP runs; a ConvNet's filters and feature maps are in \
         the Network tab."
    )
}
