//! The window as a finished product: words instead of code names, a layout that fits every
//! size from 1024×640 to 2560×1440, exports that need no dialog, a dropped picture
//! classified, the theme switch, and command-line flags that override only what they name.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::common::wait_until;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use trainviz::data::DatasetKind;
use trainviz::train::TrainConfig;
use trainviz::ui::{Settings, ThemeChoice, TrainvizApp};

fn harness_at(app: TrainvizApp, w: f32, h: f32) -> Harness<'static, TrainvizApp> {
    Harness::builder().with_size((w, h)).build_ui_state(
        |ui, app: &mut TrainvizApp| {
            app.drain_events();
            app.draw(ui);
        },
        app,
    )
}

fn synthetic(epochs: usize, hidden: Vec<usize>) -> Settings {
    Settings {
        config: TrainConfig {
            dataset: DatasetKind::Synthetic,
            epochs,
            hidden,
            eta: 0.01,
            ..Default::default()
        },
        autostart: true,
        ..Default::default()
    }
}

/// Every label and value on screen.
fn visible_texts(h: &Harness<'_, TrainvizApp>) -> Vec<String> {
    h.query_all_by(|_| true)
        .flat_map(|n| {
            let node = n.accesskit_node();
            [node.label(), node.value()]
        })
        .flatten()
        .collect()
}

#[test]
fn no_visible_label_is_an_enum_variant_name() {
    let runs = tempfile::tempdir().unwrap();
    let app =
        TrainvizApp::with_runs_dir(synthetic(2, vec![8]), None, Some(runs.path().to_path_buf()));
    let mut h = harness_at(app, 1600.0, 1000.0);
    wait_until(&mut h, "the run to finish", |a| a.history.summary.is_some());
    let codes = trainviz::ui::words::code_names();
    let mut seen = Vec::new();
    for key in [
        egui::Key::Num1,
        egui::Key::Num2,
        egui::Key::Num3,
        egui::Key::Num4,
        egui::Key::Num5,
        egui::Key::Num6,
        egui::Key::Num7,
        egui::Key::Num8,
    ] {
        h.key_press(key);
        h.run_steps(3);
        seen.extend(visible_texts(&h));
    }
    // The menus' items too: open each setting's menu.
    for menu in [
        "loss",
        "η schedule",
        "weight init",
        "activation",
        "data set",
        "inputs",
    ] {
        h.get_by_role_and_label(egui::accesskit::Role::ComboBox, menu)
            .click();
        h.run_steps(2);
        seen.extend(visible_texts(&h));
        h.key_press(egui::Key::Escape);
        h.run_steps(2);
    }
    for text in &seen {
        assert!(
            !codes.iter().any(|c| c == text.trim()),
            "the window shows the code name {text:?}"
        );
    }
    // ... and the words a person would write are there.
    for words in [
        "Softmax cross-entropy",
        "Binary cross-entropy (sigmoid)",
        "Multiclass SVM (hinge)",
        "ReLU",
        "CIFAR-10",
        "Fashion-MNIST",
        "Image folder",
        "Synthetic practice set",
    ] {
        assert!(seen.iter().any(|t| t == words), "{words} is not shown");
    }
    assert!(
        !seen.iter().any(|t| t.starts_with("Ce:")),
        "no tooltip or label starts with a code name"
    );
}

#[test]
fn every_widget_fits_the_window_and_the_plots_grow_with_it() {
    let mut sizes = Vec::new();
    for (w, hgt) in [(1024.0, 640.0), (1600.0, 1000.0), (2560.0, 1440.0)] {
        let runs = tempfile::tempdir().unwrap();
        let app = TrainvizApp::with_runs_dir(
            synthetic(2, vec![20]),
            None,
            Some(runs.path().to_path_buf()),
        );
        let mut h = harness_at(app, w, hgt);
        wait_until(&mut h, "the run to finish", |a| a.history.summary.is_some());
        h.run_steps(3);
        for key in [
            egui::Key::Num3,
            egui::Key::Num5,
            egui::Key::Num8,
            egui::Key::Num1,
        ] {
            h.key_press(key);
            h.run_steps(3);
            let window = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(w, hgt));
            for n in h.query_all_by(|_| true) {
                let Some(b) = n.accesskit_node().bounding_box() else {
                    continue;
                };
                let r = egui::Rect::from_min_max(
                    egui::pos2(b.x0 as f32, b.y0 as f32),
                    egui::pos2(b.x1 as f32, b.y1 as f32),
                );
                if !r.is_positive() {
                    continue;
                }
                let label = n.accesskit_node().label().unwrap_or_default();
                // Nothing is cut off at the sides; what lies below the fold is in a
                // scroll area (the central view or the settings panel), reached by scrolling.
                assert!(
                    r.min.x >= window.min.x - 1.0 && r.max.x <= window.max.x + 1.0,
                    "{label:?} at {r:?} sticks out of the {w}×{hgt} window (tab {key:?})"
                );
            }
            // The fixed parts (toolbar, tabs, status bar) are fully inside.
            for fixed in ["Start", "Reset", "Training", "Runs", "Results & export"] {
                let r = h.get_by_label(fixed).rect();
                assert!(
                    window.contains_rect(r),
                    "{fixed} at {r:?} is outside the {w}×{hgt} window"
                );
            }
            let status = h.get_by_label_contains("epoch 2/2").rect();
            assert!(window.contains_rect(status), "status bar at {status:?}");
        }
        // The runs table's buttons are whole and inside the window (nothing is clipped
        // at the right edge).
        h.key_press(egui::Key::Num8);
        h.run_steps(3);
        wait_until(&mut h, "the runs folder to be read", |a| {
            a.runs_panel_ref().scanned() && !a.runs_panel_ref().runs().is_empty()
        });
        for label in ["Load", "More…"] {
            let r = h.get_by_label(label).rect();
            assert!(
                r.width() > 20.0 && r.max.x <= w,
                "{label} at {r:?} in the {w}×{hgt} window"
            );
        }
        h.key_press(egui::Key::Num1);
        h.run_steps(3);
        // Every one of the 20 first-layer units is shown, in rows that fit.
        assert_eq!(h.state().template_labels().len(), 20);
        for unit in h.get_all_by_label_contains("unit ") {
            assert!(unit.rect().max.x <= w + 1.0);
        }
        sizes.push(h.state().curve_plot_size());
    }
    assert!(
        sizes[0].x < sizes[1].x && sizes[1].x < sizes[2].x,
        "plots grow in width: {sizes:?}"
    );
    assert!(
        sizes[0].y < sizes[1].y && sizes[1].y < sizes[2].y,
        "plots grow in height: {sizes:?}"
    );
}

#[test]
fn the_training_tab_shows_its_templates_at_1024_and_fills_the_default_window() {
    for (w, hgt) in [(1024.0, 640.0), (1400.0, 900.0)] {
        let runs = tempfile::tempdir().unwrap();
        let app =
            TrainvizApp::with_runs_dir(synthetic(2, vec![]), None, Some(runs.path().to_path_buf()));
        let mut h = harness_at(app, w, hgt);
        wait_until(&mut h, "the run to finish", |a| a.history.summary.is_some());
        h.run_steps(3);
        // Every class template and its name is in view, not below the window (at
        // 1024×640 only their heading was).
        let names: Vec<String> = h
            .state()
            .template_labels()
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(names.len(), 10);
        let mut lowest: f32 = 0.0;
        for name in &names {
            let r = h.get_by_label(name).rect();
            assert!(r.max.y <= hgt, "{name} at {r:?} below the {w}×{hgt} window");
            lowest = lowest.max(r.max.y);
        }
        // ... and the tab fills the window: no band of more than ~8 % left empty below them.
        let status = h.get_by_label_contains("epoch 2/2").rect();
        assert!(
            status.min.y - lowest < 0.08 * hgt,
            "templates end at {lowest}, the status bar starts at {} ({w}×{hgt})",
            status.min.y
        );
    }
}

/// A ConvNet's filters are in view beside the accuracy plot at 1024×640, with every
/// per-epoch plot tall enough for labelled ticks (the η plot waits behind its Show
/// button there), and below the plots in a wide window.
#[test]
fn the_training_tab_shows_a_convnets_filters_at_1024_and_1400() {
    for (w, hgt) in [(1024.0, 640.0), (1400.0, 900.0)] {
        let runs = tempfile::tempdir().unwrap();
        let mut settings = synthetic(2, vec![]);
        settings.config.layers = "patchify 8:6, relu, dense 16, relu".into();
        let app = TrainvizApp::with_runs_dir(settings, None, Some(runs.path().to_path_buf()));
        let mut h = harness_at(app, w, hgt);
        wait_until(&mut h, "the run to finish", |a| {
            a.history.summary.is_some() && a.history.stack.is_some()
        });
        h.run_steps(3);
        let heading = h.get_by_label_contains("Filters of layer 1").rect();
        assert!(
            heading.max.y + 30.0 <= hgt,
            "the filters' heading at {heading:?} leaves no room for them in the {w}×{hgt} window"
        );
        let plot = h.state().curve_plot_size();
        assert!(plot.y >= 115.0, "per-epoch plots {plot:?} at {w}×{hgt}");
        let eta_hidden = h.query_by_label("Show").is_some();
        assert_eq!(eta_hidden, w < 1100.0, "the η plot's button at {w}×{hgt}");
    }
}

#[test]
fn ctrl_e_writes_the_report_into_the_run_folder_without_a_dialog() {
    let runs = tempfile::tempdir().unwrap();
    let mut settings = synthetic(2, vec![]);
    settings.png.dpi = 72.0;
    let app = TrainvizApp::with_runs_dir(settings, None, Some(runs.path().to_path_buf()));
    let mut h = harness_at(app, 1600.0, 1000.0);
    wait_until(&mut h, "the run to finish and be saved", |a| {
        a.history.summary.is_some() && a.history.saved_dir.is_some()
    });
    let run_dir = h.state().history.saved_dir.clone().unwrap();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::E);
    h.step();
    wait_until(&mut h, "the report to be written", |a| {
        a.exporter.last.is_some()
    });
    let outcome = h.state().exporter.last.clone().unwrap();
    let written = outcome.expect("the report is written");
    let report = run_dir.join("report");
    assert_eq!(written.folder, report);
    assert!(report.join("report.md").is_file());
    assert!(report.join("figures/accuracy.png").is_file());
    assert!(report.join("figures/confusion_val.svg").is_file());
    assert!(report.join("results.tex").is_file());
    // Every figure's heading says what it shows, and no two are alike.
    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    let headings: Vec<&str> = md.lines().filter(|l| l.starts_with("### ")).collect();
    let distinct: std::collections::BTreeSet<&&str> = headings.iter().collect();
    assert_eq!(distinct.len(), headings.len(), "{headings:#?}");
    for wanted in [
        "Confusion matrix, validation set (counts)",
        "Confusion matrix, validation set (% of each true class)",
        "Confusion matrix, test set (counts)",
        "Probability given to the true class, validation set",
        "Accuracy per class, training, validation, test sets",
    ] {
        assert!(
            headings.iter().any(|h| h.contains(wanted)),
            "no heading {wanted:?} in {headings:#?}"
        );
    }
    // The window says where, with a way to open the folder.
    h.get_by_label_contains("Saved the report");
    h.get_by_label("Open folder");
    h.get_by_label("Copy path");

    // A figure's Export… offers the run folder; it writes PNG, SVG and CSV there.
    h.get_by_label("Export accuracy…").click();
    // The export window fades in.
    h.run_steps(10);
    h.get_by_label("Save as…");
    h.get_by_label("Save in the run folder").click();
    h.step();
    wait_until(&mut h, "the figure to be written", |a| {
        a.exporter.last.is_some()
    });
    assert!(run_dir.join("figures/accuracy.png").is_file());
    assert!(run_dir.join("figures/accuracy.csv").is_file());

    // A path typed by hand works too (what a desktop without a file dialog needs).
    let typed = runs.path().join("by-hand.svg");
    h.get_by_label("Export loss…").click();
    h.run_steps(10);
    h.get_by(|n| {
        n.role() == egui::accesskit::Role::TextInput && n.value().as_deref() == Some("loss.png")
    })
    .set_text_value_accesskit(&typed.display().to_string());
    h.step();
    h.state_mut().exporter.last = None;
    h.get_by_label("Save").click();
    h.step();
    wait_until(&mut h, "the typed path to be written", |a| {
        a.exporter.last.is_some()
    });
    let svg_written = typed.is_file();
    assert!(
        svg_written,
        "typed path written: {:?}",
        h.state().exporter.last
    );
}

/// A live change of η shows as a marker on the plots and in the report's figures; the report
/// has the mini-batch loss, lists only the settings in force, counts images in words; and its
/// "Saved …" notice goes away with the run it was about.
#[test]
fn live_changes_are_marked_and_the_report_lists_what_was_in_force() {
    let mut settings = synthetic(3, vec![]);
    settings.autostart = false;
    settings.png.dpi = 72.0;
    let mut h = harness_at(TrainvizApp::new(settings, None), 1024.0, 640.0);
    wait_until(&mut h, "the run to be ready", |a| a.history.info.is_some());
    // Before the first epoch the plots say so instead of drawing empty axes.
    assert_eq!(
        h.query_all_by_label("Waiting for the first epoch…").count(),
        3
    );
    h.state_mut()
        .apply(trainviz::ui::controls::UiAction::StepEpoch);
    wait_until(&mut h, "one epoch", |a| a.history.epochs.len() == 1);
    assert_eq!(
        h.query_all_by_label("Waiting for the first epoch…").count(),
        0
    );
    let mut live = h.state().history.live().unwrap();
    live.eta = 0.05;
    h.state_mut()
        .apply(trainviz::ui::controls::UiAction::SetLive(live));
    // The status bar says what changed, in words.
    wait_until(&mut h, "the change's notice", |a| {
        a.history
            .notice
            .as_deref()
            .is_some_and(|n| n.starts_with("Changed η 0.01 → 0.05 from epoch"))
    });
    h.state_mut().apply(trainviz::ui::controls::UiAction::Start);
    wait_until(&mut h, "the run to finish", |a| a.history.summary.is_some());
    h.step();
    assert_eq!(
        h.state().plots_markers(),
        vec![(1.0, "η 0.01 → 0.05".to_string())]
    );

    let dir = tempfile::tempdir().unwrap();
    h.state_mut().export_report_to(dir.path());
    wait_until(&mut h, "the report", |a| a.exporter.last.is_some());
    assert!(h.state().exporter.last.clone().unwrap().is_ok());
    let figures = dir.path().join("figures");
    let step_csv = std::fs::read_to_string(figures.join("step_loss.csv")).unwrap();
    assert!(step_csv.lines().count() > 10, "{step_csv}");
    let loss_svg = std::fs::read_to_string(figures.join("loss.svg")).unwrap();
    assert!(loss_svg.contains("η 0.01 → 0.05"), "no marker in loss.svg");
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(md.contains("Mini-batch loss per step"), "{md}");
    assert!(
        md.contains("training, ") && md.contains("validation, "),
        "{md}"
    );
    for absent in [
        "| eta_min",
        "| highest η",
        "| β₁",
        "| momentum",
        "| decay",
        "| dropout",
        "| activation",
        "| batch norm",
        "| validation images",
    ] {
        assert!(
            !md.contains(absent),
            "{absent} listed for a linear SGD run:\n{md}"
        );
    }
    h.get_by_label_contains("Saved the report");

    // A new run: the notice was about the old one.
    h.state_mut().apply(trainviz::ui::controls::UiAction::Reset);
    let old = h.state().history.run;
    wait_until(&mut h, "the new run", |a| a.history.run > old);
    h.step();
    assert!(h.state().exporter.last.is_none());
    assert_eq!(h.query_all_by_label_contains("Saved the report").count(), 0);
}

/// A file dropped on the window, as the windowing system hands it over.
#[derive(Debug)]
struct Dropped(PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

#[test]
fn a_dropped_picture_gets_its_top_five_classes() {
    let dir = tempfile::tempdir().unwrap();
    // A 50×40 photo-like picture: a red blob on grey, not the model's size.
    let picture = dir.path().join("my photo.png");
    image::RgbImage::from_fn(50, 40, |x, y| {
        let d = (x as i32 - 15).pow(2) + (y as i32 - 12).pow(2);
        if d < 90 {
            image::Rgb([220, 30, 30])
        } else {
            image::Rgb([120, 120, 120])
        }
    })
    .save(&picture)
    .unwrap();
    let mut h = harness_at(TrainvizApp::new(synthetic(2, vec![]), None), 1600.0, 1000.0);
    wait_until(&mut h, "the run to finish", |a| a.history.summary.is_some());
    h.input_mut()
        .dropped_files
        .push(Arc::new(Dropped(picture.clone())));
    h.step();
    wait_until(&mut h, "the picture's classes", |a| {
        a.classify.top().len() == 5 || a.classify.error().is_some()
    });
    assert_eq!(h.state().classify.error(), None);
    let top = h.state().classify.top();
    assert_eq!(top.len(), 5);
    assert!(top.windows(2).all(|w| w[0].1 >= w[1].1), "{top:?}");
    let sum: f32 = top.iter().map(|t| t.1).sum();
    assert!(sum > 0.0 && sum <= 1.0 + 1e-4, "{top:?}");
    // Shown in the Predictions tab: the picture at the model's size and each class.
    h.get_by_label_contains("my photo.png, as the model sees it (32×32)");
    for (name, _) in &top {
        h.get_by_label(name);
    }
    h.get_all_by_label_contains(" %")
        .next()
        .expect("probabilities");

    // Not a picture: a message, no crash.
    let junk = dir.path().join("notes.png");
    std::fs::write(&junk, b"not an image").unwrap();
    h.input_mut().dropped_files.push(Arc::new(Dropped(junk)));
    h.step();
    wait_until(&mut h, "the error", |a| a.classify.error().is_some());
    h.get_by_label_contains("notes.png");
}

#[test]
fn the_theme_switches_and_is_remembered() {
    let mut settings = synthetic(1, vec![]);
    settings.autostart = false;
    let mut h = harness_at(TrainvizApp::new(settings, None), 1024.0, 640.0);
    h.run_steps(2);
    assert_eq!(h.ctx.theme(), egui::Theme::Dark);
    h.get_by_label("Light theme").click();
    h.run_steps(2);
    assert_eq!(h.state().settings.theme, ThemeChoice::Light);
    assert_eq!(h.ctx.theme(), egui::Theme::Light);
    assert!(!h.ctx.global_style().visuals.dark_mode);
    h.get_by_label("Dark theme").click();
    h.run_steps(2);
    assert_eq!(h.ctx.theme(), egui::Theme::Dark);
    // Remembered with the other settings.
    let json = serde_json::to_string(&h.state().settings).unwrap();
    let back: Settings = serde_json::from_str(&json).unwrap();
    assert_eq!(back.theme, ThemeChoice::Dark);
}

#[test]
fn command_line_flags_override_only_the_settings_they_name() {
    use clap::Parser;
    let remembered = TrainConfig {
        dataset: DatasetKind::Synthetic,
        lambda: 0.5,
        eta: 0.02,
        epochs: 7,
        hidden: vec![30],
        batch: 64,
        ..Default::default()
    };
    let cli = trainviz::cli::Cli::try_parse_from(["trainviz", "--eta", "0.005", "--epochs", "12"])
        .unwrap();
    let merged = cli.app.apply_to(&remembered).unwrap();
    assert_eq!(merged.eta, 0.005);
    assert_eq!(merged.epochs, 12);
    // Everything not named stays as remembered.
    assert_eq!(merged.lambda, 0.5);
    assert_eq!(merged.hidden, vec![30]);
    assert_eq!(merged.batch, 64);
    assert_eq!(merged.dataset, DatasetKind::Synthetic);

    // --data names the data: its kind is detected, the rest stays.
    let data = tempfile::tempdir().unwrap();
    for class in ["cats", "dogs"] {
        let d = data.path().join(class);
        std::fs::create_dir(&d).unwrap();
        image::RgbImage::new(8, 8).save(d.join("a.png")).unwrap();
    }
    let cli =
        trainviz::cli::Cli::try_parse_from(["trainviz", "--data", data.path().to_str().unwrap()])
            .unwrap();
    let merged = cli.app.apply_to(&remembered).unwrap();
    assert_eq!(merged.data.as_deref(), Some(data.path()));
    assert_eq!(merged.dataset, DatasetKind::Folder);
    assert_eq!((merged.lambda, merged.eta, merged.epochs), (0.5, 0.02, 7));

    // A preset is a whole configuration (only the data location stays); flags after it.
    let cli = trainviz::cli::Cli::try_parse_from(["trainviz", "--preset", "svm", "--lambda", "0"])
        .unwrap();
    let merged = cli.app.apply_to(&remembered).unwrap();
    assert_eq!(merged.loss, trainviz::model::LossKind::Svm);
    assert_eq!(merged.lambda, 0.0);
    assert_eq!(
        merged.batch, 100,
        "a preset does not keep the remembered batch size"
    );
    assert_eq!(
        merged.dataset,
        DatasetKind::Synthetic,
        "the data location stays"
    );

    // A wrong value is refused with its name.
    let cli = trainviz::cli::Cli::try_parse_from(["trainviz", "--eta=-1"]).unwrap();
    let err = cli.app.apply_to(&remembered).unwrap_err();
    assert!(err.to_string().contains("eta"), "{err}");
}

#[test]
fn picking_a_preset_while_training_asks_before_replacing_the_run() {
    let mut h = harness_at(
        TrainvizApp::new(synthetic(500, vec![]), None),
        1600.0,
        1000.0,
    );
    wait_until(&mut h, "training", |a| {
        a.history.running && a.history.step > 0
    });
    let first = h.state().history.info.as_ref().unwrap().settings.clone();
    h.state_mut()
        .apply(trainviz::ui::controls::UiAction::ResetForPreset(
            "MLP 50 ReLU",
        ));
    // A window is sized in its first frame and shown from the next.
    h.step();
    h.step();
    h.step();
    h.get_by_label("Start a new run?");
    // "Keep training": the run goes on.
    h.get_by_label("Keep training").click();
    h.step();
    h.step();
    assert_eq!(h.query_all_by_label("Start a new run?").count(), 0);
    assert!(h.state().history.running, "the run kept training");
    assert_eq!(h.state().history.info.as_ref().unwrap().settings, first);
    // Asked again, "Start the new run" replaces it.
    h.state_mut().settings.config.epochs = 3;
    h.state_mut()
        .apply(trainviz::ui::controls::UiAction::ResetForPreset(
            "MLP 50 ReLU",
        ));
    h.step();
    h.step();
    h.step();
    h.get_by_label("Start the new run").click();
    wait_until(&mut h, "the new run", |a| {
        a.history
            .info
            .as_ref()
            .is_some_and(|i| i.settings.start.epochs == 3)
    });
    assert_eq!(h.query_all_by_label("Start a new run?").count(), 0);
}
