//! Analyses of a trained network (an MLP or a layer stack, see [`ModelRef`]) that the window
//! and the command line ask for on demand: predictions with their top-3 probabilities, a
//! layer's outputs projected to 2-D (PCA and t-SNE), a picture of the user's classified, and
//! a numerical gradient check on a small subset.

use ndarray::{Array2, ArrayView1, Axis};
use rand::{Rng, SeedableRng, rngs::SmallRng};
use rand_distr::{Distribution, Normal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub mod passes;
mod stack_check;
pub mod tsne;

pub use passes::{
    MAX_EMBEDDING_VALUES, ModelRef, embedding_points, layer_count, layer_name, layer_width,
};
pub use stack_check::stack_gradient_check;
pub use tsne::neighbour_preservation;

use super::config::TrainConfig;
use super::trainer::build_network;
use crate::data::{ImageSet, Normalizer, Splits};
use crate::model::gradcheck::{self, ParamCheck};
use crate::model::loss::probabilities;
use crate::model::{LossKind, Network};

/// What the model says about one image.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// Index of the image in its set.
    pub index: usize,
    /// True class.
    pub label: u8,
    /// The three most probable classes with their probabilities, most probable first.
    pub top3: [(u8, f32); 3],
}

impl Prediction {
    /// The predicted class.
    pub fn predicted(&self) -> u8 {
        self.top3[0].0
    }
    /// True when the prediction is right.
    pub fn correct(&self) -> bool {
        self.predicted() == self.label
    }
}

/// The classes of `scores` ranked by probability (as the loss defines it), with their
/// probabilities, most probable first; `probs` is scratch space of one entry per class.
fn ranked(scores: ArrayView1<f32>, loss: LossKind, probs: &mut [f32]) -> Vec<(u8, f32)> {
    let row: Vec<f32> = scores.iter().copied().collect();
    probabilities(loss, &row, probs);
    let mut order: Vec<usize> = (0..probs.len()).collect();
    order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]));
    order.into_iter().map(|c| (c as u8, probs[c])).collect()
}

/// Predictions of `model` (an MLP or a layer stack, in evaluation mode) for the first `max`
/// images of `set`, probabilities as the loss defines them (softmax for CE and, for want of
/// probabilities, the SVM; sigmoids for BCE). A stack runs in blocks as its evaluation
/// does, so memory stays as bounded.
pub fn predictions(
    model: ModelRef<'_>,
    norm: &Normalizer,
    set: &ImageSet,
    loss: LossKind,
    max: usize,
) -> Vec<Prediction> {
    let classes = model.classes();
    let scores_layer = passes::layer_count(model) - 1;
    let mut probs = vec![0f32; classes];
    let mut out = Vec::with_capacity(set.len().min(max));
    passes::layer_blocks(model, norm, set, max, scores_layer, |start, scores| {
        for (r, scores) in scores.rows().into_iter().enumerate() {
            let ranks = ranked(scores, loss, &mut probs);
            let top = |k: usize| ranks.get(k).copied().unwrap_or((0, 0.0));
            out.push(Prediction {
                index: start + r,
                label: set.labels[start + r],
                top3: [top(0), top(1), top(2)],
            });
        }
        true
    });
    out
}

/// Outputs of layer `layer` of `model` (0-based; the last layer gives the class scores; a
/// stack's convolution gives its maps flattened, height × width × channels) for the first
/// `max` images of `set`, one row per image, with their labels.
pub fn layer_activations(
    model: ModelRef<'_>,
    norm: &Normalizer,
    set: &ImageSet,
    layer: usize,
    max: usize,
) -> (Array2<f32>, Vec<u8>) {
    layer_activations_with(model, norm, set, layer, max, |_| true)
        .unwrap_or_else(|| (Array2::zeros((0, 0)), Vec::new()))
}

/// [`layer_activations`], telling `progress` the fraction done after each block; `None`
/// when `progress` answers false (stop).
pub fn layer_activations_with(
    model: ModelRef<'_>,
    norm: &Normalizer,
    set: &ImageSet,
    layer: usize,
    max: usize,
    mut progress: impl FnMut(f32) -> bool,
) -> Option<(Array2<f32>, Vec<u8>)> {
    let width = passes::layer_width(model, layer);
    let n = set.len().min(max);
    let mut acts = Array2::zeros((n, width));
    let mut go_on = true;
    passes::layer_blocks(model, norm, set, max, layer, |start, out| {
        let end = start + out.nrows();
        acts.slice_mut(ndarray::s![start..end, ..]).assign(&out);
        go_on = progress(end as f32 / n.max(1) as f32);
        go_on
    });
    go_on.then(|| (acts, set.labels[..n].to_vec()))
}

/// How to project activations to 2-D.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Projection {
    /// The two directions of largest variance (instant).
    #[default]
    #[serde(alias = "pca")]
    Pca,
    /// t-SNE (perplexity 30): keeps neighbourhoods, takes seconds.
    #[serde(alias = "tsne")]
    Tsne,
}

/// Most points an embedding is computed for (the window's limit and `trainviz embed`'s):
/// Barnes-Hut t-SNE of 10,000 points takes seconds.
pub const MAX_EMBEDDING_POINTS: usize = 10_000;

/// A PCA projection: the points and the share of the total variance along each axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Pca2 {
    /// One point per row, on the first two principal components.
    pub points: Vec<[f32; 2]>,
    /// Variance along each component as a share (0–1) of the total variance.
    pub variance_share: [f64; 2],
}

/// The first two principal components of the rows of `x`.
pub fn pca2(x: &Array2<f32>) -> Vec<[f32; 2]> {
    pca2_with_variance(x).points
}

/// The first two principal components of the rows of `x`, with the share of the variance
/// each explains. Power iteration on the smaller of the covariance (d × d) and the Gram
/// matrix of the centred rows (n × n; for a convolution's output, wider than the images are
/// many), so memory and time follow min(n, d)² rather than d².
pub fn pca2_with_variance(x: &Array2<f32>) -> Pca2 {
    pca2_in(x, x.len() <= SMALL_PCA)
}

/// [`pca2_with_variance`] in f64 (`in_f64`) or with f32 products.
fn pca2_in(x: &Array2<f32>, in_f64: bool) -> Pca2 {
    let (n, d) = x.dim();
    if n == 0 || d == 0 {
        return Pca2 {
            points: Vec::new(),
            variance_share: [0.0; 2],
        };
    }
    let by_columns = d <= n;
    let mean = x.map_axis(Axis(0), |c| {
        c.iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64
    });
    // A small matrix is centred and multiplied in f64; a large one (up to
    // [`MAX_EMBEDDING_VALUES`]) in f32, which halves its memory and time and still sums its
    // products to ~1e-6 of the variance.
    let (matrix, centred32, centred64) = if in_f64 {
        let c = x.mapv(f64::from) - &mean;
        let m = if by_columns {
            c.t().dot(&c)
        } else {
            c.dot(&c.t())
        };
        (m, None, Some(c))
    } else {
        let mean32 = mean.mapv(|v| v as f32);
        let c = x - &mean32;
        let m = if by_columns {
            c.t().dot(&c)
        } else {
            c.dot(&c.t())
        };
        (m.mapv(f64::from), Some(c), None)
    };
    let (components, eigenvalues) = top_two_eigenvectors(&matrix);
    let total: f64 = matrix.diag().sum();
    let mut variance_share = [0.0; 2];
    for (share, &lambda) in variance_share.iter_mut().zip(&eigenvalues) {
        *share = if total > 0.0 {
            (lambda / total).clamp(0.0, 1.0)
        } else {
            0.0
        };
    }
    let points = (0..n)
        .map(|i| {
            let coordinate = |k: usize| -> f32 {
                let Some(c) = components.get(k) else {
                    return 0.0;
                };
                if !by_columns {
                    // X = U S Vᵀ: the Gram matrix's unit eigenvector is a column of U, and
                    // the scores X V are U S, S the square root of its eigenvalue.
                    return (c[i] * eigenvalues[k].max(0.0).sqrt()) as f32;
                }
                match (&centred64, &centred32) {
                    (Some(x), _) => x.row(i).dot(c) as f32,
                    (None, Some(x)) => x
                        .row(i)
                        .iter()
                        .zip(c)
                        .map(|(&a, &b)| f64::from(a) * b)
                        .sum::<f64>() as f32,
                    (None, None) => 0.0,
                }
            };
            [coordinate(0), coordinate(1)]
        })
        .collect();
    Pca2 {
        points,
        variance_share,
    }
}

/// Values (n · d) up to which PCA works in f64.
const SMALL_PCA: usize = 1 << 22;

/// The two leading unit eigenvectors of the symmetric positive semi-definite `m` (fewer
/// when it is 1 × 1) and their eigenvalues, by power iteration with deflation.
fn top_two_eigenvectors(m: &Array2<f64>) -> (Vec<ndarray::Array1<f64>>, Vec<f64>) {
    let d = m.nrows();
    let mut rng = SmallRng::seed_from_u64(0);
    let mut components: Vec<ndarray::Array1<f64>> = Vec::new();
    for _ in 0..2.min(d) {
        let mut v = ndarray::Array1::from_shape_fn(d, |_| rng.random::<f64>() - 0.5);
        for _ in 0..200 {
            let mut w = m.dot(&v);
            // Deflate: stay orthogonal to the components already found.
            for c in &components {
                let p = w.dot(c);
                w.scaled_add(-p, c);
            }
            let norm = w.dot(&w).sqrt();
            if norm < 1e-300 {
                break;
            }
            v = w / norm;
        }
        components.push(v);
    }
    // The Rayleigh quotient of a unit eigenvector is its eigenvalue.
    let eigenvalues = components.iter().map(|c| c.dot(&m.dot(c))).collect();
    (components, eigenvalues)
}

/// Names of an embedding's two axes: "PC1 (31 % of variance)" and "PC2 (…)" for PCA (with
/// the shares when known), "t-SNE 1" and "t-SNE 2" for t-SNE.
pub fn axis_names(projection: Projection, variance_share: Option<[f64; 2]>) -> [String; 2] {
    match (projection, variance_share) {
        (Projection::Pca, Some(v)) => [
            format!("PC1 ({:.0} % of variance)", 100.0 * v[0]),
            format!("PC2 ({:.0} % of variance)", 100.0 * v[1]),
        ],
        (Projection::Pca, None) => ["PC1".into(), "PC2".into()],
        (Projection::Tsne, _) => ["t-SNE 1".into(), "t-SNE 2".into()],
    }
}

/// Settings of [`tsne2`].
#[derive(Debug, Clone, Copy)]
pub struct TsneSettings {
    /// Effective number of neighbours.
    pub perplexity: f64,
    /// Gradient-descent iterations.
    pub iterations: usize,
    /// Seed of the initial layout.
    pub seed: u64,
    /// Barnes-Hut accuracy: a cell of the layout counts as one point when its side is below
    /// θ times its distance. 0 runs the exact O(n²) method (for a few thousand points).
    pub theta: f64,
}

impl Default for TsneSettings {
    fn default() -> Self {
        TsneSettings {
            perplexity: 30.0,
            iterations: 500,
            seed: 0,
            theta: 0.5,
        }
    }
}

impl TsneSettings {
    /// The same settings with the exact method.
    pub fn exact(self) -> Self {
        TsneSettings { theta: 0.0, ..self }
    }
}

/// Fraction of a Barnes-Hut run's progress given to the neighbour search.
const NEIGHBOUR_SHARE: f32 = 0.1;

/// t-SNE (van der Maaten & Hinton 2008) of the rows of `x` into 2-D. `progress` gets the
/// fraction done every few iterations and returns false to stop early (the layout so far is
/// returned; all zeros if stopped before the layout started).
///
/// With `settings.theta > 0` (the default) it is Barnes-Hut t-SNE (van der Maaten 2014):
/// input similarities over the 3·perplexity nearest neighbours and a quadtree for the
/// repulsion, O(n log n) per iteration and O(n) memory, both cores used: 10,000 points in
/// seconds. With θ = 0 it is the exact method, O(n²) in time and memory.
pub fn tsne2(
    x: &Array2<f32>,
    settings: TsneSettings,
    progress: impl FnMut(f32) -> bool + Send,
) -> Vec<[f32; 2]> {
    let n = x.nrows();
    if n < 4 {
        return vec![[0.0, 0.0]; n];
    }
    let perplexity = settings.perplexity.clamp(2.0, (n - 1) as f64 / 3.0);
    if settings.theta <= 0.0 {
        let p = joint_probabilities(x, perplexity);
        let exact = |y: &[[f64; 2]], exaggeration: f64, grads: &mut [[f64; 2]]| {
            exact_gradient(y, &p, exaggeration, grads);
        };
        return optimise(n, settings, exact, progress, 0.0);
    }
    // The neighbour search reports from every core, blocks finishing in any order: keep
    // the reported fraction from going backwards.
    let progress = std::sync::Mutex::new((progress, 0.0f32));
    let report = |f: f32| {
        progress
            .lock()
            .map(|mut guard| {
                let (p, last) = &mut *guard;
                *last = last.max(f);
                p(*last)
            })
            .unwrap_or(false)
    };
    let k = ((3.0 * perplexity).ceil() as usize).min(n - 1);
    let Some(neighbours) = tsne::nearest_neighbours(x.view(), k, &|f| report(NEIGHBOUR_SHARE * f))
    else {
        return vec![[0.0, 0.0]; n];
    };
    let p = tsne::SparseP::new(&neighbours, perplexity);
    drop(neighbours);
    let barnes_hut = |y: &[[f64; 2]], exaggeration: f64, grads: &mut [[f64; 2]]| {
        tsne::gradient(y, &p, settings.theta, exaggeration, grads);
    };
    let (progress, _) = progress
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    optimise(n, settings, barnes_hut, progress, NEIGHBOUR_SHARE)
}

/// Gradient descent on the layout with the usual schedule (early exaggeration 12 and
/// momentum 0.5 for the first quarter, then 1 and 0.8; per-coordinate gains), from a small
/// random start. Progress runs from `from` to 1.
fn optimise(
    n: usize,
    settings: TsneSettings,
    mut gradient: impl FnMut(&[[f64; 2]], f64, &mut [[f64; 2]]),
    mut progress: impl FnMut(f32) -> bool,
    from: f32,
) -> Vec<[f32; 2]> {
    let mut rng = SmallRng::seed_from_u64(settings.seed);
    let normal = Normal::new(0.0, 1e-2).expect("valid σ");
    let mut y: Vec<[f64; 2]> = (0..n)
        .map(|_| [normal.sample(&mut rng), normal.sample(&mut rng)])
        .collect();
    let mut velocity = vec![[0.0f64; 2]; n];
    let mut gains = vec![[1.0f64; 2]; n];
    let mut grads = vec![[0.0f64; 2]; n];
    let learning_rate = (n as f64 / 12.0).max(50.0);
    let exaggeration_until = settings.iterations / 4;
    for it in 0..settings.iterations {
        let exaggeration = if it < exaggeration_until { 12.0 } else { 1.0 };
        let momentum = if it < exaggeration_until { 0.5 } else { 0.8 };
        gradient(&y, exaggeration, &mut grads);
        for i in 0..n {
            for k in 0..2 {
                let same_sign = (grads[i][k] > 0.0) == (velocity[i][k] > 0.0);
                gains[i][k] = if same_sign {
                    (gains[i][k] * 0.8).max(0.01)
                } else {
                    gains[i][k] + 0.2
                };
                velocity[i][k] =
                    momentum * velocity[i][k] - learning_rate * gains[i][k] * grads[i][k];
                y[i][k] += velocity[i][k];
            }
        }
        if it % 10 == 0 && !progress(from + (1.0 - from) * it as f32 / settings.iterations as f32) {
            break;
        }
    }
    progress(1.0);
    y.iter().map(|p| [p[0] as f32, p[1] as f32]).collect()
}

/// The exact t-SNE gradient: Student-t kernel sums (Z), then each row, in parallel.
fn exact_gradient(y: &[[f64; 2]], p: &[f32], exaggeration: f64, grads: &mut [[f64; 2]]) {
    let n = y.len();
    let z: f64 = (0..n)
        .into_par_iter()
        .map(|i| {
            let yi = y[i];
            y.iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(_, yj)| 1.0 / (1.0 + (yi[0] - yj[0]).powi(2) + (yi[1] - yj[1]).powi(2)))
                .sum::<f64>()
        })
        .sum();
    grads.par_iter_mut().enumerate().for_each(|(i, g)| {
        let yi = y[i];
        let row = &p[i * n..(i + 1) * n];
        *g = [0.0; 2];
        for (j, yj) in y.iter().enumerate() {
            if j == i {
                continue;
            }
            let (dx, dy) = (yi[0] - yj[0], yi[1] - yj[1]);
            let num = 1.0 / (1.0 + dx * dx + dy * dy);
            let f = (exaggeration * f64::from(row[j]) - num / z) * num;
            g[0] += 4.0 * f * dx;
            g[1] += 4.0 * f * dy;
        }
    });
}

/// Symmetric t-SNE input probabilities: a Gaussian per point whose width gives the wanted
/// perplexity (found by bisection), symmetrised and normalised; n × n, row-major.
fn joint_probabilities(x: &Array2<f32>, perplexity: f64) -> Vec<f32> {
    let n = x.nrows();
    let sq: Vec<f64> = x
        .rows()
        .into_iter()
        .map(|r| r.iter().map(|&v| f64::from(v).powi(2)).sum())
        .collect();
    let rows: Vec<Vec<f64>> = (0..n)
        .into_par_iter()
        .map(|i| {
            let xi = x.row(i);
            let d: Vec<f64> = (0..n)
                .map(|j| {
                    let dot: f64 = xi
                        .iter()
                        .zip(x.row(j))
                        .map(|(&a, &b)| f64::from(a) * f64::from(b))
                        .sum();
                    (sq[i] + sq[j] - 2.0 * dot).max(0.0)
                })
                .collect();
            // The same calibration as Barnes-Hut's, over every other point.
            let others: Vec<f64> = (0..n).filter(|&j| j != i).map(|j| d[j]).collect();
            let mut p_others = vec![0.0; n - 1];
            tsne::calibrate_row(&others, perplexity, &mut p_others);
            let mut row = p_others;
            row.insert(i, 0.0);
            row
        })
        .collect();
    let mut p = vec![0f32; n * n];
    let norm = 2.0 * n as f64;
    for i in 0..n {
        for j in 0..n {
            p[i * n + j] = ((rows[i][j] + rows[j][i]) / norm).max(1e-12) as f32;
        }
    }
    p
}

/// The numerical gradient check of whichever model `config` sets: an MLP's on `samples`
/// images cut to their first `dims` inputs ([`gradient_check`]), a layer stack's on
/// `samples` whole images with at most `dims` entries of each parameter array
/// ([`stack_gradient_check`]); the error when the stack does not fit the data.
pub fn check_gradients(
    config: &TrainConfig,
    data: &Splits,
    norm: &Normalizer,
    samples: usize,
    dims: usize,
) -> Result<Vec<ParamCheck>, super::config::ConfigError> {
    if config.uses_stack() {
        stack_gradient_check(config, data, norm, samples, dims)
    } else {
        Ok(gradient_check(config, data, norm, samples, dims))
    }
}

/// The numerical gradient check of the settings' model and loss on the first `samples`
/// training images restricted to their first `dims` inputs, in f64 with a freshly
/// initialised network (as the course does it).
pub fn gradient_check(
    config: &TrainConfig,
    data: &Splits,
    norm: &Normalizer,
    samples: usize,
    dims: usize,
) -> Vec<ParamCheck> {
    let n = samples.clamp(1, data.train.len().max(1));
    let full_dim = data.shape().dim();
    let d = dims.clamp(1, full_dim);
    let mut row = vec![0f64; full_dim];
    let mut x = Array2::<f64>::zeros((n, d));
    for i in 0..n.min(data.train.len()) {
        norm.write_row_as(data.train.image(i), &mut row);
        x.row_mut(i).assign(&ndarray::ArrayView1::from(&row[..d]));
    }
    let labels = &data.train.labels[..n.min(data.train.len())];
    let mut rng = SmallRng::seed_from_u64(config.seed);
    let net: Network<f64> = build_network(config, d, data.num_classes(), &mut rng);
    // Batch norm divides by each unit's spread over the batch, which is as small as the
    // weights (σ = 0.01): the cost bends on that scale in W, so the step must be well below
    // it (1e-4 errs by 1e-3), yet not so small that round-off shows (2e-6 errs by 2e-6).
    // Measured on CIFAR-10 at depths 2 and 3, every loss: 3e-5 stays under 1e-6.
    let h = if config.batch_norm { 3e-5 } else { 1e-4 };
    gradcheck::check(&net, x.view(), labels, config.loss, config.lambda, h)
}

/// A picture of the user's as the model sees it, and the model's most probable classes.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassifiedPicture {
    /// The picture resized to the model's input (one image, the data set's shape).
    pub image: ImageSet,
    /// Up to `k` (class, probability) pairs, most probable first.
    pub top: Vec<(u8, f32)>,
}

/// Decodes a PNG or JPEG (`bytes`; `path` only names it in messages), resizes it to
/// `shape` (grey for one-channel data), normalises it with `norm` and runs `model` (an MLP
/// or a layer stack) on it; probabilities as the loss defines them (see [`predictions`]).
pub fn classify_picture(
    bytes: &[u8],
    path: &std::path::Path,
    model: ModelRef<'_>,
    norm: &Normalizer,
    shape: crate::data::ImageShape,
    loss: LossKind,
    k: usize,
) -> Result<ClassifiedPicture, crate::data::DataError> {
    if shape.width != shape.height || !(shape.channels == 1 || shape.channels == 3) {
        return Err(crate::data::DataError::corrupt(
            path,
            format!(
                "the model takes {}×{} images with {} channels, which a picture cannot be resized to",
                shape.width, shape.height, shape.channels
            ),
        ));
    }
    if model.input_dim() != shape.dim() || norm.mean.len() != shape.dim() {
        return Err(crate::data::DataError::corrupt(
            path,
            "the model and its data disagree on the input size",
        ));
    }
    let rgb = crate::data::folder::decode_image(bytes, shape.width, path)?;
    let pixels = if shape.channels == 1 {
        // ITU-R BT.601 luma, the usual grey of a colour picture.
        let plane = shape.width * shape.height;
        (0..plane)
            .map(|p| {
                let (r, g, b) = (
                    f32::from(rgb[p]),
                    f32::from(rgb[plane + p]),
                    f32::from(rgb[2 * plane + p]),
                );
                (0.299 * r + 0.587 * g + 0.114 * b)
                    .round()
                    .clamp(0.0, 255.0) as u8
            })
            .collect()
    } else {
        rgb
    };
    let image = ImageSet {
        pixels,
        labels: vec![0],
        shape,
    };
    let mut probs = vec![0f32; model.classes()];
    let mut top = Vec::new();
    let scores_layer = passes::layer_count(model) - 1;
    passes::layer_blocks(model, norm, &image, 1, scores_layer, |_, scores| {
        if let Some(scores) = scores.rows().into_iter().next() {
            top = ranked(scores, loss, &mut probs);
        }
        true
    });
    top.truncate(k);
    Ok(ClassifiedPicture { image, top })
}

/// The input normalisation a run of `config` trained with: its data loaded again and the
/// normaliser fitted as the trainer fits it (for classifying pictures of a loaded run).
pub fn normalizer_for(config: &TrainConfig) -> Result<Normalizer, crate::data::DataError> {
    let splits = crate::data::load(&config.data_request())?;
    Ok(Normalizer::fit(&splits.train, config.preprocess))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::synthetic::{SyntheticSpec, generate};

    /// Two well separated blobs in 5-D, 40 points each.
    fn blobs() -> (Array2<f32>, Vec<u8>) {
        let mut rng = SmallRng::seed_from_u64(1);
        let noise = Normal::new(0.0, 0.3).unwrap();
        let x = Array2::from_shape_fn((80, 5), |(i, k)| {
            let centre = if i < 40 { 0.0 } else { 5.0 };
            centre * f32::from(u8::from(k < 2)) + noise.sample(&mut rng)
        });
        (x, (0..80).map(|i| u8::from(i >= 40)).collect())
    }

    /// Fraction of points whose nearest neighbour in the layout has the same label.
    fn neighbour_agreement(y: &[[f32; 2]], labels: &[u8]) -> f64 {
        let hits = (0..y.len())
            .filter(|&i| {
                let nearest = (0..y.len())
                    .filter(|&j| j != i)
                    .min_by(|&a, &b| {
                        let da = (y[a][0] - y[i][0]).powi(2) + (y[a][1] - y[i][1]).powi(2);
                        let db = (y[b][0] - y[i][0]).powi(2) + (y[b][1] - y[i][1]).powi(2);
                        da.total_cmp(&db)
                    })
                    .unwrap();
                labels[nearest] == labels[i]
            })
            .count();
        hits as f64 / y.len() as f64
    }

    #[test]
    fn pca_finds_the_direction_that_separates_blobs() {
        let (x, labels) = blobs();
        let y = pca2(&x);
        let mean = |c: u8| {
            let v: Vec<f32> = y
                .iter()
                .zip(&labels)
                .filter(|p| *p.1 == c)
                .map(|p| p.0[0])
                .collect();
            v.iter().sum::<f32>() / v.len() as f32
        };
        assert!((mean(0) - mean(1)).abs() > 5.0, "first component separates");
        // Two blobs 5·√2 apart with noise σ = 0.3: nearly all variance lies between them.
        let share = pca2_with_variance(&x).variance_share;
        assert!(share[0] > 0.9 && share[1] < 0.05, "{share:?}");
        let names = axis_names(Projection::Pca, Some(share));
        assert!(names[0].starts_with("PC1 (9") && names[0].ends_with(" % of variance)"));
        assert_eq!(axis_names(Projection::Tsne, None), ["t-SNE 1", "t-SNE 2"]);
    }

    #[test]
    fn pca_in_f32_agrees_with_pca_in_f64_both_ways_round() {
        // Wider than tall (the Gram matrix) and taller than wide (the covariance).
        for (n, d) in [(60, 200), (200, 60)] {
            let mut rng = SmallRng::seed_from_u64(n as u64);
            let x = Array2::from_shape_fn((n, d), |(i, k)| {
                let signal = if k < 2 {
                    (i % 5) as f32 * (3.0 - k as f32)
                } else {
                    0.0
                };
                signal + rng.random_range(-1.0..1.0f32)
            });
            let (a, b) = (pca2_in(&x, true), pca2_in(&x, false));
            for k in 0..2 {
                assert!((a.variance_share[k] - b.variance_share[k]).abs() < 1e-5);
                let sign = if a.points[0][k] * b.points[0][k] < 0.0 {
                    -1.0
                } else {
                    1.0
                };
                for (p, q) in a.points.iter().zip(&b.points) {
                    assert!(
                        (p[k] - sign * q[k]).abs() < 1e-3,
                        "{n}×{d}: {} vs {}",
                        p[k],
                        q[k]
                    );
                }
            }
        }
    }

    #[test]
    fn tsne_keeps_neighbourhoods_and_reports_progress() {
        let (x, labels) = blobs();
        let mut last = 0.0;
        let y = tsne2(&x, TsneSettings::default(), |f| {
            assert!(f >= last);
            last = f;
            true
        });
        assert_eq!(last, 1.0);
        assert!(y.iter().all(|p| p[0].is_finite() && p[1].is_finite()));
        assert!(neighbour_agreement(&y, &labels) > 0.95);
    }

    /// `n` points in 50-D: ten clusters, each a random 5-D patch (so neighbourhoods within a
    /// cluster mean something) plus noise.
    fn manifold_clusters(n: usize) -> Array2<f32> {
        let mut rng = SmallRng::seed_from_u64(7);
        let unit = Normal::new(0.0, 1.0).unwrap();
        let centres = Array2::from_shape_fn((10, 50), |_| 4.0 * unit.sample(&mut rng));
        let bases: Vec<Array2<f32>> = (0..10)
            .map(|_| Array2::from_shape_fn((5, 50), |_| unit.sample(&mut rng)))
            .collect();
        let mut x = Array2::zeros((n, 50));
        for (i, mut row) in x.rows_mut().into_iter().enumerate() {
            let c = i % 10;
            let z = ndarray::Array1::from_shape_fn(5, |_| unit.sample(&mut rng));
            row.assign(&(&centres.row(c) + &z.dot(&bases[c])));
            row.mapv_inplace(|v| v + 0.1 * unit.sample(&mut rng));
        }
        x
    }

    #[test]
    fn barnes_hut_keeps_as_many_neighbours_as_the_exact_method() {
        // The quality bar: on 2,000 points, the share of each point's 10 nearest
        // neighbours kept by Barnes-Hut is within 2 points of the exact method's.
        let x = manifold_clusters(2000);
        let settings = TsneSettings::default();
        let bh = tsne2(&x, settings, |_| true);
        let exact = tsne2(&x, settings.exact(), |_| true);
        let (q_bh, q_exact) = (
            neighbour_preservation(&x, &bh, 10),
            neighbour_preservation(&x, &exact, 10),
        );
        eprintln!("10-NN kept on 2,000 points: Barnes-Hut {q_bh:.4}, exact {q_exact:.4}");
        assert!(
            q_exact > 0.2,
            "the exact layout keeps neighbourhoods: {q_exact}"
        );
        assert!(
            (q_bh - q_exact).abs() <= 0.02,
            "BH {q_bh} vs exact {q_exact}"
        );
    }

    #[test]
    fn barnes_hut_stops_when_asked_during_the_neighbour_search() {
        let x = manifold_clusters(1000);
        let mut calls = 0;
        let y = tsne2(&x, TsneSettings::default(), |_| {
            calls += 1;
            false
        });
        assert_eq!(y.len(), 1000);
        assert!(calls <= 4, "stopped after the first block: {calls} calls");
    }

    #[test]
    fn predictions_rank_three_classes_and_match_the_evaluation() {
        let data = generate(&SyntheticSpec {
            train: 500,
            val: 100,
            test: 100,
            ..Default::default()
        });
        let config = TrainConfig::default();
        let norm = Normalizer::fit(&data.train, config.preprocess);
        let mut rng = SmallRng::seed_from_u64(0);
        let net = Network::<f32>::new(
            data.shape().dim(),
            &[8],
            10,
            config.activation,
            config.init,
            0.01,
            &mut rng,
        );
        let preds = predictions(ModelRef::Mlp(&net), &norm, &data.test, LossKind::Ce, 1000);
        assert_eq!(preds.len(), 100);
        for p in &preds {
            assert!(p.top3[0].1 >= p.top3[1].1 && p.top3[1].1 >= p.top3[2].1);
            assert_ne!(p.top3[0].0, p.top3[1].0);
        }
        let (acts, labels) = layer_activations(ModelRef::Mlp(&net), &norm, &data.test, 0, 50);
        assert_eq!(acts.dim(), (50, 8));
        assert_eq!(labels.len(), 50);
        let report = gradient_check(&config, &data, &norm, 5, 20);
        assert!(report.iter().all(|p| p.max_rel_error < 1e-6), "{report:?}");
    }
}
