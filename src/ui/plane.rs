//! The playground's views of a run on points in the plane: the Plane tab (the prediction
//! over the plane as a live heatmap, the points over it, clicks that add or remove points)
//! and the Network tab (every unit's output over the plane as a small map, links as thick
//! as their weights, hover to read a weight or a bias). The maps come from
//! [`crate::train::plane`]; this file only draws them.

use std::sync::Arc;

use egui::{
    Align2, Color32, ColorImage, FontId, Pos2, Rect, Sense, Stroke, TextureHandle, Ui, vec2,
};

use super::history::RunHistory;
use crate::data::plane::{EXTENT, Feature, PlanePoint, PlanePoints};
use crate::data::{DataRequest, Normalizer};
use crate::model::Network;
use crate::report::plane::{class_rgb, confidence_rgb, diverging_rgb, toward_white};
use crate::train::TrainConfig;
use crate::train::config as settings;
use crate::train::plane::{PlaneMaps, maps};

/// Cells per side of the Plane tab's heatmap.
const HEAT_SIDE: usize = 100;
/// Cells per side of each unit's map in the Network tab.
const UNIT_SIDE: usize = 32;
/// How near (in screen points) a click with the remove modifier must be to a point.
const REMOVE_RADIUS: f32 = 12.0;

/// The run's points and normaliser, made again from its data settings (deterministic, so
/// they are the points it trains on).
struct PlaneData {
    request: DataRequest,
    points: PlanePoints,
    norm: Normalizer,
    features: Vec<Feature>,
}

/// What a click in the plane asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum PlaneEdit {
    /// Add this point to the training set.
    Add(PlanePoint),
    /// Remove the hand-added point at this index of `added_points`.
    Remove(usize),
}

/// State of the Plane and Network tabs.
pub struct PlanePanel {
    /// The class a plain click adds (shift-click adds the next one).
    pub class: u8,
    /// Show hard regions only: the predicted class at full colour, no shading by confidence.
    pub hard: bool,
    /// Draw the test points too.
    pub show_test: bool,
    data: Option<PlaneData>,
    heat: Option<TextureHandle>,
    units: Vec<TextureHandle>,
    /// (run, weights version) the textures show.
    version: (u64, u64),
    maps: Option<(PlaneMaps, PlaneMaps)>,
    /// Where the plane was drawn in the last frame (for tests that click in it).
    rect: Option<Rect>,
    /// The `hard` choice the heatmap's texture was made with.
    heat_hard: bool,
    /// What the Network tab shows.
    pub network_view: NetworkView,
    /// The warped-grid view's layer and units.
    pub warp: super::warp::WarpPanel,
    meter: ViewMeter,
}

/// Counts the frames the Plane and Network tabs draw, how often their maps are remade
/// (new weights) and the training steps meanwhile, and logs the rates every ten seconds
/// (`RUST_LOG=trainviz=info`): the playground's frame rate and speed, measured in place.
#[derive(Debug, Default)]
struct ViewMeter {
    /// When the period began, and the run and step then.
    since: Option<(std::time::Instant, u64, usize)>,
    frames: u32,
    remade: u32,
}

impl ViewMeter {
    const PERIOD: std::time::Duration = std::time::Duration::from_secs(10);

    /// Counts a frame of `view`; logs at the end of a period.
    fn frame(&mut self, view: &str, history: &RunHistory) {
        let now = std::time::Instant::now();
        let (since, run, step) = *self.since.get_or_insert((now, history.run, history.step));
        self.frames += 1;
        let secs = now.duration_since(since).as_secs_f64();
        if secs < Self::PERIOD.as_secs_f64() {
            return;
        }
        // Steps count only within one run (a new run starts again from 0).
        let steps = if history.run == run {
            history.step.saturating_sub(step) as f64 / secs
        } else {
            f64::NAN
        };
        log::info!(
            "playground: {view} tab {:.1} frames a second, its maps remade {:.1} times a \
             second; training {steps:.0} steps a second ({:.0} points a second)",
            f64::from(self.frames) / secs,
            f64::from(self.remade) / secs,
            history.images_per_sec,
        );
        *self = ViewMeter {
            since: Some((now, history.run, history.step)),
            ..ViewMeter::default()
        };
    }
}

/// The Network tab's two views.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NetworkView {
    /// Every unit's map and the links between them.
    #[default]
    Units,
    /// How a layer maps the plane's grid (ConvNetJS).
    Warp,
}

impl Default for PlanePanel {
    fn default() -> Self {
        PlanePanel {
            class: 0,
            hard: false,
            show_test: true,
            data: None,
            heat: None,
            units: Vec::new(),
            version: (u64::MAX, 0),
            maps: None,
            rect: None,
            heat_hard: false,
            meter: ViewMeter::default(),
            network_view: NetworkView::default(),
            warp: super::warp::WarpPanel::default(),
        }
    }
}

fn colour(c: [u8; 3]) -> Color32 {
    Color32::from_rgb(c[0], c[1], c[2])
}

/// The screen position of plane point `p` in `rect` (the square [−6, 6]²).
fn to_screen(rect: Rect, p: [f32; 2]) -> Pos2 {
    let u = (p[0] + EXTENT) / (2.0 * EXTENT);
    let v = (EXTENT - p[1]) / (2.0 * EXTENT);
    rect.min + vec2(u * rect.width(), v * rect.height())
}

/// The plane point under screen position `pos` in `rect`.
pub fn to_plane(rect: Rect, pos: Pos2) -> [f32; 2] {
    let u = (pos.x - rect.min.x) / rect.width();
    let v = (pos.y - rect.min.y) / rect.height();
    [-EXTENT + u * 2.0 * EXTENT, EXTENT - v * 2.0 * EXTENT]
}

impl PlanePanel {
    /// Where the plane was drawn in the last frame, if it was.
    pub fn plane_rect(&self) -> Option<Rect> {
        self.rect
    }

    /// Makes the run's points again when its data settings changed; false when the run is
    /// not on data in the plane.
    fn refresh_data(&mut self, config: &TrainConfig) -> bool {
        let Some(kind) = config.dataset.plane() else {
            self.data = None;
            return false;
        };
        let request = config.data_request();
        if self.data.as_ref().is_some_and(|d| d.request == request) {
            return true;
        }
        self.data = request.plane.points(kind, config.seed).ok().map(|points| {
            let splits = points.to_splits(&config.features);
            PlaneData {
                norm: Normalizer::fit(&splits.train, config.preprocess),
                features: config.features.clone(),
                points,
                request,
            }
        });
        self.version = (u64::MAX, 0);
        self.data.is_some()
    }

    /// Recomputes the maps and textures when new weights arrived.
    fn refresh_maps(&mut self, ui: &Ui, history: &RunHistory, net: &Arc<Network<f32>>) {
        let version = (history.run, history.network_version);
        let Some(data) = &self.data else { return };
        let loss = history
            .live()
            .map_or(crate::model::LossKind::Ce, |l| l.loss);
        if version == self.version && self.maps.is_some() {
            return;
        }
        self.version = version;
        self.meter.remade += 1;
        let (Some(heat), Some(units)) = (
            maps(net, &data.norm, &data.features, loss, HEAT_SIDE),
            maps(net, &data.norm, &data.features, loss, UNIT_SIDE),
        ) else {
            self.maps = None;
            return;
        };
        let image = self.heat_image(&heat);
        self.heat_hard = self.hard;
        match &mut self.heat {
            Some(h) => h.set(image, egui::TextureOptions::LINEAR),
            None => {
                self.heat = Some(ui.ctx().load_texture(
                    "plane-heat",
                    image,
                    egui::TextureOptions::LINEAR,
                ));
            }
        }
        let images = unit_images(&units, &data.features);
        let old = std::mem::take(&mut self.units);
        self.units = images
            .into_iter()
            .enumerate()
            .map(|(i, img)| match old.get(i) {
                Some(h) => {
                    let mut h = h.clone();
                    h.set(img, egui::TextureOptions::LINEAR);
                    h
                }
                None => ui.ctx().load_texture(
                    format!("plane-unit-{i}"),
                    img,
                    egui::TextureOptions::LINEAR,
                ),
            })
            .collect();
        self.maps = Some((heat, units));
    }

    fn heat_image(&self, m: &PlaneMaps) -> ColorImage {
        let rgb: Vec<u8> = (0..m.side * m.side)
            .flat_map(|i| {
                let (k, p) = m.predicted(i);
                if self.hard {
                    toward_white(class_rgb(k), 0.75)
                } else {
                    confidence_rgb(k, p, m.classes)
                }
            })
            .collect();
        ColorImage::from_rgb([m.side, m.side], &rgb)
    }

    /// The Plane tab. `edited` is the settings being edited: a click adds its point there
    /// (or removes one); returns true when the run should restart with the new points.
    pub fn plane_ui(
        &mut self,
        ui: &mut Ui,
        history: &RunHistory,
        edited: &mut TrainConfig,
    ) -> bool {
        self.rect = None;
        let Some(info) = &history.info else {
            ui.label("The plane appears when a run is ready.");
            return false;
        };
        if !self.refresh_data(&info.settings.start) {
            playground_hint(ui);
            return false;
        }
        if let Some(net) = &history.network {
            let net = net.clone();
            self.refresh_maps(ui, history, &net);
        }
        self.meter.frame("Plane", history);
        if self.data.is_none() {
            return false;
        }
        let classes = info.class_names.len().max(1);
        self.class = self.class.min(classes as u8 - 1);
        self.plane_controls(ui, &info.class_names);
        self.sync_heat_choice();
        let (whole, rect) = plane_area(ui);
        let response = ui.interact(rect, ui.scope_id().with("plane"), Sense::click());
        let painter = ui.painter_at(whole);
        self.rect = Some(rect);
        draw_axes(&painter, rect, ui.visuals().text_color());
        // Points clicked in since the run started, not yet trained on.
        let trained = info.settings.start.added_points.len();
        let pending = edited.added_points.get(trained..).unwrap_or(&[]);
        self.paint_plane(&painter, rect, pending);
        if let Some(pos) = response.hover_pos() {
            self.paint_readout(&painter, rect, pos, &info.class_names);
        }
        let edit = response
            .clicked()
            .then(|| response.interact_pointer_pos())
            .flatten()
            .and_then(|pos| {
                let mods = released_modifiers(ui);
                click_edit(rect, pos, mods, self.class, classes, &edited.added_points)
            });
        match edit {
            Some(PlaneEdit::Add(p)) => {
                edited.added_points.push(p);
                true
            }
            Some(PlaneEdit::Remove(i)) => {
                edited.added_points.remove(i);
                true
            }
            None => false,
        }
    }

    /// The Plane tab's row of choices: the class a click adds, hard regions, test points;
    /// and the line saying what clicks do.
    fn plane_controls(&mut self, ui: &mut Ui, class_names: &[String]) {
        ui.horizontal_wrapped(|ui| {
            ui.label("click adds");
            for (k, name) in class_names.iter().enumerate() {
                let text = egui::RichText::new(name).color(colour(class_rgb(k)));
                ui.selectable_value(&mut self.class, k as u8, text);
            }
            ui.separator();
            ui.checkbox(&mut self.hard, "hard regions only")
                .on_hover_text("The predicted class in full colour, without shading by confidence");
            ui.checkbox(&mut self.show_test, "test points");
        });
        ui.label(
            egui::RichText::new(
                "Click: add a point of the chosen class · Shift-click: the next class · \
                 Alt-click: remove a point you added · the run restarts with the new points",
            )
            .weak(),
        );
    }

    /// Remakes the heatmap's texture when "hard regions only" changed since it was made.
    fn sync_heat_choice(&mut self) {
        if self.hard == self.heat_hard {
            return;
        }
        self.heat_hard = self.hard;
        if let Some((heat, _)) = &self.maps {
            let image = self.heat_image(heat);
            if let Some(h) = &mut self.heat {
                h.set(image, egui::TextureOptions::LINEAR);
            }
        }
    }

    /// Paints the plane in `rect`: the heatmap (grey before there are weights), the axes
    /// through the origin, the training points, the test points when shown, the `pending`
    /// points (added by hand, not yet trained on) as rings, and a frame.
    fn paint_plane(&self, painter: &egui::Painter, rect: Rect, pending: &[PlanePoint]) {
        let Some(data) = &self.data else { return };
        match &self.heat {
            Some(tex) => {
                painter.image(
                    tex.id(),
                    rect,
                    Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0)),
                    Color32::WHITE,
                );
            }
            None => {
                painter.rect_filled(rect, 0.0, Color32::from_gray(235));
            }
        }
        for axis in [[-EXTENT, 0.0, EXTENT, 0.0], [0.0, -EXTENT, 0.0, EXTENT]] {
            painter.line_segment(
                [
                    to_screen(rect, [axis[0], axis[1]]),
                    to_screen(rect, [axis[2], axis[3]]),
                ],
                Stroke::new(1.0, Color32::from_black_alpha(60)),
            );
        }
        let radius = (rect.width() / 160.0).clamp(2.5, 6.0);
        for p in &data.points.train {
            painter.circle(
                to_screen(rect, p.x),
                radius,
                colour(class_rgb(usize::from(p.label))),
                Stroke::new(1.0, Color32::from_gray(30)),
            );
        }
        if self.show_test {
            for p in &data.points.test {
                painter.circle(
                    to_screen(rect, p.x),
                    radius,
                    Color32::WHITE,
                    Stroke::new(2.0, colour(class_rgb(usize::from(p.label)))),
                );
            }
        }
        for p in pending {
            painter.circle_stroke(
                to_screen(rect, p.x),
                radius + 2.0,
                Stroke::new(2.0, colour(class_rgb(usize::from(p.label)))),
            );
        }
        painter.rect_stroke(
            rect,
            0.0,
            Stroke::new(1.0, Color32::from_gray(80)),
            egui::StrokeKind::Inside,
        );
    }

    /// Writes, in the plane's corner, the point under the pointer at `pos` and the class
    /// predicted there with its probability.
    fn paint_readout(
        &self,
        painter: &egui::Painter,
        rect: Rect,
        pos: Pos2,
        class_names: &[String],
    ) {
        let [a, b] = to_plane(rect, pos);
        let mut text = format!("x₁ {a:.2}, x₂ {b:.2}");
        if let Some((heat, _)) = &self.maps {
            let col = (((a + EXTENT) / (2.0 * EXTENT)) * heat.side as f32) as usize;
            let row = (((EXTENT - b) / (2.0 * EXTENT)) * heat.side as f32) as usize;
            let i = row.min(heat.side - 1) * heat.side + col.min(heat.side - 1);
            let (k, p) = heat.predicted(i);
            let name = class_names.get(k).map_or("?", String::as_str);
            text.push_str(&format!(" · {name} {:.0} %", 100.0 * p));
        }
        painter.text(
            rect.left_top() + vec2(6.0, 6.0),
            Align2::LEFT_TOP,
            text,
            FontId::proportional(13.0),
            Color32::BLACK,
        );
    }

    /// The Network tab.
    pub fn network_ui(&mut self, ui: &mut Ui, history: &RunHistory) {
        let (Some(info), Some(net)) = (&history.info, &history.network) else {
            ui.label("The network appears when a run is ready.");
            return;
        };
        if !self.refresh_data(&info.settings.start) {
            playground_hint(ui);
            return;
        }
        let net = net.clone();
        self.meter.frame("Network", history);
        self.network_view_choice(ui);
        if self.network_view == NetworkView::Warp {
            let Some(data) = &self.data else { return };
            let loss = history
                .live()
                .map_or(crate::model::LossKind::Ce, |l| l.loss);
            let input = super::warp::WarpInput {
                version: (history.run, history.network_version),
                net: &net,
                norm: &data.norm,
                features: &data.features,
                loss,
                train: &data.points.train,
                class_names: &info.class_names,
            };
            self.warp.ui(ui, &input);
            return;
        }
        self.refresh_maps(ui, history, &net);
        let Some(data) = &self.data else { return };
        ui.label(
            egui::RichText::new(
                "Each unit's output over the plane (orange negative, blue positive); links as \
                 thick as |w|, blue positive, orange negative. Hover a link for its weight, a \
                 unit for its bias.",
            )
            .weak(),
        );
        super::unit_links::draw(ui, &net, &data.features, &info.class_names, &self.units);
    }

    /// The Network tab's choice between its two views.
    fn network_view_choice(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            ui.selectable_value(
                &mut self.network_view,
                NetworkView::Units,
                "Units and links",
            )
            .on_hover_text("Every unit's output over the plane and the weights between them");
            ui.selectable_value(
                &mut self.network_view,
                NetworkView::Warp,
                "How a layer maps the plane",
            )
            .on_hover_text(
                "ConvNetJS's view: the plane's grid and the points at two units' outputs",
            );
        });
    }
}

/// Takes room for the plane as big as fits (at least 200 points a side), with room left of
/// and below it for the axes' numbers and names; returns the whole area and the plane's
/// square within it.
fn plane_area(ui: &mut Ui) -> (Rect, Rect) {
    // Room left of and below the plane for the axes' numbers and names.
    // (above and right: half a number's height and width stick out past the corners).
    let (left, below, above, right) = (44.0, 34.0, 8.0, 10.0);
    let side = (ui.available_width() - left - right)
        .min(ui.available_height() - below - above - 6.0)
        .max(200.0);
    let (whole, _) = ui.allocate_exact_size(
        vec2(side + left + right, side + below + above),
        Sense::hover(),
    );
    let rect = Rect::from_min_size(whole.min + vec2(left, above), vec2(side, side));
    (whole, rect)
}

/// The modifiers the pointer button was released with (held keys as the click ended),
/// else those held now.
fn released_modifiers(ui: &Ui) -> egui::Modifiers {
    ui.input(|i| {
        i.events
            .iter()
            .rev()
            .find_map(|e| match e {
                egui::Event::PointerButton {
                    pressed: false,
                    modifiers,
                    ..
                } => Some(*modifiers),
                _ => None,
            })
            .unwrap_or(i.modifiers)
    })
}

/// What a click at `pos` in the plane drawn in `rect` does: with Alt (or the command key)
/// it removes the nearest hand-added point within reach, with Shift it adds a point of the
/// class after `class`, plain it adds one of `class`.
pub fn click_edit(
    rect: Rect,
    pos: Pos2,
    mods: egui::Modifiers,
    class: u8,
    classes: usize,
    added: &[PlanePoint],
) -> Option<PlaneEdit> {
    if mods.alt || mods.command {
        return added
            .iter()
            .enumerate()
            .map(|(i, p)| (i, to_screen(rect, p.x).distance(pos)))
            .filter(|(_, d)| *d <= REMOVE_RADIUS)
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(i, _)| PlaneEdit::Remove(i));
    }
    let classes = classes.max(1) as u8;
    let label = if mods.shift {
        (class + 1) % classes
    } else {
        class % classes
    };
    Some(PlaneEdit::Add(PlanePoint {
        x: to_plane(rect, pos),
        label,
    }))
}

/// The plane's axes: numbers every 2 (every 1 when there is room) below and left of
/// `rect`, the axes' names beside them.
fn draw_axes(painter: &egui::Painter, rect: Rect, text: Color32) {
    let step = if rect.width() >= 560.0 { 1 } else { 2 };
    let font = FontId::proportional(13.0);
    let tick = Stroke::new(1.0, text);
    for v in (-6..=6).step_by(step) {
        let at = v as f32;
        let x = to_screen(rect, [at, 0.0]).x;
        let y = to_screen(rect, [0.0, at]).y;
        painter.line_segment(
            [Pos2::new(x, rect.max.y), Pos2::new(x, rect.max.y + 4.0)],
            tick,
        );
        painter.line_segment(
            [Pos2::new(rect.min.x - 4.0, y), Pos2::new(rect.min.x, y)],
            tick,
        );
        let label = if v < 0 {
            format!("−{}", -v)
        } else {
            v.to_string()
        };
        painter.text(
            Pos2::new(x, rect.max.y + 5.0),
            Align2::CENTER_TOP,
            &label,
            font.clone(),
            text,
        );
        painter.text(
            Pos2::new(rect.min.x - 6.0, y),
            Align2::RIGHT_CENTER,
            label,
            font.clone(),
            text,
        );
    }
    painter.text(
        Pos2::new(rect.center().x, rect.max.y + 20.0),
        Align2::CENTER_TOP,
        "x₁",
        FontId::proportional(14.0),
        text,
    );
    painter.text(
        Pos2::new(rect.min.x - 30.0, rect.min.y + 2.0),
        Align2::RIGHT_TOP,
        "x₂",
        FontId::proportional(14.0),
        text,
    );
}

/// The units' maps as images, in the order the Network tab draws them: inputs, each
/// hidden layer's units, then the classes.
fn unit_images(m: &PlaneMaps, features: &[Feature]) -> Vec<ColorImage> {
    let scaled = |v: &[f32]| {
        let top = v.iter().fold(0f32, |a, x| a.max(x.abs()));
        let rgb: Vec<u8> = v
            .iter()
            .flat_map(|x| diverging_rgb(if top > 0.0 { x / top } else { 0.0 }))
            .collect();
        ColorImage::from_rgb([m.side, m.side], &rgb)
    };
    let mut out: Vec<ColorImage> = m
        .inputs
        .iter()
        .take(features.len())
        .map(|v| scaled(v))
        .collect();
    for layer in m.layers.iter().take(m.layers.len().saturating_sub(1)) {
        out.extend(layer.iter().map(|v| scaled(v)));
    }
    for k in 0..m.classes {
        let rgb: Vec<u8> = (0..m.side * m.side)
            .flat_map(|i| toward_white(class_rgb(k), m.probs[i * m.classes + k]))
            .collect();
        out.push(ColorImage::from_rgb([m.side, m.side], &rgb));
    }
    out
}

/// The way in when the run is not on data in the plane.
fn playground_hint(ui: &mut Ui) {
    ui.label(
        "This view shows runs on points in the plane. Choose a data set \"Plane: …\" in the \
         settings' Data section, or a playground preset (e.g. \"Spiral, two classes, 2 × 8 \
         tanh\"), then Reset.",
    );
}

/// The data settings of a data set in the plane, for the settings panel.
pub fn data_controls(ui: &mut Ui, edited: &mut TrainConfig) {
    super::field::setting_field(
        ui,
        &mut edited.points,
        &settings::POINTS,
        super::field::no_extra_check,
    );
    super::field::setting_field(
        ui,
        &mut edited.noise,
        &settings::NOISE,
        super::field::no_extra_check,
    );
    super::field::setting_field(
        ui,
        &mut edited.test_share,
        &settings::TEST_SHARE,
        super::field::no_extra_check,
    );
    super::field::setting_field(
        ui,
        &mut edited.classes,
        &settings::CLASSES,
        super::field::no_extra_check,
    );
    ui.horizontal_wrapped(|ui| {
        ui.label("inputs:").on_hover_text(
            "The features the network sees, computed from each point (x₁, x₂); at least one.",
        );
        for f in Feature::ALL {
            let mut on = edited.features.contains(&f);
            if ui.checkbox(&mut on, f.label()).changed() {
                if on {
                    edited.features.push(f);
                    // Keep the inputs in one order, whatever order they were switched on.
                    edited
                        .features
                        .sort_by_key(|g| Feature::ALL.iter().position(|h| h == g));
                } else if edited.features.len() > 1 {
                    edited.features.retain(|g| *g != f);
                }
            }
        }
    });
    if !edited.added_points.is_empty() {
        ui.horizontal(|ui| {
            ui.label(format!(
                "{} points added by hand",
                edited.added_points.len()
            ));
            if ui.small_button("Clear").clicked() {
                edited.added_points.clear();
            }
        });
    }
    super::field::setting_field(
        ui,
        &mut edited.l1,
        &settings::L1,
        super::field::no_extra_check,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clicks_map_to_the_plane_and_modifiers_choose_what_they_do() {
        let rect = Rect::from_min_size(Pos2::new(10.0, 10.0), vec2(120.0, 120.0));
        let centre = to_plane(rect, rect.center());
        assert!(centre[0].abs() < 1e-5 && centre[1].abs() < 1e-5);
        let top_left = to_plane(rect, rect.min);
        assert_eq!(top_left, [-EXTENT, EXTENT]);
        let plain = click_edit(rect, rect.center(), egui::Modifiers::NONE, 1, 3, &[]);
        assert!(matches!(plain, Some(PlaneEdit::Add(p)) if p.label == 1));
        let shift = click_edit(rect, rect.center(), egui::Modifiers::SHIFT, 2, 3, &[]);
        assert!(matches!(shift, Some(PlaneEdit::Add(p)) if p.label == 0));
        let added = [PlanePoint {
            x: [0.1, 0.0],
            label: 0,
        }];
        let remove = click_edit(rect, rect.center(), egui::Modifiers::ALT, 0, 3, &added);
        assert_eq!(remove, Some(PlaneEdit::Remove(0)));
        let far = click_edit(rect, rect.min, egui::Modifiers::ALT, 0, 3, &added);
        assert_eq!(far, None);
    }
}
