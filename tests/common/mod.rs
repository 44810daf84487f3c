//! Helpers shared by the end-to-end tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use trainviz::ui::TrainvizApp;

/// The CIFAR-10 directory for data-backed tests: `$TRAINVIZ_CIFAR10`, else
/// `../shared/data/cifar-10-batches-bin`. `None` (the test is skipped, with a note) when
/// neither exists; when the variable is set the data must be there, so CI cannot skip.
pub fn cifar_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("TRAINVIZ_CIFAR10") {
        let dir = PathBuf::from(dir);
        assert!(
            dir.join("data_batch_1.bin").is_file(),
            "TRAINVIZ_CIFAR10={} holds no CIFAR-10",
            dir.display()
        );
        return Some(dir);
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/cifar-10-batches-bin");
    if dir.join("data_batch_1.bin").is_file() {
        Some(dir)
    } else {
        eprintln!("CIFAR-10 not found: set TRAINVIZ_CIFAR10 to run this test; skipped");
        None
    }
}

/// The trainviz binary built for these tests.
pub fn trainviz() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_trainviz"));
    // Tests must not pick up data from the developer's data/ directory by accident.
    cmd.env_remove("TRAINVIZ_CIFAR10");
    // Nor save runs into the source tree.
    cmd.env(
        "TRAINVIZ_RUNS",
        std::env::temp_dir().join("trainviz-test-runs"),
    );
    cmd
}

/// The window at 1400×900, driven headless; each frame takes in the worker's events first,
/// as the real app does.
pub fn harness(app: TrainvizApp) -> Harness<'static, TrainvizApp> {
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

/// Steps frames until `done` holds (the worker runs on its own thread meanwhile); fails
/// after 60 s, naming `what` it waited for.
pub fn wait_until(
    h: &mut Harness<'_, TrainvizApp>,
    what: &str,
    done: impl Fn(&TrainvizApp) -> bool,
) {
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
