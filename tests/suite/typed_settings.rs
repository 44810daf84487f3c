//! Every typed setting of the window is checked as it is typed: junk and out-of-range text is
//! refused beside the field with the reason and the allowed range, and nothing half-applies
//! (the settings, the worker's live values and Reset stay as they were).

use crate::common::{harness, wait_until};
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use trainviz::data::DatasetKind;
use trainviz::train::config::{self as settings, NumericSetting};
use trainviz::train::{OptimizerKind, ScheduleKind, TrainConfig};
use trainviz::ui::{Settings, TrainvizApp};

fn app(config: TrainConfig) -> TrainvizApp {
    let settings = Settings {
        config: TrainConfig {
            dataset: DatasetKind::Synthetic,
            epochs: 3,
            ..config
        },
        autostart: false,
        ..Default::default()
    };
    TrainvizApp::new(settings, None)
}

/// Types `text` into the field named `label`.
fn type_into(h: &mut Harness<'_, TrainvizApp>, label: &str, text: &str) {
    h.get_by_role_and_label(Role::TextInput, label)
        .set_text_value_accesskit(text);
    h.step();
    h.step();
}

/// The note shown beside a field, found by what it must contain (a label's text is its
/// accessible value).
fn note_with(h: &Harness<'_, TrainvizApp>, parts: &[&str]) -> String {
    let found = h
        .get_all_by(|n| n.role() == Role::Label)
        .filter_map(|n| {
            let a = n.accesskit_node();
            a.label()
                .map(|l| l.to_string())
                .or_else(|| a.value().map(|v| v.to_string()))
        })
        .find(|l| parts.iter().all(|p| l.contains(p)));
    found.unwrap_or_else(|| panic!("no note with {parts:?}"))
}

/// Junk, then an out-of-range value, into `spec`'s field: each refused beside it with the
/// setting's name and allowed range, the settings untouched.
fn refuses(h: &mut Harness<'_, TrainvizApp>, spec: &NumericSetting, out_of_range: &str) {
    let before = h.state().settings.config.clone();
    let allowed = spec.allowed();
    type_into(h, spec.label, "abc");
    note_with(h, &[spec.label, "\"abc\" is not a number", &allowed]);
    assert_eq!(
        h.state().settings.config,
        before,
        "{}: abc applied",
        spec.key
    );
    type_into(h, spec.label, out_of_range);
    note_with(h, &[spec.label, out_of_range, &allowed]);
    assert_eq!(
        h.state().settings.config,
        before,
        "{}: {out_of_range} applied",
        spec.key
    );
}

#[test]
fn junk_and_out_of_range_text_is_refused_beside_every_field_and_nothing_half_applies() {
    // Step schedule and Adam with a hidden layer: the panel shows its most fields.
    let mut h = harness(app(TrainConfig {
        schedule: ScheduleKind::Step,
        optimizer: OptimizerKind::Adam,
        hidden: vec![20],
        ..Default::default()
    }));
    wait_until(&mut h, "the run to be ready", |a| a.history.info.is_some());
    let live_before = h.state().history.live().expect("a run");

    refuses(&mut h, &settings::ETA, "0");
    refuses(&mut h, &settings::LAMBDA, "1000");
    refuses(&mut h, &settings::BATCH, "0");
    type_into(&mut h, settings::BATCH.label, "2.5");
    note_with(&h, &["batch size", "not a whole number"]);
    for (spec, bad) in [
        (&settings::EPOCHS, "0"),
        (&settings::STEP_EVERY, "0"),
        (&settings::STEP_FACTOR, "2"),
        (&settings::FLIP, "1.5"),
        (&settings::SIGMA, "0"),
        (&settings::DROPOUT, "0.95"),
        (&settings::BETA1, "1"),
        (&settings::BETA2, "-0.1"),
        (&settings::EPS, "0"),
    ] {
        refuses(&mut h, spec, bad);
    }

    let before = h.state().settings.config.clone();
    type_into(&mut h, "hidden layers", "50,,abc");
    note_with(&h, &["hidden layers", "missing", "allowed"]);
    type_into(&mut h, "hidden layers", "50,abc");
    note_with(&h, &["hidden layers", "\"abc\" is not a whole number"]);
    type_into(&mut h, "hidden layers", "0");
    note_with(&h, &["hidden layers", "out of range", "1 to 4096"]);
    type_into(&mut h, "seed", "-1");
    note_with(&h, &["seed", "not a whole number"]);
    assert_eq!(h.state().settings.config, before, "a refused text applied");

    // Nothing reached the worker: its live values are those it started with.
    std::thread::sleep(std::time::Duration::from_millis(100));
    h.step();
    assert_eq!(h.state().history.live(), Some(live_before));

    // Reset does not start a run from the last good values while fields show other,
    // refused text: it names the fields instead.
    let old_run = h.state().history.run;
    h.get_by_label("Reset").click();
    h.step();
    h.step();
    assert_eq!(h.state().history.run, old_run, "a run from refused text");
    let notice = h.get_by_label_contains("Not reset: the text in");
    let node = notice.accesskit_node();
    let text = node
        .label()
        .or_else(|| node.value().map(|v| v.to_string()))
        .unwrap_or_default();
    assert!(
        text.contains("hidden layers") && text.contains("seed"),
        "{text}"
    );

    // A good value typed over a refused one applies (to the settings and the worker).
    type_into(&mut h, "hidden layers", "30, 10");
    assert_eq!(h.state().settings.config.hidden, vec![30, 10]);
    // While λ and the batch size still hold refused text, no live change is sent: put
    // them right first (the values they had), then type η.
    type_into(&mut h, settings::LAMBDA.label, "0.1");
    type_into(&mut h, settings::BATCH.label, "100");
    type_into(&mut h, settings::ETA.label, "0.05");
    // Enter ends the typing (the field gives up its focus), which sends the value.
    h.key_press(egui::Key::Enter);
    h.step();
    wait_until(&mut h, "the typed η in the worker", |a| {
        a.history
            .live()
            .is_some_and(|l| (l.eta - 0.05).abs() < 1e-12)
    });
}

#[test]
fn the_cyclic_range_and_race_values_are_checked_as_typed() {
    let mut h = harness(app(TrainConfig {
        schedule: ScheduleKind::Cyclic,
        ..Default::default()
    }));
    wait_until(&mut h, "the run to be ready", |a| a.history.info.is_some());
    refuses(&mut h, &settings::ETA_MIN, "0");
    refuses(&mut h, &settings::HALF_CYCLE, "0");
    // Within its own range, but below the lowest η: refused with the reason.
    let before = h.state().settings.config.clone();
    type_into(&mut h, settings::ETA_MAX.label, "1e-6");
    note_with(&h, &["highest η = 1e-6 is below the lowest η"]);
    assert_eq!(h.state().settings.config, before);

    h.get_by_label("Race").click();
    h.step();
    type_into(&mut h, "first values", "sgd, adamm");
    note_with(&h, &["\"adamm\" is not an optimiser"]);
    // η as the raced setting: a value the engine would refuse is refused here.
    h.state_mut().race.first = 3;
    type_into(&mut h, "first values", "0, 0.1");
    note_with(&h, &["η = 0 is out of range", "1e-7 to 100"]);
    assert!(h.get_by_label("Start race").accesskit_node().is_disabled());
    type_into(&mut h, "first values", "0.1");
    note_with(&h, &["2 to 6 variants", "give 1"]);
    assert!(h.get_by_label("Start race").accesskit_node().is_disabled());
    h.get_by_label("Start race").click();
    h.step();
    assert!(
        !h.state().race.running(),
        "a race started from refused values"
    );
    type_into(&mut h, "first values", "0.1, 0.01");
    assert!(!h.get_by_label("Start race").accesskit_node().is_disabled());
}

#[test]
fn a_preset_clears_text_left_refused_in_a_field() {
    // Epochs 12 before and after: the preset sets the value the field already had, and the
    // refused "abc" must still give way to it.
    let classic = trainviz::runs::presets::find("classic").expect("the classic preset");
    let synthetic = TrainConfig {
        dataset: DatasetKind::Synthetic,
        ..TrainConfig::default()
    };
    let config = classic
        .config(&synthetic)
        .expect("the classic preset applies");
    let epochs = config.epochs;
    let mut h = harness(TrainvizApp::new(
        Settings {
            config,
            autostart: false,
            ..Default::default()
        },
        None,
    ));
    type_into(&mut h, settings::EPOCHS.label, "abc");
    note_with(&h, &[settings::EPOCHS.label, "\"abc\" is not a number"]);
    h.get_all_by_role(Role::ComboBox).next().unwrap().click();
    h.step();
    h.step();
    h.get_all_by_label(classic.label)
        .last()
        .unwrap()
        .scroll_to_me();
    for _ in 0..20 {
        h.step();
    }
    h.get_all_by_label(classic.label).last().unwrap().click();
    for _ in 0..4 {
        h.step();
    }
    let field = h.get_by_role_and_label(Role::TextInput, settings::EPOCHS.label);
    let shown = field.accesskit_node().value().map(|v| v.to_string());
    assert_eq!(shown.as_deref(), Some(epochs.to_string().as_str()));
    let refused = h
        .query_all_by(|n| n.role() == Role::Label)
        .filter_map(|n| {
            let a = n.accesskit_node();
            a.label()
                .map(|l| l.to_string())
                .or_else(|| a.value().map(|v| v.to_string()))
        })
        .any(|l| l.contains("\"abc\" is not a number"));
    assert!(!refused, "the refusal is gone");
}
