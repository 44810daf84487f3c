//! Analyses of a trained network that the window asks for on demand: predictions with their
//! top-3 probabilities, hidden-layer activations projected to 2-D (PCA and t-SNE), and a
//! numerical gradient check on a small subset.

use ndarray::{Array2, ArrayView2, Axis};
use rand::{Rng, SeedableRng, rngs::SmallRng};
use rand_distr::{Distribution, Normal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::config::TrainConfig;
use crate::data::{ImageSet, Normalizer, Splits};
use crate::model::gradcheck::{self, ParamCheck};
use crate::model::loss::probabilities;
use crate::model::{LossKind, Network, Workspace};

/// Rows per forward block.
const BLOCK: usize = 64;

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

/// Runs `net` over the first `max` images of `set` (all when `max` is larger), block by
/// block, and calls `each(first_row, outputs_of_every_layer_for_the_block)`.
fn forward_blocks(
    net: &Network<f32>,
    norm: &Normalizer,
    set: &ImageSet,
    max: usize,
    mut each: impl FnMut(usize, &Workspace<f32>, usize),
) {
    let n = set.len().min(max);
    let dim = set.shape.dim();
    let mut ws = Workspace::new(net, BLOCK);
    let mut buf = vec![0f32; BLOCK * dim];
    let mut start = 0;
    while start < n {
        let rows = (n - start).min(BLOCK);
        for (i, row) in (start..start + rows).zip(buf.chunks_exact_mut(dim)) {
            norm.write_row(set.image(i), None, row);
        }
        let x = ArrayView2::from_shape((rows, dim), &buf[..rows * dim])
            .expect("block buffer holds rows × dim values");
        net.forward(x, &mut ws);
        each(start, &ws, rows);
        start += rows;
    }
}

/// Predictions for the first `max` images of `set`, probabilities as the loss defines them
/// (softmax for CE and, for want of probabilities, the SVM; sigmoids for BCE).
pub fn predictions(
    net: &Network<f32>,
    norm: &Normalizer,
    set: &ImageSet,
    loss: LossKind,
    max: usize,
) -> Vec<Prediction> {
    let classes = net.classes();
    let mut probs = vec![0f32; classes];
    let mut out = Vec::with_capacity(set.len().min(max));
    forward_blocks(net, norm, set, max, |start, ws, rows| {
        for (r, scores) in ws.scores(rows).rows().into_iter().enumerate() {
            let scores = scores.as_slice().expect("score rows are contiguous");
            probabilities(loss, scores, &mut probs);
            let mut order: Vec<usize> = (0..classes).collect();
            order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]));
            let top = |k: usize| order.get(k).map_or((0, 0.0), |&c| (c as u8, probs[c]));
            out.push(Prediction {
                index: start + r,
                label: set.labels[start + r],
                top3: [top(0), top(1), top(2)],
            });
        }
    });
    out
}

/// Outputs of layer `layer` (0-based; the last layer gives the class scores) for the first
/// `max` images of `set`, one row per image, with their labels.
pub fn layer_activations(
    net: &Network<f32>,
    norm: &Normalizer,
    set: &ImageSet,
    layer: usize,
    max: usize,
) -> (Array2<f32>, Vec<u8>) {
    let layer = layer.min(net.layers.len() - 1);
    let width = net.layers[layer].weights.nrows();
    let n = set.len().min(max);
    let mut acts = Array2::zeros((n, width));
    forward_blocks(net, norm, set, max, |start, ws, rows| {
        acts.slice_mut(ndarray::s![start..start + rows, ..])
            .assign(&ws.layer_output(layer, rows));
    });
    (acts, set.labels[..n].to_vec())
}

/// How to project activations to 2-D.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Projection {
    /// The two directions of largest variance (instant).
    #[default]
    Pca,
    /// t-SNE (perplexity 30): keeps neighbourhoods, takes seconds.
    Tsne,
}

/// The first two principal components of the rows of `x`.
pub fn pca2(x: &Array2<f32>) -> Vec<[f32; 2]> {
    let (n, d) = x.dim();
    if n == 0 || d == 0 {
        return Vec::new();
    }
    let x = x.mapv(f64::from);
    let mean = x.mean_axis(Axis(0)).expect("n > 0");
    let centred = &x - &mean;
    let cov = centred.t().dot(&centred) / n.max(2) as f64;
    let mut rng = SmallRng::seed_from_u64(0);
    let mut components: Vec<ndarray::Array1<f64>> = Vec::new();
    for _ in 0..2.min(d) {
        let mut v = ndarray::Array1::from_shape_fn(d, |_| rng.random::<f64>() - 0.5);
        for _ in 0..200 {
            let mut w = cov.dot(&v);
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
    let proj = |row: ndarray::ArrayView1<f64>, k: usize| {
        components.get(k).map_or(0.0, |c| row.dot(c)) as f32
    };
    centred
        .rows()
        .into_iter()
        .map(|r| [proj(r, 0), proj(r, 1)])
        .collect()
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
}

impl Default for TsneSettings {
    fn default() -> Self {
        TsneSettings {
            perplexity: 30.0,
            iterations: 500,
            seed: 0,
        }
    }
}

/// Exact t-SNE (van der Maaten & Hinton 2008) of the rows of `x` into 2-D. `progress` gets
/// the fraction done every few iterations and returns false to stop early (the layout so
/// far is returned). O(n²) memory and time per iteration: meant for a few thousand points.
pub fn tsne2(
    x: &Array2<f32>,
    settings: TsneSettings,
    mut progress: impl FnMut(f32) -> bool,
) -> Vec<[f32; 2]> {
    let n = x.nrows();
    if n < 4 {
        return vec![[0.0, 0.0]; n];
    }
    let p = joint_probabilities(x, settings.perplexity.clamp(2.0, (n - 1) as f64 / 3.0));
    let mut rng = SmallRng::seed_from_u64(settings.seed);
    let normal = Normal::new(0.0, 1e-2).expect("valid σ");
    let mut y: Vec<[f64; 2]> = (0..n)
        .map(|_| [normal.sample(&mut rng), normal.sample(&mut rng)])
        .collect();
    let mut velocity = vec![[0.0f64; 2]; n];
    let mut gains = vec![[1.0f64; 2]; n];
    let learning_rate = (n as f64 / 12.0).max(50.0);
    let exaggeration_until = settings.iterations / 4;
    for it in 0..settings.iterations {
        let exaggeration = if it < exaggeration_until { 12.0 } else { 1.0 };
        let momentum = if it < exaggeration_until { 0.5 } else { 0.8 };
        // Student-t kernel sums (Z), then the gradient, each row in parallel.
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
        let grads: Vec<[f64; 2]> = (0..n)
            .into_par_iter()
            .map(|i| {
                let yi = y[i];
                let row = &p[i * n..(i + 1) * n];
                let mut g = [0.0; 2];
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
                g
            })
            .collect();
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
        if it % 10 == 0 && !progress(it as f32 / settings.iterations as f32) {
            break;
        }
    }
    progress(1.0);
    y.iter().map(|p| [p[0] as f32, p[1] as f32]).collect()
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
    let target = perplexity.ln();
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
            let (mut lo, mut hi, mut beta) = (0.0f64, f64::INFINITY, 1.0f64);
            let mut row = vec![0.0; n];
            for _ in 0..64 {
                let mut sum = 0.0;
                for j in 0..n {
                    row[j] = if j == i { 0.0 } else { (-beta * d[j]).exp() };
                    sum += row[j];
                }
                let sum = sum.max(1e-300);
                let entropy = sum.ln() + beta * (0..n).map(|j| d[j] * row[j]).sum::<f64>() / sum;
                for v in &mut row {
                    *v /= sum;
                }
                if (entropy - target).abs() < 1e-5 {
                    break;
                }
                if entropy > target {
                    lo = beta;
                    beta = if hi.is_finite() {
                        (beta + hi) / 2.0
                    } else {
                        beta * 2.0
                    };
                } else {
                    hi = beta;
                    beta = (beta + lo) / 2.0;
                }
            }
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
    let net = Network::<f64>::new(
        d,
        &config.hidden,
        data.num_classes(),
        config.activation,
        config.init,
        config.sigma,
        &mut rng,
    )
    .with_batch_norm(config.batch_norm);
    // Batch norm curves the cost more sharply in W, so the O(h²) error of centred
    // differences needs a smaller step to stay under 1e-6 (round-off is still far below).
    let h = if config.batch_norm { 1e-5 } else { 1e-4 };
    gradcheck::check(&net, x.view(), labels, config.loss, config.lambda, h)
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
        let preds = predictions(&net, &norm, &data.test, LossKind::Ce, 1000);
        assert_eq!(preds.len(), 100);
        for p in &preds {
            assert!(p.top3[0].1 >= p.top3[1].1 && p.top3[1].1 >= p.top3[2].1);
            assert_ne!(p.top3[0].0, p.top3[1].0);
        }
        let (acts, labels) = layer_activations(&net, &norm, &data.test, 0, 50);
        assert_eq!(acts.dim(), (50, 8));
        assert_eq!(labels.len(), 50);
        let report = gradient_check(&config, &data, &norm, 5, 20);
        assert!(report.iter().all(|p| p.max_rel_error < 1e-6), "{report:?}");
    }
}
