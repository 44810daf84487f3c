//! The window's words: the labels of every choice come from [`crate::words`], the one
//! place they are written; this module adds the few phrases only the window uses, and the
//! window's own enums whose words the user sees — the tabs and the states of a run — each
//! with its words beside it, so that every place shows one state with one word and decides
//! by the enum, never by the word.

use serde::{Deserialize, Serialize};

pub use crate::train::config::code_names;
pub use crate::words::Words;

/// The key settings in a few words: the run title's words ("Linear · softmax
/// cross-entropy · λ 0.1 · η 0.001"; a ConvNet by its layers, a cyclic η by its range),
/// capitalised.
pub fn short_settings(c: &crate::train::TrainConfig) -> String {
    let words = crate::train::RunSettings::new(c.clone()).title();
    let mut chars = words.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect::<String>()
    })
}

/// Where a live edit goes while the run can take no step (`ended` is how it ended), in the
/// few words shown beside the live controls; `None` while steps can follow.
pub fn held_note(ended: Option<crate::train::RunStatus>) -> Option<&'static str> {
    use crate::train::RunStatus;
    match ended? {
        RunStatus::Finished => Some(
            "The run has ended; its record stays as trained. Changes here apply to “+10 epochs” \
             (recorded when it starts) or to the next run (Reset).",
        ),
        RunStatus::Diverged => Some(
            "The run diverged; its record stays as trained. Changes here apply when you Start \
             again from the last good weights (recorded then), to “+10 epochs”, or to the next \
             run (Reset).",
        ),
        RunStatus::Running | RunStatus::Stopped => None,
    }
}

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
    pub fn label(self) -> &'static str {
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

/// Where a run stands, as the window says it: the status bar (the run it trains), the Runs
/// table (saved runs) and the race's table (its variants) show these words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// Its data is being loaded (the status bar, before the first step).
    Loading,
    /// Set up, no step taken yet.
    Ready,
    /// Being trained now (its files changed a moment ago, or the window trains it).
    Training,
    /// Open in a trainviz that is not training it now; it can be continued.
    Paused,
    /// Stopped before its last epoch (replaced by Reset, or the window closed); it can be
    /// continued.
    Stopped,
    /// Its process ended without recording an end (killed or crashed); it can be continued
    /// from its last saved epoch.
    Interrupted,
    /// All epochs done.
    Finished,
    /// Stopped because the cost became NaN or infinite.
    Diverged,
    /// Could not train at all (its data or folder failed; the reason is beside it).
    Failed,
}

impl RunState {
    /// The word shown for the state.
    pub fn label(self) -> &'static str {
        match self {
            RunState::Loading => "loading",
            RunState::Ready => "ready",
            RunState::Training => "training",
            RunState::Paused => "paused",
            RunState::Stopped => "stopped",
            RunState::Interrupted => "interrupted",
            RunState::Finished => "finished",
            RunState::Diverged => "diverged",
            RunState::Failed => "failed",
        }
    }

    /// What the state means, for a tooltip.
    pub fn explain(self) -> &'static str {
        match self {
            RunState::Loading => "Its data is being loaded.",
            RunState::Ready => "Set up; Start trains it.",
            RunState::Training => "A trainviz is training it now.",
            RunState::Paused => "Open in a trainviz, paused; Load and Start continue it.",
            RunState::Stopped => {
                "Left before its last epoch (Reset started another run, or the window closed); Load and Start continue it."
            }
            RunState::Interrupted => {
                "The program training it ended without saying so (killed or crashed); its epochs up to the last saved one are kept, and Load and Start continue it."
            }
            RunState::Finished => "All its epochs are done; its test accuracy is measured.",
            RunState::Diverged => "Stopped because its loss stopped being a finite number.",
            RunState::Failed => "It could not train: its data or its folder failed.",
        }
    }
}
