//! Saved runs, sweeps (including resuming a killed one), evaluation of saved models, and
//! overlaying runs in the window.

use std::path::Path;
use std::time::{Duration, Instant};

#[cfg(feature = "window")]
use crate::common;
use crate::common::trainviz;

#[cfg(feature = "window")]
use egui_kittest::kittest::{NodeT, Queryable};
use trainviz::runs::SavedRun;
#[cfg(feature = "window")]
use trainviz::ui::{Settings, TrainvizApp};

fn run_ok(args: &[&str], cwd: &Path) -> String {
    let out = trainviz().args(args).current_dir(cwd).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The classic λ × η grid on small synthetic data, slow enough per point to be killed in
/// the middle.
const SWEEP: &str = r#"
name = "lambda-eta"
parallel = 1
[base]
dataset = "synthetic"
train_limit = 3000
epochs = 15
[params]
lambda = [0, 0.01, 0.1, 1]
eta = [0.001, 0.01]
"#;

fn finished_points(dir: &Path) -> Vec<(String, std::time::SystemTime)> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let summary = e.path().join("summary.json");
            if let Ok(meta) = std::fs::metadata(&summary) {
                out.push((
                    e.file_name().to_string_lossy().into_owned(),
                    meta.modified().unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_killed_sweep_resumes_without_redoing_finished_points() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sweep.toml"), SWEEP).unwrap();
    let runs = dir.path().join("runs");
    let points = runs.join("sweeps/lambda-eta");
    let mut child = trainviz()
        .args([
            "sweep",
            "--config",
            "sweep.toml",
            "--runs",
            runs.to_str().unwrap(),
        ])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while finished_points(&points).len() < 3 {
        assert!(started.elapsed() < Duration::from_secs(120), "no progress");
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the sweep ended before it could be killed: {status}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let before = finished_points(&points);
    assert!(before.len() >= 3 && before.len() < 8, "{before:?}");

    let out = run_ok(
        &[
            "sweep",
            "--config",
            "sweep.toml",
            "--runs",
            runs.to_str().unwrap(),
        ],
        dir.path(),
    );
    let after = finished_points(&points);
    assert_eq!(after.len(), 8, "{out}");
    for (id, time) in &before {
        let again = after.iter().find(|(i, _)| i == id).unwrap();
        assert_eq!(&again.1, time, "{id} was trained again");
    }
    assert_eq!(out.matches("(saved)").count(), before.len(), "{out}");
    // The table: one row per point, best validation accuracy first.
    let rows: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("rank"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(rows.len(), 8, "{out}");
    // ... and the same table written beside the points, in three formats.
    for name in ["table.csv", "table.tex", "table.md"] {
        assert!(out.contains(name), "{out}");
        assert!(points.join(name).is_file(), "{name}");
    }
    let best: Vec<f64> = rows
        .iter()
        .map(|r| {
            let field = r.split_whitespace().nth(3).unwrap();
            field.trim_end_matches('%').parse().unwrap()
        })
        .collect();
    assert!(best.windows(2).all(|w| w[0] >= w[1]), "{best:?}");
    // η = 0.01 learns this set within 15 epochs; η = 0.001 with λ = 1 does not get far.
    assert!(best[0] > 80.0, "{out}");
    // The ranked table in the sweep's folder, in the three formats, in the printed order.
    let csv = std::fs::read_to_string(points.join("table.csv")).unwrap();
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("rank,eta,lambda,") && header.ends_with("test_cost"),
        "{header}"
    );
    let ranks: Vec<&str> = lines.map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(ranks, ["1", "2", "3", "4", "5", "6", "7", "8"], "{csv}");
    let tex = std::fs::read_to_string(points.join("table.tex")).unwrap();
    assert!(
        tex.contains("\\toprule") && tex.contains("$\\lambda$"),
        "{tex}"
    );
    let md = std::fs::read_to_string(points.join("table.md")).unwrap();
    assert_eq!(md.lines().count(), 10, "{md}");
    assert!(md.starts_with("| rank | η | λ |"), "{md}");
}

#[test]
fn training_saves_a_run_that_can_be_evaluated_and_survives_a_torn_line() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let out = run_ok(
        &[
            "train",
            "--dataset",
            "synthetic",
            "--train-limit",
            "1000",
            "--epochs",
            "3",
            "--hidden",
            "10",
            "--runs",
            runs.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(out.contains("saving the run in"), "{out}");
    let (saved, errors) = trainviz::runs::list_runs(&runs);
    assert!(errors.is_empty());
    assert_eq!(saved.len(), 1);
    let run = &saved[0];
    assert_eq!(run.history.len(), 3);
    assert!(run.summary.is_some());
    assert_eq!(run.weights().unwrap().hidden(), vec![10]);
    let eval = run_ok(&["eval", run.dir.to_str().unwrap()], dir.path());
    let acc = run.summary.as_ref().unwrap().test_acc;
    assert!(
        eval.contains(&format!("accuracy {:.2} %", 100.0 * acc)),
        "{eval}"
    );

    // A kill in the middle of writing an epoch leaves a torn last line: the epochs before
    // it stand.
    let metrics = run.dir.join("metrics.jsonl");
    let mut text = std::fs::read_to_string(&metrics).unwrap();
    text.push_str("{\"epoch\":4,\"eta\":");
    std::fs::write(&metrics, text).unwrap();
    assert_eq!(SavedRun::load(&run.dir).unwrap().history.len(), 3);

    // Bad input is a clear error.
    let bad = trainviz()
        .args(["eval", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("meta.json"));
}

#[cfg(feature = "window")]
#[test]
fn overlaying_three_runs_in_the_window_and_exporting_them() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    for lambda in ["0", "0.1", "1"] {
        run_ok(
            &[
                "train",
                "--dataset",
                "synthetic",
                "--train-limit",
                "500",
                "--epochs",
                "3",
                "--eta",
                "0.01",
                "--lambda",
                lambda,
                "--runs",
                runs.to_str().unwrap(),
            ],
            dir.path(),
        );
    }
    let settings = Settings {
        autostart: false,
        config: trainviz::train::TrainConfig {
            dataset: trainviz::data::DatasetKind::Synthetic,
            ..Default::default()
        },
        ..Default::default()
    };
    let app = TrainvizApp::with_runs_dir(settings, None, Some(runs.clone()));
    let mut h = common::harness(app);
    h.key_press(egui::Key::Num8);
    h.step();
    // The folder is read on a background task.
    common::wait_until(&mut h, "the runs to be listed", |a| {
        a.runs_panel_ref().scanned()
    });
    assert_eq!(h.state_mut().runs_panel().runs().len(), 3);
    for _ in 0..3 {
        let boxes: Vec<_> = h
            .get_all_by_role(egui::accesskit::Role::CheckBox)
            .filter(|n| n.accesskit_node().toggled() == Some(egui::accesskit::Toggled::False))
            // The settings panel's unticked boxes are not runs.
            .filter(|n| n.accesskit_node().label().as_deref() != Some("batch norm"))
            .collect();
        boxes[0].click();
        h.step();
    }
    h.step();
    assert_eq!(h.state_mut().runs_panel().selected.len(), 3);
    h.get_by_label("Overlay of 3 runs");
    // The legend names what differs: λ.
    for label in ["λ 0", "λ 0.1", "λ 1"] {
        h.get_by_label(label);
    }
    let fig = h.state_mut().runs_panel().overlay_figure().unwrap();
    assert!(fig.svg.contains("λ 0.1") && fig.svg.contains("λ 1"));
    // In print the three runs differ by dash as well as colour: solid, dashed, dotted (one
    // each in the plot and in the legend).
    for dash in ["stroke-dasharray=\"8 5\"", "stroke-dasharray=\"2 4\""] {
        assert_eq!(fig.svg.matches(dash).count(), 2, "{dash} in {}", fig.svg);
    }
    let png = dir.path().join("overlay.png");
    trainviz::report::export_figure(&fig, &png, trainviz::report::PngSize::default()).unwrap();
    assert!(std::fs::metadata(&png).unwrap().len() > 10_000);
    let csv = fig.csv.lines().count();
    assert_eq!(csv, 1 + 3 * 3, "{}", fig.csv);

    // Load one: its curves come back, paused.
    h.get_all_by_label("Load").next().unwrap().click();
    let started = Instant::now();
    while h.state().history.epochs.len() < 3 {
        assert!(started.elapsed() < Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(5));
        h.step();
    }
    assert!(!h.state().history.running);
    assert!(h.state().history.network.is_some());
    // ... and the loaded weights can be tested.
    h.get_by_label("Test").click();
    while h.state().history.test.is_none() {
        assert!(started.elapsed() < Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(5));
        h.step();
    }
    h.step();
    h.get_by_label_contains("test accuracy");
}

/// A grid where one point diverges (η = 20 on the synthetic set).
const DIVERGING_SWEEP: &str = r#"
name = "eta"
parallel = 1
[base]
dataset = "synthetic"
train_limit = 600
epochs = 3
lambda = 0.0
[params]
eta = [0.001, 20.0]
"#;

#[test]
fn a_diverged_point_is_not_trained_again_and_points_run_one_by_one() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sweep.toml"), DIVERGING_SWEEP).unwrap();
    let runs = dir.path().join("runs");
    let points = runs.join("sweeps/eta");
    let sweep = |extra: &[&str]| {
        let mut args = vec!["sweep", "--config", "sweep.toml", "--runs"];
        args.push(runs.to_str().unwrap());
        args.extend_from_slice(extra);
        run_ok(&args, dir.path())
    };

    // One point alone, as one job of an array would (K = 1: η = 20, which diverges).
    let listed = sweep(&["--list"]);
    assert!(listed.contains("   1  "), "{listed}");
    let out = sweep(&["--point", "1"]);
    assert!(out.contains("diverged"), "{out}");
    let done = finished_points(&points);
    assert_eq!(done.len(), 1, "only point 1 trained: {done:?}");
    let diverged = SavedRun::load(&points.join(&done[0].0)).unwrap();
    assert_eq!(diverged.meta.status, trainviz::train::RunStatus::Diverged);
    assert_eq!(
        diverged.summary.as_ref().unwrap().status,
        trainviz::train::RunStatus::Diverged
    );

    // The plain sweep collects it (not retrained: same file time) and trains the other.
    let out = sweep(&[]);
    let after = finished_points(&points);
    assert_eq!(after.len(), 2, "{out}");
    let again = after.iter().find(|(id, _)| *id == done[0].0).unwrap();
    assert_eq!(
        again.1, done[0].1,
        "the diverged point was trained again:\n{out}"
    );
    assert!(out.contains("diverged"), "{out}");
    let md = std::fs::read_to_string(points.join("table.md")).unwrap();
    assert!(
        md.contains("| diverged |"),
        "the table says which point diverged: {md}"
    );
    // And once more: nothing is trained (no point says "p…: training").
    let out = sweep(&[]);
    assert!(!out.contains(": training"), "{out}");

    // A point out of range is a clear error.
    let bad = trainviz()
        .args(["sweep", "--config", "sweep.toml", "--point", "7", "--runs"])
        .arg(&runs)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--point 7 is out of range"));
}

/// The third assignment's comparison as a sweep over `layers` (from the a3-f4 preset):
/// the sweep's folder gets bar charts of test accuracy and training time, one bar per
/// network in the file's order.
#[test]
fn a_sweep_over_layer_stacks_writes_the_assignments_bar_charts() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("sweep.toml"),
        r#"
name = "a3-nets"
preset = "a3-f4"
parallel = 1
[base]
dataset = "synthetic"
train_limit = 1000
schedule = "constant"
cycles = 0
eta = 0.01
epochs = 1
[params]
layers = ["patchify 8:4, relu, dense 10, relu", "patchify 4:2, relu, dense 10, relu"]
"#,
    )
    .unwrap();
    let runs = dir.path().join("runs");
    run_ok(
        &[
            "sweep",
            "--config",
            "sweep.toml",
            "--runs",
            runs.to_str().unwrap(),
        ],
        dir.path(),
    );
    let sweep = runs.join("sweeps/a3-nets");
    for id in ["test_accuracy_bars", "training_time_bars"] {
        for ext in ["png", "svg", "csv"] {
            assert!(sweep.join(format!("{id}.{ext}")).is_file(), "{id}.{ext}");
        }
    }
    let csv = std::fs::read_to_string(sweep.join("test_accuracy_bars.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows[0], "run,test_accuracy");
    // In the file's order, each labelled by its layers with widths.
    assert!(rows[1].starts_with("\"patchify 8:4, dense 10\","), "{csv}");
    assert!(rows[2].starts_with("\"patchify 4:2, dense 10\","), "{csv}");
    let acc: f64 = rows[1].rsplit(',').next().unwrap().parse().unwrap();
    assert!((0.0..=1.0).contains(&acc), "{csv}");
}
