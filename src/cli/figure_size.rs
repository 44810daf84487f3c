//! The `--figure-width` and `--dpi` flags, one definition for every command that writes PNG
//! figures (`train --figures`, `report`, `table`, `embed`, `lr-range`).

use anyhow::Result;

use crate::report::PngSize;

/// The size of the PNG figures a command writes; the defaults are [`PngSize`]'s.
#[derive(Debug, Clone, Copy, PartialEq, clap::Args)]
pub struct FigureSizeArgs {
    /// Width of PNG figures, inches.
    #[arg(long, default_value_t = PngSize::default().width_inches)]
    pub figure_width: f64,
    /// Resolution of PNG figures, dots per inch.
    #[arg(long, default_value_t = PngSize::default().dpi)]
    pub dpi: f64,
}

impl FigureSizeArgs {
    /// The size asked for, checked (the error names the value out of range).
    pub fn size(&self) -> Result<PngSize> {
        let size = PngSize {
            width_inches: self.figure_width,
            dpi: self.dpi,
        };
        size.validate()?;
        Ok(size)
    }
}
