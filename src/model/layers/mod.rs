//! A network described in words, as a stack of layers: the grammar of `--layers`
//! (`"patchify 4:10, relu, dense 50, relu"`), the shapes each layer turns its input into, and
//! their parameters and multiply-adds. The layers' arithmetic lives in the files beside this
//! one; [`super::stack`] runs them.

pub mod conv;
pub mod norm;
pub mod pool;

use std::fmt;

use serde::{Deserialize, Serialize};

/// One layer of a stack, as the grammar writes it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum LayerSpec {
    /// `patchify F:N`: N filters of F×F with stride F and no padding (one matrix product over
    /// each image's matrix of non-overlapping patches).
    Patchify {
        /// Filter side and stride.
        f: usize,
        /// Filters.
        n: usize,
    },
    /// `conv K:N`: N filters of K×K, stride 1, zero padding that keeps the size (K odd).
    Conv {
        /// Filter side.
        k: usize,
        /// Filters.
        n: usize,
    },
    /// `pool 2`: 2×2 max pooling with stride 2 (an odd last row or column is dropped).
    Pool {
        /// Window side and stride (2 only).
        size: usize,
    },
    /// `flatten`: the feature maps as one vector (a no-op on the numbers: dense layers
    /// flatten their input anyway).
    Flatten,
    /// `dense N`: a fully connected layer of N units (flattens its input).
    Dense {
        /// Units.
        n: usize,
    },
    /// `relu`: max(0, z).
    Relu,
    /// `tanh`.
    Tanh,
    /// `sigmoid`: 1/(1 + e^−z).
    Sigmoid,
    /// `bn`: batch normalisation, per channel after a convolution, per unit after a dense
    /// layer.
    Bn,
    /// `dropout P`: inverted dropout with probability P in training.
    Dropout {
        /// Probability of dropping an output.
        p: f64,
    },
}

impl fmt::Display for LayerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayerSpec::Patchify { f: s, n } => write!(f, "patchify {s}:{n}"),
            LayerSpec::Conv { k, n } => write!(f, "conv {k}:{n}"),
            LayerSpec::Pool { size } => write!(f, "pool {size}"),
            LayerSpec::Flatten => write!(f, "flatten"),
            LayerSpec::Dense { n } => write!(f, "dense {n}"),
            LayerSpec::Relu => write!(f, "relu"),
            LayerSpec::Tanh => write!(f, "tanh"),
            LayerSpec::Sigmoid => write!(f, "sigmoid"),
            LayerSpec::Bn => write!(f, "bn"),
            LayerSpec::Dropout { p } => write!(f, "dropout {p}"),
        }
    }
}

/// A tensor's shape per image: `height × width × channels`, stored position by position with
/// the channels of a position side by side (a dense layer's output is `1 × 1 × units`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shape {
    /// Rows.
    pub h: usize,
    /// Columns.
    pub w: usize,
    /// Channels.
    pub c: usize,
}

impl Shape {
    /// Numbers per image.
    pub fn size(&self) -> usize {
        self.h * self.w * self.c
    }
    /// Positions per image.
    pub fn positions(&self) -> usize {
        self.h * self.w
    }
    /// True for `1 × 1 × c` (a vector).
    pub fn is_flat(&self) -> bool {
        self.h == 1 && self.w == 1
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_flat() {
            write!(f, "{}", self.c)
        } else {
            write!(f, "{}×{}×{}", self.h, self.w, self.c)
        }
    }
}

/// A `--layers` string that does not parse, or a layer that does not fit its input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LayersError {
    /// Layer `index` (from 1) is not in the grammar.
    #[error("layer {index} \"{text}\": {message}")]
    Syntax {
        /// Position in the list, from 1.
        index: usize,
        /// The layer as written.
        text: String,
        /// What is wrong and what would be right.
        message: String,
    },
    /// Layer `index` (from 1) cannot take the shape before it.
    #[error("layer {index} \"{layer}\" does not fit its input {input}: {message}")]
    Shape {
        /// Position in the list, from 1.
        index: usize,
        /// The layer.
        layer: String,
        /// Its input shape.
        input: String,
        /// Why not.
        message: String,
    },
}

/// The forms the grammar knows, for error messages.
pub const GRAMMAR: &str = "patchify F:N, conv K:N, pool 2, flatten, dense N, relu, tanh, \
                           sigmoid, bn, dropout P";

/// Largest filter count, unit count or filter side accepted (keeps a typo from asking for
/// gigabytes).
const MAX_WIDTH: usize = 16_384;

fn syntax(index: usize, text: &str, message: impl Into<String>) -> LayersError {
    LayersError::Syntax {
        index,
        text: text.to_string(),
        message: message.into(),
    }
}

fn number(index: usize, text: &str, word: &str, what: &str) -> Result<usize, LayersError> {
    let v: usize = word.parse().map_err(|_| {
        syntax(
            index,
            text,
            format!("{what} must be a whole number, not \"{word}\""),
        )
    })?;
    if v == 0 || v > MAX_WIDTH {
        return Err(syntax(
            index,
            text,
            format!("{what} must be between 1 and {MAX_WIDTH}, not {v}"),
        ));
    }
    Ok(v)
}

fn pair(
    index: usize,
    text: &str,
    arg: Option<&str>,
    form: &str,
) -> Result<(usize, usize), LayersError> {
    let arg = arg.ok_or_else(|| syntax(index, text, format!("write it as \"{form}\"")))?;
    let (a, b) = arg
        .split_once(':')
        .ok_or_else(|| syntax(index, text, format!("write it as \"{form}\"")))?;
    Ok((
        number(index, text, a.trim(), "the filter side")?,
        number(index, text, b.trim(), "the number of filters")?,
    ))
}

/// Parses `--layers`: layers separated by commas (the output layer to the classes is
/// implied). An empty string is an empty stack (a linear classifier).
pub fn parse(text: &str) -> Result<Vec<LayerSpec>, LayersError> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    text.split(',')
        .enumerate()
        .map(|(i, raw)| parse_layer(i + 1, raw.trim()))
        .collect()
}

/// One layer of `--layers`, the `index`-th (from 1), e.g. "conv 3:16" or "relu".
fn parse_layer(index: usize, item: &str) -> Result<LayerSpec, LayersError> {
    let mut words = item.split_whitespace();
    let name = words
        .next()
        .ok_or_else(|| syntax(index, item, format!("empty layer; the forms are {GRAMMAR}")))?
        .to_ascii_lowercase();
    let rest: Vec<&str> = words.collect();
    // "F:N" may be written with spaces around the colon ("patchify 4 : 10").
    let joined = rest.concat();
    let arg = if matches!(name.as_str(), "patchify" | "conv") && !rest.is_empty() {
        Some(joined.as_str())
    } else {
        if let Some(extra) = rest.get(1) {
            return Err(syntax(index, item, format!("unexpected \"{extra}\"")));
        }
        rest.first().copied()
    };
    let no_arg = |spec: LayerSpec| {
        if let Some(a) = arg {
            Err(syntax(
                index,
                item,
                format!("\"{name}\" takes no argument, not \"{a}\""),
            ))
        } else {
            Ok(spec)
        }
    };
    Ok(match name.as_str() {
        "patchify" => {
            let (f, n) = pair(index, item, arg, "patchify F:N")?;
            LayerSpec::Patchify { f, n }
        }
        "conv" => conv(index, item, arg)?,
        "pool" => pool(index, item, arg)?,
        "dense" => {
            let a = arg.ok_or_else(|| syntax(index, item, "write it as \"dense N\""))?;
            LayerSpec::Dense {
                n: number(index, item, a, "the number of units")?,
            }
        }
        "flatten" => no_arg(LayerSpec::Flatten)?,
        "relu" => no_arg(LayerSpec::Relu)?,
        "tanh" => no_arg(LayerSpec::Tanh)?,
        "sigmoid" => no_arg(LayerSpec::Sigmoid)?,
        "bn" => no_arg(LayerSpec::Bn)?,
        "dropout" => dropout(index, item, arg)?,
        other => {
            return Err(syntax(
                index,
                item,
                format!("unknown layer \"{other}\"; the forms are {GRAMMAR}"),
            ));
        }
    })
}

/// "conv K:N": an odd filter side K, so that zero padding keeps the size.
fn conv(index: usize, item: &str, arg: Option<&str>) -> Result<LayerSpec, LayersError> {
    let (k, n) = pair(index, item, arg, "conv K:N")?;
    if k % 2 == 0 {
        return Err(syntax(
            index,
            item,
            format!("the filter side must be odd so that zero padding keeps the size, not {k}"),
        ));
    }
    Ok(LayerSpec::Conv { k, n })
}

/// "pool" or "pool 2": 2×2 max pooling, the only size there is.
fn pool(index: usize, item: &str, arg: Option<&str>) -> Result<LayerSpec, LayersError> {
    let size = match arg {
        None => 2,
        Some(a) => number(index, item, a, "the pool size")?,
    };
    if size != 2 {
        return Err(syntax(
            index,
            item,
            format!("only \"pool 2\" (2×2 max pooling) is supported, not {size}"),
        ));
    }
    Ok(LayerSpec::Pool { size })
}

/// "dropout P" with P in [0, 0.9].
fn dropout(index: usize, item: &str, arg: Option<&str>) -> Result<LayerSpec, LayersError> {
    let a = arg.ok_or_else(|| syntax(index, item, "write it as \"dropout P\", P in [0, 0.9]"))?;
    let p: f64 = a.parse().map_err(|_| {
        syntax(
            index,
            item,
            format!("the probability must be a number, not \"{a}\""),
        )
    })?;
    if !(0.0..=0.9).contains(&p) {
        return Err(syntax(
            index,
            item,
            format!("the probability must be in [0, 0.9], not {p}"),
        ));
    }
    Ok(LayerSpec::Dropout { p })
}

/// Writes a stack back in the grammar (parsing the result gives the same stack).
pub fn to_text(specs: &[LayerSpec]) -> String {
    specs
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// What one layer does to one image: its output shape, learned parameters and multiply-adds.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerInfo {
    /// The layer as written (`output` for the implied class layer).
    pub name: String,
    /// Its output shape.
    pub output: Shape,
    /// Learned parameters (weights, biases, γ and β).
    pub params: usize,
    /// Multiply-adds per image in the forward pass.
    pub multiply_adds: usize,
}

/// The output shape, parameters and multiply-adds of `spec` on input `input`, or why it does
/// not fit (`index` counts from 1, for the message).
pub fn layer_info(index: usize, spec: LayerSpec, input: Shape) -> Result<LayerInfo, LayersError> {
    let misfit = |message: String| LayersError::Shape {
        index,
        layer: spec.to_string(),
        input: format!("{}×{}×{}", input.h, input.w, input.c),
        message,
    };
    let (output, params, multiply_adds) = match spec {
        LayerSpec::Patchify { f, n } => {
            if !input.h.is_multiple_of(f) || !input.w.is_multiple_of(f) {
                return Err(misfit(format!(
                    "{f}×{f} patches do not tile {}×{} pixels (the side must divide both)",
                    input.h, input.w
                )));
            }
            let out = Shape {
                h: input.h / f,
                w: input.w / f,
                c: n,
            };
            let fan_in = f * f * input.c;
            (out, n * fan_in + n, out.positions() * fan_in * n)
        }
        LayerSpec::Conv { k, n } => {
            if k > 2 * input.h.min(input.w) + 1 {
                return Err(misfit(format!(
                    "a {k}×{k} filter is wider than the padded input"
                )));
            }
            let out = Shape { c: n, ..input };
            let fan_in = k * k * input.c;
            (out, n * fan_in + n, out.positions() * fan_in * n)
        }
        LayerSpec::Pool { size } => {
            if input.h < size || input.w < size {
                return Err(misfit(format!(
                    "a {size}×{size} pool needs at least {size}×{size} positions"
                )));
            }
            (
                Shape {
                    h: input.h / size,
                    w: input.w / size,
                    c: input.c,
                },
                0,
                0,
            )
        }
        LayerSpec::Flatten => (
            Shape {
                h: 1,
                w: 1,
                c: input.size(),
            },
            0,
            0,
        ),
        LayerSpec::Dense { n } => (
            Shape { h: 1, w: 1, c: n },
            n * input.size() + n,
            n * input.size(),
        ),
        LayerSpec::Bn => (input, 2 * input.c, 0),
        LayerSpec::Relu | LayerSpec::Tanh | LayerSpec::Sigmoid | LayerSpec::Dropout { .. } => {
            (input, 0, 0)
        }
    };
    Ok(LayerInfo {
        name: spec.to_string(),
        output,
        params,
        multiply_adds,
    })
}

/// Every layer's [`LayerInfo`] for images of shape `input`, the implied output layer to
/// `classes` last; the first layer that does not fit its input is an error.
pub fn describe(
    specs: &[LayerSpec],
    input: Shape,
    classes: usize,
) -> Result<Vec<LayerInfo>, LayersError> {
    let mut shape = input;
    let mut out = Vec::with_capacity(specs.len() + 1);
    for (i, &spec) in specs.iter().enumerate() {
        let info = layer_info(i + 1, spec, shape)?;
        shape = info.output;
        out.push(info);
    }
    let mut last = layer_info(specs.len() + 1, LayerSpec::Dense { n: classes }, shape)?;
    last.name = format!("output {classes}");
    out.push(last);
    Ok(out)
}

/// The table `trainviz layers` prints: one line per layer, then the totals.
pub fn table(input: Shape, infos: &[LayerInfo]) -> String {
    let mut s = format!(
        "{:<16} {:>12} {:>12} {:>14}\n",
        "layer", "output", "parameters", "multiply-adds"
    );
    s.push_str(&format!(
        "{:<16} {:>12} {:>12} {:>14}\n",
        "input",
        input.to_string(),
        "",
        ""
    ));
    for l in infos {
        s.push_str(&format!(
            "{:<16} {:>12} {:>12} {:>14}\n",
            l.name,
            l.output.to_string(),
            l.params,
            l.multiply_adds
        ));
    }
    let params: usize = infos.iter().map(|l| l.params).sum();
    let madds: usize = infos.iter().map(|l| l.multiply_adds).sum();
    s.push_str(&format!(
        "{:<16} {:>12} {:>12} {:>14}\n",
        "total", "", params, madds
    ));
    s.push_str(
        "(multiply-adds per image, forward pass; training costs about three times as many)\n",
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const CIFAR: Shape = Shape { h: 32, w: 32, c: 3 };

    #[test]
    fn the_assignment_net_parses_and_sizes() {
        let specs = parse("patchify 4:10, relu, dense 50, relu").expect("parses");
        assert_eq!(
            specs,
            vec![
                LayerSpec::Patchify { f: 4, n: 10 },
                LayerSpec::Relu,
                LayerSpec::Dense { n: 50 },
                LayerSpec::Relu
            ]
        );
        let infos = describe(&specs, CIFAR, 10).expect("fits");
        assert_eq!(infos[0].output, Shape { h: 8, w: 8, c: 10 });
        assert_eq!(infos[0].params, 10 * 48 + 10);
        assert_eq!(infos[0].multiply_adds, 64 * 48 * 10);
        assert_eq!(infos[2].params, 50 * 640 + 50);
        assert_eq!(infos[4].name, "output 10");
        assert_eq!(infos[4].output, Shape { h: 1, w: 1, c: 10 });
        assert_eq!(parse(&to_text(&specs)).expect("round trip"), specs);
    }

    #[test]
    fn every_form_parses_and_round_trips() {
        let text = "conv 3:8, bn, relu, pool 2, conv 5:4, tanh, pool, flatten, dense 20, sigmoid, dropout 0.25, bn";
        let specs = parse(text).expect("parses");
        assert_eq!(specs.len(), 12);
        assert_eq!(specs[6], LayerSpec::Pool { size: 2 });
        assert_eq!(parse(&to_text(&specs)).expect("round trip"), specs);
        let infos = describe(&specs, CIFAR, 10).expect("fits");
        assert_eq!(infos[3].output, Shape { h: 16, w: 16, c: 8 });
        assert_eq!(infos[1].params, 16);
        assert_eq!(
            infos[7].output,
            Shape {
                h: 1,
                w: 1,
                c: 8 * 8 * 4
            }
        );
        assert_eq!(parse("  ").expect("empty"), Vec::new());
        assert_eq!(
            parse("PATCHIFY 2 : 3").expect("spaces around the colon"),
            vec![LayerSpec::Patchify { f: 2, n: 3 }]
        );
    }

    #[test]
    fn bad_strings_name_the_layer_and_the_problem() {
        for (text, needle) in [
            ("patchify 4", "patchify F:N"),
            ("patchify 4:x", "\"x\""),
            ("patchify 0:10", "between 1"),
            ("conv 4:8", "odd"),
            ("pool 3", "pool 2"),
            ("dense", "dense N"),
            ("dense -5", "whole number"),
            ("relu 3", "no argument"),
            ("dropout 1.5", "[0, 0.9]"),
            ("dropout", "dropout P"),
            ("relu, , dense 5", "layer 2"),
            ("softmax", "unknown layer \"softmax\""),
            ("dense 5 6", "unexpected \"6\""),
        ] {
            let err = parse(text).expect_err(text).to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn shapes_that_do_not_fit_are_errors_at_their_layer() {
        let err = describe(&parse("patchify 5:10, relu").expect("parses"), CIFAR, 10)
            .expect_err("5 does not divide 32")
            .to_string();
        assert!(
            err.contains("layer 1 \"patchify 5:10\"") && err.contains("32×32"),
            "{err}"
        );
        let err = describe(
            &parse("patchify 16:4, pool 2, pool 2").expect("parses"),
            CIFAR,
            10,
        )
        .expect_err("pool on 1×1")
        .to_string();
        assert!(
            err.contains("layer 3 \"pool 2\"") && err.contains("1×1×4"),
            "{err}"
        );
        let table = table(
            CIFAR,
            &describe(&parse("conv 3:8, pool 2").expect("parses"), CIFAR, 10).expect("fits"),
        );
        assert!(
            table.contains("16×16×8") && table.contains("total"),
            "{table}"
        );
    }
}
