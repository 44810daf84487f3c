//! Class templates: each class's weights as a picture (for an MLP, the first layer's most
//! important units), refreshed as new weights arrive.

use egui::{ColorImage, TextureHandle, TextureOptions, Ui};

use super::history::RunHistory;
use crate::model::templates::{RgbPicture, templates};

/// Units of an MLP's first layer shown.
const MAX_UNITS: usize = 20;

/// State of the templates panel: textures and the weights version they show.
#[derive(Default)]
pub struct TemplatesPanel {
    textures: Vec<(String, TextureHandle)>,
    version: (u64, u64),
}

fn to_color_image(p: &RgbPicture) -> ColorImage {
    let rgb: Vec<u8> = p.pixels.iter().flatten().copied().collect();
    ColorImage::from_rgb([p.width, p.height], &rgb)
}

impl TemplatesPanel {
    /// Names of the pictures shown now (class names or unit numbers).
    pub fn labels(&self) -> Vec<&str> {
        self.textures.iter().map(|(l, _)| l.as_str()).collect()
    }

    /// The height the templates take in a view `avail` points wide: heading, then rows
    /// of tiles with their labels (so the plots above can leave them room).
    pub fn height_for(&self, ui: &Ui, avail: f32) -> f32 {
        // Before the first weights: ten classes, the usual case.
        let n = if self.textures.is_empty() {
            10
        } else {
            self.textures.len()
        };
        let (size, per_row) = tile_layout(avail, n);
        let rows = n.div_ceil(per_row) as f32;
        let text = ui.text_style_height(&egui::TextStyle::Body);
        let spacing = ui.spacing().item_spacing.y;
        let heading = ui.spacing().interact_size.y + spacing;
        heading + rows * (size + text + 2.0 * spacing)
    }

    /// Draws the templates of the latest weights in `history`; true when their Export…
    /// was clicked.
    pub fn ui(&mut self, ui: &mut Ui, history: &RunHistory) -> bool {
        let (Some(net), Some(info)) = (&history.network, &history.info) else {
            ui.label("Templates appear when a run is ready.");
            return false;
        };
        let version = (history.run, history.network_version);
        if version != self.version {
            self.version = version;
            let linear = net.layers.len() == 1;
            let pictures = templates(net, info.shape, MAX_UNITS);
            let old = std::mem::take(&mut self.textures);
            self.textures = pictures
                .into_iter()
                .enumerate()
                .map(|(i, (idx, pic))| {
                    let label = if linear {
                        info.class_names
                            .get(idx)
                            .cloned()
                            .unwrap_or_else(|| idx.to_string())
                    } else {
                        format!("unit {idx}")
                    };
                    let image = to_color_image(&pic);
                    // Reuse the texture of the same slot: no new GPU allocation per update.
                    let handle = match old.get(i) {
                        Some((_, h)) => {
                            let mut h = h.clone();
                            h.set(image, TextureOptions::NEAREST);
                            h
                        }
                        None => ui.ctx().load_texture(
                            format!("template-{i}"),
                            image,
                            TextureOptions::NEAREST,
                        ),
                    };
                    (label, handle)
                })
                .collect();
        }
        let title = if net.layers.len() == 1 {
            "Class templates (weights of each class, scaled per class)"
        } else {
            "First-layer units (most important 20, by outgoing weight norm)"
        };
        let export = ui
            .horizontal_wrapped(|ui| {
                ui.strong(title);
                ui.add(egui::Button::new("Export templates…").small())
                    .on_hover_text("PNG, SVG or CSV of the templates, for print")
                    .clicked()
            })
            .inner;
        let (size, per_row) = tile_layout(ui.available_width(), self.textures.len());
        let gap = TILE_GAP;
        for row in self.textures.chunks(per_row) {
            ui.horizontal(|ui| {
                for (label, tex) in row {
                    ui.vertical(|ui| {
                        ui.set_width(size + gap - ui.spacing().item_spacing.x);
                        ui.image((tex.id(), egui::vec2(size, size)))
                            .on_hover_ui(|ui| {
                                ui.label(label);
                                ui.image((tex.id(), egui::vec2(256.0, 256.0)));
                            });
                        // Labels at the body's size (a small font stayed ~8 px at 2560 px).
                        ui.add(egui::Label::new(label.as_str()).truncate());
                    });
                }
            });
        }
        export
    }
}

/// Space between template tiles.
const TILE_GAP: f32 = 10.0;

/// Tile size and tiles per row for `n` templates in `avail` points: tiles grow with the
/// window, and rows wrap (two rows for more than ten) so every class or unit shows.
fn tile_layout(avail: f32, n: usize) -> (f32, usize) {
    let n = n.max(1);
    let per_row_wanted = if n <= 10 { n } else { n.div_ceil(2) };
    let size = ((avail / per_row_wanted as f32) - TILE_GAP).clamp(48.0, 240.0);
    let per_row = ((avail / (size + TILE_GAP)).floor() as usize).clamp(1, n);
    (size, per_row)
}
