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
