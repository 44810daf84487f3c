//! Typed settings checked as they are typed: a slider over the setting's allowed range, a
//! text box for the exact value, and, beside the field, why the text cannot apply and what
//! is allowed. A value that does not check out is never written back, so nothing
//! half-applies: the setting keeps its last good value until the text is fixed.

use egui::{Color32, Ui};

use crate::train::config::NumericSetting;
use crate::train::record::number;

/// The text of a field while it differs from its value, kept between frames.
#[derive(Clone, Debug)]
struct Typed {
    /// The [`TypedEpoch`] it was typed in.
    epoch: u64,
    /// What the user typed.
    text: String,
    /// The value the text was last made from or wrote, to notice changes from elsewhere
    /// (a slider, a preset, a loaded run).
    value: f64,
}

/// What a field did this frame.
pub struct FieldResponse {
    /// True while the slider is dragged or the text box has the keyboard: the caller holds
    /// a live value until the edit ends, so one edit is one recorded change.
    pub editing: bool,
    /// True when the value changed this frame.
    pub changed: bool,
    /// Why the text cannot apply, shown beside the field (`None`: it applies).
    pub error: Option<String>,
}

/// The text a field shows for `value`: whole numbers as such, others as people write them.
fn shown<N: egui::emath::Numeric>(value: N) -> String {
    let v = value.to_f64();
    if N::INTEGRAL {
        format!("{v:.0}")
    } else {
        number(v)
    }
}

/// Why typed text is not a value of a setting: the setting, the text, and what is allowed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{label} {problem}: allowed {allowed}")]
pub struct SettingTextError {
    /// The setting's name as people read it.
    pub label: &'static str,
    /// What is wrong with the text.
    pub problem: TextProblem,
    /// The allowed range, in words.
    pub allowed: String,
}

/// What is wrong with a setting's typed text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TextProblem {
    /// Nothing typed.
    #[error("is empty")]
    Empty,
    /// A number with a fraction where a whole number is wanted.
    #[error("= {0} is not a whole number")]
    NotWhole(String),
    /// Not a number at all.
    #[error("= \"{0}\" is not a number")]
    NotANumber(String),
    /// Infinite or NaN.
    #[error("= {0} is not a finite number")]
    NotFinite(String),
    /// Outside the setting's range.
    #[error("= {0} is out of range")]
    OutOfRange(String),
}

/// Reads `text` as a value of `spec`; the error says what is wrong and what is allowed.
pub fn parse_setting<N: egui::emath::Numeric>(
    text: &str,
    spec: &NumericSetting,
) -> Result<N, SettingTextError> {
    let t = text.trim();
    let why = |problem: TextProblem| SettingTextError {
        label: spec.label,
        problem,
        allowed: spec.allowed(),
    };
    if t.is_empty() {
        return Err(why(TextProblem::Empty));
    }
    let v: f64 = if N::INTEGRAL {
        t.parse::<u64>().map(|v| v as f64).map_err(|_| {
            why(if t.parse::<f64>().is_ok() {
                TextProblem::NotWhole(t.to_string())
            } else {
                TextProblem::NotANumber(t.to_string())
            })
        })?
    } else {
        t.parse::<f64>()
            .map_err(|_| why(TextProblem::NotANumber(t.to_string())))?
    };
    if !v.is_finite() {
        return Err(why(TextProblem::NotFinite(t.to_string())));
    }
    if !spec.range().contains(&v) {
        return Err(why(TextProblem::OutOfRange(t.to_string())));
    }
    Ok(N::from_f64(v))
}

/// The `extra` check of [`setting_field`] for a setting whose range says all.
pub fn no_extra_check(_: f64) -> Result<(), std::convert::Infallible> {
    Ok(())
}

/// Draws a red note beside a field (wrapped to the panel's width).
pub fn field_error(ui: &mut Ui, message: &str) {
    let colour: Color32 = ui.visuals().error_fg_color;
    ui.add(egui::Label::new(egui::RichText::new(format!("⚠ {message}")).color(colour)).wrap());
}

/// Counts the times every field's typed text was dropped: text typed in an earlier epoch is
/// forgotten, so a preset that sets a value equal to the old one still clears "abc" left
/// refused in its field.
#[derive(Clone, Copy, Debug, Default)]
struct TypedEpoch(u64);

/// The current [`TypedEpoch`].
fn typed_epoch(ctx: &egui::Context) -> u64 {
    ctx.data(|d| d.get_temp::<TypedEpoch>(egui::Id::NULL))
        .unwrap_or_default()
        .0
}

/// The labels of the fields whose typed text was refused in the frame being drawn (or, when
/// none has been drawn yet in it, the last one): what Reset would not take.
#[derive(Clone, Default)]
struct RefusedText {
    pass: u64,
    labels: Vec<String>,
}

fn refused_id() -> egui::Id {
    egui::Id::NULL.with("refused-typed-text")
}

/// Notes that field `label` shows refused text this frame.
fn note_refused(ctx: &egui::Context, label: &str) {
    let pass = ctx.cumulative_pass_nr();
    ctx.data_mut(|d| {
        let r = d.get_temp_mut_or_default::<RefusedText>(refused_id());
        if r.pass != pass {
            r.pass = pass;
            r.labels.clear();
        }
        if !r.labels.iter().any(|l| l == label) {
            r.labels.push(label.to_string());
        }
    });
}

/// The fields (by label) whose typed text is refused: their settings hold the last value
/// that read, not what the field shows, so a new run from them would not be what the user
/// sees (Reset says so instead).
pub fn refused_fields(ctx: &egui::Context) -> Vec<String> {
    let pass = ctx.cumulative_pass_nr();
    ctx.data(|d| d.get_temp::<RefusedText>(refused_id()))
        .filter(|r| r.pass + 1 >= pass)
        .map(|r| r.labels)
        .unwrap_or_default()
}

/// Drops the text typed into every field (refused or not), so each shows its value again:
/// for a preset or a loaded run, which replace every setting at once.
pub fn discard_typed_text(ctx: &egui::Context) {
    let next = typed_epoch(ctx) + 1;
    ctx.data_mut(|d| d.insert_temp(egui::Id::NULL, TypedEpoch(next)));
}

/// A numeric setting: slider over its whole allowed range, its name, and a text box for the
/// exact value, with the setting's help on hover. Typed text is checked on every key:
/// junk or an out-of-range value shows the reason and the allowed range just below the
/// field and leaves `value` as it was. `extra` checks what the range alone cannot (e.g.
/// highest η ≥ lowest η); its message is shown the same way.
pub fn setting_field<N: egui::emath::Numeric, E: std::fmt::Display>(
    ui: &mut Ui,
    value: &mut N,
    spec: &NumericSetting,
    extra: impl Fn(f64) -> Result<(), E>,
) -> FieldResponse {
    let id = ui.scope_id().with(("setting-field", spec.key));
    let before = value.to_f64();
    let epoch = typed_epoch(ui.ctx());
    let mut typed: Typed = ui
        .data(|d| d.get_temp::<Typed>(id))
        .filter(|t| t.epoch == epoch)
        .filter(|t| t.value == before || t.value.is_nan() && before.is_nan())
        .unwrap_or_else(|| Typed {
            epoch,
            text: shown(*value),
            value: before,
        });
    let mut editing = false;
    let mut error = None;
    ui.horizontal(|ui| {
        let mut slider = egui::Slider::new(value, N::from_f64(spec.min)..=N::from_f64(spec.max))
            .logarithmic(spec.log)
            .clamping(egui::SliderClamping::Never)
            .show_value(false)
            .text(spec.label);
        if spec.log && spec.min == 0.0 {
            slider = slider.smallest_positive(1e-5);
        }
        let s = ui.add(slider).on_hover_text(spec.help);
        editing |= s.dragged();
        if s.changed() {
            typed.text = shown(*value);
        }
        let t = ui
            // Its own id: a note appearing above must not move its focus to another box.
            .add(
                egui::TextEdit::singleline(&mut typed.text)
                    .id(id.with("text"))
                    .desired_width(64.0),
            )
            .accessible_name(spec.label)
            .on_hover_text(format!("{}\nAllowed: {}", spec.help, spec.allowed()));
        editing |= t.has_focus();
        let checked = parse_setting::<N>(&typed.text, spec)
            .map_err(|e| e.to_string())
            .and_then(|v| extra(v.to_f64()).map(|()| v).map_err(|e| e.to_string()));
        match checked {
            Ok(v) => {
                if t.changed() {
                    *value = v;
                }
                // Leaving the box tidies the text to how the value reads.
                if t.lost_focus() {
                    typed.text = shown(*value);
                }
            }
            Err(e) => error = Some(e),
        }
    });
    if let Some(e) = &error {
        field_error(ui, e);
        note_refused(ui.ctx(), spec.label);
    }
    typed.value = value.to_f64();
    let changed = typed.value != before;
    ui.data_mut(|d| d.insert_temp(id, typed));
    FieldResponse {
        editing,
        changed,
        error,
    }
}

/// The text of a non-numeric typed field while it differs from its value.
#[derive(Clone, Debug)]
struct TypedText<T> {
    /// The [`TypedEpoch`] it was typed in.
    epoch: u64,
    text: String,
    value: T,
}

/// A typed field for a value read from text (hidden-layer widths, a seed): `label`, then
/// the text box. Text that `parse` refuses shows its reason below the field and leaves
/// `value` as it was; text that reads as a value writes it at once.
pub fn text_field<T: PartialEq + Clone + Send + Sync + 'static, E: std::fmt::Display>(
    ui: &mut Ui,
    label: &str,
    hover: &str,
    width: f32,
    value: &mut T,
    show: impl Fn(&T) -> String,
    parse: impl Fn(&str) -> Result<T, E>,
) -> FieldResponse {
    let id = ui.scope_id().with(("text-field", label));
    let before = value.clone();
    let epoch = typed_epoch(ui.ctx());
    let mut typed: TypedText<T> = ui
        .data(|d| d.get_temp::<TypedText<T>>(id))
        .filter(|t| t.epoch == epoch && t.value == before)
        .unwrap_or_else(|| TypedText {
            epoch,
            text: show(value),
            value: before.clone(),
        });
    let mut editing = false;
    let mut error = None;
    ui.horizontal(|ui| {
        ui.label(label);
        let t = ui
            .add(
                egui::TextEdit::singleline(&mut typed.text)
                    .id(id.with("text"))
                    .desired_width(width),
            )
            .accessible_name(label)
            .on_hover_text(hover);
        editing = t.has_focus();
        match parse(&typed.text) {
            Ok(v) => {
                if t.changed() {
                    *value = v;
                }
                if t.lost_focus() {
                    typed.text = show(value);
                }
            }
            Err(e) => error = Some(e.to_string()),
        }
    });
    if let Some(e) = &error {
        field_error(ui, e);
        note_refused(ui.ctx(), label);
    }
    let changed = *value != before;
    typed.value = value.clone();
    ui.data_mut(|d| d.insert_temp(id, typed));
    FieldResponse {
        editing,
        changed,
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::config::{BATCH, ETA, LAMBDA};

    #[test]
    fn junk_and_out_of_range_text_is_refused_with_the_allowed_range() {
        let e = parse_setting::<f64>("abc", &LAMBDA).unwrap_err();
        assert_eq!(e.problem, TextProblem::NotANumber("abc".into()));
        let e = e.to_string();
        assert!(e.contains("not a number") && e.contains("0 to 100"), "{e}");
        let e = parse_setting::<f64>("0", &ETA).unwrap_err().to_string();
        assert!(
            e.contains("out of range") && e.contains("1e-7 to 100"),
            "{e}"
        );
        let e = parse_setting::<usize>("0", &BATCH).unwrap_err().to_string();
        assert!(e.contains("batch size") && e.contains("1 to 10000"), "{e}");
        let e = parse_setting::<usize>("2.5", &BATCH)
            .unwrap_err()
            .to_string();
        assert!(e.contains("whole number"), "{e}");
        assert!(parse_setting::<f64>("NaN", &ETA).is_err());
        assert!(parse_setting::<f64>("", &ETA).is_err());
        assert_eq!(parse_setting::<f64>(" 0.05 ", &ETA), Ok(0.05));
        assert_eq!(parse_setting::<usize>("20", &BATCH), Ok(20));
    }
}
