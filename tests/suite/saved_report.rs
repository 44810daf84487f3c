//! A finished run's record is never rewritten, and a run reopened from its folder exports
//! the same report as when it finished (window and command line).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::common::{harness, trainviz, wait_until};
use egui_kittest::kittest::Queryable;
use trainviz::data::DatasetKind;
use trainviz::runs::SavedRun;
use trainviz::train::{Command, RunStatus, TrainConfig};
use trainviz::ui::controls::UiAction;
use trainviz::ui::{Settings, TrainvizApp};

fn app(runs: &Path, epochs: usize) -> TrainvizApp {
    let settings = Settings {
        config: TrainConfig {
            dataset: DatasetKind::Synthetic,
            train_limit: Some(600),
            epochs,
            eta: 0.001,
            ..Default::default()
        },
        autostart: false,
        ..Default::default()
    };
    TrainvizApp::with_runs_dir(settings, None, Some(runs.to_path_buf()))
}

/// Every file under `dir` (path relative to it → bytes).
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("a readable folder") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).expect("under dir").to_path_buf();
                out.insert(rel, std::fs::read(&path).expect("a readable file"));
            }
        }
    }
    out
}

/// The two reports hold the same files with the same bytes.
fn assert_same_report(a: &Path, b: &Path) {
    let (fa, fb) = (files(a), files(b));
    let names = |f: &BTreeMap<PathBuf, Vec<u8>>| f.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&fa), names(&fb), "the same files");
    for (name, bytes) in &fa {
        assert!(
            fb[name] == *bytes,
            "{} differs:\n{}\n---\n{}",
            name.display(),
            String::from_utf8_lossy(bytes)
                .chars()
                .take(600)
                .collect::<String>(),
            String::from_utf8_lossy(&fb[name])
                .chars()
                .take(600)
                .collect::<String>()
        );
    }
}

fn export(h: &mut egui_kittest::Harness<'static, TrainvizApp>, dir: &Path) {
    h.state_mut().exporter.last = None;
    h.state_mut().settings.png.dpi = 40.0;
    h.state_mut().export_report_to(dir);
    wait_until(h, "the report", |a| a.exporter.last.is_some());
    assert!(
        h.state().exporter.last.as_ref().is_some_and(Result::is_ok),
        "{:?}",
        h.state().exporter.last
    );
}

#[test]
fn edits_after_the_end_wait_for_more_epochs_and_a_reloaded_run_reports_the_same() {
    let runs = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut h = harness(app(runs.path(), 2));
    wait_until(&mut h, "the run to be ready", |a| a.history.info.is_some());
    h.state_mut().apply(UiAction::Start);
    wait_until(&mut h, "the run to finish", |a| a.history.summary.is_some());
    wait_until(&mut h, "its folder", |a| a.history.saved_dir.is_some());
    let run_dir = h.state().history.saved_dir.clone().unwrap();
    let finished = out.path().join("finished");
    export(&mut h, &finished);
    let before = SavedRun::load(&run_dir).unwrap();
    let steps_at_end = h.state().history.step;
    assert_eq!(before.history.last().unwrap().step, steps_at_end);

    // η typed after the last epoch: held, said beside the live controls, not recorded.
    let mut live = before.settings.live();
    live.eta = 0.05;
    h.state_mut().apply(UiAction::SetLive(live));
    wait_until(&mut h, "the held value", |a| a.history.held_live.is_some());
    h.get_by_label_contains("its record stays as trained");
    assert!(
        !run_dir.join("changes.json").exists(),
        "changes.json written"
    );
    let after = SavedRun::load(&run_dir).unwrap();
    assert_eq!(after.settings, before.settings);
    assert_eq!(after.name(), before.name());
    assert!(!after.name().contains("0.05"), "{}", after.name());
    let edited = out.path().join("after-edit");
    export(&mut h, &edited);
    assert_same_report(&finished, &edited);

    // Reopened from its folder in a new window, as a month later: the same report (test
    // row, mini-batch loss and η figures, test confusion), and the step count it ended at.
    {
        let mut again = harness(app(runs.path(), 2));
        wait_until(&mut again, "the first run", |a| a.history.info.is_some());
        again.state_mut().send(Command::LoadRun {
            dir: run_dir.clone(),
            extra_epochs: 0,
        });
        wait_until(&mut again, "the loaded run", |a| {
            a.history.ended == Some(RunStatus::Finished)
                && a.history.test.is_some()
                && a.history.epochs.len() == 2
        });
        assert_eq!(again.state().history.step, steps_at_end);
        let reloaded = out.path().join("reloaded");
        export(&mut again, &reloaded);
        assert_same_report(&finished, &reloaded);
        for name in [
            "figures/step_loss.csv",
            "figures/eta.svg",
            "figures/confusion_test.csv",
        ] {
            assert!(reloaded.join(name).is_file(), "{name}");
        }
        let results = std::fs::read_to_string(reloaded.join("results.csv")).unwrap();
        assert!(results.contains("\ntest,"), "{results}");
    }

    // "+1 epoch" takes the held η, recorded when it starts.
    h.state_mut().apply(UiAction::Continue(1));
    wait_until(&mut h, "the third epoch", |a| {
        a.history.epochs.len() == 3 && a.history.summary.is_some()
    });
    let continued = SavedRun::load(&run_dir).unwrap();
    let changes = &continued.settings.changes;
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert_eq!(changes[0].epochs, Some(3));
    assert_eq!(changes[1].live.map(|l| l.eta), Some(0.05));
    assert_eq!((changes[1].step, changes[1].epoch), (steps_at_end, 2));
    assert_eq!(continued.history[2].eta, 0.05);
    assert!(continued.history[1].eta < 0.05);
    assert!(h.state().history.held_live.is_none());
    assert!(
        continued.name().contains("0.05 at epoch 3"),
        "{}",
        continued.name()
    );
}

#[test]
fn report_command_writes_the_report_a_finished_training_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let (runs, out) = (dir.path().join("runs"), dir.path().join("train"));
    let status = trainviz()
        .args(["train", "--dataset", "synthetic", "--epochs", "2"])
        .args([
            "--hidden",
            "8",
            "--schedule",
            "cyclic",
            "--half-cycle",
            "20",
        ])
        .args(["--dpi", "40", "--figures", "--out"])
        .arg(&out)
        .arg("--runs")
        .arg(&runs)
        .output()
        .expect("the binary runs");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let run = std::fs::read_dir(&runs)
        .unwrap()
        .next()
        .expect("a saved run")
        .unwrap()
        .path();
    let report = trainviz()
        .arg("report")
        .arg(&run)
        .args(["--dpi", "40"])
        .output()
        .expect("the binary runs");
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    // The training's own files beside its report are not part of it.
    for name in ["config.toml", "metrics.csv", "summary.json"] {
        std::fs::remove_file(out.join(name)).unwrap();
    }
    assert_same_report(&out, &run.join("report"));
    // η follows the cycle: it rises and falls within the run.
    let eta = std::fs::read_to_string(run.join("report/figures/eta.csv")).unwrap();
    let values: Vec<f64> = eta
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    let top = values.iter().cloned().fold(f64::MIN, f64::max);
    let top_at = values.iter().position(|&v| v == top).unwrap();
    assert!(
        top_at > 0 && top_at < values.len() - 1,
        "{top_at} of {}",
        values.len()
    );

    // A folder that holds no run: a clear message, no panic.
    let bad = trainviz()
        .arg("report")
        .arg(dir.path())
        .output()
        .expect("the binary runs");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("meta.json"));
}

fn small(schedule: trainviz::train::ScheduleKind) -> TrainConfig {
    TrainConfig {
        dataset: DatasetKind::Synthetic,
        train_limit: Some(1000),
        epochs: 2,
        eta: 0.01,
        schedule,
        decay: 0.5,
        step_every: 1,
        step_factor: 0.1,
        half_cycle: 3,
        eta_min: 0.001,
        eta_max: 0.01,
        ..Default::default()
    }
}

fn session(config: TrainConfig, save: Option<trainviz::train::Saving>) -> trainviz::train::Session {
    let data = std::sync::Arc::new(trainviz::data::load(&config.data_request()).unwrap());
    trainviz::train::Session::new(config, data, None, save).unwrap()
}

#[test]
fn eta_is_recorded_per_step_under_every_schedule() {
    use trainviz::train::ScheduleKind as S;
    for schedule in [S::Constant, S::Exp, S::Step, S::Cyclic] {
        let mut s = session(small(schedule), None);
        s.run_epoch();
        // A live change half-way is marked on the η figure at its step.
        let mut live = s.learner().live();
        live.eta = 0.02;
        s.set_live(live).unwrap();
        s.run_epoch();
        let steps = s.steps();
        assert_eq!(steps.len(), 20, "{schedule:?}");
        assert!(steps.iter().enumerate().all(|(i, r)| r.step == i));
        let eta: Vec<f64> = steps.iter().map(|r| r.eta).collect();
        match schedule {
            S::Constant => {
                assert!(
                    eta[..10].iter().all(|&e| e == 0.01) && eta[10..].iter().all(|&e| e == 0.02)
                )
            }
            S::Exp => assert!(eta[..10].iter().all(|&e| e == 0.01) && eta[10] == 0.02 * 0.5),
            S::Step => assert!(eta[9] == 0.01 && (eta[10] - 0.02 * 0.1).abs() < 1e-15),
            S::Cyclic => {
                assert_eq!(eta[0], 0.001);
                assert!((eta[3] - 0.01).abs() < 1e-12 && eta[6] < 0.0011, "{eta:?}");
            }
        }
        let points: Vec<(f64, f64)> = steps.iter().map(|r| (r.step as f64, r.eta)).collect();
        let fig = trainviz::report::figures::eta_per_step(&points, s.settings());
        assert_eq!(fig.id, "eta");
        assert_eq!(fig.csv.lines().count(), 21, "{schedule:?}");
        if schedule != S::Cyclic {
            assert!(
                fig.svg.contains("η 0.01 → 0.02"),
                "{schedule:?}: the change is marked"
            );
        }
    }
}

#[test]
fn evaluations_every_few_steps_are_saved_and_read_back() {
    let runs = tempfile::tempdir().unwrap();
    let config = TrainConfig {
        eval_every: 4,
        ..small(trainviz::train::ScheduleKind::Constant)
    };
    let mut s = session(
        config,
        Some(trainviz::runs::saving(trainviz::train::SaveTo::Under(
            runs.path().to_path_buf(),
        ))),
    );
    while s.run_epoch().end.is_none() {}
    let within: Vec<usize> = s.points().iter().map(|p| p.step).collect();
    assert_eq!(
        within,
        vec![4, 8, 12, 16],
        "epoch ends (10, 20) are evaluated anyway"
    );
    assert!(s.points()[0].epoch == 0.4 && s.points()[0].val.accuracy > 0.0);
    let saved = SavedRun::load(s.dir().unwrap()).unwrap();
    let steps: Vec<usize> = saved.history.iter().map(|m| m.step).collect();
    assert_eq!(steps, vec![10, 20]);
    assert_eq!(saved.points().unwrap(), s.points());
    assert_eq!(saved.steps().unwrap(), s.steps());
    // The report's curves are then against the update step.
    let out = runs.path().join("report");
    trainviz::runs::report::export_saved_report(
        &saved.dir,
        &out,
        trainviz::report::PngSize {
            width_inches: 2.0,
            dpi: 40.0,
        },
        0.9,
    )
    .unwrap();
    let cost = std::fs::read_to_string(out.join("figures/cost.csv")).unwrap();
    let rows: Vec<&str> = cost.lines().map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(rows, ["step", "4", "8", "10", "12", "16", "20"], "{cost}");
    let svg = std::fs::read_to_string(out.join("figures/cost.svg")).unwrap();
    assert!(
        svg.contains("1 epoch = 10 steps"),
        "the epochs as a second scale"
    );
}

#[test]
fn train_with_eval_every_writes_rows_per_interval_and_the_eta_figure() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let result = trainviz()
        .args([
            "train",
            "--dataset",
            "synthetic",
            "--epochs",
            "2",
            "--batch",
            "50",
        ])
        .args([
            "--eval-every",
            "50",
            "--dpi",
            "40",
            "--no-save",
            "--figures",
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("the binary runs");
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    let mut rows = csv::Reader::from_reader(csv.as_bytes());
    let header = rows.headers().unwrap().clone();
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (step, epoch) = (at("step"), at("epoch"));
    let rows: Vec<(String, String)> = rows
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[step].to_string(), r[epoch].to_string())
        })
        .collect();
    assert_eq!(
        rows,
        [("50", "0.5"), ("100", "1"), ("150", "1.5"), ("200", "2")]
            .map(|(a, b)| (a.to_string(), b.to_string())),
        "{csv}"
    );
    for name in ["eta.png", "eta.svg", "eta.csv", "cost.png"] {
        assert!(out.join("figures").join(name).is_file(), "{name}");
    }
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(stdout.contains("step     50 (epoch 0.50)"), "{stdout}");
}
