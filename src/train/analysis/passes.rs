//! Forward passes of either model (an MLP's [`Network`] or a layer stack's [`Stack`]) over
//! the first images of a set, block by block, for the analyses: the blocks of a stack are
//! as large as its evaluation's ([`crate::train::stack_eval`]), so its workspace stays
//! within the same memory. Also the names and widths of the layers an embedding can show.

use ndarray::ArrayView2;

use crate::data::{ImageSet, Normalizer};
use crate::model::stack::{Stack, StackPass, StackWorkspace};
use crate::model::{Network, Workspace};
use crate::train::learner::Model;

/// Either model, borrowed: what the analyses read (the window's weights are shared, the
/// worker's a copy).
#[derive(Debug, Clone, Copy)]
pub enum ModelRef<'a> {
    /// A linear classifier or MLP.
    Mlp(&'a Network<f32>),
    /// A layer stack (a ConvNet).
    Stack(&'a Stack<f32>),
}

impl Model {
    /// The model, borrowed, as the analyses take it.
    pub fn view(&self) -> ModelRef<'_> {
        match self {
            Model::Mlp(n) => ModelRef::Mlp(n),
            Model::Stack(s) => ModelRef::Stack(s),
        }
    }
}

impl ModelRef<'_> {
    /// Inputs per image.
    pub fn input_dim(self) -> usize {
        match self {
            ModelRef::Mlp(n) => n.input_dim(),
            ModelRef::Stack(s) => s.input_shape().size(),
        }
    }
    /// Number of classes.
    pub fn classes(self) -> usize {
        match self {
            ModelRef::Mlp(n) => n.classes(),
            ModelRef::Stack(s) => s.classes(),
        }
    }
}

/// Rows per forward block of an MLP.
const MLP_BLOCK: usize = 64;

/// Most values (images × layer width) an embedding's activation matrix holds: 16 Mi floats
/// are 64 MB. A wider layer is embedded on fewer images (a 16×16×64 convolution output:
/// 1,024 images).
pub const MAX_EMBEDDING_VALUES: usize = 16 << 20;

/// Most images an embedding of a layer wider than this holds: PCA multiplies a matrix of
/// side min(images, width), and a side of 4,096 took 6.3 s and 300 MB more than the
/// embedding's activations on 2 cores (a3-bonus's 8×8×64 pooling output); 2,048 takes an
/// eighth of the time and a quarter of the memory.
pub const MAX_WIDE_EMBEDDING_POINTS: usize = 2048;

/// Runs `model` in evaluation mode over the first `max` images of `set` (all when `max` is
/// larger), block by block, and calls `each(first_row, output)` with the output of layer
/// `layer` (0-based; [`layer_count`] − 1 is the class scores) for the block's rows; stops
/// early when `each` returns false.
pub fn layer_blocks(
    model: ModelRef<'_>,
    norm: &Normalizer,
    set: &ImageSet,
    max: usize,
    layer: usize,
    mut each: impl FnMut(usize, ArrayView2<'_, f32>) -> bool,
) {
    let n = set.len().min(max);
    if n == 0 {
        return;
    }
    let dim = set.shape.dim();
    let block = match model {
        ModelRef::Mlp(_) => MLP_BLOCK,
        ModelRef::Stack(s) => crate::train::stack_eval::eval_block(s),
    }
    .min(n);
    let mut buf = vec![0f32; block * dim];
    let mut ws = Passes::new(model, block);
    let mut start = 0;
    while start < n {
        let rows = (n - start).min(block);
        for (i, row) in (start..start + rows).zip(buf.chunks_exact_mut(dim)) {
            norm.write_row(set.image(i), None, row);
        }
        let x = ArrayView2::from_shape((rows, dim), &buf[..rows * dim])
            .expect("block buffer holds rows × dim values");
        if !each(start, ws.forward(model, x, layer)) {
            return;
        }
        start += rows;
    }
}

/// One workspace for whichever model it is.
enum Passes {
    Mlp(Workspace<f32>),
    Stack(StackWorkspace<f32>),
}

impl Passes {
    fn new(model: ModelRef<'_>, rows: usize) -> Self {
        match model {
            ModelRef::Mlp(net) => Passes::Mlp(Workspace::new(net, rows)),
            ModelRef::Stack(s) => Passes::Stack(StackWorkspace::new(s, rows)),
        }
    }

    /// Forward pass of `x`; layer `layer`'s output (clamped to the class scores).
    fn forward(
        &mut self,
        model: ModelRef<'_>,
        x: ArrayView2<'_, f32>,
        layer: usize,
    ) -> ArrayView2<'_, f32> {
        let rows = x.nrows();
        match (model, self) {
            (ModelRef::Mlp(net), Passes::Mlp(ws)) => {
                net.forward(x, ws);
                ws.layer_output(layer.min(net.layers.len() - 1), rows)
            }
            (ModelRef::Stack(s), Passes::Stack(ws)) => {
                s.forward(x, ws, StackPass::Eval);
                // Output 0 is the (rearranged) input: layer i's output is number i + 1.
                ws.output(layer.min(s.specs.len() - 1) + 1)
            }
            // `new` made the workspace for this very model.
            (model, passes) => {
                *passes = Passes::new(model, rows);
                passes.forward(model, x, layer)
            }
        }
    }
}

/// Layers an embedding can show: an MLP's hidden layers and its class scores, or every
/// layer of a stack (convolutions, pooling, activations …) and its class scores.
pub fn layer_count(model: ModelRef<'_>) -> usize {
    match model {
        ModelRef::Mlp(net) => net.layers.len(),
        ModelRef::Stack(s) => s.specs.len(),
    }
}

/// Values per image in layer `layer`'s output (a convolution's: channels × height × width).
pub fn layer_width(model: ModelRef<'_>, layer: usize) -> usize {
    let layer = layer.min(layer_count(model).saturating_sub(1));
    match model {
        ModelRef::Mlp(net) => net.layers[layer].weights.nrows(),
        ModelRef::Stack(s) => s.shapes[layer + 1].size(),
    }
}

/// The name of layer `layer` (0-based) as the embedding's picker and title show it: "hidden
/// layer 1 (50 units)" of an MLP, "layer 2: conv 3:64 → 32×32×64" of a stack, "class scores
/// (10)" for the last of either.
pub fn layer_name(model: ModelRef<'_>, layer: usize) -> String {
    let count = layer_count(model);
    let layer = layer.min(count.saturating_sub(1));
    let width = layer_width(model, layer);
    if layer + 1 == count {
        return format!("class scores ({width})");
    }
    match model {
        ModelRef::Mlp(_) => format!("hidden layer {} ({width} units)", layer + 1),
        ModelRef::Stack(s) => format!(
            "layer {}: {} → {}",
            layer + 1,
            s.specs[layer],
            s.shapes[layer + 1]
        ),
    }
}

/// How many of `count` images an embedding of a layer `width` values wide is computed on,
/// and when that is fewer, why (for the window and `trainviz embed` to say).
pub fn embedding_points(width: usize, count: usize) -> (usize, Option<String>) {
    let by_values = (MAX_EMBEDDING_VALUES / width.max(1)).max(1);
    let by_side = if width > MAX_WIDE_EMBEDDING_POINTS {
        MAX_WIDE_EMBEDDING_POINTS
    } else {
        usize::MAX
    };
    let most = by_values.min(by_side);
    if count <= most {
        return (count, None);
    }
    let t = crate::format::thousands;
    let why = if by_values <= by_side {
        format!(
            "an embedding holds at most {} values (64 MB)",
            t(MAX_EMBEDDING_VALUES)
        )
    } else {
        format!(
            "a layer wider than {} is embedded on at most {} images (its PCA's time and \
             memory grow with their cube)",
            t(MAX_WIDE_EMBEDDING_POINTS),
            t(MAX_WIDE_EMBEDDING_POINTS)
        )
    };
    let note = format!(
        "on the first {} of the {} images asked for: the layer has {} values per image, and \
         {why}",
        t(most),
        t(count),
        t(width),
    );
    (most, Some(note))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::synthetic::{SyntheticSpec, generate};
    use crate::model::LossKind;
    use crate::model::loss::probabilities;
    use crate::train::TrainConfig;
    use crate::train::analysis::{
        gradient_check, layer_activations, pca2_with_variance, predictions, stack_gradient_check,
    };
    use ndarray::Array2;
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    /// A small ConvNet (freshly initialised, He) on synthetic images, its data and the
    /// normalisation.
    fn small_convnet(layers: &str) -> (Stack<f32>, crate::data::Splits, Normalizer, TrainConfig) {
        let data = generate(&SyntheticSpec {
            train: 200,
            val: 90,
            test: 70,
            ..SyntheticSpec::default()
        });
        let config = TrainConfig {
            layers: layers.into(),
            init: crate::model::InitKind::He,
            ..TrainConfig::default()
        };
        let norm = Normalizer::fit(&data.train, config.preprocess);
        let mut rng = SmallRng::seed_from_u64(5);
        let stack = crate::train::stack_trainer::build_stack(&config, &data, &mut rng)
            .expect("the stack fits 32×32×3");
        (stack, data, norm, config)
    }

    /// The whole of `set` through `stack` in one evaluation pass: every layer's output.
    fn direct(stack: &Stack<f32>, norm: &Normalizer, set: &ImageSet) -> StackWorkspace<f32> {
        let dim = set.shape.dim();
        let mut x = Array2::zeros((set.len(), dim));
        for (i, mut row) in x.rows_mut().into_iter().enumerate() {
            norm.write_row(
                set.image(i),
                None,
                row.as_slice_mut().expect("owned rows are contiguous"),
            );
        }
        let mut ws = StackWorkspace::new(stack, set.len());
        stack.forward(x.view(), &mut ws, StackPass::Eval);
        ws
    }

    #[test]
    fn a_convnets_predictions_and_embeddings_are_its_forward_pass() {
        let (stack, data, norm, _) = small_convnet("patchify 4:6, relu, dense 16, relu");
        let model = ModelRef::Stack(&stack);
        let ws = direct(&stack, &norm, &data.test);
        // Predictions: the most probable class of the direct pass's softmax, in set order;
        // `max` cuts the set.
        let preds = predictions(model, &norm, &data.test, LossKind::Ce, 50);
        assert_eq!(preds.len(), 50);
        let mut probs = vec![0f32; 10];
        for (p, scores) in preds.iter().zip(ws.scores().rows()) {
            probabilities(LossKind::Ce, &scores.to_vec(), &mut probs);
            let best = (0..10)
                .max_by(|&a, &b| probs[a].total_cmp(&probs[b]))
                .unwrap();
            assert_eq!(usize::from(p.predicted()), best);
            assert!((p.top3[0].1 - probs[best]).abs() < 1e-5);
            assert!(p.top3[0].1 >= p.top3[1].1 && p.top3[1].1 >= p.top3[2].1);
            assert_eq!(p.label, data.test.labels[p.index]);
        }
        // Layers: a patchify layer's output is its maps flattened (8 × 8 positions × 6
        // channels), the class scores are the last; each equals the direct pass's.
        assert_eq!(layer_count(model), 5);
        assert_eq!(layer_width(model, 0), 8 * 8 * 6);
        assert_eq!(layer_width(model, 2), 16);
        assert_eq!(layer_name(model, 0), "layer 1: patchify 4:6 → 8×8×6");
        assert_eq!(layer_name(model, 3), "layer 4: relu → 16");
        assert_eq!(layer_name(model, 4), "class scores (10)");
        for layer in 0..5 {
            let (acts, labels) = layer_activations(model, &norm, &data.test, layer, 70);
            assert_eq!(acts.dim(), (70, layer_width(model, layer)));
            assert_eq!(labels, data.test.labels);
            let want = ws.output(layer + 1);
            let worst = acts
                .iter()
                .zip(want.iter())
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(worst < 1e-5, "layer {layer}: off by {worst}");
        }
    }

    #[test]
    fn a_wide_layer_is_embedded_on_fewer_images_and_says_so() {
        assert_eq!(embedding_points(50, 10_000), (10_000, None));
        // a3-bonus's second convolution: 16 × 16 × 64 values per image.
        let (n, note) = embedding_points(16 * 16 * 64, 10_000);
        assert_eq!(n, 1024);
        assert!(n * 16 * 16 * 64 <= MAX_EMBEDDING_VALUES);
        let note = note.expect("a note");
        assert!(note.contains("first 1,024 of the 10,000") && note.contains("16,384"));
        // The 8×8×64 pooling output: PCA's matrix side is held to 2,048.
        assert_eq!(embedding_points(4096, 10_000).0, MAX_WIDE_EMBEDDING_POINTS);
        assert_eq!(embedding_points(2048, 10_000).0, 8192);
        assert_eq!(embedding_points(1 << 20, 500).0, 16);
    }

    #[test]
    fn pca_of_a_layer_wider_than_the_images_are_many_uses_their_gram_matrix() {
        // 40 images, 300 values each: the Gram path's points and shares equal those of the
        // covariance (computed here directly), up to each axis's sign.
        let mut rng = SmallRng::seed_from_u64(2);
        let x = Array2::from_shape_simple_fn((40, 300), || {
            rand::Rng::random_range(&mut rng, -1.0f32..1.0)
        });
        let mut x = x;
        for (i, mut row) in x.rows_mut().into_iter().enumerate() {
            // Two strong directions so the components are well separated.
            row[0] += 6.0 * (i as f32 / 40.0 - 0.5);
            row[1] += 3.0 * ((i % 7) as f32 / 7.0 - 0.5);
        }
        let gram = pca2_with_variance(&x);
        let x64 = x.mapv(f64::from);
        let mean = x64.mean_axis(ndarray::Axis(0)).unwrap();
        let c = &x64 - &mean;
        let cov = c.t().dot(&c);
        let (vectors, values) = super::super::top_two_eigenvectors(&cov);
        let total: f64 = cov.diag().sum();
        for k in 0..2 {
            assert!((gram.variance_share[k] - values[k] / total).abs() < 1e-6);
            let want = c.dot(&vectors[k]);
            let sign = if want[0] * f64::from(gram.points[0][k]) < 0.0 {
                -1.0
            } else {
                1.0
            };
            for (p, w) in gram.points.iter().zip(want.iter()) {
                assert!((sign * f64::from(p[k]) - w).abs() < 1e-3, "{} vs {w}", p[k]);
            }
        }
    }

    #[test]
    fn a_convnets_gradient_check_passes_and_checks_a_sample_of_each_array() {
        let (_, data, norm, config) = small_convnet("patchify 4:3, relu, dense 8, relu");
        let report = stack_gradient_check(&config, &data, &norm, 3, 25).expect("it fits");
        let names: Vec<&str> = report.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["W1", "b1", "W3", "b3", "W5", "b5"]);
        // W1 has 3 × 48 entries (25 checked), b1 3 (all).
        assert_eq!(report[0].count, 25);
        assert_eq!(report[1].count, 3);
        assert!(report.iter().all(|p| p.max_rel_error < 1e-6), "{report:?}");
        // The MLP's check is unchanged beside it.
        let mlp = gradient_check(&TrainConfig::default(), &data, &norm, 3, 10);
        assert!(mlp.iter().all(|p| p.max_rel_error < 1e-6), "{mlp:?}");
    }
}
