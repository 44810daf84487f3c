//! Text that grows with a large window: at 2560×1440 egui's 1:1 sizes leave text and axis
//! labels small and most of the screen empty, so the whole window is zoomed with its width
//! (1× up to 1600 points, up to 1.5× from 2400). A zoom the user picks (Ctrl +/−) wins.

/// Follows the window's size with egui's zoom factor until the user zooms by hand.
#[derive(Debug, Default)]
pub struct AutoScale {
    /// The user zoomed by hand: leave the zoom alone from then on.
    manual: bool,
}

/// The zoom for a window `width` points wide at zoom 1.
pub fn zoom_for_width(width: f32) -> f32 {
    // Steps of 0.125 so a slow resize does not reflow the window every pixel.
    ((width / 1600.0).clamp(1.0, 1.5) * 8.0).floor() / 8.0
}

impl AutoScale {
    /// Sets the zoom for the window's present size (call once per frame, before egui's
    /// end of frame consumes the zoom keys).
    pub fn apply(&mut self, ctx: &egui::Context) {
        // A zoom by hand is seen by its keys, not by comparing the zoom with the one set
        // last: a new zoom takes effect only at a later frame's start, which such a
        // comparison can take for the user's.
        if ctx.input(zoom_keys_pressed) {
            self.manual = true;
        }
        let zoom = ctx.zoom_factor();
        if self.manual {
            return;
        }
        // The window's content rectangle, in zoomed points: always known (the viewport's
        // inner rectangle need not be, e.g. without a window manager).
        let width = ctx.content_rect().width();
        if !(width.is_finite() && width > 0.0) {
            return;
        }
        // Undo the zoom to get the window's width.
        let want = zoom_for_width(width * zoom);
        if (want - zoom).abs() > 1e-3 {
            ctx.set_zoom_factor(want);
        }
    }
}

/// Whether this frame's input holds one of egui's zoom shortcuts (Ctrl +, =, −, 0).
fn zoom_keys_pressed(input: &egui::InputState) -> bool {
    use egui::gui_zoom::kb_shortcuts::{ZOOM_IN, ZOOM_IN_SECONDARY, ZOOM_OUT, ZOOM_RESET};
    input.events.iter().any(|e| match e {
        egui::Event::Key {
            key,
            pressed: true,
            modifiers,
            ..
        } => [ZOOM_IN, ZOOM_IN_SECONDARY, ZOOM_OUT, ZOOM_RESET]
            .iter()
            .any(|s| s.logical_key == *key && modifiers.matches_logically(s.modifiers)),
        _ => false,
    })
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

    /// Frames of a window `width` (unzoomed) points wide; returns the zoom after them.
    fn frames(ctx: &egui::Context, scale: &mut AutoScale, width: f32, n: usize) -> f32 {
        for _ in 0..n {
            let mut input = egui::RawInput::default();
            let zoom = ctx.zoom_factor();
            // The backend reports the window in the zoomed points of the last frame.
            let rect =
                egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(width / zoom, 900.0 / zoom));
            input.screen_rect = Some(rect);
            let _full_output = ctx.run_ui(input, |ui| scale.apply(ui.ctx()));
        }
        ctx.zoom_factor()
    }

    #[test]
    fn a_window_resized_to_2560_is_zoomed_and_back_to_1400_is_not() {
        let ctx = egui::Context::default();
        let mut scale = AutoScale::default();
        assert_eq!(frames(&ctx, &mut scale, 1400.0, 3), 1.0);
        assert_eq!(frames(&ctx, &mut scale, 2560.0, 3), 1.5);
        assert_eq!(frames(&ctx, &mut scale, 1024.0, 3), 1.0);
        assert_eq!(frames(&ctx, &mut scale, 2560.0, 3), 1.5);
    }
}
