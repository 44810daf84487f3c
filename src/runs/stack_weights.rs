//! A layer stack's weights in a run folder's `weights.bin`, beside the MLP's format (see
//! [`super::save_weights`]): a file of its own magic, so a reader that wants an MLP names
//! what it found instead of misreading it.
//!
//! Layout (little-endian): magic `TVSTCK01`; the layers as text (u32 byte count, UTF-8, the
//! grammar of `--layers`, without the implied output layer); the input's height, width and
//! channels and the class count (u32 each); then, for each layer with parameters in order,
//! its array count (u32) and each array as a u32 length and that many f32 — weights (rows:
//! output channels; columns: the patch ordered row, column, channel) and bias for dense,
//! patchify and convolution layers; γ, β, running mean and running variance for batch norm.

use std::path::Path;

use rand::SeedableRng;

use super::RunError;
use crate::model::layers::{self, Shape};
use crate::model::stack::{Stack, StackLayer};
use crate::model::{BatchNorm, InitKind};
use crate::report::write_atomic;

/// Magic of a layer stack's `weights.bin`.
pub const STACK_MAGIC: &[u8; 8] = b"TVSTCK01";

/// The arrays of a layer, in the order the file keeps them.
fn arrays(layer: &StackLayer<f32>) -> Vec<&[f32]> {
    fn flat(a: &ndarray::Array1<f32>) -> &[f32] {
        a.as_slice().expect("owned arrays are contiguous")
    }
    match layer {
        StackLayer::Linear { weights, bias } => vec![
            weights.as_slice().expect("owned arrays are contiguous"),
            flat(bias),
        ],
        StackLayer::Bn(bn) => vec![
            flat(&bn.gamma),
            flat(&bn.beta),
            flat(&bn.mean),
            flat(&bn.var),
        ],
        StackLayer::Fixed => Vec::new(),
    }
}

/// The arrays of a layer, writable, in the order of [`arrays`].
fn arrays_mut(layer: &mut StackLayer<f32>) -> Vec<&mut [f32]> {
    match layer {
        StackLayer::Linear { weights, bias } => vec![
            weights.as_slice_mut().expect("owned arrays are contiguous"),
            bias.as_slice_mut().expect("owned arrays are contiguous"),
        ],
        StackLayer::Bn(BatchNorm {
            gamma,
            beta,
            mean,
            var,
        }) => [gamma, beta, mean, var]
            .into_iter()
            .map(|a| a.as_slice_mut().expect("owned arrays are contiguous"))
            .collect(),
        StackLayer::Fixed => Vec::new(),
    }
}

/// The bytes of `stack`'s weights file.
pub fn stack_bytes(stack: &Stack<f32>) -> Vec<u8> {
    let mut bytes = STACK_MAGIC.to_vec();
    let text = layers::to_text(&stack.specs[..stack.specs.len() - 1]);
    bytes.extend((text.len() as u32).to_le_bytes());
    bytes.extend(text.as_bytes());
    let input = stack.input_shape();
    for v in [input.h, input.w, input.c, stack.classes()] {
        bytes.extend((v as u32).to_le_bytes());
    }
    for layer in stack
        .layers
        .iter()
        .filter(|l| !matches!(l, StackLayer::Fixed))
    {
        let arrays = arrays(layer);
        bytes.extend((arrays.len() as u32).to_le_bytes());
        for a in arrays {
            bytes.extend((a.len() as u32).to_le_bytes());
            for v in a {
                bytes.extend(v.to_le_bytes());
            }
        }
    }
    bytes
}

/// Saves `stack` to `path` (atomically).
pub fn save_stack(path: &Path, stack: &Stack<f32>) -> Result<(), RunError> {
    write_atomic(path, &stack_bytes(stack)).map_err(|e| RunError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })
}

/// Parses a layer stack's weights file (which begins with [`STACK_MAGIC`]), checking every
/// size against the layers it names; `path` is only used in messages.
pub fn parse_stack(bytes: &[u8], path: &Path) -> Result<Stack<f32>, RunError> {
    let corrupt = |problem: String| RunError::Corrupt {
        path: path.to_path_buf(),
        problem,
    };
    let early = || corrupt("the file ends early".into());
    let mut c = super::Cursor { bytes, pos: 0 };
    if c.take(8) != Some(&STACK_MAGIC[..]) {
        return Err(corrupt("not a trainviz layer-stack weights file".into()));
    }
    let len = c.u32().ok_or_else(early)?;
    let text = std::str::from_utf8(c.take(len).ok_or_else(early)?)
        .map_err(|_| corrupt("the layers are not UTF-8 text".into()))?
        .to_string();
    let specs = layers::parse(&text).map_err(|e| corrupt(format!("layers \"{text}\": {e}")))?;
    let mut dims = [0usize; 4];
    for d in &mut dims {
        *d = c.u32().ok_or_else(early)?;
    }
    let [h, w, ch, classes] = dims;
    if [h, w, ch, classes].iter().any(|&d| d == 0 || d > 100_000) {
        return Err(corrupt("implausible image shape or class count".into()));
    }
    let shape = Shape { h, w, c: ch };
    // The layout is built from the layers; the file's numbers then replace every value.
    let mut rng = rand::rngs::SmallRng::seed_from_u64(0);
    let mut stack = Stack::new(&specs, shape, classes, InitKind::He, 0.01, &mut rng)
        .map_err(|e| corrupt(format!("layers \"{text}\" on {h}×{w}×{ch} images: {e}")))?;
    for (i, layer) in stack.layers.iter_mut().enumerate() {
        let mut arrays = arrays_mut(layer);
        if arrays.is_empty() {
            continue;
        }
        if c.u32().ok_or_else(early)? != arrays.len() {
            return Err(corrupt(format!(
                "layer {} has the wrong number of arrays",
                i + 1
            )));
        }
        for a in &mut arrays {
            if c.u32().ok_or_else(early)? != a.len() {
                return Err(corrupt(format!(
                    "layer {} has an array of the wrong size",
                    i + 1
                )));
            }
            a.copy_from_slice(&c.floats(a.len()).ok_or_else(early)?);
        }
    }
    if c.pos != bytes.len() {
        return Err(corrupt("bytes after the last layer".into()));
    }
    Ok(stack)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::stack::StackWorkspace;

    /// A stack with every kind of parameter (convolution, batch norm, patchify, dense) comes
    /// back from its bytes equal, and a cut or altered file is refused with the reason.
    #[test]
    fn a_stack_round_trips_and_damage_is_refused() {
        let specs = layers::parse("conv 3:4, bn, relu, pool 2, patchify 2:6, relu, dense 8")
            .expect("valid layers");
        let mut rng = rand::rngs::SmallRng::seed_from_u64(3);
        let shape = Shape { h: 8, w: 8, c: 3 };
        let mut stack =
            Stack::<f32>::new(&specs, shape, 5, InitKind::He, 0.01, &mut rng).expect("fits");
        // Running averages that are not the defaults, so they are seen to travel.
        for layer in &mut stack.layers {
            if let StackLayer::Bn(bn) = layer {
                bn.mean.fill(0.25);
                bn.var.fill(2.0);
            }
        }
        let bytes = stack_bytes(&stack);
        let back = parse_stack(&bytes, Path::new("w.bin")).expect("parses");
        assert_eq!(back, stack);
        // The same predictions.
        let x = ndarray::Array2::from_shape_fn((4, shape.size()), |(i, j)| {
            ((i * 31 + j * 7) % 13) as f32 / 13.0 - 0.5
        });
        let scores = |s: &Stack<f32>| {
            let mut ws = StackWorkspace::new(s, 4);
            s.forward(x.view(), &mut ws, crate::model::stack::StackPass::Eval);
            ws.scores().to_owned()
        };
        assert_eq!(scores(&back), scores(&stack));
        let err =
            parse_stack(&bytes[..bytes.len() - 3], Path::new("w.bin")).expect_err("a cut file");
        assert!(err.to_string().contains("ends early"), "{err}");
        let mut longer = bytes.clone();
        longer.push(0);
        let err = parse_stack(&longer, Path::new("w.bin")).expect_err("extra bytes");
        assert!(err.to_string().contains("after the last layer"), "{err}");
    }
}
