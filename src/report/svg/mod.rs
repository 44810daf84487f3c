//! A small SVG writer and the chart kinds the figures are made of (lines, grouped bars,
//! histogram panels, heatmaps, image grids). Charts are drawn for print: a title, labelled
//! axes with round tick values, a legend, and text sizes that stay readable when the figure
//! is a column wide. The same SVG is rasterised for PNG export, so both look alike.
//!
//! `canvas` is the document, `axes`, `text`, `legend` and `markers` the parts charts are
//! built from, `style` the shared look; one file per chart family.

mod axes;
mod bar;
mod canvas;
mod heatmap;
mod histogram;
mod image_grid;
mod legend;
mod line;
mod markers;
mod scatter;
mod style;
mod text;

pub use axes::Axes;
pub use bar::bar_chart;
pub use canvas::{Anchor, Canvas, FONT_FAMILY};
pub use heatmap::heatmap;
pub use histogram::{HistogramPanel, histogram_panels};
pub use image_grid::{Tile, image_grid};
pub use line::{Series, line_chart, line_chart_marked};
pub use markers::marker_labels;
pub use scatter::{ScatterGroup, scatter_chart};
pub use style::{CHART_SIZE, DASHED, DOTTED, Dash, PALETTE, TABLEAU10, overlay_dash};
pub use text::{ellipsize, wrap_words};
pub(crate) use text::{text_width, title};
