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
pub mod plots;
pub mod predictions;
pub mod results;
pub mod runs;
pub mod templates;
pub mod words;

use std::sync::Arc;
use std::time::Duration;

use crate::cli::TrainArgs;
use crate::train::TrainConfig;
pub use app::{Settings, ThemeChoice, TrainvizApp};

/// The settings of this launch: the remembered ones, with only the settings that the
/// command line names replaced (a preset or config file given on the command line applies
/// on top of the remembered settings, then the flags).
pub fn merge_flags(remembered: &TrainConfig, args: &TrainArgs) -> anyhow::Result<TrainConfig> {
    use anyhow::Context as _;
    let mut c = remembered.clone();
    if let Some(name) = &args.preset {
        let preset = crate::runs::presets::find(name).with_context(|| {
            format!(
                "unknown preset {name:?}; presets: {}",
                crate::runs::presets::names()
            )
        })?;
        c = preset
            .apply(&c)
            .map_err(|e| anyhow::anyhow!("preset {name}: {e}"))?;
    }
    let mut file_sets_dataset = false;
    if let Some(path) = &args.config {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        let table: toml::Table = toml::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.message()))?;
        c = c
            .with_overrides(&table)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        file_sets_dataset = table.contains_key("dataset");
    }
    macro_rules! set {
        ($($field:ident),*) => { $( if let Some(v) = &args.$field { c.$field = v.clone(); } )* };
    }
    set!(
        split, val, preprocess, epochs, batch, eta, lambda, loss, schedule, decay
    );
    set!(
        step_every,
        step_factor,
        eta_min,
        eta_max,
        half_cycle,
        flip,
        init,
        sigma,
        hidden
    );
    set!(activation, seed, image_size);
    if args.train_limit.is_some() {
        c.train_limit = args.train_limit;
    }
    if args.no_shuffle {
        c.shuffle = false;
    }
    if let Some(dir) = &args.data {
        c.data = Some(dir.clone());
        if args.dataset.is_none() && !file_sets_dataset {
            c.dataset = crate::data::detect_kind(dir);
        }
    }
    if let Some(d) = args.dataset {
        c.dataset = d;
    }
    c.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(c)
}

/// Opens the window. Settings come from the last session; flags given on the command line
/// replace only the settings they name.
pub fn run_app(args: &TrainArgs) -> anyhow::Result<()> {
    // Checked before the window opens, so that a wrong flag is reported on the terminal.
    let fresh = args.resolve()?;
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("trainviz")
            .with_inner_size([1400.0, 900.0])
            .with_min_inner_size([640.0, 400.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    let args = args.clone();
    eframe::run_native(
        "trainviz",
        options,
        Box::new(move |cc| {
            let remembered: Option<Settings> = cc
                .storage
                .and_then(|s| eframe::get_value(s, eframe::APP_KEY));
            let mut settings = remembered.clone().unwrap_or_default();
            settings.config = match &remembered {
                // First launch: the defaults, with the data set found on this machine.
                None => fresh,
                Some(r) => merge_flags(&r.config, &args).unwrap_or(fresh),
            };
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
