//! How numbers are written for people: in settings, messages, tick labels and tables. The
//! window's plots and the exported figures both write their numbers with these, so a value
//! reads the same on the screen and on paper.

/// A number as people write it in a setting: `0.001`, `0.1`, `1e-5`, `2.5e-7`.
pub fn number(x: f64) -> String {
    // Six significant digits: a value a person typed reads back as typed, and one the
    // schedule computed (1.1203061224488808e-4) does not print 17 of them.
    if x == 0.0 || !x.is_finite() {
        return x.to_string();
    }
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if x.abs() < 1e-3 || x.abs() >= 1e5 {
        let text = format!("{x:.5e}");
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        format!("{}e{exponent}", trim(mantissa))
    } else {
        let decimals = (5 - x.abs().log10().floor() as i32).clamp(0, 8) as usize;
        trim(&format!("{x:.decimals$}"))
    }
}

/// `x` written out in plain decimals, as people type it in a field: 0.1, 0.002, 0.00001,
/// 10 (never 1.0e-1).
pub fn plain_number(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return x.to_string();
    }
    let decimals = (3 - x.abs().log10().floor() as i32).clamp(0, 12) as usize;
    let text = format!("{x:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

// The window's plots: short numbers (four significant digits) and tick labels with just the
// digits that tell neighbouring ticks apart, at steps of 1, 2, 5 × 10ᵏ.

/// `x` for people: plain when it reads well, scientific (1.5e-5) when very small or large.
pub fn short_number(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return if x == 0.0 { "0".into() } else { x.to_string() };
    }
    let a = x.abs();
    if !(1e-3..1e5).contains(&a) {
        trim_exp(&format!("{x:.2e}"))
    } else {
        let decimals = (3 - a.log10().floor() as i32).clamp(0, 6) as usize;
        trim_fixed(&format!("{x:.decimals$}"))
    }
}

/// A tick label: just enough digits to tell neighbouring ticks `step` apart.
pub fn tick_text(x: f64, step: f64) -> String {
    if x.abs() < step * 1e-6 {
        return "0".into();
    }
    let a = x.abs();
    if !(1e-3..1e5).contains(&a) {
        let digits = (a.log10().floor() - step.log10().floor()).clamp(0.0, 4.0) as usize;
        trim_exp(&format!("{x:.digits$e}"))
    } else {
        let decimals = (-step.log10().floor()).clamp(0.0, 6.0) as usize;
        trim_fixed(&format!("{x:.decimals$}"))
    }
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

/// The smallest of 1, 2, 5 × 10ᵏ at least `x`.
pub fn nice_at_least(x: f64) -> f64 {
    let p = 10f64.powf(x.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|&s| s >= x * (1.0 - 1e-9))
        .unwrap_or(10.0 * p)
}

/// The largest of 1, 2, 5 × 10ᵏ at most `x`.
pub fn nice_at_most(x: f64) -> f64 {
    let p = 10f64.powf(x.log10().floor());
    [5.0, 2.0, 1.0]
        .into_iter()
        .map(|m| m * p)
        .find(|&s| s <= x * (1.0 + 1e-9))
        .unwrap_or(p)
}

// The exported figures: ticks at steps of 1, 2, 2.5, 5 × 10ᵏ, labelled with the decimals the
// step needs. (Kept as they were: the two rules draw differently and their tests pin them.)

/// About `target` round tick values covering [lo, hi].
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return vec![lo];
    }
    let raw = (hi - lo) / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

/// Tick label with as many decimals as the step needs.
pub fn tick_label(v: f64, step: f64) -> String {
    if v != 0.0 && (v.abs() >= 1e5 || v.abs() < 1e-3) {
        return format!("{v:.1e}");
    }
    // step = m · 10^e with m in {1, 2, 2.5, 5}: e decimals below 1, one more for m = 2.5.
    let e = step.log10().floor();
    let m = step / 10f64.powf(e);
    let decimals = (-e).max(0.0) as usize + usize::from((m - 2.5).abs() < 1e-6);
    format!("{v:.decimals$}")
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
}
