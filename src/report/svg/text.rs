//! Fitting text into a figure: cutting, wrapping, the title's layout and rough widths.

use super::canvas::{Anchor, Canvas};

/// `s` cut to at most `max` characters, ending in "…" when cut.
pub fn ellipsize(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let kept: String = s.chars().take(max.saturating_sub(1)).collect();
    format!("{}…", kept.trim_end())
}

/// `s` broken at spaces into at most `lines` lines of at most `max` characters; a word
/// longer than a line, or text left over after the last line, is cut with "…".
pub fn wrap_words(s: &str, max: usize, lines: usize) -> Vec<String> {
    let max = max.max(4);
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut words = s.split(' ').filter(|w| !w.is_empty()).peekable();
    while let Some(word) = words.next() {
        let len = current.chars().count();
        let fits = len == 0 || len + 1 + word.chars().count() <= max;
        if !fits {
            out.push(std::mem::take(&mut current));
            if out.len() == lines {
                // Text is left over: the last line says so.
                if let Some(last) = out.last_mut() {
                    *last = ellipsize(&format!("{last} {word}"), max);
                    if !last.ends_with('…') {
                        last.push('…');
                    }
                }
                return out;
            }
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
        if words.peek().is_none() || current.chars().count() > max {
            current = ellipsize(&current, max);
        }
    }
    if !current.is_empty() || out.is_empty() {
        out.push(current);
    }
    out
}

/// Share of an em DejaVu Sans averages per character, for fitting text.
pub(super) const EM_PER_CHAR: f64 = 0.55;

/// The title's lines and font size for a figure `width` wide: one line when it fits at a
/// readable size, else two (a run's settings as trained can be long), never cut at the
/// sides.
pub(super) fn title_layout(width: f64, text: &str) -> (Vec<String>, f64) {
    let fit = |line: &str| (width - 24.0) / (EM_PER_CHAR * line.chars().count().max(1) as f64);
    if fit(text) >= 14.0 {
        return (vec![text.to_string()], fit(text).min(20.0));
    }
    let max = ((width - 24.0) / (EM_PER_CHAR * 12.0)).floor() as usize;
    let half = text.chars().count().div_ceil(2);
    // Break near the middle when that fits, so both lines are alike in length.
    let balanced = wrap_words(text, (half + 8).min(max), 2);
    let lines = if balanced.last().is_some_and(|l| l.ends_with('…')) {
        wrap_words(text, max, 2)
    } else {
        balanced
    };
    let size = lines
        .iter()
        .map(|l| fit(l))
        .fold(f64::INFINITY, f64::min)
        .clamp(12.0, 18.0);
    (lines, size)
}

/// Title at the top centre, on two lines when long; returns how much further down than a
/// one-line title it reaches.
pub(crate) fn title(c: &mut Canvas, width: f64, text: &str) -> f64 {
    let (lines, size) = title_layout(width, text);
    if lines.len() == 1 {
        c.text(width / 2.0, 30.0, text, size, Anchor::Middle, 0.0);
        return 0.0;
    }
    let step = (size * 1.2).ceil();
    for (i, line) in lines.iter().enumerate() {
        c.text(
            width / 2.0,
            22.0 + step * i as f64,
            line,
            size,
            Anchor::Middle,
            0.0,
        );
    }
    step - 8.0
}

/// Rough width of `s` in DejaVu Sans at `size` (for margins; the average glyph is ~0.6 em).
pub(crate) fn text_width(s: &str, size: f64) -> f64 {
    s.chars().count() as f64 * size * 0.6
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::svg::style::CHART_SIZE;

    #[test]
    fn a_long_title_wraps_onto_two_lines() {
        let long = "MLP 50 ReLU, Softmax cross-entropy, λ 0.005, η cyclic 1e-5…0.1, batch 100, \
                    Xavier, all training images, 12 epochs, shuffled";
        let (lines, size) = title_layout(CHART_SIZE.0, long);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(size >= 12.0);
        for l in &lines {
            assert!(
                EM_PER_CHAR * size * l.chars().count() as f64 <= CHART_SIZE.0 - 24.0,
                "{l}"
            );
        }
        assert_eq!(
            lines.join(" "),
            long.split_whitespace().collect::<Vec<_>>().join(" ")
        );
        assert_eq!(title_layout(CHART_SIZE.0, "Loss").0, vec!["Loss"]);
        assert_eq!(wrap_words("a bb ccc dddd", 6, 2), vec!["a bb", "ccc d…"]);
    }
}
