//! The app driven through its widgets with egui_kittest (no display needed): what the
//! worker received and what the window shows.

use std::time::{Duration, Instant};

use egui_kittest::{Harness, kittest::Queryable};
use trainviz::data::DatasetKind;
use trainviz::train::{Command, TrainConfig};
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

fn harness(app: TrainvizApp) -> Harness<'static, TrainvizApp> {
    Harness::builder()
        .with_size((1400.0, 900.0))
        .build_ui_state(
            |ui, app: &mut TrainvizApp| {
                app.drain_events();
                app.draw(ui);
            },
            app,
        )
}

/// Steps frames until `done` holds (the worker runs on its own thread meanwhile).
fn wait_until(h: &mut Harness<'_, TrainvizApp>, what: &str, done: impl Fn(&TrainvizApp) -> bool) {
    let started = Instant::now();
    while !done(h.state()) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
        h.step();
    }
    h.step();
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
    assert!(matches!(h.state().sent.last(), Some(Command::Start)));
    wait_until(&mut h, "two epochs", |a| a.history.epochs.len() >= 2);
    // The status bar and the templates show the live run.
    h.get_by_label_contains("epoch ");
    assert_eq!(h.state().template_labels().len(), 10);
    h.get_by_label("red top-left");

    h.get_by_label("Pause").click();
    h.step();
    assert!(matches!(h.state().sent.last(), Some(Command::Pause)));
    wait_until(&mut h, "the pause", |a| !a.history.running);

    h.get_by_role_and_label(egui::accesskit::Role::Slider, "η learning rate")
        .set_value_accesskit(0.05);
    h.step();
    let live = h.state().sent.iter().rev().find_map(|c| match c {
        Command::SetLive(l) => Some(*l),
        _ => None,
    });
    let live = live.expect("moving the η slider sends the new value to the worker");
    assert!((live.eta - 0.05).abs() < 1e-9, "{live:?}");
    assert_eq!(h.state().settings.config.eta, live.eta);

    let old_run = h.state().history.run;
    h.key_press(egui::Key::R);
    h.step();
    assert!(matches!(h.state().sent.last(), Some(Command::Reset(c)) if c.eta == live.eta));
    wait_until(&mut h, "the new run", |a| {
        a.history.run > old_run && a.history.info.is_some()
    });
    assert!(
        h.state().history.epochs.is_empty(),
        "a reset starts a fresh history"
    );

    h.key_press(egui::Key::Space);
    h.step();
    assert!(matches!(h.state().sent.last(), Some(Command::Start)));
    wait_until(&mut h, "training after Space", |a| {
        !a.history.epochs.is_empty()
    });
}

#[test]
fn step_trains_exactly_one_epoch() {
    let mut h = harness(synthetic_app(50));
    wait_until(&mut h, "the run to be ready", |a| a.history.info.is_some());
    h.get_by_label("Step").click();
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
