//! The Layers and Race tabs of a deep network, driven headless with egui_kittest.

use crate::common::{harness, wait_until};
use egui_kittest::kittest::{NodeT, Queryable};
use trainviz::data::DatasetKind;
use trainviz::train::TrainConfig;
use trainviz::ui::app::Tab;
use trainviz::ui::{Settings, TrainvizApp};

fn deep_app(epochs: usize) -> TrainvizApp {
    let settings = Settings {
        config: TrainConfig {
            dataset: DatasetKind::Synthetic,
            train_limit: Some(500),
            hidden: vec![20, 20, 20],
            batch_norm: true,
            dropout: 0.1,
            eta: 0.01,
            epochs,
            ..Default::default()
        },
        autostart: true,
        ..Default::default()
    };
    TrainvizApp::new(settings, None)
}

#[test]
fn layers_tab_plots_every_layer_and_exports() {
    let mut h = harness(deep_app(3));
    wait_until(&mut h, "three epochs", |a| a.history.epochs.len() >= 3);
    let m = &h.state().history.epochs[2];
    assert_eq!(m.layers.len(), 4, "three hidden layers and the scores");
    assert!(
        m.layers
            .iter()
            .all(|l| l.grad_norm.is_finite() && l.std > 0.0)
    );
    h.state_mut().settings.tab = Tab::Layers;
    h.step();
    h.step();
    h.get_by_label("Update-to-weight ratio |ΔW| / |W| (log10)");
    h.get_by_label("Share of dead units (never active on the validation images)");
    // A share's axis reads 0 to 1, even when no unit is dead.
    let memory = egui_plot::PlotMemory::load(&h.ctx, egui::Id::unique("layers_dead_or_saturated"))
        .expect("the dead-units plot was drawn");
    let (lo, hi) = (memory.bounds().min()[1], memory.bounds().max()[1]);
    assert!(
        (-0.06..=0.0).contains(&lo) && (1.0..=1.06).contains(&hi),
        "{lo}..{hi}"
    );
    // The report carries the five layer figures.
    let dir = tempfile::tempdir().unwrap();
    h.state_mut().export_report_to(dir.path());
    wait_until(&mut h, "the report to be written", |a| {
        a.exporter.last.is_some()
    });
    assert!(h.state().exporter.last.clone().unwrap().is_ok());
    for id in [
        "layers_mean",
        "layers_spread",
        "layers_dead_or_saturated",
        "layers_gradient_norm",
        "layers_update_ratio",
    ] {
        for ext in ["png", "svg", "csv"] {
            let f = dir.path().join("figures").join(format!("{id}.{ext}"));
            assert!(f.is_file(), "{} missing", f.display());
        }
    }
    let csv = std::fs::read_to_string(dir.path().join("figures/layers_gradient_norm.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 4 * 3, "{csv}");
}

#[test]
fn a_race_of_three_optimisers_runs_side_by_side() {
    let mut app = deep_app(2);
    app.settings.autostart = false;
    let mut h = harness(app);
    h.state_mut().settings.tab = Tab::Race;
    h.step();
    h.get_by_label("Start race").click();
    h.step();
    assert_eq!(
        h.state_mut().race_panel().labels(),
        ["optimiser SGD", "optimiser momentum", "optimiser Adam"]
    );
    let started = std::time::Instant::now();
    loop {
        h.step();
        let panel = h.state_mut().race_panel();
        if panel.epochs_done() == [2, 2, 2] && !panel.running() {
            break;
        }
        assert!(started.elapsed().as_secs() < 60, "race timed out");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    h.get_by_label("Validation accuracy");
    // The legend and the table name the variants in words.
    assert!(h.get_all_by_label("optimiser Adam").count() >= 2);
    // Nothing was saved: the test app has no runs folder.
    assert_eq!(h.get_all_by_label("not saved").count(), 3);
}

#[test]
fn a_diverged_race_variant_says_so_with_its_last_finite_loss() {
    let settings = Settings {
        config: TrainConfig {
            dataset: DatasetKind::Synthetic,
            train_limit: Some(500),
            epochs: 3,
            ..Default::default()
        },
        autostart: false,
        ..Default::default()
    };
    let mut h = harness(TrainvizApp::new(settings, None));
    h.state_mut().settings.tab = Tab::Race;
    {
        let race = h.state_mut().race_panel();
        race.first = 3; // η
        race.first_values = "100, 0.001".into();
    }
    h.step();
    h.get_by_label("Start race").click();
    let started = std::time::Instant::now();
    loop {
        h.step();
        if !h.state_mut().race_panel().running() {
            break;
        }
        assert!(started.elapsed().as_secs() < 60, "race timed out");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    h.step();
    // The state column names the diverged variant; its loss is the last finite one, and no
    // cell of the table reads NaN.
    assert_eq!(h.query_all_by_label("diverged").count(), 1);
    h.get_by_label("finished");
    let texts: Vec<String> = h
        .query_all_by(|_| true)
        .filter_map(|n| n.accesskit_node().label())
        .collect();
    assert!(!texts.iter().any(|t| t.contains("NaN")), "{texts:?}");
}

#[test]
fn the_dead_units_plot_of_a_linear_model_says_why_it_is_empty() {
    let settings = Settings {
        config: TrainConfig {
            dataset: DatasetKind::Synthetic,
            train_limit: Some(300),
            epochs: 1,
            ..Default::default()
        },
        autostart: true,
        ..Default::default()
    };
    let mut h = harness(TrainvizApp::new(settings, None));
    wait_until(&mut h, "one epoch", |a| a.history.epochs.len() == 1);
    h.state_mut().settings.tab = Tab::Layers;
    h.step();
    h.step();
    h.get_by_label(trainviz::ui::layers::LINEAR_NO_UNITS);
    // The other four plots of the one layer are drawn, with one point each.
    assert_eq!(
        h.query_all_by_label("Waiting for the first epoch…").count(),
        0
    );
}

/// A race of two layer stacks, with and without label smoothing: four ConvNet variants
/// train side by side, the panel says what the loss curves measure, and the export writes
/// the table with the assignment's bar charts and the overlays.
#[test]
fn a_race_of_layer_stacks_and_label_smoothing_exports_bars() {
    use trainviz::runs::race::RACE_SETTINGS;
    let settings = Settings {
        config: TrainConfig {
            dataset: DatasetKind::Synthetic,
            train_limit: Some(300),
            epochs: 1,
            ..Default::default()
        },
        autostart: false,
        ..Default::default()
    };
    let root = tempfile::tempdir().unwrap();
    let app = TrainvizApp::with_runs_dir(settings, None, Some(root.path().to_path_buf()));
    let mut h = harness(app);
    h.state_mut().settings.tab = Tab::Race;
    let index = |key: &str| RACE_SETTINGS.iter().position(|(k, _)| *k == key).unwrap();
    {
        let race = h.state_mut().race_panel();
        race.first = index("layers");
        race.first_values =
            "patchify 8:6, relu, dense 16, relu; patchify 4:4, relu, dense 8, relu".into();
        race.second = Some(index("label_smoothing"));
        race.second_values = "0, 0.1".into();
    }
    h.step();
    h.get_by_label("Start race").click();
    let started = std::time::Instant::now();
    loop {
        h.step();
        let panel = h.state_mut().race_panel();
        if !panel.running() && panel.epochs_done() == [1, 1, 1, 1] {
            break;
        }
        assert!(started.elapsed().as_secs() < 90, "race timed out");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    h.step();
    assert_eq!(
        h.state_mut().race_panel().labels()[3],
        "layers patchify 4:4, relu, dense 8, relu, smoothing ε 0.1"
    );
    // The panel says what the loss curves measure.
    h.get_by_label_contains("against the true labels");
    h.get_by_label("Export table and figures").click();
    let tables = root.path().join("tables");
    let written = |name: &str| {
        std::fs::read_dir(&tables).ok().and_then(|mut d| {
            d.find_map(|e| e.ok().map(|e| e.path().join(name)))
                .filter(|p| p.is_file())
        })
    };
    let started = std::time::Instant::now();
    while written("overlay_training_loss.svg").is_none() {
        h.step();
        assert!(started.elapsed().as_secs() < 30, "export timed out");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let bars = written("test_accuracy_bars.csv").expect("the accuracy bars are written");
    let csv = std::fs::read_to_string(bars).unwrap();
    assert_eq!(csv.lines().count(), 1 + 4, "{csv}");
    assert!(
        csv.contains("patchify 4:4, dense 8, smoothing ε 0.1"),
        "{csv}"
    );
    assert!(written("training_time_bars.png").is_some());
    let loss = std::fs::read_to_string(written("overlay_training_loss.svg").unwrap()).unwrap();
    assert!(
        loss.contains("against the true labels"),
        "the loss figure's title says so"
    );
}
