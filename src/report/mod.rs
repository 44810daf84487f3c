//! Figures and reports for print: every view of a run as SVG (vector), PNG (chosen size and
//! DPI) and CSV (the numbers behind it), and a report folder with all figures, a Markdown
//! report and a LaTeX results table. Used by the window's export buttons and by
//! `trainviz train --figures`; knows nothing of the UI.

pub mod compare;
pub mod convnet;
pub mod figure_text;
pub mod figures;
pub mod layer_figures;
pub mod plane;
pub mod range;
pub mod svg;
pub mod table;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use resvg::{tiny_skia, usvg};
use thiserror::Error;

pub use convnet::ConvNetFigures;
pub use figures::{Figure, HiddenActivations, RunRecord};

/// The font figures are drawn with (DejaVu Sans, see `assets/fonts/`), built in so PNGs look
/// the same on every machine.
pub const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// What can go wrong while exporting.
#[derive(Debug, Error)]
pub enum ExportError {
    /// A file or folder could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The figure could not be turned into pixels.
    #[error("cannot render {what}: {problem}")]
    Render {
        /// Which figure.
        what: String,
        /// Why.
        problem: String,
    },
    /// The requested size is unusable.
    #[error("{0}")]
    BadSize(String),
}

/// Writes `bytes` to `path` through a temporary file beside it and a rename, so that a
/// reader never sees a half-written file and a failed write leaves the old one intact.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    let io = |source| ExportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // A temporary file in the same folder, renamed over the target: readers see the old file
    // or the new one, never half of one; the folder is synced so the rename survives a crash.
    // A path typed by hand may name a folder that does not exist yet.
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".trainviz-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io)?;
    // tempfile makes private files (0600); figures and tables are for sharing.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(io)?;
    }
    tmp.write_all(bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    if let Ok(d) = std::fs::File::open(dir) {
        // Best effort: not every platform can sync a folder.
        if let Err(e) = d.sync_all() {
            log::debug!("{}: cannot sync the folder: {e}", dir.display());
        }
    }
    Ok(())
}

/// Size of an exported PNG.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PngSize {
    /// Width on paper, inches.
    pub width_inches: f64,
    /// Dots per inch.
    pub dpi: f64,
}

impl Default for PngSize {
    /// A column-wide figure at print resolution: 6.4 in at 300 DPI (1920 px wide).
    fn default() -> Self {
        PngSize {
            width_inches: 6.4,
            dpi: 300.0,
        }
    }
}

impl PngSize {
    /// Width in pixels.
    pub fn pixels(&self) -> u32 {
        (self.width_inches * self.dpi).round().clamp(1.0, 20_000.0) as u32
    }
    /// Checks the values, naming the wrong one.
    pub fn validate(&self) -> Result<(), ExportError> {
        if !(0.5..=40.0).contains(&self.width_inches) {
            return Err(ExportError::BadSize(format!(
                "width {} in is outside 0.5–40 in",
                self.width_inches
            )));
        }
        if !(36.0..=1200.0).contains(&self.dpi) {
            return Err(ExportError::BadSize(format!(
                "resolution {} DPI is outside 36–1200 DPI",
                self.dpi
            )));
        }
        Ok(())
    }
}

/// Parsing options with the built-in font, made once.
fn svg_options() -> &'static usvg::Options<'static> {
    static OPTIONS: OnceLock<usvg::Options<'static>> = OnceLock::new();
    OPTIONS.get_or_init(|| {
        let mut db = usvg::fontdb::Database::new();
        db.load_font_data(FONT.to_vec());
        usvg::Options {
            font_family: svg::FONT_FAMILY.to_string(),
            fontdb: Arc::new(db),
            ..usvg::Options::default()
        }
    })
}

/// Renders an SVG document to PNG bytes `size.pixels()` wide, with the DPI recorded in the
/// file so that word processors place it at the intended size.
pub fn svg_to_png(svg: &str, size: PngSize, what: &str) -> Result<Vec<u8>, ExportError> {
    size.validate()?;
    let render = |problem: String| ExportError::Render {
        what: what.to_string(),
        problem,
    };
    let tree = usvg::Tree::from_str(svg, svg_options()).map_err(|e| render(e.to_string()))?;
    let doc = tree.size();
    let scale = size.pixels() as f32 / doc.width();
    let (w, h) = (
        size.pixels(),
        (doc.height() * scale).round().max(1.0) as u32,
    );
    let mut pixmap = tiny_skia::Pixmap::new(w, h)
        .ok_or_else(|| render(format!("{w}×{h} pixels is too large")))?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        let per_metre = (size.dpi / 0.0254).round() as u32;
        enc.set_pixel_dims(Some(png::PixelDimensions {
            xppu: per_metre,
            yppu: per_metre,
            unit: png::Unit::Meter,
        }));
        let mut writer = enc.write_header().map_err(|e| render(e.to_string()))?;
        // The background is opaque white, so premultiplied and straight alpha agree.
        writer
            .write_image_data(pixmap.data())
            .map_err(|e| render(e.to_string()))?;
    }
    Ok(out)
}

/// Which files to write for a figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Raster image.
    Png,
    /// Vector image.
    Svg,
    /// The numbers behind the figure.
    Csv,
}

impl Format {
    /// From a file's extension (case-insensitive).
    pub fn from_path(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "png" => Some(Format::Png),
            "svg" => Some(Format::Svg),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }
}

/// Writes `figure` to `path` in the format its extension names (png, svg or csv).
pub fn export_figure(figure: &Figure, path: &Path, size: PngSize) -> Result<(), ExportError> {
    let bytes = match Format::from_path(path) {
        Some(Format::Png) => svg_to_png(&figure.svg, size, &figure.title)?,
        Some(Format::Svg) => figure.svg.clone().into_bytes(),
        Some(Format::Csv) => figure.csv.clone().into_bytes(),
        None => {
            return Err(ExportError::Io {
                path: path.to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "the file name must end in .png, .svg or .csv",
                ),
            });
        }
    };
    write_atomic(path, &bytes)
}

/// What the report's PCA of the last hidden layer is drawn from.
#[derive(Debug, Clone)]
pub enum HiddenLayer {
    /// The network has no hidden layer (or there are no weights): no such figure.
    Absent,
    /// The layer's activations on validation images.
    Activations(HiddenActivations),
    /// They could not be computed (the data could not be loaded…): the report says why
    /// instead of the figure.
    Unavailable(String),
}

/// What the report of a layer stack (a ConvNet) leaves out, and why.
pub const STACK_FIGURES_NOTE: &str = "the templates, weight and gradient histograms \
     and the PCA of the last hidden layer are drawn for linear and MLP runs; \
     a ConvNet's report has its filters and feature maps instead";

/// Writes the report folder: `figures/` with every figure as PNG, SVG and CSV (and, for an
/// MLP, a PCA of its last hidden layer on validation images; for data in the plane, the
/// decision boundary and the network, see [`plane::figures`]),
/// `results.csv`, `results.tex` (a LaTeX table), `report.md` (settings, results table,
/// figures embedded) and `layers.csv` (the last epoch's numbers per layer, see
/// [`layer_figures::last_epoch_csv`]). The PCA is drawn from `hidden`. Returns the files
/// written.
pub fn export_report(
    record: &RunRecord<'_>,
    hidden: &HiddenLayer,
    dir: &Path,
    size: PngSize,
) -> Result<Vec<PathBuf>, ExportError> {
    export_report_with_steps(
        record,
        &StepLosses::default(),
        hidden,
        &ConvNetFigures::Absent,
        dir,
        size,
    )
}

/// The per-step record of a run (the window keeps it; saved runs keep it in `steps.csv`),
/// for the report's mini-batch loss and η figures.
#[derive(Debug, Clone, Default)]
pub struct StepLosses {
    /// (fractional epoch, loss) of every step, from step 0.
    pub raw: Vec<(f64, f64)>,
    /// (global step, η used) of every step, from step 0.
    pub eta: Vec<(f64, f64)>,
    /// Every evaluation in step order, when the run evaluates every few update steps
    /// (`eval_every`): the cost, loss and accuracy figures are then drawn against the step.
    pub evals: Vec<crate::train::steps::EvalPoint>,
    /// The moving average's factor, 0 (none) to 0.999.
    pub smoothing: f64,
}

/// The step-loss smoothing of reports written outside the window (the window's default).
pub const DEFAULT_SMOOTHING: f64 = 0.9;

impl StepLosses {
    /// The figures' series of `steps`, with the moving average's factor `smoothing`.
    pub fn from_steps(steps: &[crate::train::StepRecord], smoothing: f64) -> Self {
        StepLosses {
            raw: steps.iter().map(|r| (r.epoch, r.loss)).collect(),
            eta: steps.iter().map(|r| (r.step as f64, r.eta)).collect(),
            evals: Vec::new(),
            smoothing,
        }
    }

    /// With the evaluations of a run that evaluates every few steps: `history`'s epoch ends
    /// and the points `within` epochs (nothing is added when there are none within).
    pub fn with_evals(
        mut self,
        history: &[crate::train::EpochMetrics],
        within: &[crate::train::steps::EvalPoint],
        live: crate::train::LiveParams,
    ) -> Self {
        if !within.is_empty() {
            self.evals = crate::train::steps::all_points(history, within, live);
        }
        self
    }
}

/// [`export_report`] with the figures of the per-step mini-batch loss and of η against the
/// update step (each with its CSV) when `steps` has any.
pub fn export_report_with_steps(
    record: &RunRecord<'_>,
    steps: &StepLosses,
    hidden: &HiddenLayer,
    convnet: &ConvNetFigures,
    dir: &Path,
    size: PngSize,
) -> Result<Vec<PathBuf>, ExportError> {
    size.validate()?;
    let figures_dir = dir.join("figures");
    std::fs::create_dir_all(&figures_dir).map_err(|source| ExportError::Io {
        path: figures_dir.clone(),
        source,
    })?;
    let mut written = Vec::new();
    let mut figures = figures::all(record);
    if !steps.evals.is_empty() {
        // Curves against the update step take the per-epoch ones' places (and names).
        for (figure, curve) in figures.iter_mut().zip(figures::Curve::ALL) {
            *figure = figures::curve_per_step(record, curve, &steps.evals);
        }
    }
    if !steps.raw.is_empty() {
        let smoothed = crate::train::metrics::smooth(steps.raw.iter().copied(), steps.smoothing);
        let markers =
            figures::step_markers(&record.info.settings, |s| steps.raw.get(s).map(|p| p.0));
        // After the three per-epoch curves, with which it belongs.
        let at = figures.len().min(3);
        figures.insert(
            at,
            figures::step_loss_marked(
                &steps.raw,
                &smoothed,
                steps.smoothing,
                &markers,
                Some(record.info),
            ),
        );
    }
    if !steps.eta.is_empty() {
        let at = figures.len().min(4);
        figures.insert(at, figures::eta_per_step(&steps.eta, &record.info.settings));
    }
    let mut missing = Vec::new();
    if record.info.settings.start.uses_stack() {
        missing.push(format!("{STACK_FIGURES_NOTE}."));
    }
    match hidden {
        HiddenLayer::Absent => {}
        HiddenLayer::Activations(acts) => {
            figures.push(figures::last_hidden_pca(acts, &record.info.class_names));
        }
        HiddenLayer::Unavailable(why) => {
            missing.push(format!("the PCA of the last hidden layer ({why})."));
        }
    }
    match convnet {
        ConvNetFigures::Absent => {}
        ConvNetFigures::Drawn(drawn) => figures.extend(drawn.iter().cloned()),
        ConvNetFigures::Unavailable(why) => {
            missing.push(format!("the filters and feature maps ({why})."));
        }
    }
    figures.extend(plane::figures(record));
    for fig in &figures {
        for ext in ["svg", "png", "csv"] {
            let path = figures_dir.join(format!("{}.{ext}", fig.id));
            export_figure(fig, &path, size)?;
            written.push(path);
        }
    }
    let table = figures::results_table(record);
    for (name, text) in [
        ("results.csv", table.csv()),
        ("results.tex", table.latex()),
        (
            "report.md",
            figures::markdown_report(record, &figures, &table, &missing),
        ),
    ] {
        let path = dir.join(name);
        write_atomic(&path, text.as_bytes())?;
        written.push(path);
    }
    // The last epoch's per-layer numbers, as the Layers tab's table shows them.
    if let Some(csv) = layer_figures::last_epoch_csv(record.history) {
        let path = dir.join("layers.csv");
        write_atomic(&path, csv.as_bytes())?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::DatasetKind;
    use crate::train::{RunInfo, RunSettings, TrainConfig};

    /// A figure the report cannot draw is named in `report.md`, not left out without a word.
    #[test]
    fn a_pca_that_cannot_be_drawn_is_named_in_the_report() {
        let config = TrainConfig {
            dataset: DatasetKind::Synthetic,
            hidden: vec![8],
            ..Default::default()
        };
        let data = crate::data::load(&config.data_request()).expect("synthetic data");
        let info = RunInfo::new(&data, RunSettings::new(config));
        let record = RunRecord {
            info: &info,
            history: &[],
            network: None,
            test: None,
        };
        let dir = tempfile::tempdir().expect("temporary folder");
        let size = PngSize {
            width_inches: 1.0,
            dpi: 100.0,
        };
        let hidden = HiddenLayer::Unavailable("the data could not be loaded: gone".into());
        export_report(&record, &hidden, dir.path(), size).expect("report written");
        let report = std::fs::read_to_string(dir.path().join("report.md")).expect("report.md");
        assert!(
            report.contains(
                "*Not drawn:* the PCA of the last hidden layer (the data could not be loaded: gone)."
            ),
            "{report}"
        );
        assert!(
            !dir.path()
                .join("figures/embedding_pca_last_hidden.svg")
                .exists()
        );
    }
}
