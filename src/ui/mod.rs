//! The window: panels that show what the worker reports and send it commands. No maths
//! here; the UI reads event snapshots and never touches the model.

pub mod app;
pub mod bench;
pub mod confusion;
pub mod controls;
pub mod embedding;
pub mod export;
pub mod gradcheck;
pub mod histograms;
pub mod history;
pub mod layers;
pub mod plots;
pub mod predictions;
pub mod race;
pub mod results;
pub mod runs;
pub mod templates;

use std::sync::Arc;
use std::time::Duration;

use crate::cli::TrainArgs;
pub use app::{Settings, TrainvizApp};

/// Opens the window. Settings come from the last session, overridden by any flags given.
pub fn run_app(args: &TrainArgs) -> anyhow::Result<()> {
    let flags_given = std::env::args().len() > 1;
    let from_flags = args.resolve()?;
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("trainviz")
            .with_inner_size([1400.0, 900.0]),
        ..Default::default()
    };
    eframe::run_native(
        "trainviz",
        options,
        Box::new(move |cc| {
            let mut settings: Settings = cc
                .storage
                .and_then(|s| eframe::get_value(s, eframe::APP_KEY))
                .unwrap_or_default();
            if flags_given || settings == Settings::default() {
                settings.config = from_flags;
            }
            if settings.config.validate().is_err() {
                settings.config = crate::train::TrainConfig::default();
            }
            let ctx = cc.egui_ctx.clone();
            let waker: crate::train::worker::Waker =
                Arc::new(move || ctx.request_repaint_after(Duration::from_millis(16)));
            Ok(Box::new(TrainvizApp::with_runs_dir(
                settings,
                Some(waker),
                Some(crate::runs::default_runs_dir()),
            )))
        }),
    )
    .map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))
}
