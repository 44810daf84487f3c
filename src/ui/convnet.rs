//! A ConvNet's views: its filters as pictures (the first convolution's in colour, the
//! ConvNet's "templates"; deeper ones a grey tile per input channel) and the feature maps
//! each layer makes of a validation image, with each map's value range and the value under
//! the mouse. Both follow the weights while the run trains.

use egui::{ColorImage, RichText, TextureHandle, TextureOptions, Ui};

use super::history::RunHistory;
use crate::model::stack::Stack;
use crate::model::stack_views::{self, LayerFilters, LayerMaps};
use crate::model::templates::RgbPicture;

/// Most filters of one layer shown (the first ones; the export has all).
const MAX_FILTERS: usize = 32;
/// Most maps of one layer shown.
const MAX_MAPS: usize = 16;

/// Textures of the filters and feature maps, and what they were drawn from.
#[derive(Default)]
pub struct ConvNetPanel {
    /// (run, weights version) the filters show.
    filters_version: (u64, u64),
    /// Per convolution layer: its filters and one texture per filter.
    filters: Vec<(LayerFilters, Vec<TextureHandle>)>,
    /// (run, weights version, image, the picture's name when the maps are of it) the maps
    /// show.
    maps_version: (u64, u64, usize, Option<String>),
    /// Per layer: its maps and one texture per map shown.
    maps: Vec<(LayerMaps, Vec<TextureHandle>)>,
    /// The image the maps are of, as a texture.
    image: Option<TextureHandle>,
    /// Which validation image (index into the samples).
    pub image_index: usize,
    /// The maps are of the picture dropped on the window (Predictions tab), not of a
    /// validation image.
    pub of_picture: bool,
    /// The dropped picture last seen: a new one is shown at once.
    last_picture: Option<String>,
}

fn texture(ui: &Ui, name: String, p: &RgbPicture) -> TextureHandle {
    let rgb: Vec<u8> = p.pixels.iter().flatten().copied().collect();
    ui.ctx().load_texture(
        name,
        ColorImage::from_rgb([p.width.max(1), p.height.max(1)], &rgb),
        TextureOptions::NEAREST,
    )
}

impl ConvNetPanel {
    /// Rebuilds the filter textures when the weights changed.
    fn refresh_filters(&mut self, ui: &Ui, history: &RunHistory, stack: &Stack<f32>) {
        let version = (history.run, history.network_version);
        if version == self.filters_version && !self.filters.is_empty() {
            return;
        }
        self.filters_version = version;
        self.filters = stack_views::filters(stack)
            .into_iter()
            .map(|layer| {
                let textures = if layer.channels == 3 {
                    layer
                        .pictures
                        .iter()
                        .take(MAX_FILTERS)
                        .enumerate()
                        .map(|(i, p)| texture(ui, format!("filter-{}-{i}", layer.layer), p))
                        .collect()
                } else {
                    // A deeper layer: one sheet, a row per filter, a column per channel.
                    let sheet = stack_views::filter_sheet(&layer, MAX_FILTERS);
                    vec![texture(ui, format!("filter-sheet-{}", layer.layer), &sheet)]
                };
                (layer, textures)
            })
            .collect();
    }

    /// The number of convolution layers whose filters show (after [`Self::filters_strip`]
    /// or [`Self::ui`] drew them).
    pub fn filter_layers(&self) -> usize {
        self.filters.len()
    }

    /// The height [`Self::filters_strip`] takes in `width` points: its heading and rows of
    /// tiles (before the weights arrive, as for ten filters).
    pub fn strip_height(&self, ui: &Ui, width: f32) -> f32 {
        let n = self.filters.first().map_or(10, |(_, t)| t.len().max(1));
        let tile = strip_tile(width, n);
        let gap = ui.spacing().item_spacing;
        let per_row = ((width + gap.x) / (tile + gap.x)).floor().max(1.0) as usize;
        let rows = n.div_ceil(per_row) as f32;
        ui.spacing().interact_size.y + gap.y + rows * (tile + gap.y)
    }

    /// The first convolution's filters in a row, in colour: the Training tab's pictures
    /// for a ConvNet, in place of a linear classifier's class templates.
    pub fn filters_strip(&mut self, ui: &mut Ui, history: &RunHistory) {
        let Some(stack) = history.stack.clone() else {
            ui.label("The filters appear when the run is ready.");
            return;
        };
        self.refresh_filters(ui, history, &stack);
        let Some((layer, textures)) = self.filters.first() else {
            ui.label("This network has no convolution: no filters to show.");
            return;
        };
        ui.strong(format!(
            "Filters of layer {} ({}), scaled per filter",
            layer.layer + 1,
            layer.name
        ))
        .on_hover_text("Every layer's filters and the feature maps are in the Network tab.");
        let size = strip_tile(ui.available_width(), textures.len());
        ui.horizontal_wrapped(|ui| {
            for (i, tex) in textures.iter().enumerate() {
                let (lo, hi) = layer.ranges[i];
                ui.image((tex.id(), egui::vec2(size, size)))
                    .on_hover_text(format!("filter {}: weights {lo:.3} … {hi:.3}", i + 1));
            }
        });
    }

    /// The Network tab for a ConvNet: every convolution's filters, then the feature maps of
    /// a validation image picked here.
    ///
    /// `picture` is the picture the user dropped on the window (its name and the picture
    /// at the model's input size), which the maps can be of instead.
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        history: &RunHistory,
        picture: Option<(&str, &crate::data::ImageSet)>,
    ) {
        let (Some(stack), Some(info)) = (history.stack.clone(), &history.info) else {
            ui.label("The network appears when a run is ready.");
            return;
        };
        self.refresh_filters(ui, history, &stack);
        egui::CollapsingHeader::new(RichText::new("Filters").strong())
            .default_open(true)
            .show(ui, |ui| {
                if self.filters.is_empty() {
                    ui.label("This network has no convolution: no filters to show.");
                }
                for (layer, textures) in &self.filters {
                    filters_row(ui, layer, textures);
                }
            });
        let Some((norm, images)) = history.samples.clone() else {
            ui.label("The feature maps appear when the run's validation images have arrived.");
            return;
        };
        if images.is_empty() {
            ui.label("The run has no validation images: no feature maps to show.");
            return;
        }
        self.image_index = self.image_index.min(images.len() - 1);
        egui::CollapsingHeader::new(RichText::new("Feature maps").strong())
            .default_open(true)
            .show(ui, |ui| {
                self.image_picker(ui, images.len(), picture.map(|p| p.0));
                let picture = picture.filter(|_| self.of_picture);
                let version = (
                    history.run,
                    history.network_version,
                    self.image_index,
                    picture.map(|p| p.0.to_string()),
                );
                if version != self.maps_version || self.image.is_none() {
                    self.maps_version = version;
                    match picture {
                        Some((_, set)) => self.refresh_maps(ui, &stack, &norm, set, 0),
                        None => self.refresh_maps(ui, &stack, &norm, &images, self.image_index),
                    }
                }
                let label = usize::from(images.labels[self.image_index]);
                let class = |k: usize| crate::words::class_name(&info.class_names, k);
                ui.horizontal(|ui| {
                    if let Some(tex) = &self.image {
                        ui.image((tex.id(), egui::vec2(128.0, 128.0)));
                    }
                    ui.vertical(|ui| {
                        ui.label(match picture {
                            Some((name, _)) => format!("your picture {name}"),
                            None => format!(
                                "validation image {} (of the first {}), true class: {}",
                                self.image_index + 1,
                                images.len(),
                                class(label)
                            ),
                        });
                        ui.weak("the network's three likeliest classes:");
                        if let Some((scores, _)) = self.maps.last() {
                            for (k, p) in top_classes(scores, 3) {
                                ui.label(format!("{}: {:.1} %", class(k), 100.0 * p));
                            }
                        }
                    });
                });
                ui.weak(
                    "Each layer's maps are grey from its smallest value (black) to its \
                     largest (white); hover a map for the value under the mouse.",
                );
                let last = self.maps.len().saturating_sub(1);
                for (i, (layer, textures)) in self.maps.iter().enumerate() {
                    // The class scores' units are the classes: hovering one names it.
                    let names = (i == last).then_some(&info.class_names[..]);
                    maps_row(ui, layer, textures, names);
                }
            });
    }

    /// "previous / next" and the image's number, and the dropped picture (`picture`, by
    /// its name) when there is one.
    fn image_picker(&mut self, ui: &mut Ui, count: usize, picture: Option<&str>) {
        ui.horizontal_wrapped(|ui| {
            if let Some(name) = picture {
                if self.last_picture.as_deref() != Some(name) {
                    self.last_picture = Some(name.to_string());
                    self.of_picture = true;
                }
                ui.selectable_value(&mut self.of_picture, false, "a validation image");
                ui.selectable_value(&mut self.of_picture, true, format!("your picture {name}"))
                    .on_hover_text("The picture dropped on the window (Predictions tab)");
            } else {
                self.of_picture = false;
            }
            if self.of_picture {
                return;
            }
            if ui
                .add_enabled(self.image_index > 0, egui::Button::new("previous"))
                .clicked()
            {
                self.image_index -= 1;
            }
            if ui
                .add_enabled(self.image_index + 1 < count, egui::Button::new("next"))
                .clicked()
            {
                self.image_index += 1;
            }
            let mut shown = self.image_index + 1;
            if ui
                .add(egui::DragValue::new(&mut shown).range(1..=count))
                .on_hover_text("which validation image")
                .changed()
            {
                self.image_index = shown.saturating_sub(1).min(count - 1);
            }
            ui.label("validation image");
            if picture.is_none() {
                ui.weak("(or drop a picture of your own on the window)");
            }
        });
    }

    /// Runs image `i` of `images` through `stack` and rebuilds the map textures.
    fn refresh_maps(
        &mut self,
        ui: &Ui,
        stack: &Stack<f32>,
        norm: &crate::data::Normalizer,
        images: &crate::data::ImageSet,
        i: usize,
    ) {
        let mut x = vec![0.0f32; norm.dim()];
        if norm.dim() != images.shape.dim() {
            self.maps.clear();
            return;
        }
        norm.write_row(images.image(i), None, &mut x);
        let shape = images.shape;
        let rgb = images.rgb(i);
        self.image = Some(ui.ctx().load_texture(
            "feature-map-image",
            ColorImage::from_rgb([shape.width, shape.height], &rgb),
            TextureOptions::NEAREST,
        ));
        self.maps = stack_views::feature_maps(stack, &x)
            .into_iter()
            .map(|layer| {
                let textures = if layer.shape.positions() == 1 {
                    let values: Vec<f32> = layer.maps.iter().map(|m| m[0]).collect();
                    vec![texture(
                        ui,
                        format!("units-{}", layer.layer),
                        &stack_views::grey_picture(&values, 1, values.len(), layer.range),
                    )]
                } else {
                    layer
                        .maps
                        .iter()
                        .take(MAX_MAPS)
                        .enumerate()
                        .map(|(c, m)| {
                            texture(
                                ui,
                                format!("map-{}-{c}", layer.layer),
                                &stack_views::grey_picture(
                                    m,
                                    layer.shape.h,
                                    layer.shape.w,
                                    layer.range,
                                ),
                            )
                        })
                        .collect()
                };
                (layer, textures)
            })
            .collect();
    }
}

/// The `k` classes with the highest softmax probability of the class scores `scores`.
fn top_classes(scores: &LayerMaps, k: usize) -> Vec<(usize, f32)> {
    let s: Vec<f32> = scores.maps.iter().map(|m| m[0]).collect();
    let max = s.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = s.iter().map(|v| (v - max).exp()).collect();
    let total: f32 = exp.iter().sum();
    let mut p: Vec<(usize, f32)> = exp.iter().map(|e| e / total).enumerate().collect();
    p.sort_by(|a, b| b.1.total_cmp(&a.1));
    p.truncate(k);
    p
}

/// One convolution's filters: its name and weight range, then the pictures.
fn filters_row(ui: &mut Ui, layer: &LayerFilters, textures: &[TextureHandle]) {
    let count = layer.pictures.len().min(MAX_FILTERS);
    let shown = if count < layer.pictures.len() {
        format!(", first {count} of {}", layer.pictures.len())
    } else {
        String::new()
    };
    let what = if layer.channels == 3 {
        "colour: the image's RGB".to_string()
    } else {
        format!("a grey tile per input channel of {}", layer.channels)
    };
    ui.label(format!(
        "Layer {}: {} — {}×{} filters, {what}{shown}",
        layer.layer + 1,
        layer.name,
        layer.size,
        layer.size
    ));
    if layer.channels != 3 {
        filter_sheet_image(ui, layer, textures, count);
        ui.add_space(6.0);
        return;
    }
    ui.horizontal_wrapped(|ui| {
        for (i, tex) in textures.iter().enumerate() {
            let p = &layer.pictures[i];
            // Tiles of a few pixels are enlarged, nearest neighbour, to at least 40 points
            // high, and no wider than the panel.
            let scale = (40.0 / p.height.max(1) as f32)
                .max(1.0)
                .min(ui.available_width().max(40.0) / p.width.max(1) as f32);
            let (lo, hi) = layer.ranges[i];
            ui.image((
                tex.id(),
                egui::vec2(p.width as f32 * scale, p.height as f32 * scale),
            ))
            .on_hover_text(format!("filter {}: weights {lo:.3} … {hi:.3}", i + 1));
        }
    });
    ui.add_space(6.0);
}

/// A deeper layer's filters as one sheet (a row per filter, a column of tiles per input
/// channel), enlarged to fit the panel; hovering says which filter and channel.
fn filter_sheet_image(ui: &mut Ui, layer: &LayerFilters, textures: &[TextureHandle], count: usize) {
    let Some(tex) = textures.first() else {
        return;
    };
    let [w, h] = tex.size();
    let scale = (ui.available_width() / w.max(1) as f32).clamp(1.0, 12.0);
    ui.weak(format!(
        "rows: filters 1–{count}; columns: input channels 1–{}; each filter scaled on its own",
        layer.channels
    ));
    let response = ui
        .image((tex.id(), egui::vec2(w as f32 * scale, h as f32 * scale)))
        .interact(egui::Sense::hover());
    if let Some(pos) = response.hover_pos() {
        let rel = (pos - response.rect.min) / scale;
        let step = (layer.size + 1) as f32;
        let filter = ((rel.y / step) as usize).min(count.saturating_sub(1));
        let channel = ((rel.x / step) as usize).min(layer.channels.saturating_sub(1));
        let (lo, hi) = layer.ranges[filter];
        response.on_hover_text(format!(
            "filter {}, input channel {}: the filter's weights {lo:.3} … {hi:.3}",
            filter + 1,
            channel + 1
        ));
    }
}

/// One layer's maps of the image: name, shape and range, then the maps; hovering one says
/// the value under the mouse, and the unit's class when `classes` names the units.
fn maps_row(
    ui: &mut Ui,
    layer: &LayerMaps,
    textures: &[TextureHandle],
    classes: Option<&[String]>,
) {
    let (lo, hi) = layer.range;
    let shown = if layer.shape.positions() > 1 && layer.maps.len() > textures.len() {
        format!(" (first {} of {} maps)", textures.len(), layer.maps.len())
    } else {
        String::new()
    };
    ui.label(format!(
        "{}. {} → {}, values {lo:.3} … {hi:.3}{shown}",
        layer.layer + 1,
        layer.name,
        layer.shape
    ));
    let flat = layer.shape.positions() == 1;
    ui.horizontal_wrapped(|ui| {
        for (c, tex) in textures.iter().enumerate() {
            let (h, w) = if flat {
                (1, layer.maps.len())
            } else {
                (layer.shape.h, layer.shape.w)
            };
            let size = if flat {
                // Units at least 6 points wide, up to 24 when few (the class scores).
                let unit = (ui.available_width() / w.max(1) as f32).clamp(6.0, 24.0);
                egui::vec2((w as f32 * unit).min(ui.available_width()), 12.0)
            } else {
                let side = (4.0 * w as f32).clamp(48.0, 96.0);
                egui::vec2(side, side * h as f32 / w as f32)
            };
            let response = ui.image((tex.id(), size)).interact(egui::Sense::hover());
            if let Some(pos) = response.hover_pos() {
                let rel = (pos - response.rect.min) / response.rect.size();
                let col = ((rel.x * w as f32) as usize).min(w.saturating_sub(1));
                let row = ((rel.y * h as f32) as usize).min(h.saturating_sub(1));
                let text = if flat {
                    match classes.and_then(|names| names.get(col)) {
                        Some(class) => format!("score of {class}: {:.4}", layer.maps[col][0]),
                        None => format!("unit {}: {:.4}", col + 1, layer.maps[col][0]),
                    }
                } else {
                    format!(
                        "map {}, row {}, column {}: {:.4}",
                        c + 1,
                        row + 1,
                        col + 1,
                        layer.maps[c][row * w + col]
                    )
                };
                response.on_hover_text(text);
            }
        }
    });
    ui.add_space(4.0);
}

/// The side of a filter tile in the Training tab's strip of `n` filters, `width` points
/// wide: one row when they fit at 24 points or more, never over 96.
fn strip_tile(width: f32, n: usize) -> f32 {
    ((width / n.max(1) as f32) - 8.0).clamp(24.0, 96.0)
}
