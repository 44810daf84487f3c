//! The window: panels that show what the worker reports and send it commands. No maths
//! here; the UI reads event snapshots and never touches the model.

pub mod app;
pub mod background;
pub mod bench;
pub mod classify;
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
pub mod words;

use std::sync::Arc;
use std::time::Duration;

use crate::train::TrainConfig;

pub use app::{Settings, ThemeChoice, TrainvizApp};

/// The shortest time between frames while training in a focused window (~30 frames a
/// second): repaints requested by the worker's events merge into one frame per interval.
pub const FRAME_INTERVAL: Duration = Duration::from_millis(33);

/// The frame interval in force, in milliseconds (longer when the window is in the
/// background); set by the window each frame, read by the worker's waker.
static FRAME_INTERVAL_MS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(33);

/// Sets the frame interval the worker's wake-ups ask for.
pub fn set_frame_interval(interval: Duration) {
    FRAME_INTERVAL_MS.store(
        interval.as_millis().try_into().unwrap_or(u64::MAX),
        std::sync::atomic::Ordering::Relaxed,
    );
}

/// The frame interval the worker's wake-ups ask for.
pub fn frame_interval() -> Duration {
    Duration::from_millis(FRAME_INTERVAL_MS.load(std::sync::atomic::Ordering::Relaxed))
}

/// Opens the window. `settings_for` turns the settings remembered from the last session (if
/// any) into those to start with (e.g. applying the command line's flags).
pub fn run_app(
    settings_for: impl FnOnce(Option<TrainConfig>) -> anyhow::Result<TrainConfig> + 'static,
) -> anyhow::Result<()> {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("trainviz")
            .with_inner_size([1400.0, 900.0])
            .with_min_inner_size([640.0, 400.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    eframe::run_native(
        "trainviz",
        options,
        Box::new(move |cc| {
            let remembered: Option<Settings> = cc
                .storage
                .and_then(|s| eframe::get_value(s, eframe::APP_KEY));
            let mut settings = remembered.clone().unwrap_or_default();
            let remembered = remembered
                .map(|r| r.config)
                .filter(|c| c.validate().is_ok());
            settings.config = settings_for(remembered)?;
            let ctx = cc.egui_ctx.clone();
            let waker: crate::train::worker::Waker =
                Arc::new(move || ctx.request_repaint_after(frame_interval()));
            Ok(Box::new(TrainvizApp::with_runs_dir(
                settings,
                Some(waker),
                Some(crate::runs::default_runs_dir()),
            )))
        }),
    )
    .map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))
}
