//! One source of truth for a run: settings changed while training are recorded with the step
//! they took effect, travel in the events, reach the metrics rows and the run folder, and
//! everything shown (names, legends, titles, tables, figures) is derived from that record.

use crate::common;

use std::time::Duration;

use crate::common::trainviz;
#[cfg(feature = "window")]
use crate::common::{harness, wait_until};
#[cfg(feature = "window")]
use egui_kittest::kittest::Queryable;
use trainviz::data::DatasetKind;
use trainviz::model::LossKind;
use trainviz::report::figures::{self, RunRecord};
use trainviz::runs::{SavedRun, differing_labels};
use trainviz::train::{
    Command, EpochMetrics, Event, EventKind, RunInfo, RunStatus, SettingChange, TrainConfig,
    WorkerHandle,
};
#[cfg(feature = "window")]
use trainviz::ui::{Settings, TrainvizApp};
use trainviz::words::Words;

fn synthetic(epochs: usize) -> TrainConfig {
    TrainConfig {
        dataset: DatasetKind::Synthetic,
        train_limit: Some(600),
        epochs,
        eta: 0.001,
        lambda: 0.01,
        ..Default::default()
    }
}

/// Everything the worker says until `stop` holds for an event (which is returned last).
fn until(w: &WorkerHandle, stop: impl Fn(&Event) -> bool) -> Vec<Event> {
    let mut seen = Vec::new();
    loop {
        let e = w
            .events()
            .recv_timeout(Duration::from_secs(60))
            .expect("an event within 60 s");
        if let Event {
            kind: EventKind::Error { message, .. },
            ..
        } = &e
        {
            panic!("{message}");
        }
        let done = stop(&e);
        seen.push(e);
        if done {
            return seen;
        }
    }
}

fn epochs_in(events: &[Event]) -> Vec<EpochMetrics> {
    events
        .iter()
        .filter_map(|e| match e {
            Event {
                kind: EventKind::Epoch { metrics, .. },
                ..
            } => Some((**metrics).clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_live_change_is_recorded_and_everything_shown_follows_it() {
    let runs = tempfile::tempdir().unwrap();
    let w = WorkerHandle::spawn_saving(None, Some(runs.path().to_path_buf()));
    w.send(Command::Reset(Box::new(synthetic(3))));
    w.send(Command::StepEpoch);
    let first = until(&w, |e| {
        matches!(
            e,
            Event {
                kind: EventKind::Epoch { .. },
                ..
            }
        )
    });
    let info = first
        .iter()
        .find_map(|e| match e {
            Event {
                kind: EventKind::Ready { info, .. },
                ..
            } => Some((**info).clone()),
            _ => None,
        })
        .expect("a Ready event");
    assert_eq!(epochs_in(&first)[0].live.unwrap().eta, 0.001);

    // Change η and the loss between epochs 1 and 2.
    let mut live = info.settings.live();
    live.eta = 0.05;
    live.loss = LossKind::Svm;
    w.send(Command::SetLive(live));
    let changed = until(&w, |e| {
        matches!(
            e,
            Event {
                kind: EventKind::SettingsChanged { .. },
                ..
            }
        )
    });
    let Some(Event {
        kind: EventKind::SettingsChanged { change, .. },
        ..
    }) = changed.last()
    else {
        unreachable!()
    };
    assert_eq!(change.epoch, 1, "took effect after epoch 1");
    assert_eq!(
        change.step, 6,
        "from the first step of epoch 2 (600 images, batch 100)"
    );
    assert_eq!(change.live, Some(live));

    // The rows carry the values in force; the run finishes with them.
    w.send(Command::Start);
    let rest = until(&w, |e| {
        matches!(
            e,
            Event {
                kind: EventKind::Finished { .. },
                ..
            }
        )
    });
    let rows = epochs_in(&rest);
    assert_eq!(rows.len(), 2);
    for m in &rows {
        let l = m.live.expect("live values in the row");
        assert_eq!((l.eta, l.loss), (0.05, LossKind::Svm), "epoch {}", m.epoch);
        assert_eq!(m.eta, 0.05);
    }

    // Start on a finished run does not extend it.
    w.send(Command::Start);
    let said = until(&w, |e| {
        matches!(
            e,
            Event {
                kind: EventKind::Notice { .. },
                ..
            }
        )
    });
    assert!(
        matches!(said.last(), Some(Event { kind: EventKind::Notice { message, .. }, .. }) if message.contains("finished"))
    );

    // "+2 epochs" continues with the values in force and records the new total.
    w.send(Command::Extend(2));
    let more = until(&w, |e| {
        matches!(
            e,
            Event {
                kind: EventKind::Finished { .. },
                ..
            }
        )
    });
    let extended = more
        .iter()
        .find_map(|e| match e {
            Event {
                kind: EventKind::SettingsChanged { change, .. },
                ..
            } => Some(change.clone()),
            _ => None,
        })
        .expect("the extension is recorded");
    assert_eq!(extended.epochs, Some(5));
    let rows = epochs_in(&more);
    assert_eq!(rows.iter().map(|m| m.epoch).collect::<Vec<_>>(), [4, 5]);
    assert!(rows.iter().all(|m| m.live.unwrap().loss == LossKind::Svm));
    drop(w);

    // The folder keeps the start and the changes; what is shown derives from them.
    let (saved, errors) = trainviz::runs::list_runs(runs.path());
    assert!(errors.is_empty(), "{errors:?}");
    let run = &saved[0];
    assert_eq!(run.settings.start.eta, 0.001, "config.toml keeps the start");
    assert_eq!(run.settings.start.loss, LossKind::Ce);
    assert_eq!(run.settings.changes.len(), 2);
    assert_eq!(run.history.len(), 5);
    assert_eq!(run.meta.status, RunStatus::Finished);
    assert_eq!(run.settings.epochs(), 5);
    let eta = "η 0.001 → 0.05 at epoch 2";
    assert!(run.name().contains(eta), "{}", run.name());
    assert!(run.name().contains(LossKind::Svm.label()), "{}", run.name());
    assert!(run.dir.join("changes.json").is_file());

    // Legend of an overlay with a run that kept η = 0.001: the η history tells them apart.
    let other = tempfile::tempdir().unwrap();
    let w = WorkerHandle::spawn_saving(None, Some(other.path().to_path_buf()));
    w.send(Command::Reset(Box::new(synthetic(3))));
    w.send(Command::Start);
    until(&w, |e| {
        matches!(
            e,
            Event {
                kind: EventKind::Finished { .. },
                ..
            }
        )
    });
    drop(w);
    let (plain, _) = trainviz::runs::list_runs(other.path());
    let labels = differing_labels(&[run, &plain[0]]);
    assert!(
        labels[0].contains("η 0.001 → 0.05 at epoch 2"),
        "{labels:?}"
    );
    assert!(
        labels[1].contains("η 0.001") && !labels[1].contains('→'),
        "{labels:?}"
    );
    assert_ne!(labels[0], labels[1]);

    // Report title, results table and the true-class probability figure.
    let info: RunInfo = run.info();
    let net = run.weights().unwrap();
    let record = RunRecord {
        info: &info,
        history: &run.history,
        network: Some(&net),
        test: None,
    };
    let table = figures::results_table(&record);
    let eta_row = table
        .settings
        .iter()
        .find(|(k, _)| k == "eta")
        .expect("an eta row");
    assert_eq!(eta_row.1, "0.001 → 0.05 at epoch 2");
    let loss_row = table.settings.iter().find(|(k, _)| k == "loss").unwrap();
    assert!(
        loss_row
            .1
            .ends_with(&format!("→ {} at epoch 2", LossKind::Svm.label()))
    );
    let all = figures::all(&record);
    let report = figures::markdown_report(&record, &all, &table, &[]);
    assert!(report.lines().next().unwrap().contains(eta), "{report}");
    let truth = all
        .iter()
        .find(|f| f.id.starts_with("truth_probability"))
        .expect("a true-class probability figure");
    assert!(
        truth.title.contains(LossKind::Svm.label()),
        "{}",
        truth.title
    );
}

#[cfg(feature = "window")]
#[test]
fn a_live_change_through_the_window_reaches_the_record() {
    let settings = Settings {
        autostart: false,
        config: synthetic(2),
        ..Default::default()
    };
    let mut h = harness(TrainvizApp::new(settings, None));
    wait_until(&mut h, "a ready run", |a| a.history.info.is_some());
    // The loss, as a user picks it from the settings panel.
    h.get_by_label("loss").click();
    h.step();
    h.step();
    h.get_by_label(trainviz::ui::words::Words::label(LossKind::Bce))
        .click();
    h.step();
    wait_until(&mut h, "the recorded change", |a| {
        a.history.live().map(|l| l.loss) == Some(LossKind::Bce)
    });
    let info = h.state().history.info.clone().unwrap();
    assert_eq!(info.settings.changes.len(), 1);
    assert_eq!(info.settings.changes[0].step, 0);
    h.get_by_label("Start").click();
    wait_until(&mut h, "the end", |a| a.history.summary.is_some());
    let rows = &h.state().history.epochs;
    assert!(rows.iter().all(|m| m.live.unwrap().loss == LossKind::Bce));
    let title = info.settings.title();
    assert!(title.contains(LossKind::Bce.label()), "{title}");
    // The status bar never shows more epochs than planned, and says it finished.
    h.get_by_label("epoch 2/2");
    h.get_by_label("finished");
}

#[cfg(feature = "window")]
#[test]
fn every_preset_gives_the_same_settings_in_the_window_and_on_the_command_line() {
    // Every preset, the ConvNets of assignment 3 included. The playground's presets name
    // their data set (points in the plane), so on the command line they are given without
    // the synthetic images the others are pinned to.
    for preset in trainviz::runs::presets::PRESETS {
        // The window: start from another preset's settings, then pick this one.
        let sigmoid = trainviz::runs::presets::find("mlp-sigmoid").unwrap();
        let before = sigmoid.config(&synthetic(2)).unwrap();
        let settings = Settings {
            autostart: false,
            config: before,
            ..Default::default()
        };
        let mut h = harness(TrainvizApp::new(settings, None));
        // The presets menu is the first of the settings panel.
        h.get_all_by_role(egui::accesskit::Role::ComboBox)
            .next()
            .unwrap()
            .click();
        h.step();
        h.step();
        // The menu is taller than egui lets a popup be on its first showing (its default
        // area, 400 points): the entries below scroll, as a user scrolls to them.
        // Steps enough for the scroll's animation to end before the click finds the entry.
        h.get_all_by_label(preset.label)
            .last()
            .unwrap()
            .scroll_to_me();
        for _ in 0..20 {
            h.step();
        }
        h.get_all_by_label(preset.label).last().unwrap().click();
        h.step();
        let window = h.state().settings.config.clone();

        // The command line, with the same data location.
        let cli = trainviz::cli::TrainArgs {
            preset: Some(preset.name.to_string()),
            dataset: (!preset.names_dataset()).then_some(DatasetKind::Synthetic),
            ..Default::default()
        }
        .resolve()
        .unwrap();
        assert_eq!(window, cli, "preset {}", preset.name);
    }
}

#[cfg(feature = "window")]
#[test]
fn a_new_worker_after_the_old_one_stopped_is_followed() {
    let settings = Settings {
        autostart: false,
        config: synthetic(1),
        ..Default::default()
    };
    let mut h = harness(TrainvizApp::new(settings, None));
    wait_until(&mut h, "a ready run", |a| a.history.info.is_some());
    let old_run = h.state().history.run;
    // Stopped from outside (as a crash of its thread would).
    h.state_mut().stop_worker();
    h.get_by_label("Reset").click();
    h.step();
    wait_until(&mut h, "the new worker's run", |a| {
        a.history.run > old_run && a.history.info.is_some()
    });
    h.get_by_label("Start").click();
    wait_until(&mut h, "an epoch of the new worker's run", |a| {
        a.history.epochs.len() == 1
    });
}

#[test]
fn diverging_on_cifar10_stops_with_the_message_and_healthy_presets_do_not() {
    let Some(dir) = common::cifar_dir() else {
        return;
    };
    let d = dir.to_str().unwrap();
    // Command line: η = 10, the classic split.
    let out = tempfile::tempdir().unwrap();
    let o = trainviz()
        .args(["train", "--data", d, "--eta", "10", "--no-save", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("diverged") && stderr.contains("smaller η"),
        "{stderr}"
    );
    let summary = std::fs::read_to_string(out.path().join("summary.json")).unwrap();
    assert!(summary.contains("\"status\": \"diverged\""), "{summary}");

    // The worker: within a few epochs, with the message, the last good weights back.
    let w = WorkerHandle::spawn(None);
    w.send(Command::Reset(Box::new(TrainConfig {
        data: Some(dir.clone()),
        eta: 10.0,
        ..Default::default()
    })));
    w.send(Command::Start);
    let events = until(&w, |e| {
        matches!(
            e,
            Event {
                kind: EventKind::Diverged { .. },
                ..
            } | Event {
                kind: EventKind::Finished { .. },
                ..
            }
        )
    });
    let Some(Event {
        kind: EventKind::Diverged {
            message, summary, ..
        },
        ..
    }) = events.last()
    else {
        panic!("η = 10 should diverge")
    };
    assert!(message.contains("smaller η"), "{message}");
    assert!(epochs_in(&events).len() <= 3);
    assert_eq!(summary.status, RunStatus::Diverged);
    drop(w);

    // Every course preset trains to its end without tripping the rule.
    // The ConvNet presets' cycles are cut to one of 100 steps up (η still climbs to its
    // peak, faster); the playground's presets train on their points, not CIFAR-10.
    for preset in trainviz::runs::presets::PRESETS {
        let config = preset.config(&TrainConfig::default()).unwrap();
        let mut cmd = trainviz();
        cmd.args(["train", "--preset", preset.name, "--no-save"]);
        if !config.dataset.is_plane() {
            cmd.args(["--data", d]);
        }
        if config.uses_stack() {
            cmd.args(["--cycles", "1", "--half-cycle", "100"]);
        }
        let o = cmd.output().unwrap();
        assert!(
            o.status.success(),
            "{}: {}",
            preset.name,
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn changes_survive_a_save_and_reload() {
    let dir = tempfile::tempdir().unwrap();
    let w = WorkerHandle::spawn_saving(None, Some(dir.path().to_path_buf()));
    w.send(Command::Reset(Box::new(synthetic(2))));
    w.send(Command::StepEpoch);
    until(&w, |e| {
        matches!(
            e,
            Event {
                kind: EventKind::Epoch { .. },
                ..
            }
        )
    });
    let mut live = synthetic(2).live();
    live.lambda = 0.5;
    w.send(Command::SetLive(live));
    until(&w, |e| {
        matches!(
            e,
            Event {
                kind: EventKind::SettingsChanged { .. },
                ..
            }
        )
    });
    drop(w);
    let (runs, _) = trainviz::runs::list_runs(dir.path());
    let run: &SavedRun = &runs[0];
    // Saved at once (not only at the next epoch), so a crash loses no change.
    assert_eq!(
        run.settings.changes,
        vec![SettingChange {
            step: 6,
            epoch: 1,
            live: Some(live),
            epochs: None,
        }]
    );
    // Loading it continues with λ = 0.5.
    let w = WorkerHandle::spawn(None);
    w.send(Command::LoadRun {
        dir: run.dir.clone(),
        extra_epochs: 0,
    });
    let events = until(&w, |e| {
        matches!(
            e,
            Event {
                kind: EventKind::Weights { .. },
                ..
            }
        )
    });
    let info = events
        .iter()
        .find_map(|e| match e {
            Event {
                kind: EventKind::Ready { info, .. },
                ..
            } => Some(info.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(info.settings.live().lambda, 0.5);
}
