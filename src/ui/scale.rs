//! Text that grows with a large window: at 2560×1440 egui's 1:1 sizes leave text and axis
//! labels small and most of the screen empty, so the whole window is zoomed with its width
//! (1× up to 1600 points, up to 1.5× from 2400). A zoom the user picks (Ctrl +/−) wins.

/// Follows the window's size with egui's zoom factor until the user zooms by hand.
#[derive(Debug, Default)]
pub struct AutoScale {
    /// The zoom factor this set last (`None` before the first frame).
    set: Option<f32>,
    /// The user zoomed by hand: leave the zoom alone from then on.
    manual: bool,
}

/// The zoom for a window `width` points wide at zoom 1.
pub fn zoom_for_width(width: f32) -> f32 {
    // Steps of 0.125 so a slow resize does not reflow the window every pixel.
    ((width / 1600.0).clamp(1.0, 1.5) * 8.0).floor() / 8.0
}

impl AutoScale {
    /// Sets the zoom for the window's present size (call once per frame).
    pub fn apply(&mut self, ctx: &egui::Context) {
        let zoom = ctx.zoom_factor();
        if let Some(set) = self.set
            && (zoom - set).abs() > 1e-3
        {
            self.manual = true;
        }
        if self.manual {
            return;
        }
        let Some(inner) = ctx.input(|i| i.viewport().inner_rect) else {
            return;
        };
        // The rectangle is in zoomed points: undo the zoom to get the window's width.
        let want = zoom_for_width(inner.width() * zoom);
        if (want - zoom).abs() > 1e-3 {
            ctx.set_zoom_factor(want);
        }
        self.set = Some(want);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_window_is_not_zoomed_and_a_large_one_is() {
        assert_eq!(zoom_for_width(1024.0), 1.0);
        assert_eq!(zoom_for_width(1400.0), 1.0);
        assert_eq!(zoom_for_width(2000.0), 1.25);
        assert_eq!(zoom_for_width(2560.0), 1.5);
        assert_eq!(zoom_for_width(5120.0), 1.5);
    }
}
