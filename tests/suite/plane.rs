//! The playground: from the command line a two-arm spiral trained with the playground's
//! settings reaches 95 % training accuracy and its report has the plane's figures; in the
//! window a click in the Plane tab adds a point to the training set.

use crate::common::{harness, trainviz, wait_until};
use egui_kittest::kittest::Queryable;
use trainviz::data::DatasetKind;
use trainviz::train::TrainConfig;
use trainviz::ui::app::Tab;
use trainviz::ui::{Settings, TrainvizApp};

#[test]
fn spiral_reaches_95_percent_and_writes_the_plane_figures() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let result = trainviz()
        .args([
            "train",
            "--dataset",
            "spiral",
            "--hidden",
            "8,8",
            "--activation",
            "tanh",
            "--no-save",
            "--figures",
            "--figure-width",
            "3",
            "--dpi",
            "100",
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let train_acc = summary["train_acc"].as_f64().unwrap();
    assert!(train_acc >= 0.95, "training accuracy {train_acc}\n{stdout}");
    assert!(stdout.contains("spiral, 2 classes"), "{stdout}");
    for file in [
        "decision_boundary.png",
        "decision_boundary.svg",
        "decision_boundary.csv",
        "network.png",
        "network.svg",
    ] {
        let path = out.join("figures").join(file);
        assert!(path.exists(), "{} missing", path.display());
    }
    let csv = std::fs::read_to_string(out.join("figures/decision_boundary.csv")).unwrap();
    assert!(csv.starts_with("kind,x1,x2,label,predicted,confidence"));
    assert_eq!(
        csv.lines().filter(|l| l.starts_with("grid,")).count(),
        80 * 80
    );
    assert!(csv.lines().any(|l| l.starts_with("train,")));
    let svg = std::fs::read_to_string(out.join("figures/network.svg")).unwrap();
    assert!(
        svg.contains("h2.8") && svg.contains("arm 2"),
        "all units drawn"
    );
    // A one-pixel "image" has no templates to show.
    assert!(!out.join("figures/templates.png").exists());
}

#[test]
fn plane_settings_out_of_range_name_the_value() {
    for (flag, value, says) in [
        ("--classes", "7", "classes = 7"),
        ("--features", "x1,x1", "features"),
        ("--noise", "9", "noise = 9"),
        ("--l1=-1", "", "l1 = -1"),
    ] {
        let result = trainviz()
            .args(["train", "--dataset", "circle", "--no-save", flag])
            .args((!value.is_empty()).then_some(value))
            .output()
            .unwrap();
        assert!(!result.status.success(), "{flag} {value} was accepted");
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert!(stderr.contains(says), "{flag} {value}: {stderr}");
    }
    let result = trainviz()
        .args(["train", "--dataset", "circle", "--features", "x3"])
        .output()
        .unwrap();
    assert!(!result.status.success());
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains("x3"), "{stderr}");
}

/// Clicks at `pos` (press and release), with `modifiers` held.
fn click(
    h: &mut egui_kittest::Harness<'_, TrainvizApp>,
    pos: egui::Pos2,
    modifiers: egui::Modifiers,
) {
    h.hover_at(pos);
    h.step();
    for pressed in [true, false] {
        h.event(egui::Event::PointerButton {
            pos,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers,
        });
        h.step();
    }
}

#[test]
fn a_click_in_the_plane_adds_a_training_point() {
    let settings = Settings {
        config: TrainConfig {
            epochs: 5,
            ..TrainConfig::plane(DatasetKind::Spiral)
        },
        autostart: false,
        tab: Tab::Plane,
        ..Default::default()
    };
    let mut h = harness(TrainvizApp::new(settings, None));
    wait_until(&mut h, "the run and its plane", |a| {
        a.history.info.is_some() && a.plane.plane_rect().is_some()
    });
    let before = h.state().history.info.as_ref().unwrap().sizes[0];
    let old_run = h.state().history.run;
    let rect = h.state().plane.plane_rect().unwrap();
    // A quarter of the way in from the left and top: x₁ = −3, x₂ = 3.
    let at = rect.min + (rect.max - rect.min) * 0.25;
    click(&mut h, at, egui::Modifiers::NONE);
    let added = h.state().settings.config.added_points.clone();
    assert_eq!(added.len(), 1, "one point added");
    assert_eq!(added[0].label, 0, "of the chosen class");
    assert!(
        (added[0].x[0] + 3.0).abs() < 0.2 && (added[0].x[1] - 3.0).abs() < 0.2,
        "{added:?}"
    );
    // The run restarts with it in its training set.
    wait_until(&mut h, "the run with the new point", |a| {
        a.history.run > old_run
            && a.history
                .info
                .as_ref()
                .is_some_and(|i| i.sizes[0] == before + 1)
    });
    // Shift-click adds the other class; Alt-click on the first removes it.
    let rect = h.state().plane.plane_rect().unwrap();
    let other = rect.min + (rect.max - rect.min) * 0.75;
    click(&mut h, other, egui::Modifiers::SHIFT);
    let added = h.state().settings.config.added_points.clone();
    assert_eq!(added.len(), 2);
    assert_eq!(added[1].label, 1, "shift-click: the next class");
    // The run restarts with both; then Alt-click on the first (where it is drawn now).
    let run_before = h.state().history.run;
    wait_until(&mut h, "the run with both points", |a| {
        a.history.run > run_before
            && a.history
                .info
                .as_ref()
                .is_some_and(|i| i.sizes[0] == before + 2)
            && a.plane.plane_rect().is_some()
    });
    let rect = h.state().plane.plane_rect().unwrap();
    let at = rect.min + (rect.max - rect.min) * 0.25;
    click(&mut h, at, egui::Modifiers::ALT);
    let added = h.state().settings.config.added_points.clone();
    assert_eq!(added.len(), 1, "alt-click removed the point under it");
    assert_eq!(added[0].label, 1);
}

#[test]
fn the_network_tab_shows_how_a_chosen_layer_maps_the_plane() {
    let settings = Settings {
        config: TrainConfig {
            epochs: 2,
            hidden: vec![4, 3],
            ..TrainConfig::plane(DatasetKind::Spiral)
        },
        autostart: false,
        ..Default::default()
    };
    let mut h = harness(TrainvizApp::new(settings, None));
    wait_until(&mut h, "the run's weights", |a| a.history.network.is_some());
    // A run on points in the plane opens the Plane tab; go on to the Network tab.
    h.state_mut().settings.tab = Tab::Network;
    h.step();
    h.get_by_label("How a layer maps the plane").click();
    h.step();
    h.step();
    // It opens on the last hidden layer, its first two units.
    assert_eq!(h.state().plane.warp.layer, Some(1));
    assert_eq!(h.state().plane.warp.units, [0, 1]);
    // A menu is found by what it shows, its entries by their names.
    h.get_by_value("hidden 2 (tanh)").click();
    h.step();
    h.step();
    h.get_by_label("hidden 1 (tanh)").click();
    h.step();
    h.step();
    assert_eq!(h.state().plane.warp.layer, Some(0));
    // The y axis's menu names the first layer's units; pick its fourth.
    h.get_by_value("h1.2").click();
    h.step();
    h.step();
    h.get_all_by_label("h1.4").last().unwrap().click();
    h.step();
    h.step();
    assert_eq!(h.state().plane.warp.units, [0, 3]);
    // The class scores' layer names its units after the classes.
    h.get_by_value("hidden 1 (tanh)").click();
    h.step();
    h.step();
    h.get_by_label("class scores").click();
    h.step();
    h.step();
    assert_eq!(h.state().plane.warp.layer, Some(2));
    h.get_by_value("score of arm 2");
}
