//! A stack's input read from the images' bytes where they lie in the data set: each image
//! (a mirrored or shifted one copied as bytes first) is normalised whole into a buffer that
//! stays in the core's first-level cache, and rearranged from there straight into the first
//! layer's input in the order its weights expect. For a patchify first layer that is its
//! patch matrix, for any other its positions × channels input; so a batch is written once
//! instead of three times (a normalised copy in channel planes, its rearrangement to
//! positions × channels, then the patch matrix).
//!
//! Why the normalisation is not folded into the weights, as the MLP's first layer does
//! ([`crate::model::kernels::FoldedWeights`]): the normaliser has a mean and a scale per
//! pixel and channel, while a patchify filter is shared by every position, so `W∘scale`
//! would be a different matrix at each position. The product needs the patch matrix as
//! `f32` either way, and `(p − mean) · scale` costs little beside the conversion; the
//! weights stay as they are, so their gradient is the plain `δᵀ · cols`.

use ndarray::ArrayView2;
use rayon::prelude::*;

use super::{Stack, StackWorkspace, flat_mut};
use crate::data::augment::{Augment, augment_bytes};
use crate::data::{ImageSet, Normalizer};
use crate::model::layers::conv::Window;
use crate::model::layers::{LayerSpec, Shape};
use crate::model::{Real, kernels};

/// A batch of a data set's images, read as bytes where they lie; augmented ones are copied
/// (as bytes, mirrored or shifted) first.
#[derive(Debug, Clone, Copy)]
pub struct ImageBatch<'a> {
    /// The data set.
    pub set: &'a ImageSet,
    /// Its images in the batch, in order.
    pub indices: &'a [usize],
    /// How each image is augmented (one per index) and the bytes shifted-in pixels take
    /// ([`crate::data::augment::fill_bytes`]); `None`: as they lie.
    pub augments: Option<(&'a [Augment], &'a [u8])>,
    /// The normalisation `x = (p − mean) · scale` the network's inputs are in.
    pub normalizer: &'a Normalizer,
}

impl ImageBatch<'_> {
    /// Image `r` of the batch as bytes: where it lies, or augmented into `scratch`.
    fn image<'s>(&'s self, r: usize, scratch: &'s mut Vec<u8>) -> &'s [u8] {
        let i = self.indices[r];
        match self.augments {
            Some((augments, fill)) if !augments[r].is_identity() => {
                let d = self.set.shape.dim();
                scratch.resize(d, 0);
                augment_bytes(
                    &self.set.shape,
                    self.set.image(i),
                    augments[r],
                    fill,
                    0..d,
                    scratch,
                );
                scratch
            }
            _ => self.set.image(i),
        }
    }
}

/// What a forward pass starts from.
#[derive(Debug, Clone, Copy)]
pub enum StackInput<'a, F> {
    /// Normalised rows, channel planes one after another (as [`Normalizer::gather`] writes
    /// them).
    Rows(ArrayView2<'a, F>),
    /// Images read as bytes (see the module's note).
    Images(ImageBatch<'a>),
}

impl<'a, F> From<ArrayView2<'a, F>> for StackInput<'a, F> {
    fn from(x: ArrayView2<'a, F>) -> Self {
        StackInput::Rows(x)
    }
}

impl<'a, F> From<ImageBatch<'a>> for StackInput<'a, F> {
    fn from(batch: ImageBatch<'a>) -> Self {
        StackInput::Images(batch)
    }
}

impl<F> StackInput<'_, F> {
    /// Images in the input.
    pub fn rows(&self) -> usize {
        match self {
            StackInput::Rows(x) => x.nrows(),
            StackInput::Images(b) => b.indices.len(),
        }
    }
}

/// Where each value of one image's first-layer input comes from: `order[j]` is the index,
/// in the image's channel planes, of value `j` of a patchify `win`'s patch matrix (one row
/// per position, each patch ordered row, column, channel as the layer's weights are), or,
/// without a window, of the image as positions × channels (`shape`).
fn input_order(shape: Shape, win: Option<&Window>) -> Vec<u32> {
    let (hw, c, w) = (shape.positions(), shape.c, shape.w);
    let at = |ch: usize, y: usize, x: usize| (ch * hw + y * w + x) as u32;
    match win {
        Some(win) => {
            let (oh, ow) = win.out_hw();
            let k = win.k;
            let mut order = Vec::with_capacity(oh * ow * win.patch_len());
            for oy in 0..oh {
                for ox in 0..ow {
                    for dy in 0..k {
                        for dx in 0..k {
                            for ch in 0..c {
                                order.push(at(ch, oy * k + dy, ox * k + dx));
                            }
                        }
                    }
                }
            }
            order
        }
        None => (0..hw)
            .flat_map(|p| (0..c).map(move |ch| at(ch, p / w, p % w)))
            .collect(),
    }
}

/// Buffers one thread reuses from image to image: an augmented image's bytes and an image
/// normalised (channel planes; a few KB, so it stays in the core's first-level cache).
#[derive(Default)]
struct ImageScratch {
    bytes: Vec<u8>,
    normalised: Vec<f32>,
}

impl<F: Real> Stack<F> {
    /// Writes the first layer's input for `batch` into `ws` from the images' bytes: the patch
    /// matrix of a patchify first layer (then `true`: the forward pass must not build it
    /// again), else the input as positions × channels. Images are shared out over the pool
    /// unless the calling thread is one of a team that splits the batch already.
    pub(super) fn read_images(&self, batch: &ImageBatch<'_>, ws: &mut StackWorkspace<F>) -> bool {
        let shape = self.shapes[0];
        let dim = shape.size();
        assert!(
            batch.set.shape.dim() == dim && batch.normalizer.dim() == dim,
            "the images, their normaliser and the stack's input have one size"
        );
        let rows = batch.indices.len();
        let patchify = match self.specs[0] {
            LayerSpec::Patchify { .. } => self.window(0),
            _ => None,
        };
        let order = input_order(shape, patchify.as_ref());
        let out = match &patchify {
            Some(_) => flat_mut(&mut ws.cols[0]),
            None => flat_mut(&mut ws.acts[0]),
        };
        // Normalising a whole image runs at the vector width (`Normalizer::write_row`);
        // rearranging it from there reads the first-level cache. (Normalising each value
        // as it was rearranged, a scalar loop over bytes, means and scales, was a third of
        // the patchify 4:10 net's profile: slower than the three passes it replaced.)
        let write = |scratch: &mut ImageScratch, (r, out): (usize, &mut [F])| {
            let ImageScratch { bytes, normalised } = scratch;
            let image = batch.image(r, bytes);
            normalised.resize(dim, 0.0);
            batch.normalizer.write_row(image, None, normalised);
            for (o, &j) in out.iter_mut().zip(&order) {
                *o = F::of(f64::from(normalised[j as usize]));
            }
        };
        let out = &mut out[..rows * order.len()];
        if kernels::is_serial() {
            let mut scratch = ImageScratch::default();
            for item in out.chunks_mut(order.len()).enumerate() {
                write(&mut scratch, item);
            }
        } else {
            out.par_chunks_mut(order.len())
                .enumerate()
                .for_each_init(ImageScratch::default, write);
        }
        patchify.is_some()
    }
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    use super::*;
    use crate::data::augment::fill_bytes;
    use crate::data::{ImageShape, Preprocess};
    use crate::model::stack::{StackLayer, StackPass};
    use crate::model::{InitKind, LossKind, layers, loss::Loss};

    /// Random CIFAR-sized byte images (32 × 32 × 3) with random labels.
    fn images(n: usize, rng: &mut SmallRng) -> ImageSet {
        let shape = ImageShape {
            channels: 3,
            height: 32,
            width: 32,
        };
        ImageSet {
            pixels: (0..n * shape.dim()).map(|_| rng.random()).collect(),
            labels: (0..n).map(|_| rng.random_range(0..10)).collect(),
            shape,
        }
    }

    /// The largest difference between `a` and `b` relative to `a`'s largest magnitude.
    fn rel_diff(a: &[f32], b: &[f32]) -> f32 {
        let scale = a.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-12);
        let worst = a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
        worst / scale
    }

    /// A stack that reads the images' bytes gives the scores, loss and gradients (to float
    /// rounding) of the same stack fed the normalised copy [`Normalizer::gather`] writes:
    /// with a patchify, a dense and a padded convolution first layer, mirrored and shifted
    /// images among them, in a training pass and in evaluation.
    #[test]
    fn reading_bytes_matches_the_normalised_copy() {
        let mut rng = SmallRng::seed_from_u64(7);
        let set = images(9, &mut rng);
        let normalizer = Normalizer::fit(&set, Preprocess::Standardize);
        let fill = fill_bytes(&normalizer.mean);
        // Out of order, one image twice: a batch is any indices into the set.
        let indices = [4usize, 0, 8, 3, 3, 6, 1];
        let augments: Vec<Augment> = (0..indices.len())
            .map(|r| Augment {
                flip: r % 2 == 1,
                dx: [0, 0, 3, -4, 2, 0, -1][r],
                dy: [0, 0, -2, 4, 0, 1, 0][r],
            })
            .collect();
        let labels: Vec<u8> = indices.iter().map(|&i| set.labels[i]).collect();
        let shape = Shape { h: 32, w: 32, c: 3 };
        for layers in [
            "patchify 4:10, relu, dense 50, relu",
            "patchify 2:6, relu, pool 2, dense 20, tanh",
            "dense 30, relu",
            "conv 3:4, relu, pool 2",
        ] {
            let specs = layers::parse(layers).expect("a valid stack");
            let stack: Stack<f32> =
                Stack::new(&specs, shape, 10, InitKind::He, 0.01, &mut rng).expect("it fits");
            for augments in [None, Some((&augments[..], &fill[..]))] {
                let d = set.shape.dim();
                let mut x = vec![0f32; indices.len() * d];
                normalizer.gather(&set, &indices, augments, &mut x);
                let x = Array2::from_shape_vec((indices.len(), d), x).expect("rows × dim");
                let batch = ImageBatch {
                    set: &set,
                    indices: &indices,
                    augments,
                    normalizer: &normalizer,
                };
                let loss = Loss {
                    kind: LossKind::Ce,
                    smoothing: 0.1,
                };
                let run = |input: StackInput<'_, f32>| {
                    let mut ws = StackWorkspace::new(&stack, indices.len());
                    let mut grads = stack.zero_gradients();
                    let mut rng = SmallRng::seed_from_u64(3);
                    let train = stack.loss_and_backward(
                        input,
                        &labels,
                        loss,
                        0.01,
                        &mut ws,
                        StackPass::Train(&mut rng),
                        &mut grads,
                    );
                    let scores = ws.scores().to_owned();
                    let eval = stack.loss(input, &labels, loss, &mut ws, StackPass::Eval);
                    (train, eval, scores, grads)
                };
                let (train_a, eval_a, scores_a, grads_a) = run(StackInput::Rows(x.view()));
                let (train_b, eval_b, scores_b, grads_b) = run(StackInput::Images(batch));
                let what = format!("{layers}, augmented: {}", augments.is_some());
                assert!(
                    ((train_a - train_b) / train_a).abs() < 1e-5
                        && ((eval_a - eval_b) / eval_a).abs() < 1e-5,
                    "{what}: loss {train_a} vs {train_b}, {eval_a} vs {eval_b}"
                );
                let (sa, sb) = (scores_a.as_slice(), scores_b.as_slice());
                let diff = rel_diff(sa.expect("owned"), sb.expect("owned"));
                assert!(diff < 1e-5, "{what}: scores {diff:e} apart");
                let names = stack.param_names();
                let params = |g: &[StackLayer<f32>]| -> Vec<Vec<f32>> {
                    g.iter()
                        .flat_map(|l| l.params())
                        .map(<[f32]>::to_vec)
                        .collect()
                };
                for (name, (a, b)) in names
                    .iter()
                    .zip(params(&grads_a).iter().zip(&params(&grads_b)))
                {
                    assert!(a.iter().any(|&v| v != 0.0), "{what}: {name} has a gradient");
                    let diff = rel_diff(a, b);
                    assert!(diff < 1e-5, "{what}: gradient of {name} {diff:e} apart");
                }
            }
        }
    }
}
