//! The window: panels that show what the worker reports and send it commands. No maths
//! here; the UI reads event snapshots and never touches the model.

pub mod app;
pub mod background;
pub mod bench;
pub mod classify;
pub mod confusion;
pub mod controls;
pub mod convnet;
pub mod embedding;
pub mod eta_plot;
pub mod export;
pub mod field;
pub mod gradcheck;
pub mod histograms;
pub mod history;
pub mod layers;
pub mod layers_builder;
pub mod layers_field;
pub mod lr_range;
pub mod model;
pub mod plane;
pub mod plots;
pub mod predictions;
pub mod race;
pub mod results;
pub mod runs;
pub mod scale;
pub mod tables;
pub mod templates;
pub mod unit_links;
pub mod warp;
pub mod words;

use std::sync::Arc;
use std::time::Duration;

use crate::train::TrainConfig;

pub use app::{Settings, ThemeChoice, TrainvizApp};

/// The shortest time between frames while training in a focused window (~30 frames a
/// second): repaints requested by the worker's events merge into one frame per interval.
pub const FRAME_INTERVAL: Duration = Duration::from_millis(33);

/// How often training's events may redraw the window. With a graphics card a frame is
/// nearly free: ~30 a second while focused. Drawn by the CPU (Mesa's llvmpipe under Xvfb or
/// a remote desktop), a frame of a 1600×1000 window cost ~180 ms of CPU (measured), so
/// training redraws it twice a second at most and the cores keep training. Input (mouse,
/// keys) always redraws at once.
pub fn training_frame_interval(software: bool, focused: bool, minimised: bool) -> Duration {
    let ms = match (software, minimised, focused) {
        (_, true, _) => 1000,
        (false, false, true) => return FRAME_INTERVAL,
        (false, false, false) => 250,
        (true, false, true) => 500,
        (true, false, false) => 1000,
    };
    Duration::from_millis(ms)
}

/// The frame interval in force (longer when the window is in the background), shared by
/// the two that use it: the window sets it each frame, and the waker it gives the worker asks
/// for a redraw that far ahead. A value both are handed (not a global), so each window, and
/// each test's window, has its own.
#[derive(Clone, Debug)]
pub struct FrameInterval(Arc<std::sync::atomic::AtomicU64>);

impl Default for FrameInterval {
    fn default() -> Self {
        FrameInterval(Arc::new(std::sync::atomic::AtomicU64::new(
            FRAME_INTERVAL.as_millis() as u64,
        )))
    }
}

impl FrameInterval {
    /// Sets the interval the worker's wake-ups ask for.
    pub fn set(&self, interval: Duration) {
        self.0.store(
            interval.as_millis().try_into().unwrap_or(u64::MAX),
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    /// The interval the worker's wake-ups ask for.
    pub fn get(&self) -> Duration {
        Duration::from_millis(self.0.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// A waker for the worker that asks `ctx` for a redraw within this interval (so bursts
    /// of events merge into one frame).
    pub fn waker(&self, ctx: egui::Context) -> crate::train::worker::Waker {
        let interval = self.clone();
        Arc::new(move || ctx.request_repaint_after(interval.get()))
    }
}

/// Counts the window's frames and its thread's CPU time and logs both every ten seconds
/// (`RUST_LOG=trainviz=info`): the way to check that the window leaves the cores to training.
#[derive(Debug, Default)]
pub struct FrameMeter {
    since: Option<(std::time::Instant, Option<Duration>)>,
    frames: u32,
}

impl FrameMeter {
    /// How often the figures are logged.
    const PERIOD: Duration = Duration::from_secs(10);

    /// Counts a frame; logs the figures at the end of a period.
    pub fn tick(&mut self) {
        let now = std::time::Instant::now();
        let (since, cpu_then) = *self.since.get_or_insert((now, thread_cpu_time()));
        self.frames += 1;
        let elapsed = now.duration_since(since);
        if elapsed < Self::PERIOD {
            return;
        }
        let cpu_now = thread_cpu_time();
        let share = cpu_now
            .zip(cpu_then)
            .map(|(a, b)| a.saturating_sub(b).as_secs_f64() / elapsed.as_secs_f64());
        let rate = f64::from(self.frames) / elapsed.as_secs_f64();
        log::info!(
            "window: {rate:.1} frames a second, its thread busy {}",
            share.map_or("(unknown)".to_string(), |s| format!(
                "{:.0} % of a core",
                100.0 * s
            ))
        );
        self.since = Some((now, cpu_now));
        self.frames = 0;
    }
}

/// CPU time the calling thread has used (Linux; `None` elsewhere).
fn thread_cpu_time() -> Option<Duration> {
    #[cfg(target_os = "linux")]
    {
        let mut t = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes one timespec into `t`, which outlives the call.
        let ok = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) } == 0;
        ok.then(|| {
            Duration::new(
                u64::try_from(t.tv_sec).unwrap_or(0),
                u32::try_from(t.tv_nsec).unwrap_or(0),
            )
        })
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// The window's settings remembered from the last session. eframe's reader gives nothing
/// for text it cannot read; that the text was there is said in the log, so settings lost to
/// a change of version do not vanish without a word.
fn remembered_settings(storage: &dyn eframe::Storage) -> Option<Settings> {
    let settings = eframe::get_value(storage, eframe::APP_KEY);
    if settings.is_none() && storage.get_string(eframe::APP_KEY).is_some() {
        log::warn!(
            "the settings remembered from the last session could not be read (saved by another \
             version?); starting from the defaults"
        );
    }
    settings
}

/// Opens the window, saving and browsing runs under `runs_dir`. `settings_for` turns the
/// settings remembered from the last session (if any) into those to start with (e.g.
/// applying the command line's flags).
pub fn run_app(
    runs_dir: std::path::PathBuf,
    settings_for: impl FnOnce(Option<TrainConfig>) -> anyhow::Result<TrainConfig> + 'static,
) -> anyhow::Result<()> {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("trainviz")
            .with_inner_size([1400.0, 900.0])
            .with_min_inner_size([640.0, 400.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    eframe::run_native(
        "trainviz",
        options,
        Box::new(move |cc| {
            let remembered = cc.storage.and_then(remembered_settings);
            let mut settings = remembered.clone().unwrap_or_default();
            let remembered = remembered.map(|r| r.config).filter(|c| match c.validate() {
                Ok(()) => true,
                Err(e) => {
                    log::warn!("the settings remembered from the last session are not used: {e}");
                    false
                }
            });
            settings.config = settings_for(remembered)?;
            let frame_interval = FrameInterval::default();
            let waker = frame_interval.waker(cc.egui_ctx.clone());
            let software = cc
                .wgpu_render_state
                .as_ref()
                .is_some_and(|s| s.adapter.get_info().device_type == eframe::wgpu::DeviceType::Cpu);
            let mut app = TrainvizApp::with_runs_dir(settings, Some(waker), Some(runs_dir));
            app.set_software_rendering(software);
            app.share_frame_interval(frame_interval);
            if software {
                log::info!("no graphics driver (software rendering): fewer redraws while training");
            }
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_waker_reads_the_interval_its_window_sets_and_no_other() {
        let window = FrameInterval::default();
        let waker_side = window.clone();
        window.set(Duration::from_millis(250));
        assert_eq!(waker_side.get(), Duration::from_millis(250));
        assert_eq!(
            FrameInterval::default().get(),
            FRAME_INTERVAL,
            "another window starts at its own default"
        );
    }
}
