//! The app driven through its widgets with egui_kittest (no display needed): what the
//! worker received and what the window shows.

use std::time::Duration;

use crate::common::{harness, wait_until};
use egui_kittest::kittest::Queryable;
use trainviz::data::DatasetKind;
use trainviz::train::TrainConfig;
use trainviz::ui::{Settings, TrainvizApp};

fn synthetic_app(epochs: usize) -> TrainvizApp {
    let settings = Settings {
        config: TrainConfig {
            dataset: DatasetKind::Synthetic,
            epochs,
            ..Default::default()
        },
        autostart: false,
        ..Default::default()
    };
    TrainvizApp::new(settings, None)
}

#[test]
fn start_pause_slider_and_reset_through_the_widgets() {
    let mut h = harness(synthetic_app(500));
    wait_until(&mut h, "the run to be ready", |a| a.history.info.is_some());
    assert!(
        h.state().history.epochs.is_empty(),
        "nothing trains before Start"
    );

    h.get_by_label("Start").click();
    h.step();
    wait_until(&mut h, "two epochs", |a| a.history.epochs.len() >= 2);
    // The status bar and the templates show the live run.
    h.get_by_label_contains("epoch ");
    assert_eq!(h.state().template_labels().len(), 10);
    h.get_by_label("red top-left");

    h.get_by_label("Pause").click();
    h.step();
    wait_until(&mut h, "the pause", |a| !a.history.running);

    h.get_by_role_and_label(egui::accesskit::Role::Slider, "η learning rate")
        .set_value_accesskit(0.05);
    h.step();
    // The worker takes the new value and records it; the slider shows the engine's value.
    wait_until(&mut h, "the recorded η", |a| {
        a.history
            .live()
            .is_some_and(|l| (l.eta - 0.05).abs() < 1e-9)
    });
    let live = h.state().history.live().unwrap();
    assert_eq!(h.state().settings.config.eta, live.eta);

    let old_run = h.state().history.run;
    h.key_press(egui::Key::R);
    h.step();
    wait_until(&mut h, "the new run", |a| {
        a.history.run > old_run && a.history.info.is_some()
    });
    let start = &h.state().history.info.as_ref().unwrap().settings.start;
    assert_eq!(
        start.eta, live.eta,
        "the new run starts with the value in force"
    );
    assert!(
        h.state().history.epochs.is_empty(),
        "a reset starts a fresh history"
    );

    h.key_press(egui::Key::Space);
    h.step();
    wait_until(&mut h, "training after Space", |a| {
        !a.history.epochs.is_empty()
    });
}

#[test]
fn step_trains_exactly_one_epoch() {
    let mut h = harness(synthetic_app(50));
    wait_until(&mut h, "the run to be ready", |a| a.history.info.is_some());
    h.get_by_label("One epoch").click();
    h.step();
    wait_until(&mut h, "one epoch", |a| {
        a.history.epochs.len() == 1 && !a.history.running
    });
    std::thread::sleep(Duration::from_millis(200));
    h.step();
    assert_eq!(h.state().history.epochs.len(), 1);
}

#[test]
fn a_missing_data_folder_is_reported_and_the_app_goes_on() {
    let mut app = synthetic_app(5);
    app.settings.config.dataset = DatasetKind::Cifar10;
    app.settings.config.data = Some("/nonexistent/cifar".into());
    let mut h = harness(app);
    h.get_by_label("Reset").click();
    h.step();
    wait_until(&mut h, "the error", |a| a.history.message.is_some());
    h.get_by_label_contains("does not exist");
    // Back to a working data set: the app recovers.
    h.state_mut().settings.config.dataset = DatasetKind::Synthetic;
    h.state_mut().settings.config.data = None;
    h.get_by_label("Reset").click();
    h.step();
    wait_until(&mut h, "a ready run", |a| {
        a.history.info.is_some() && a.history.message.is_none()
    });
}

#[test]
fn analysis_tabs_show_the_finished_run_and_export_its_report() {
    let mut h = harness(synthetic_app(3));
    wait_until(&mut h, "the run to be ready", |a| a.history.info.is_some());
    h.get_by_label("Start").click();
    wait_until(&mut h, "the run to finish", |a| a.history.summary.is_some());

    // Tabs by click and by key.
    h.get_by_label("Confusion").click();
    h.step();
    h.get_by_label("test").click();
    h.step();
    h.get_by_label_contains("test set: accuracy");
    h.get_by_label("Export matrix…");
    h.get_by_label("Accuracy per class");

    h.key_press(egui::Key::Num3);
    h.step();
    h.get_by_label_contains("Gradients, epoch 3");
    h.get_by_label_contains("Probability of the true class");
    h.get_by_label("Weight values (latest weights)");

    h.key_press(egui::Key::Num7);
    h.step();
    h.get_by_label("Export report…");
    let test_row = h.state().history.test.as_ref().map(|t| t.accuracy).unwrap();
    h.get_by_label(&format!("{:.2} %", 100.0 * test_row));
    // Settings are named in words, not by their TOML keys.
    h.get_by_label("λ");
    assert_eq!(h.query_all_by_label("lambda").count(), 0);

    // The report action without its dialog: every figure, and a clear message.
    let dir = tempfile::tempdir().unwrap();
    h.state_mut().settings.png.dpi = 72.0;
    h.state_mut().export_report_to(dir.path());
    wait_until(&mut h, "the report", |a| a.exporter.last.is_some());
    assert!(dir.path().join("report.md").is_file());
    assert!(dir.path().join("figures/confusion_test.png").is_file());
    h.get_by_label_contains("Saved the report");

    // An unwritable folder: a message naming it, no crash.
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, b"x").unwrap();
    h.state_mut().exporter.last = None;
    h.state_mut().export_report_to(&blocker.join("report"));
    wait_until(&mut h, "the failed export", |a| a.exporter.last.is_some());
    h.get_by_label_contains("Export failed: cannot write");
}

#[test]
fn predictions_embedding_and_gradient_check_from_the_window() {
    let settings = Settings {
        config: TrainConfig {
            dataset: DatasetKind::Synthetic,
            epochs: 2,
            hidden: vec![16],
            eta: 0.01,
            ..Default::default()
        },
        autostart: true,
        ..Default::default()
    };
    let mut h = harness(TrainvizApp::new(settings, None));
    wait_until(&mut h, "the run to finish", |a| a.history.summary.is_some());

    h.key_press(egui::Key::Num4);
    h.step();
    h.get_by_label("Predict the test set").click();
    wait_until(&mut h, "predictions", |a| a.history.predictions.is_some());
    h.get_by_label_contains("of 1000 test images right");
    h.get_by_label("only misclassified");
    // Top-3 guesses are listed for every image shown.
    h.get_all_by_label_contains("1. ")
        .next()
        .expect("a first guess");

    h.key_press(egui::Key::Num5);
    h.step();
    h.get_by_label("PCA").click();
    h.step();
    h.get_by_label("Compute").click();
    wait_until(&mut h, "the PCA", |a| a.history.embedding.is_some());
    h.get_by_label_contains("PCA of hidden layer 1 (16 units) on 1,000 validation images");
    h.get_by_label("t-SNE").click();
    h.step();
    h.get_by_label("Compute").click();
    wait_until(&mut h, "the t-SNE", |a| {
        a.history.embedding_progress.is_none()
            && a.history.embedding.as_ref().is_some_and(|e| {
                matches!(
                    e,
                    trainviz::train::AnalysisResult::Embedding {
                        projection: trainviz::train::analysis::Projection::Tsne,
                        ..
                    }
                )
            })
    });

    // While a t-SNE runs, the tab shows how far it is and offers to stop it (what the
    // worker does with the cancel is tested in tests/suite/worker.rs).
    h.state_mut().history.embedding_progress = Some(0.5);
    h.step();
    h.get_by_label_contains("t-SNE 50 %");
    h.get_by_label("Cancel").click();
    h.step();

    h.key_press(egui::Key::Num6);
    h.step();
    h.get_by_label("Run check").click();
    wait_until(&mut h, "the gradient check", |a| {
        a.history.gradient_check.is_some()
    });
    let report = h.state().history.gradient_check.clone().unwrap();
    assert_eq!(report.len(), 4, "W1 b1 W2 b2");
    assert!(report.iter().all(|p| p.max_rel_error < 1e-5), "{report:?}");
    assert_eq!(h.get_all_by_label("ok (≤ 1e-5)").count(), 4);
}
