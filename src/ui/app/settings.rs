//! What the window remembers across launches: the settings, the tab shown, the theme.

use serde::{Deserialize, Serialize};

use crate::report::PngSize;
use crate::train::TrainConfig;

/// The views of the central area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Tab {
    /// Live curves and class templates.
    #[default]
    Training,
    /// Confusion matrices and per-class accuracy.
    Confusion,
    /// Gradient, weight and true-class-probability histograms.
    Histograms,
    /// Test images with the model's top-3 guesses.
    Predictions,
    /// PCA / t-SNE of a layer's outputs.
    Embedding,
    /// Numerical gradient check.
    GradientCheck,
    /// Per-layer statistics per epoch.
    Layers,
    /// Variants trained side by side.
    Race,
    /// Results table and report export.
    Results,
    /// Saved runs, overlays and sweeps.
    Runs,
    /// Points in the plane: the prediction as a heatmap, click to add points.
    Plane,
    /// Every unit's output over the plane and the weights between them.
    Network,
}

impl Tab {
    /// All tabs, in order (keys 1–9; the rest have none).
    pub const ALL: [Tab; 12] = [
        Tab::Training,
        Tab::Confusion,
        Tab::Histograms,
        Tab::Predictions,
        Tab::Embedding,
        Tab::GradientCheck,
        Tab::Results,
        Tab::Runs,
        Tab::Layers,
        Tab::Race,
        Tab::Plane,
        Tab::Network,
    ];
    /// The tab's name in the tab bar.
    pub(super) fn label(self) -> &'static str {
        match self {
            Tab::Training => "Training",
            Tab::Confusion => "Confusion",
            Tab::Histograms => "Histograms",
            Tab::Predictions => "Predictions",
            Tab::Embedding => "Embedding",
            Tab::GradientCheck => "Gradient check",
            Tab::Results => "Results & export",
            Tab::Runs => "Runs",
            Tab::Layers => "Layers",
            Tab::Race => "Race",
            Tab::Plane => "Plane",
            Tab::Network => "Network",
        }
    }
}

/// Everything remembered across launches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The settings being edited (and used for the next run).
    pub config: TrainConfig,
    /// Smoothing of the step-loss curve.
    pub smoothing: f64,
    /// Start training as soon as the window opens.
    pub autostart: bool,
    /// The view shown.
    pub tab: Tab,
    /// Size of exported PNG figures.
    pub png: PngSize,
    /// Light or dark window.
    pub theme: ThemeChoice,
}

/// The window's colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum ThemeChoice {
    /// Light text on dark grey.
    #[default]
    Dark,
    /// Dark text on white.
    Light,
}

impl ThemeChoice {
    /// As egui knows it.
    pub fn egui(self) -> egui::Theme {
        match self {
            ThemeChoice::Dark => egui::Theme::Dark,
            ThemeChoice::Light => egui::Theme::Light,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            config: TrainConfig::default(),
            smoothing: 0.9,
            autostart: true,
            tab: Tab::default(),
            png: PngSize::default(),
            theme: ThemeChoice::default(),
        }
    }
}
