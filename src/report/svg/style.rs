//! The look shared by every chart: its size, the series colours and the dash patterns.

/// Width and height of a chart in SVG user units (1/96 inch).
pub const CHART_SIZE: (f64, f64) = (720.0, 480.0);

/// A stroke's dash pattern as SVG's `stroke-dasharray` (`None`: solid).
pub type Dash = Option<&'static str>;

/// Dashes of a second line beside a solid one.
pub const DASHED: &str = "8 5";

/// Dots, for a third line.
pub const DOTTED: &str = "2 4";

/// The dash of the `i`-th run of an overlay: solid, dashed, dotted in turn (as the window
/// draws them), so runs whose colours are hard to tell apart in print still differ.
pub fn overlay_dash(i: usize) -> Dash {
    match i % 3 {
        0 => None,
        1 => Some(DASHED),
        _ => Some(DOTTED),
    }
}

/// Colours for series, chosen to stay distinct in print and for colour-blind readers
/// (Okabe–Ito's, with purple, brown and olive for its near twins: ten that stay apart).
pub const PALETTE: [&str; 10] = [
    // No two alike within the first nine (a nine-layer network's legend): no second blue,
    // yellow or grey (black is drawn grey on the window's dark theme).
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#6A3D9A", "#000000", "#8C510A",
    "#808000", "#56B4E9",
];

/// Tableau 10: ten class colours that stay apart from each other, on white paper and on a
/// dark window alike (none is near black or white).
pub const TABLEAU10: [&str; 10] = [
    "#4E79A7", "#F28E2B", "#E15759", "#76B7B2", "#59A14F", "#EDC948", "#B07AA1", "#FF9DA7",
    "#9C755F", "#BAB0AC",
];
