//! How numbers are written for people: in settings, messages, tick labels and tables. The
//! window's plots and the exported figures both write their numbers with these, so a value
//! reads the same on the screen and on paper.

/// `n` with commas between thousands (10,000).
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Where a number switches to scientific notation: below 0.001 or from 100 000 up, plain
/// decimals in between.
const PLAIN_RANGE: std::ops::Range<f64> = 1e-3..1e5;

/// Whether [`significant`] may write a number in scientific notation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notation {
    /// Plain decimals between 0.001 and 100 000, scientific (1.5e-5) outside.
    Auto,
    /// Always plain decimals (0.00001), as people type a number in a field.
    Plain,
}

/// The one rule for writing a number for people: `digits` significant digits, trailing
/// zeros dropped; `0` for zero, `NaN`/`inf` as Rust writes them. The settings use six
/// digits ([`number`]), the window's read-outs four ([`short_number`]), fields plain
/// decimals ([`plain_number`]).
pub fn significant(x: f64, digits: usize, notation: Notation) -> String {
    if x == 0.0 {
        return "0".into();
    }
    if !x.is_finite() {
        return x.to_string();
    }
    let digits = digits.max(1);
    let a = x.abs();
    if notation == Notation::Auto && !PLAIN_RANGE.contains(&a) {
        let decimals = digits - 1;
        trim_exp(&format!("{x:.decimals$e}"))
    } else {
        // Plain decimals are capped at 12: a value below 1e-12 written plain reads 0.
        let decimals = (digits as i32 - 1 - a.log10().floor() as i32).clamp(0, 12) as usize;
        trim_fixed(&format!("{x:.decimals$}"))
    }
}

/// A number as people write it in a setting: `0.001`, `0.1`, `1e-5`, `2.5e-7`.
pub fn number(x: f64) -> String {
    // Six significant digits: a value a person typed reads back as typed, and one the
    // schedule computed (1.1203061224488808e-4) does not print 17 of them.
    significant(x, 6, Notation::Auto)
}

/// `x` written out in plain decimals, as people type it in a field: 0.1, 0.002, 0.00001,
/// 10 (never 1.0e-1).
pub fn plain_number(x: f64) -> String {
    significant(x, 4, Notation::Plain)
}

/// `x` short, for the window's read-outs and tables: four significant digits, plain when it
/// reads well, scientific (1.5e-5) when very small or large.
pub fn short_number(x: f64) -> String {
    significant(x, 4, Notation::Auto)
}

fn trim_fixed(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

fn trim_exp(s: &str) -> String {
    match s.split_once('e') {
        Some((m, e)) => format!("{}e{e}", trim_fixed(m)),
        None => s.to_string(),
    }
}

/// How an axis's ticks are stepped and labelled: the one tick rule, with the two ways the
/// window's plots and the exported figures differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TickStyle {
    /// Steps may be 2.5 × 10ᵏ besides 1, 2 and 5 × 10ᵏ. Print has room for the extra digit
    /// such a step needs (0.25, 0.50, 0.75); the window's small plots keep labels short.
    pub quarter_steps: bool,
    /// Labels keep trailing zeros so every label of an axis has the same decimals (0.0,
    /// 0.5, 1.0), as a printed axis does. The window drops them: egui_plot labels marks of
    /// several grid levels with each level's own step, so kept zeros would give one value
    /// different texts ("1" and "1.0") as the plot zooms.
    pub trailing_zeros: bool,
}

impl TickStyle {
    /// The window's plots: steps of 1, 2, 5 × 10ᵏ, labels without trailing zeros.
    pub const WINDOW: TickStyle = TickStyle {
        quarter_steps: false,
        trailing_zeros: false,
    };
    /// The exported figures: steps of 1, 2, 2.5, 5 × 10ᵏ, every label with the step's
    /// decimals.
    pub const PRINT: TickStyle = TickStyle {
        quarter_steps: true,
        trailing_zeros: true,
    };

    /// The multiples of a power of ten a step may be, ascending.
    fn multiples(self) -> &'static [f64] {
        if self.quarter_steps {
            &[1.0, 2.0, 2.5, 5.0]
        } else {
            &[1.0, 2.0, 5.0]
        }
    }
}

/// The smallest round step (see [`TickStyle`]) at least `x`.
pub fn nice_at_least(x: f64, style: TickStyle) -> f64 {
    let p = 10f64.powf(x.log10().floor());
    style
        .multiples()
        .iter()
        .chain(&[10.0])
        .map(|m| m * p)
        .find(|&s| s >= x * (1.0 - 1e-9))
        .unwrap_or(10.0 * p)
}

/// The largest round step (see [`TickStyle`]) at most `x`.
pub fn nice_at_most(x: f64, style: TickStyle) -> f64 {
    let p = 10f64.powf(x.log10().floor());
    style
        .multiples()
        .iter()
        .rev()
        .map(|m| m * p)
        .find(|&s| s <= x * (1.0 + 1e-9))
        .unwrap_or(p)
}

/// Fewest ticks an axis gets inside its range when a finer round step allows.
pub const MIN_TICKS: usize = 3;

/// The tick step for an axis over [lo, hi] wanting about `wanted` ticks: the round step
/// nearest above (hi − lo) / wanted, made finer until at least [`MIN_TICKS`] ticks fall
/// inside the range (ticks as far apart as possible, so their labels fit). `None` for an
/// empty or non-finite range.
pub fn tick_step(lo: f64, hi: f64, wanted: f64, style: TickStyle) -> Option<f64> {
    let range = hi - lo;
    // NaN ranges fail these checks too.
    if !(lo.is_finite() && hi.is_finite() && range > 0.0 && wanted > 0.0) {
        return None;
    }
    let count = |step: f64| (hi / step).floor() - (lo / step).ceil() + 1.0;
    let mut step = nice_at_least(range / wanted, style);
    for _ in 0..40 {
        if count(step) >= MIN_TICKS as f64 {
            break;
        }
        step = nice_at_most(step * 0.99, style);
    }
    Some(step)
}

/// The multiples of `step` inside [lo, hi] (at most 200).
pub fn ticks_at(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).take(200).map(|i| i as f64 * step).collect()
}

/// About `target` round tick values covering [lo, hi] (see [`tick_step`]) and their step;
/// for an empty or non-finite range just `lo`, with step 1.
pub fn nice_ticks(lo: f64, hi: f64, target: usize, style: TickStyle) -> (Vec<f64>, f64) {
    match tick_step(lo, hi, target.max(1) as f64, style) {
        Some(step) => (ticks_at(lo, hi, step), step),
        None => (vec![lo], 1.0),
    }
}

/// A tick label: just enough digits to tell ticks `step` apart (one more for a 2.5 × 10ᵏ
/// step), scientific below 0.001 and from 100 000 up; trailing zeros as `style` says.
pub fn tick_label(x: f64, step: f64, style: TickStyle) -> String {
    // A tick that is zero up to rounding (0.1 + 0.2 − 0.3) reads 0.
    let x = if x.abs() < step.abs() * 1e-6 { 0.0 } else { x };
    let e = step.log10().floor();
    let quarter = usize::from((step / 10f64.powf(e) - 2.5).abs() < 1e-6);
    let a = x.abs();
    let text = if x != 0.0 && !PLAIN_RANGE.contains(&a) {
        let digits = (a.log10().floor() - e).clamp(0.0, 4.0) as usize + quarter;
        format!("{x:.digits$e}")
    } else {
        let decimals = (-e).clamp(0.0, 6.0) as usize + quarter;
        format!("{x:.decimals$}")
    };
    match (style.trailing_zeros, text.contains('e')) {
        (true, _) => text,
        (false, true) => trim_exp(&text),
        (false, false) => trim_fixed(&text),
    }
}

/// Appends formatted text to a `String`: `write!` without its `fmt::Result`, which a `String`
/// never returns as an error (so nothing is thrown away unread).
macro_rules! put {
    ($s:expr, $($arg:tt)*) => {
        $s.push_str(&format!($($arg)*))
    };
}

/// [`put!`] and a line break: `writeln!` for a `String`.
macro_rules! putln {
    ($s:expr) => {
        $s.push('\n')
    };
    ($s:expr, $($arg:tt)*) => {{
        $s.push_str(&format!($($arg)*));
        $s.push('\n');
    }};
}

pub(crate) use {put, putln};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_a_person_writes_them() {
        assert_eq!(number(1.120_306_122_448_880_8e-4), "1.12031e-4");
        assert_eq!(number(0.001), "0.001");
        assert_eq!(number(1e-5), "1e-5");
        assert_eq!(number(1e-8), "1e-8");
        assert_eq!(number(980.0), "980");
        assert_eq!(number(0.1), "0.1");
        assert_eq!(number(0.005), "0.005");
        assert_eq!(number(1.0 / 3.0), "0.333333");
        assert_eq!(number(0.0), "0");
    }

    #[test]
    fn plain_numbers_have_no_exponent() {
        assert_eq!(plain_number(0.1), "0.1");
        assert_eq!(plain_number(1.0), "1");
        assert_eq!(plain_number(10.0), "10");
        assert_eq!(plain_number(0.00001), "0.00001");
        assert_eq!(plain_number(0.0025), "0.0025");
        assert_eq!(plain_number(12.5), "12.5");
    }

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(
            nice_ticks(0.0, 1.0, 5, TickStyle::PRINT).0,
            vec![0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]
        );
        let (t, _) = nice_ticks(1.73, 2.31, 6, TickStyle::PRINT);
        assert!(t.iter().all(|v| (1.73..=2.31).contains(v)));
        assert!(t.len() >= 3);
        assert_eq!(nice_ticks(1.0, 1.0, 5, TickStyle::PRINT).0, vec![1.0]);
    }

    #[test]
    fn tick_labels_have_the_needed_decimals() {
        assert_eq!(tick_label(0.25, 0.05, TickStyle::PRINT), "0.25");
        assert_eq!(tick_label(2.0, 0.5, TickStyle::PRINT), "2.0");
        assert_eq!(tick_label(20.0, 5.0, TickStyle::PRINT), "20");
    }

    #[test]
    fn one_rule_for_every_number_of_digits() {
        // The window's four digits, plain and scientific alike.
        assert_eq!(short_number(39.25), "39.25");
        assert_eq!(short_number(1.234_56e-5), "1.235e-5");
        assert_eq!(short_number(123_456.0), "1.235e5");
        // A relative error in the gradient check's table, and its tolerance.
        assert_eq!(significant(3.217e-8, 3, Notation::Auto), "3.22e-8");
        assert_eq!(significant(1e-5, 1, Notation::Auto), "1e-5");
        assert_eq!(significant(f64::NAN, 3, Notation::Auto), "NaN");
        assert_eq!(significant(-0.0, 3, Notation::Plain), "0");
    }

    #[test]
    fn the_window_and_print_tick_alike_but_for_trailing_zeros_and_quarters() {
        // Same steps and digits; print keeps the zeros that line an axis up.
        assert_eq!(tick_label(2.0, 0.5, TickStyle::WINDOW), "2");
        assert_eq!(tick_label(2.0, 0.5, TickStyle::PRINT), "2.0");
        assert_eq!(tick_label(0.0, 0.5, TickStyle::PRINT), "0.0");
        assert_eq!(tick_label(2e5, 1e5, TickStyle::PRINT), "2e5");
        // A 2.5 step gets the digit it needs, in scientific notation too.
        assert_eq!(tick_label(1.25e-4, 2.5e-5, TickStyle::PRINT), "1.25e-4");
        // A tick that is zero up to rounding reads 0, not 1e-17.
        assert_eq!(tick_label(0.1 + 0.2 - 0.3, 0.1, TickStyle::PRINT), "0.0");
        assert_eq!(nice_at_least(0.21, TickStyle::PRINT), 0.25);
        assert_eq!(nice_at_least(0.21, TickStyle::WINDOW), 0.5);
        assert_eq!(nice_at_most(0.3, TickStyle::PRINT), 0.25);
        assert_eq!(nice_at_most(0.3, TickStyle::WINDOW), 0.2);
        // Both get at least three ticks inside a short range.
        for style in [TickStyle::WINDOW, TickStyle::PRINT] {
            let step = tick_step(1.45, 2.55, 1.0, style).unwrap_or(f64::NAN);
            assert!(ticks_at(1.45, 2.55, step).len() >= MIN_TICKS, "{style:?}");
        }
        assert_eq!(tick_step(1.0, 1.0, 5.0, TickStyle::PRINT), None);
    }
}
