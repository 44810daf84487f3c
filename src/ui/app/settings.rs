//! What the window remembers across launches: the settings, the tab shown, the theme.

use serde::{Deserialize, Serialize};

use crate::report::PngSize;
use crate::train::TrainConfig;

pub use crate::ui::words::Tab;

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
