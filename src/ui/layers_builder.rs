//! The network builder: a layer stack (`--layers`) as editable rows — pick each layer's kind
//! and size, add, remove and reorder — with each layer's output shape, parameters and
//! multiply-adds per image beside it, and a layer that does not fit its input explained at
//! its own row. The text the command line takes stays the one source of truth: the builder
//! reads it every frame and writes it back when a row changes.

use egui::{Color32, DragValue, RichText, Ui};

use crate::model::layers::{self, LayerInfo, LayerSpec, LayersError, Shape};

/// The kinds a row can be, in menu order, each with the layer a new row of that kind starts
/// as and what it does, in words.
const KINDS: [(LayerSpec, &str); 10] = [
    (
        LayerSpec::Patchify { f: 4, n: 10 },
        "patchify: F×F filters with stride F, no overlap (the assignment's first layer)",
    ),
    (
        LayerSpec::Conv { k: 3, n: 32 },
        "convolution: K×K filters, stride 1, zero padding that keeps the size",
    ),
    (
        LayerSpec::Pool { size: 2 },
        "2×2 max pooling: halves height and width",
    ),
    (
        LayerSpec::Dense { n: 50 },
        "dense: every unit sees every input",
    ),
    (LayerSpec::Relu, "ReLU: max(0, z)"),
    (LayerSpec::Tanh, "tanh"),
    (LayerSpec::Sigmoid, "sigmoid: 1/(1 + e^−z)"),
    (
        LayerSpec::Bn,
        "batch normalisation: per channel after a convolution, per unit after a dense layer",
    ),
    (
        LayerSpec::Dropout { p: 0.5 },
        "dropout: drops each output with probability P while training",
    ),
    (
        LayerSpec::Flatten,
        "flatten: the maps as one vector (dense layers do this anyway)",
    ),
];

/// The kind's word in the menu (the grammar's first word).
fn kind_word(spec: &LayerSpec) -> &'static str {
    match spec {
        LayerSpec::Patchify { .. } => "patchify",
        LayerSpec::Conv { .. } => "conv",
        LayerSpec::Pool { .. } => "pool",
        LayerSpec::Flatten => "flatten",
        LayerSpec::Dense { .. } => "dense",
        LayerSpec::Relu => "relu",
        LayerSpec::Tanh => "tanh",
        LayerSpec::Sigmoid => "sigmoid",
        LayerSpec::Bn => "bn",
        LayerSpec::Dropout { .. } => "dropout",
    }
}

/// What happened to the list in this frame.
enum Edit {
    /// Replace row `i` with this layer.
    Set(usize, LayerSpec),
    /// Swap rows `i` and `i + 1`.
    SwapDown(usize),
    /// Remove row `i`.
    Remove(usize),
    /// Add a layer at the end.
    Push(LayerSpec),
}

/// Each row's description, up to the first layer that does not fit (`Err` holds that
/// layer's index from 0 and why), and the implied output layer when all fit.
pub struct Described {
    /// Rows that fit, in order.
    pub rows: Vec<LayerInfo>,
    /// The first row that does not fit: (index from 0, the message).
    pub misfit: Option<(usize, String)>,
    /// The output layer to the classes, when every row fits.
    pub output: Option<LayerInfo>,
}

/// Describes `specs` row by row for images of shape `input` and `classes` classes.
pub fn describe_rows(specs: &[LayerSpec], input: Shape, classes: usize) -> Described {
    let mut rows = Vec::with_capacity(specs.len());
    let mut shape = input;
    for (i, &spec) in specs.iter().enumerate() {
        match layers::layer_info(i + 1, spec, shape) {
            Ok(info) => {
                shape = info.output;
                rows.push(info);
            }
            Err(e) => {
                let message = match e {
                    LayersError::Shape { message, input, .. } => {
                        format!("does not fit its input {input}: {message}")
                    }
                    LayersError::Syntax { message, .. } => message,
                };
                return Described {
                    rows,
                    misfit: Some((i, message)),
                    output: None,
                };
            }
        }
    }
    let output = layers::layer_info(specs.len() + 1, LayerSpec::Dense { n: classes }, shape)
        .ok()
        .map(|mut o| {
            o.name = format!("output {classes}");
            o
        });
    Described {
        rows,
        misfit: None,
        output,
    }
}

/// Draws the builder for the stack `text` (images of shape `input`, `classes` classes) and
/// writes an edited stack back into `text`; true when it did. A text that does not parse
/// draws no rows (the text field above says why) and is left alone.
pub fn ui(ui: &mut Ui, text: &mut String, input: Shape, classes: usize) -> bool {
    let Ok(mut specs) = layers::parse(text) else {
        return false;
    };
    let described = describe_rows(&specs, input, classes);
    let mut edit = None;
    // An edit that would not fit is not applied (the settings keep a network that trains);
    // why stays above the rows until an edit fits.
    let refusal_id = ui.scope_id().with("layers_builder_refused");
    if let Some(why) = ui.data(|d| d.get_temp::<String>(refusal_id)) {
        ui.add(egui::Label::new(RichText::new(why).color(ui.visuals().error_fg_color)).wrap());
    }
    ui.weak(format!("input {input}"));
    for (i, spec) in specs.iter().enumerate() {
        if let Some(e) = row(ui, i, spec, specs.len()) {
            edit = Some(e);
        }
        // What the layer makes, on a line of its own so the panel stays narrow.
        ui.indent(("layer_info", i), |ui| match (described.rows.get(i), &described.misfit) {
            (Some(info), _) => {
                ui.weak(info_line(info))
                    .on_hover_text("output: height × width × channels, or units; multiply-adds per image, forward pass");
            }
            (None, Some((bad, message))) if *bad == i => {
                ui.add(
                    egui::Label::new(
                        RichText::new(message.as_str()).color(ui.visuals().error_fg_color),
                    )
                    .wrap(),
                );
            }
            _ => {
                ui.label(RichText::new("not worked out: a layer above does not fit").color(Color32::GRAY));
            }
        });
    }
    if let Some(out) = &described.output {
        ui.label(format!("{} (implied)", out.name))
            .on_hover_text("the last layer, to the classes, is always there");
        ui.indent("layer_info_output", |ui| ui.weak(info_line(out)));
        let (params, adds) = described
            .rows
            .iter()
            .chain(std::iter::once(out))
            .fold((0, 0), |(p, a), l| (p + l.params, a + l.multiply_adds));
        ui.label(
            RichText::new(format!(
                "total: {} parameters, {} multiply-adds per image",
                thousands(params),
                thousands(adds)
            ))
            .strong(),
        )
        .on_hover_text("training costs about three times the multiply-adds");
    }
    ui.menu_button("+ add layer", |ui| {
        for (spec, help) in KINDS {
            if ui.button(spec.to_string()).on_hover_text(help).clicked() {
                edit = Some(Edit::Push(spec));
                ui.close();
            }
        }
    })
    .response
    .on_hover_text("add a layer before the output layer");
    let Some(edit) = edit else {
        return false;
    };
    match edit {
        Edit::Set(i, spec) => specs[i] = spec,
        Edit::SwapDown(i) => specs.swap(i, i + 1),
        Edit::Remove(i) => {
            specs.remove(i);
        }
        Edit::Push(spec) => specs.push(spec),
    }
    let after = describe_rows(&specs, input, classes);
    if let Some((bad, message)) = after.misfit.filter(|_| described.misfit.is_none()) {
        ui.data_mut(|d| {
            d.insert_temp(
                refusal_id,
                format!(
                    "Not applied: layer {} ({}) — {message}",
                    bad + 1,
                    specs[bad]
                ),
            );
        });
        return false;
    }
    ui.data_mut(|d| d.remove::<String>(refusal_id));
    *text = layers::to_text(&specs);
    true
}

/// One row: its number, kind menu, size fields and move/remove buttons, on one line.
fn row(ui: &mut Ui, i: usize, spec: &LayerSpec, count: usize) -> Option<Edit> {
    let mut edit = None;
    ui.horizontal(|ui| {
        ui.label(format!("{}.", i + 1));
        let menu = egui::ComboBox::from_id_salt(("layer_kind", i))
            .selected_text(kind_word(spec))
            .width(72.0)
            .show_ui(ui, |ui| {
                for (default, help) in KINDS {
                    let same = kind_word(&default) == kind_word(spec);
                    if ui
                        .selectable_label(same, kind_word(&default))
                        .on_hover_text(help)
                        .clicked()
                        && !same
                    {
                        edit = Some(Edit::Set(i, default));
                    }
                }
            });
        // A menu without a label of its own: screen readers (and tests) hear which row's it is.
        menu.response.widget_info(|| {
            egui::WidgetInfo::labeled(
                egui::Role::ComboBox,
                true,
                format!("kind of layer {}", i + 1),
            )
        });
        if let Some(changed) = sizes(ui, i, spec) {
            edit = Some(Edit::Set(i, changed));
        }
        if ui
            .add_enabled(i > 0, egui::Button::new("up").small())
            .on_hover_text("move this layer up")
            .clicked()
        {
            edit = Some(Edit::SwapDown(i - 1));
        }
        if ui
            .add_enabled(i + 1 < count, egui::Button::new("down").small())
            .on_hover_text("move this layer down")
            .clicked()
        {
            edit = Some(Edit::SwapDown(i));
        }
        if ui
            .add(egui::Button::new("×").small())
            .on_hover_text("remove this layer")
            .clicked()
        {
            edit = Some(Edit::Remove(i));
        }
    });
    edit
}

/// "16×16×32 · 416 parameters · 98,304 multiply-adds" for one layer.
fn info_line(info: &LayerInfo) -> String {
    format!(
        "output {} · {} parameters · {} multiply-adds",
        info.output,
        thousands(info.params),
        thousands(info.multiply_adds)
    )
}

/// The size fields of one layer (filter side and count, units, probability), or nothing for
/// a layer without sizes; the changed layer when a value changed.
fn sizes(ui: &mut Ui, i: usize, spec: &LayerSpec) -> Option<LayerSpec> {
    let count = |ui: &mut Ui, v: &mut usize, what: &str| {
        ui.add(DragValue::new(v).range(1..=4096).speed(0.2))
            .on_hover_text(what)
            .changed()
    };
    let mut new = *spec;
    let changed = ui
        .push_id(("layer_sizes", i), |ui| match &mut new {
            LayerSpec::Patchify { f, n } => {
                let a = count(ui, f, "filter side and stride F, in pixels");
                ui.label(":");
                a | count(ui, n, "number of filters N")
            }
            LayerSpec::Conv { k, n } => {
                let a = ui
                    .add(DragValue::new(k).range(1..=15).speed(0.1))
                    .on_hover_text("filter side K (odd, so padding keeps the size)")
                    .changed();
                ui.label(":");
                if a && k.is_multiple_of(2) {
                    *k += 1;
                }
                a | count(ui, n, "number of filters N")
            }
            LayerSpec::Dense { n } => count(ui, n, "units"),
            LayerSpec::Dropout { p } => ui
                .add(
                    DragValue::new(p)
                        .range(0.0..=0.9)
                        .speed(0.01)
                        .max_decimals(2),
                )
                .on_hover_text("probability of dropping an output while training")
                .changed(),
            _ => false,
        })
        .inner;
    changed.then_some(new)
}

/// `n` with thin spaces between thousands, as the tables write it.
fn thousands(n: usize) -> String {
    crate::report::figures::thousands(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use egui_kittest::Harness;
    use egui_kittest::kittest::Queryable;

    const CIFAR: Shape = Shape { h: 32, w: 32, c: 3 };

    /// The builder alone in a window, over the stack `text`.
    fn harness(text: &str) -> Harness<'static, String> {
        Harness::builder().with_size((900.0, 700.0)).build_ui_state(
            |frame: &mut Ui, text: &mut String| {
                let _changed: bool = super::ui(frame, text, CIFAR, 10);
            },
            text.to_string(),
        )
    }

    #[test]
    fn a_layer_that_does_not_fit_is_explained_at_its_row() {
        let text = "conv 3:8, pool 2, pool 2, pool 2, pool 2, pool 2, pool 2, relu";
        let d = describe_rows(&layers::parse(text).expect("parses"), CIFAR, 10);
        // 32 → 16 → 8 → 4 → 2 → 1: the sixth pool, row 7, meets 1×1.
        assert_eq!(d.rows.len(), 6);
        let (bad, message) = d.misfit.expect("a misfit");
        assert_eq!(bad, 6);
        assert!(message.contains("1×1×8"), "{message}");
        assert!(d.output.is_none());
        let h = harness(text);
        h.get_by_label_contains("does not fit its input 1×1×8");
        // The row after it is not worked out, and there is no output row.
        assert_eq!(
            h.query_all_by_label("not worked out: a layer above does not fit")
                .count(),
            1
        );
        assert!(h.query_by_label("output 10 (implied)").is_none());
    }

    #[test]
    fn the_assignments_nets_are_accepted_with_their_sizes() {
        for (text, params) in [
            ("patchify 4:10, relu, dense 50, relu", 490 + 32_050 + 510),
            ("patchify 2:3, relu, dense 50, relu", 39 + 38_450 + 510),
        ] {
            let d = describe_rows(&layers::parse(text).expect("parses"), CIFAR, 10);
            assert!(d.misfit.is_none());
            let total: usize = d.rows.iter().chain(&d.output).map(|l| l.params).sum();
            assert_eq!(total, params, "{text}");
            let h = harness(text);
            h.get_by_label("output 10 (implied)");
            h.get_by_label_contains(&format!("total: {} parameters", thousands(params)));
        }
    }

    #[test]
    fn adding_removing_and_moving_rows_rewrite_the_text() {
        let mut h = harness("patchify 4:10, relu");
        h.get_by_label("+ add layer").click();
        h.run();
        h.get_by_label("dense 50").click();
        h.run();
        assert_eq!(h.state(), "patchify 4:10, relu, dense 50");
        // Move the dense layer up above the ReLU.
        h.get_all_by_label("up")
            .nth(2)
            .expect("row 3's up button")
            .click();
        h.run();
        assert_eq!(h.state(), "patchify 4:10, dense 50, relu");
        h.get_all_by_label("×")
            .next()
            .expect("row 1's remove button")
            .click();
        h.run();
        assert_eq!(h.state(), "dense 50, relu");
    }

    #[test]
    fn an_edit_that_would_not_fit_is_refused_with_the_reason() {
        // 32 → 16 → 8 → 4 → 2 → 1: a sixth pool does not fit.
        let fits = "pool 2, pool 2, pool 2, pool 2, pool 2";
        let mut h = harness(fits);
        h.get_by_label("+ add layer").click();
        h.run();
        h.get_by_label("pool 2").click();
        h.run();
        assert_eq!(h.state(), fits, "the misfit was applied");
        h.get_by_label_contains("Not applied: layer 6 (pool 2) — ");
        // A fitting edit clears the note.
        h.get_all_by_label("×")
            .next()
            .expect("a remove button")
            .click();
        h.run();
        assert_eq!(h.state(), "pool 2, pool 2, pool 2, pool 2");
        assert!(h.query_by_label_contains("Not applied").is_none());
    }

    #[test]
    fn a_text_that_does_not_parse_is_left_alone() {
        let mut h = harness("patchify 5");
        h.run();
        assert_eq!(h.state(), "patchify 5");
        assert!(h.query_by_label("+ add layer").is_none());
    }
}
