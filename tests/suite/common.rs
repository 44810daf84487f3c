//! Helpers shared by the end-to-end tests.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
#[cfg(feature = "window")]
use std::time::{Duration, Instant};

#[cfg(feature = "window")]
use egui_kittest::Harness;
#[cfg(feature = "window")]
use trainviz::ui::TrainvizApp;

/// The CIFAR-10 directory for data-backed tests: `$TRAINVIZ_CIFAR10`, else
/// `../shared/data/cifar-10-batches-bin`. `None` (the test is skipped, with a note) when the
/// data cannot be read there; but when the variable or `CI` is set the data must be readable
/// and the test fails instead, so that CI cannot pass by skipping.
pub fn cifar_dir() -> Option<PathBuf> {
    let from_env = std::env::var_os("TRAINVIZ_CIFAR10").map(PathBuf::from);
    let must_have = from_env.is_some() || in_ci();
    let dir = from_env.unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/cifar-10-batches-bin")
    });
    locate_cifar(dir, must_have).unwrap_or_else(|message| panic!("{message}"))
}

/// The six files of CIFAR-10's binary version.
pub const CIFAR_FILES: [&str; 6] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
    "test_batch.bin",
];

/// `dir` when it holds a readable CIFAR-10; else `None` with a note on stderr, or, when
/// `must_have`, an error saying what cannot be read.
pub fn locate_cifar(dir: PathBuf, must_have: bool) -> Result<Option<PathBuf>, String> {
    match cifar_problem(&dir) {
        None => Ok(Some(dir)),
        Some(problem) if must_have => Err(format!(
            "CIFAR-10 is required here (CI or TRAINVIZ_CIFAR10 is set) but cannot be read: {problem}"
        )),
        Some(problem) => {
            eprintln!(
                "CIFAR-10 not found ({problem}): set TRAINVIZ_CIFAR10 to run this test; skipped"
            );
            Ok(None)
        }
    }
}

/// True when running in CI: `CI` set to anything but empty, `0` or `false`.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false"))
}

/// Why `dir` does not hold a readable CIFAR-10 (every batch file present, of the official
/// size, and its first record readable), or `None` when it does.
fn cifar_problem(dir: &Path) -> Option<String> {
    const RECORD: usize = 3073;
    for name in CIFAR_FILES {
        let path = dir.join(name);
        let check = || -> std::io::Result<u64> {
            let mut f = std::fs::File::open(&path)?;
            let mut record = [0u8; RECORD];
            f.read_exact(&mut record)?;
            Ok(f.metadata()?.len())
        };
        match check() {
            Ok(len) if len == 10_000 * RECORD as u64 => {}
            Ok(len) => return Some(format!("{} is {len} bytes, not 30730000", path.display())),
            Err(e) => return Some(format!("{}: {e}", path.display())),
        }
    }
    None
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

/// Runs the trainviz binary with `args`: whether it succeeded, its stdout and its stderr.
pub fn run(args: &[&str]) -> (bool, String, String) {
    let out = trainviz().args(args).output().expect("the binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The window at 1400×900, driven headless; each frame takes in the worker's events first,
/// as the real app does.
#[cfg(feature = "window")]
pub fn harness(app: TrainvizApp) -> Harness<'static, TrainvizApp> {
    harness_sized(app, (1400.0, 900.0))
}

/// The window at `size`, driven headless like [`harness`]: a tall one shows the whole
/// settings panel without scrolling (AccessKit clicks reach only widgets on screen).
#[cfg(feature = "window")]
pub fn harness_sized(app: TrainvizApp, size: (f32, f32)) -> Harness<'static, TrainvizApp> {
    Harness::builder().with_size(size).build_ui_state(
        |ui, app: &mut TrainvizApp| {
            app.drain_events();
            app.draw(ui);
        },
        app,
    )
}

/// Steps frames until `done` holds (the worker runs on its own thread meanwhile); fails
/// after 60 s, naming `what` it waited for.
#[cfg(feature = "window")]
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
