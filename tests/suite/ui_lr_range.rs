//! The learning-rate range test in the window: the cyclic schedule's button opens it, it
//! runs in the background, and one click puts its bounds into the settings.

use crate::common::{harness_sized, wait_until};
use egui_kittest::kittest::Queryable;
use trainviz::data::DatasetKind;
use trainviz::train::lr_range::RangeSettings;
use trainviz::train::{ScheduleKind, TrainConfig};
use trainviz::ui::{Settings, TrainvizApp};

#[test]
fn the_range_test_suggests_bounds_and_one_click_uses_them() {
    let settings = Settings {
        config: TrainConfig {
            dataset: DatasetKind::Synthetic,
            train_limit: Some(2000),
            schedule: ScheduleKind::Cyclic,
            ..Default::default()
        },
        autostart: false,
        ..Default::default()
    };
    // Tall enough that the cyclic settings (and their button) are on screen.
    let mut h = harness_sized(TrainvizApp::new(settings, None), (1400.0, 2000.0));
    wait_until(&mut h, "the run to be ready", |a| a.history.info.is_some());
    h.get_by_label("Find the η range…").click();
    h.step();
    h.step();
    assert!(
        h.state_mut().lr_range_panel().open,
        "the button opens the range test"
    );
    h.state_mut().lr_range_panel().settings = RangeSettings {
        eta_start: 1e-5,
        eta_end: 100.0,
        steps: 150,
    };
    h.step();
    h.get_by_label("Run the test").click();
    h.step();
    wait_until(&mut h, "the range test", |a| a.lr_range_result().is_some());
    let bounds = h
        .state()
        .lr_range_result()
        .and_then(|t| t.bounds)
        .expect("bounds on the synthetic set");
    h.get_by_label_contains("Suggested: eta_min = ");
    h.get_by_label("Use these bounds").click();
    h.step();
    let c = &h.state().settings.config;
    assert_eq!(c.schedule, ScheduleKind::Cyclic);
    assert_eq!((c.eta_min, c.eta_max), (bounds.eta_min, bounds.eta_max));
    h.get_by_label_contains("Set: cyclic η schedule");
}
