//! Export requests from the panels, and the dialogs that pick where they go.

use std::path::{Path, PathBuf};

use crate::report::{ExportError, Figure, PngSize, RunRecord, export_figure, export_report};

/// What a panel asks to export.
pub enum ExportRequest {
    /// One figure, to a file the user picks (PNG, SVG or CSV by its extension).
    Figure(Box<Figure>),
    /// The whole report, to a folder the user picks.
    Report,
}

/// Asks where to save `figure`; `None` when the user cancels. A name typed without an
/// extension becomes a PNG.
pub fn pick_figure_path(figure: &Figure) -> Option<PathBuf> {
    let path = rfd::FileDialog::new()
        .set_title(format!("Export “{}”", figure.title))
        .set_file_name(format!("{}.png", figure.id))
        .add_filter("PNG image", &["png"])
        .add_filter("SVG vector image", &["svg"])
        .add_filter("CSV data", &["csv"])
        .save_file()?;
    Some(if path.extension().is_none() {
        path.with_extension("png")
    } else {
        path
    })
}

/// Asks for the report's folder; `None` when the user cancels.
pub fn pick_report_folder() -> Option<PathBuf> {
    rfd::FileDialog::new()
        .set_title("Folder for the report (figures, report.md, results.tex)")
        .pick_folder()
}

/// Writes `figure` to `path`; the message to show either way.
pub fn save_figure(figure: &Figure, path: &Path, size: PngSize) -> Result<String, String> {
    export_figure(figure, path, size)
        .map(|()| format!("Saved {}", path.display()))
        .map_err(|e| format!("Export failed: {e}"))
}

/// Writes the report of `record` into `dir`; the message to show either way.
pub fn save_report(record: &RunRecord<'_>, dir: &Path, size: PngSize) -> Result<String, String> {
    export_report(record, dir, size)
        .map(|files| {
            format!(
                "Saved the report ({} files) in {}",
                files.len(),
                dir.display()
            )
        })
        .map_err(|e: ExportError| format!("Export failed: {e}"))
}
