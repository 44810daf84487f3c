//! Frame-time benchmark: how long building one frame of the whole window takes with a long
//! real history (all panels open), without a GPU.

use std::time::{Duration, Instant};

use super::app::{Settings, TrainvizApp};
use super::history::RunHistory;
use crate::data::DatasetKind;
use crate::train::{Command, EventKind, TrainConfig, WorkerHandle};

/// Trains `epochs` short epochs on the synthetic set and collects the events as the window
/// would.
fn real_history(epochs: usize) -> anyhow::Result<RunHistory> {
    let config = TrainConfig {
        dataset: DatasetKind::Synthetic,
        train_limit: Some(500),
        epochs,
        ..Default::default()
    };
    let worker = WorkerHandle::spawn(None);
    worker.send(Command::Reset(Box::new(config)));
    worker.send(Command::Start);
    let mut history = RunHistory::default();
    for e in worker.events().iter() {
        let done = matches!(e.kind, EventKind::Finished { .. });
        if let EventKind::Error { message, .. } = &e.kind {
            anyhow::bail!("{message}");
        }
        history.apply(e);
        if done {
            return Ok(history);
        }
    }
    anyhow::bail!("the worker stopped early")
}

/// Prints the median and worst time to build (and tessellate) a 1400×900 frame with
/// `epochs` epochs of history.
pub fn frame_benchmark(epochs: usize, frames: usize) -> anyhow::Result<()> {
    let started = Instant::now();
    let history = real_history(epochs)?;
    println!(
        "history: {} epochs, {} step-loss points (trained in {:.1} s)",
        history.epochs.len(),
        history.step_loss.len(),
        started.elapsed().as_secs_f64()
    );
    let mut app = TrainvizApp::new(
        Settings {
            autostart: false,
            ..Default::default()
        },
        None,
    );
    let ctx = egui::Context::default();
    // Let the app's own (idle) worker report its run first, then show the long history.
    for _ in 0..20 {
        app.drain_events();
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    app.history = history;
    let mut times = Vec::with_capacity(frames);
    for i in 0..frames + 5 {
        let t = Instant::now();
        build_frame(&ctx, &mut app);
        if i >= 5 {
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    let median = crate::train::metrics::median(&times);
    let worst = times.iter().copied().fold(0.0, f64::max);
    println!(
        "frame build + tessellation over {frames} frames: median {median:.2} ms, worst {worst:.2} ms"
    );
    Ok(())
}

/// Builds and tessellates one 1400×900 frame of `app`, as eframe would before painting.
fn build_frame(ctx: &egui::Context, app: &mut TrainvizApp) {
    let input = egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(1400.0, 900.0),
        )),
        ..Default::default()
    };
    let out = ctx.run_ui(input, |ui| app.draw(ui));
    let primitives = ctx.tessellate(out.shapes, out.pixels_per_point);
    std::hint::black_box(primitives);
}

/// The window's frame times while its worker trains `config` flat out: for `seconds`, a
/// frame every 1/60 s (drain the worker's events, build, tessellate), as eframe does when
/// the worker keeps asking for repaints. Prints the median, 99th percentile and worst frame,
/// how many missed 60 Hz, and how far training got meanwhile.
pub fn frames_while_training(config: TrainConfig, seconds: f64) -> anyhow::Result<()> {
    const FRAME: Duration = Duration::from_micros(16_667);
    let mut app = TrainvizApp::new(
        Settings {
            config,
            autostart: true,
            ..Default::default()
        },
        None,
    );
    let ctx = egui::Context::default();
    let started = Instant::now();
    let mut times = Vec::new();
    while started.elapsed().as_secs_f64() < seconds {
        let t = Instant::now();
        app.drain_events();
        if let Some(message) = &app.history.message {
            anyhow::ensure!(app.history.info.is_some(), "{message}");
        }
        build_frame(&ctx, &mut app);
        let took = t.elapsed();
        // Count only frames of a running run: the first ones wait for the data to load.
        if app.history.info.is_some() {
            times.push(took.as_secs_f64() * 1e3);
        }
        std::thread::sleep(FRAME.saturating_sub(took));
    }
    anyhow::ensure!(
        !times.is_empty(),
        "the run did not start within {seconds} s"
    );
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let p99 = sorted[(sorted.len() * 99 / 100).min(sorted.len() - 1)];
    let worst = sorted[sorted.len() - 1];
    let late = times
        .iter()
        .filter(|&&t| t > FRAME.as_secs_f64() * 1e3)
        .count();
    println!(
        "frames while training: {} frames, median {:.2} ms, 99th percentile {p99:.2} ms, worst {worst:.2} ms, {late} over 16.7 ms",
        times.len(),
        crate::train::metrics::median(&times),
    );
    println!(
        "meanwhile the worker finished {} epochs ({} steps)",
        app.history.epochs.len(),
        app.history.step_loss.len()
    );
    Ok(())
}
