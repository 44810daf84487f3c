//! A network as a stack of layers (see [`super::layers`]): dense, patchify and convolution
//! layers, 2×2 max pooling, flattening, batch normalisation, ReLU/tanh/sigmoid and dropout,
//! with one forward and one backward pass through the whole stack. Values between layers are
//! `rows × (height · width · channels)` matrices, the channels of a position side by side;
//! the input arrives as the data sets store it (channel planes) and is rearranged once, or
//! is read from the images' bytes straight into the first layer's input ([`bytes`]).
//!
//! Multilayer perceptrons set with `--hidden` keep their own, faster path
//! ([`super::network`]); this one trains whatever `--layers` describes.

use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2, Axis, s};
use rand::Rng;
use rand_distr::{Distribution, Normal};

use super::kernels::SameConv;
use super::layers::conv::{self, Window};
use super::layers::norm::{self, BnCache};
use super::layers::{LayerSpec, LayersError, Shape, describe, pool};
use super::loss::{Loss, loss_rows};
use super::network::BatchNorm;
use super::{InitKind, Real};

mod bytes;
pub use bytes::{ImageBatch, StackInput};

/// A layer's learned parameters (or none).
#[derive(Debug, Clone, PartialEq)]
pub enum StackLayer<F> {
    /// A dense, patchify or convolution layer: `weights` has one row per output channel and
    /// one column per input of its patch (ordered row, column, channel), `bias` one entry
    /// per output channel.
    Linear {
        /// outputs × fan-in.
        weights: Array2<F>,
        /// One per output.
        bias: Array1<F>,
    },
    /// Batch normalisation: γ, β and the running averages.
    Bn(BatchNorm<F>),
    /// A layer without parameters (pooling, activations, dropout, flatten).
    Fixed,
}

impl<F: Real> StackLayer<F> {
    /// The learned parameters as flat slices: weights and bias, or γ and β.
    pub fn params(&self) -> Vec<&[F]> {
        match self {
            StackLayer::Linear { weights, bias } => vec![
                weights.as_slice().expect("owned arrays are contiguous"),
                bias.as_slice().expect("owned arrays are contiguous"),
            ],
            StackLayer::Bn(bn) => vec![
                bn.gamma.as_slice().expect("owned arrays are contiguous"),
                bn.beta.as_slice().expect("owned arrays are contiguous"),
            ],
            StackLayer::Fixed => Vec::new(),
        }
    }
    /// [`Self::params`], writable.
    pub fn params_mut(&mut self) -> Vec<&mut [F]> {
        match self {
            StackLayer::Linear { weights, bias } => vec![
                weights.as_slice_mut().expect("owned arrays are contiguous"),
                bias.as_slice_mut().expect("owned arrays are contiguous"),
            ],
            StackLayer::Bn(bn) => vec![
                bn.gamma
                    .as_slice_mut()
                    .expect("owned arrays are contiguous"),
                bn.beta.as_slice_mut().expect("owned arrays are contiguous"),
            ],
            StackLayer::Fixed => Vec::new(),
        }
    }
    /// Short names of [`Self::params`].
    pub fn param_names(&self) -> &'static [&'static str] {
        match self {
            StackLayer::Linear { .. } => &["W", "b"],
            StackLayer::Bn(_) => &["γ", "β"],
            StackLayer::Fixed => &[],
        }
    }
    /// The same kind of layer with every parameter 0 (a place for gradients).
    fn zeros_like(&self) -> Self {
        match self {
            StackLayer::Linear { weights, bias } => StackLayer::Linear {
                weights: Array2::zeros(weights.dim()),
                bias: Array1::zeros(bias.len()),
            },
            StackLayer::Bn(bn) => StackLayer::Bn(BatchNorm {
                gamma: Array1::zeros(bn.gamma.len()),
                beta: Array1::zeros(bn.beta.len()),
                mean: Array1::zeros(bn.mean.len()),
                var: Array1::zeros(bn.var.len()),
            }),
            StackLayer::Fixed => StackLayer::Fixed,
        }
    }
}

/// A stack of layers ending in a dense layer to the classes.
#[derive(Debug, Clone, PartialEq)]
pub struct Stack<F> {
    /// The layers as written, the implied output layer (`dense classes`) last.
    pub specs: Vec<LayerSpec>,
    /// Their parameters, one entry per spec.
    pub layers: Vec<StackLayer<F>>,
    /// `shapes[i]` is layer i's input; the last entry is the class scores' `1 × 1 × classes`.
    pub shapes: Vec<Shape>,
}

/// How a forward pass treats batch normalisation, dropout and the kinks of ReLU and max.
pub enum StackPass<'a> {
    /// Evaluation: running averages, no dropout.
    Eval,
    /// Training: batch statistics, fresh dropout masks drawn from `rng`; ReLU gates, pooling
    /// choices and masks are remembered in the workspace.
    Train(&'a mut dyn rand::RngCore),
    /// Training, with the ReLU gates, pooling choices and dropout masks of the last `Train`
    /// pass held as they were: the smooth piece of the cost that pass was on, for numerical
    /// gradient checks.
    Frozen,
}

/// Buffers reused between batches so that a training step allocates nothing.
#[derive(Debug, Clone)]
pub struct StackWorkspace<F> {
    /// Rows the buffers hold.
    capacity: usize,
    /// Rows of the last forward pass.
    rows: usize,
    /// `acts[0]` is the input (positions × channels), `acts[i + 1]` layer i's output.
    acts: Vec<Array2<F>>,
    /// ∂cost/∂`acts[i]` lies in `deltas[i % 2]` while layer i's backward pass runs: a
    /// layer reads its output's gradient from one buffer and writes its input's into the
    /// other, so two buffers as wide as the widest layer serve the whole stack (one per layer
    /// held 60 MB more in the VGG-style net's two 50-image shares).
    deltas: [Array2<F>; 2],
    /// Patch matrices of convolution and patchify layers.
    cols: Vec<Array2<F>>,
    /// ∂cost/∂patches, shared by every layer (one at a time).
    d_cols: Vec<F>,
    /// Pooling choices per pooling layer.
    argmax: Vec<Vec<u32>>,
    /// ReLU gates (0/1) or dropout factors (0 or 1/(1 − p)) per such layer.
    masks: Vec<Array2<F>>,
    /// Batch statistics per batch-norm layer.
    bn: Vec<Option<BnCache<F>>>,
    /// Whether the last pass used batch statistics.
    batch_stats: bool,
    /// Predicted class per row of the last loss.
    pub predictions: Vec<u8>,
}

impl<F: Real> StackWorkspace<F> {
    /// Buffers for batches of up to `rows` rows through `stack`.
    pub fn new(stack: &Stack<F>, rows: usize) -> Self {
        let rows = rows.max(1);
        let mut cols = Vec::new();
        let mut d_cols_len = 0;
        let mut argmax = Vec::new();
        let mut masks = Vec::new();
        for (i, spec) in stack.specs.iter().enumerate() {
            let input = stack.shapes[i];
            let (c, a, m) = match *spec {
                LayerSpec::Patchify { .. } | LayerSpec::Conv { .. } => {
                    let win = stack.window(i).expect("a convolution has a window");
                    match stack.same_conv(i, rows) {
                        // Room for the padded input and the padded output gradient only.
                        Some(g) => {
                            d_cols_len = d_cols_len.max(g.input_grad_scratch());
                            ((1, g.padded_len()), 0, 0)
                        }
                        None => {
                            let len = rows * win.positions() * win.patch_len();
                            d_cols_len = d_cols_len.max(len);
                            ((rows * win.positions(), win.patch_len()), 0, 0)
                        }
                    }
                }
                LayerSpec::Dense { .. } => {
                    d_cols_len = d_cols_len.max(rows * input.size());
                    ((0, 0), 0, 0)
                }
                LayerSpec::Pool { .. } => ((0, 0), rows * pool::out_shape(input).size(), 0),
                LayerSpec::Relu | LayerSpec::Dropout { .. } => ((0, 0), 0, input.size()),
                _ => ((0, 0), 0, 0),
            };
            cols.push(Array2::zeros(c));
            argmax.push(vec![0u32; a]);
            masks.push(Array2::zeros((if m > 0 { rows } else { 0 }, m)));
        }
        StackWorkspace {
            capacity: rows,
            rows: 0,
            acts: stack
                .shapes
                .iter()
                .map(|s| Array2::zeros((rows, s.size())))
                .collect(),
            deltas: {
                let widest = stack.shapes.iter().map(|s| s.size()).max().unwrap_or(0);
                [Array2::zeros((rows, widest)), Array2::zeros((rows, widest))]
            },
            cols,
            d_cols: vec![F::zero(); d_cols_len],
            argmax,
            masks,
            bn: stack
                .specs
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    (*s == LayerSpec::Bn).then(|| {
                        let sh = stack.shapes[i];
                        BnCache::new(rows * sh.positions(), sh.c)
                    })
                })
                .collect(),
            batch_stats: false,
            predictions: vec![0; rows],
        }
    }
    /// The most rows a pass through these buffers may have.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
    /// Class scores of the last forward pass, rows × classes.
    pub fn scores(&self) -> ArrayView2<'_, F> {
        let last = self.acts.len() - 1;
        self.acts[last].slice(s![..self.rows, ..])
    }
    /// Output of layer `l` (0 is the input, rearranged) in the last forward pass.
    pub fn output(&self, l: usize) -> ArrayView2<'_, F> {
        self.acts[l].slice(s![..self.rows, ..])
    }
}

/// The first `len` values of a buffer as a `rows × cols` matrix.
fn mat<F>(buf: &[F], rows: usize, cols: usize) -> ArrayView2<'_, F> {
    ArrayView2::from_shape((rows, cols), &buf[..rows * cols]).expect("buffer holds the shape")
}
/// [`mat`], writable.
fn mat_mut<F>(buf: &mut [F], rows: usize, cols: usize) -> ArrayViewMut2<'_, F> {
    ArrayViewMut2::from_shape((rows, cols), &mut buf[..rows * cols])
        .expect("buffer holds the shape")
}
fn flat<F>(a: &Array2<F>) -> &[F] {
    a.as_slice().expect("owned arrays are contiguous")
}
fn flat_mut<F>(a: &mut Array2<F>) -> &mut [F] {
    a.as_slice_mut().expect("owned arrays are contiguous")
}

/// The data sets' rows (channel planes one after another) into `dst` as positions ×
/// channels, the layout the layers work in.
fn positions_by_channels<F: Real>(inp: Shape, x: ArrayView2<F>, dst: &mut Array2<F>) {
    let (hw, c) = (inp.positions(), inp.c);
    for (src, dst) in x.axis_iter(Axis(0)).zip(dst.axis_iter_mut(Axis(0))) {
        let dst = dst.into_slice().expect("owned rows are contiguous");
        for (ch, plane) in src
            .to_slice()
            .map(|s| s.chunks_exact(hw))
            .into_iter()
            .flatten()
            .enumerate()
        {
            for (p, &v) in plane.iter().enumerate() {
                dst[p * c + ch] = v;
            }
        }
        if src.as_slice().is_none() {
            for (i, &v) in src.iter().enumerate() {
                dst[(i % hw) * c + i / hw] = v;
            }
        }
    }
}

/// Batch norm of `x` (positions × channels) into `y`: on the running averages without a
/// `cache`, else on the batch's statistics, kept in the cache for the backward pass.
fn bn_forward<F: Real>(
    bn: &BatchNorm<F>,
    x: ArrayView2<F>,
    y: ArrayViewMut2<F>,
    cache: Option<&mut Option<BnCache<F>>>,
) {
    let Some(slot) = cache else {
        norm::forward(bn, x, y, None);
        return;
    };
    let (m, c) = x.dim();
    let cache = slot.get_or_insert_with(|| BnCache::new(m, c));
    if cache.normed.nrows() != m {
        *cache = BnCache::new(m, c);
    }
    norm::forward(bn, x, y, Some(cache));
}

/// ReLU of `x` into `y`; a training pass keeps its gate (1 where on) in `masks`, a frozen
/// pass applies the gate the last training pass kept.
fn relu_forward<F: Real>(x: &[F], y: &mut [F], masks: &mut Array2<F>, pass: &StackPass<'_>) {
    let n = x.len();
    match pass {
        StackPass::Eval => {
            for (o, &v) in y.iter_mut().zip(x) {
                *o = v.max(F::zero());
            }
        }
        StackPass::Train(_) => {
            let gate = &mut flat_mut(masks)[..n];
            for ((o, g), &v) in y.iter_mut().zip(gate.iter_mut()).zip(x) {
                let on = v > F::zero();
                *g = if on { F::one() } else { F::zero() };
                *o = if on { v } else { F::zero() };
            }
        }
        StackPass::Frozen => {
            let gate = &flat(masks)[..n];
            for ((o, &g), &v) in y.iter_mut().zip(gate).zip(x) {
                *o = v * g;
            }
        }
    }
}

/// Inverted dropout with probability `p` of `x` into `y`: a training pass draws a fresh
/// mask (0 or 1/(1 − p)) into `masks`, a frozen pass applies the last one, evaluation
/// copies.
fn dropout_forward<F: Real>(
    p: f64,
    x: &[F],
    y: &mut [F],
    masks: &mut Array2<F>,
    pass: &mut StackPass<'_>,
) {
    let n = x.len();
    match pass {
        StackPass::Eval => y.copy_from_slice(x),
        StackPass::Train(rng) => {
            let keep = F::of(1.0 / (1.0 - p));
            let mask = &mut flat_mut(masks)[..n];
            for ((o, m), &v) in y.iter_mut().zip(mask.iter_mut()).zip(x) {
                *m = if rng.random::<f64>() < p {
                    F::zero()
                } else {
                    keep
                };
                *o = v * *m;
            }
        }
        StackPass::Frozen => {
            let mask = &flat(masks)[..n];
            for ((o, &m), &v) in y.iter_mut().zip(mask).zip(x) {
                *o = v * m;
            }
        }
    }
}

/// The backward pass of a layer that works value by value: `d_in` from `d_out`, the
/// layer's `output` (tanh, sigmoid) or the gate or mask its forward pass kept in `masks`
/// (ReLU, dropout).
fn pointwise_backward<F: Real>(
    spec: &LayerSpec,
    d_in: &mut [F],
    d_out: &[F],
    output: &[F],
    masks: &Array2<F>,
) {
    let n = d_in.len();
    match spec {
        LayerSpec::Relu | LayerSpec::Dropout { .. } => {
            let mask = &flat(masks)[..n];
            for ((d, &g), &m) in d_in.iter_mut().zip(d_out).zip(mask) {
                *d = g * m;
            }
        }
        LayerSpec::Tanh => {
            for ((d, &g), &a) in d_in.iter_mut().zip(d_out).zip(output) {
                *d = g * (F::one() - a * a);
            }
        }
        LayerSpec::Sigmoid => {
            for ((d, &g), &a) in d_in.iter_mut().zip(d_out).zip(output) {
                *d = g * a * (F::one() - a);
            }
        }
        // Flatten (the only other kind the caller sends): the gradient passes unchanged.
        _ => d_in.copy_from_slice(d_out),
    }
}

impl<F: Real> Stack<F> {
    /// A freshly initialised stack of `specs` for images of shape `input`, ending in a dense
    /// layer to `classes`; weights drawn from `init` (biases 0, γ 1, β 0).
    pub fn new(
        specs: &[LayerSpec],
        input: Shape,
        classes: usize,
        init: InitKind,
        gaussian_sigma: f64,
        rng: &mut impl Rng,
    ) -> Result<Self, LayersError> {
        let infos = describe(specs, input, classes)?;
        let mut all = specs.to_vec();
        all.push(LayerSpec::Dense { n: classes });
        let mut shapes = vec![input];
        shapes.extend(infos.iter().map(|i| i.output));
        let layers = all
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                let inp = shapes[i];
                let linear = |fan_in: usize, n: usize, rng: &mut dyn rand::RngCore| {
                    let sigma = init.sigma(fan_in, gaussian_sigma);
                    let normal = Normal::new(0.0, sigma.max(0.0)).unwrap_or_else(|_| {
                        Normal::new(0.0, 0.01).expect("0.01 is a valid standard deviation")
                    });
                    StackLayer::Linear {
                        weights: Array2::from_shape_simple_fn((n, fan_in), || {
                            F::of(normal.sample(rng))
                        }),
                        bias: Array1::zeros(n),
                    }
                };
                match *spec {
                    LayerSpec::Patchify { f, n } => linear(f * f * inp.c, n, rng),
                    LayerSpec::Conv { k, n } => linear(k * k * inp.c, n, rng),
                    LayerSpec::Dense { n } => linear(inp.size(), n, rng),
                    LayerSpec::Bn => StackLayer::Bn(BatchNorm::new(inp.c)),
                    _ => StackLayer::Fixed,
                }
            })
            .collect();
        Ok(Stack {
            specs: all,
            layers,
            shapes,
        })
    }

    /// Images' shape.
    pub fn input_shape(&self) -> Shape {
        self.shapes[0]
    }
    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.shapes[self.shapes.len() - 1].c
    }
    /// Where convolution or patchify layer `i` reads; `None` for other layers.
    pub fn window(&self, i: usize) -> Option<Window> {
        let input = self.shapes[i];
        match self.specs[i] {
            LayerSpec::Patchify { f, .. } => Some(Window {
                k: f,
                stride: f,
                pad: 0,
                input,
            }),
            LayerSpec::Conv { k, .. } => Some(Window {
                k,
                stride: 1,
                pad: (k - 1) / 2,
                input,
            }),
            _ => None,
        }
    }
    /// Layer `i`'s convolution over `images` images when it runs from its padded input on
    /// the register panels (no patch matrix), else `None`.
    fn same_conv(&self, i: usize, images: usize) -> Option<SameConv> {
        let win = self.window(i)?;
        conv::same_conv::<F>(&win, self.shapes[i + 1].c, images)
    }
    /// Multiply-adds of one forward pass of one image.
    pub fn multiply_adds_per_image(&self) -> usize {
        let user = &self.specs[..self.specs.len() - 1];
        describe(user, self.shapes[0], self.classes())
            .map(|infos| infos.iter().map(|l| l.multiply_adds).sum())
            .unwrap_or(0)
    }
    /// Σ‖W‖² over the dense and convolution layers (the L2 term's sum).
    pub fn weight_norm_sq(&self) -> f64 {
        self.layers
            .iter()
            .map(|l| match l {
                StackLayer::Linear { weights, .. } => weights
                    .iter()
                    .map(|w| w.to_f64().unwrap_or(f64::NAN).powi(2))
                    .sum(),
                _ => 0.0,
            })
            .sum()
    }
    /// True when every parameter is finite.
    pub fn is_finite(&self) -> bool {
        self.layers
            .iter()
            .all(|l| l.params().iter().all(|p| p.iter().all(|v| v.is_finite())))
    }
    /// The learned parameters of every layer, in order.
    pub fn params(&self) -> Vec<&[F]> {
        self.layers.iter().flat_map(|l| l.params()).collect()
    }
    /// [`Self::params`], writable.
    pub fn params_mut(&mut self) -> Vec<&mut [F]> {
        self.layers
            .iter_mut()
            .flat_map(|l| l.params_mut())
            .collect()
    }
    /// Names of [`Self::params`]: `W1`, `b1`, `γ2`, … (layers counted from 1).
    pub fn param_names(&self) -> Vec<String> {
        self.layers
            .iter()
            .enumerate()
            .flat_map(|(i, l)| l.param_names().iter().map(move |n| format!("{n}{}", i + 1)))
            .collect()
    }
    /// A place for gradients: every layer's parameters, zero.
    pub fn zero_gradients(&self) -> Vec<StackLayer<F>> {
        self.layers.iter().map(|l| l.zeros_like()).collect()
    }
    /// The same stack in another float type.
    pub fn cast<G: Real>(&self) -> Stack<G> {
        let c1 = |a: &Array1<F>| a.mapv(|v| G::of(v.to_f64().unwrap_or(f64::NAN)));
        Stack {
            specs: self.specs.clone(),
            shapes: self.shapes.clone(),
            layers: self
                .layers
                .iter()
                .map(|l| match l {
                    StackLayer::Linear { weights, bias } => StackLayer::Linear {
                        weights: weights.mapv(|v| G::of(v.to_f64().unwrap_or(f64::NAN))),
                        bias: c1(bias),
                    },
                    StackLayer::Bn(bn) => StackLayer::Bn(BatchNorm {
                        gamma: c1(&bn.gamma),
                        beta: c1(&bn.beta),
                        mean: c1(&bn.mean),
                        var: c1(&bn.var),
                    }),
                    StackLayer::Fixed => StackLayer::Fixed,
                })
                .collect(),
        }
    }

    /// Runs `input` (normalised rows × inputs, channel planes as the data sets store them, or
    /// an [`ImageBatch`] read as bytes) through the stack; the scores end up in
    /// [`StackWorkspace::scores`]. From an image batch, the first layer's input (a patchify
    /// layer's patch matrix) is all that is written of it, so [`StackWorkspace::output`]
    /// of 0 is not the input then.
    pub fn forward<'a>(
        &self,
        input: impl Into<StackInput<'a, F>>,
        ws: &mut StackWorkspace<F>,
        mut pass: StackPass<'_>,
    ) {
        let input = input.into();
        let rows = input.rows();
        if rows > ws.capacity || ws.acts.len() != self.shapes.len() {
            *ws = StackWorkspace::new(self, rows);
        }
        ws.rows = rows;
        ws.batch_stats = !matches!(pass, StackPass::Eval);
        let patches_written = match input {
            StackInput::Rows(x) => {
                positions_by_channels(self.shapes[0], x, &mut ws.acts[0]);
                false
            }
            StackInput::Images(batch) => self.read_images(&batch, ws),
        };
        for i in 0..self.layers.len() {
            let (before, after) = ws.acts.split_at_mut(i + 1);
            let input = &before[i];
            let out = &mut after[0];
            let (shape_in, shape_out) = (self.shapes[i], self.shapes[i + 1]);
            match (&self.specs[i], &self.layers[i]) {
                (
                    LayerSpec::Patchify { .. } | LayerSpec::Conv { .. },
                    StackLayer::Linear { weights, bias },
                ) => {
                    let n_in = rows * shape_in.size();
                    if let Some(g) = self.same_conv(i, rows) {
                        conv::same_conv_forward(
                            &g,
                            &flat(input)[..n_in],
                            flat_mut(&mut ws.cols[i]),
                            weights.view(),
                            bias.as_slice().expect("owned arrays are contiguous"),
                            &mut flat_mut(out)[..rows * shape_out.size()],
                        );
                        continue;
                    }
                    let win = self.window(i).expect("a convolution has a window");
                    let pr = rows * win.positions();
                    let cols = flat_mut(&mut ws.cols[i]);
                    if !(i == 0 && patches_written) {
                        conv::im2col(
                            &win,
                            &flat(input)[..n_in],
                            &mut cols[..pr * win.patch_len()],
                        );
                    }
                    conv::linear_forward(
                        mat(cols, pr, win.patch_len()),
                        weights.view(),
                        bias.as_slice().expect("owned arrays are contiguous"),
                        mat_mut(flat_mut(out), pr, shape_out.c),
                    );
                }
                (LayerSpec::Dense { .. }, StackLayer::Linear { weights, bias }) => {
                    conv::linear_forward(
                        input.slice(s![..rows, ..]),
                        weights.view(),
                        bias.as_slice().expect("owned arrays are contiguous"),
                        out.slice_mut(s![..rows, ..]),
                    );
                }
                (LayerSpec::Pool { .. }, _) => {
                    let frozen = matches!(pass, StackPass::Frozen);
                    pool::forward(
                        shape_in,
                        &flat(input)[..rows * shape_in.size()],
                        &mut flat_mut(out)[..rows * shape_out.size()],
                        &mut ws.argmax[i][..rows * shape_out.size()],
                        frozen,
                    );
                }
                (LayerSpec::Bn, StackLayer::Bn(bn)) => {
                    let m = rows * shape_in.positions();
                    let x = mat(flat(input), m, shape_in.c);
                    let y = mat_mut(flat_mut(out), m, shape_in.c);
                    let cache = (!matches!(pass, StackPass::Eval)).then_some(&mut ws.bn[i]);
                    bn_forward(bn, x, y, cache);
                }
                (LayerSpec::Relu, _) => {
                    let n = rows * shape_in.size();
                    relu_forward(
                        &flat(input)[..n],
                        &mut flat_mut(out)[..n],
                        &mut ws.masks[i],
                        &pass,
                    );
                }
                (LayerSpec::Tanh, _) => {
                    let n = rows * shape_in.size();
                    for (o, &v) in flat_mut(out)[..n].iter_mut().zip(&flat(input)[..n]) {
                        *o = v.tanh();
                    }
                }
                (LayerSpec::Sigmoid, _) => {
                    let n = rows * shape_in.size();
                    for (o, &v) in flat_mut(out)[..n].iter_mut().zip(&flat(input)[..n]) {
                        *o = F::one() / (F::one() + (-v).exp());
                    }
                }
                (LayerSpec::Dropout { p }, _) => {
                    let n = rows * shape_in.size();
                    dropout_forward(
                        *p,
                        &flat(input)[..n],
                        &mut flat_mut(out)[..n],
                        &mut ws.masks[i],
                        &mut pass,
                    );
                }
                (LayerSpec::Flatten, _) => {
                    let n = rows * shape_in.size();
                    flat_mut(out)[..n].copy_from_slice(&flat(input)[..n]);
                }
                (spec, _) => unreachable!("layer {spec} was built with parameters of its kind"),
            }
        }
    }

    /// The mean loss of the last forward pass against `labels`; with `grad`, also writes
    /// ∂(mean loss)/∂scores into the workspace for [`Self::backward`].
    fn loss_of_pass(
        &self,
        labels: &[u8],
        kind: impl Into<Loss>,
        ws: &mut StackWorkspace<F>,
        grad: bool,
    ) -> f64 {
        let rows = ws.rows;
        let last = ws.acts.len() - 1;
        let scale = F::of(1.0 / rows.max(1) as f64);
        let (acts, deltas) = (&ws.acts, &mut ws.deltas);
        let classes = self.shapes[last].size();
        let total = loss_rows(
            kind,
            acts[last].slice(s![..rows, ..]),
            &labels[..rows],
            &mut ws.predictions[..rows],
            grad.then(|| mat_mut(flat_mut(&mut deltas[last % 2]), rows, classes)),
            scale,
        );
        total / rows.max(1) as f64
    }

    /// Mean loss of `x` against `labels` in a forward pass of kind `pass`; predictions land in
    /// [`StackWorkspace::predictions`].
    pub fn loss<'a>(
        &self,
        x: impl Into<StackInput<'a, F>>,
        labels: &[u8],
        kind: impl Into<Loss>,
        ws: &mut StackWorkspace<F>,
        pass: StackPass<'_>,
    ) -> f64 {
        self.forward(x, ws, pass);
        self.loss_of_pass(labels, kind, ws, false)
    }

    /// `mean loss + λ Σ‖W‖²`.
    pub fn cost<'a>(
        &self,
        x: impl Into<StackInput<'a, F>>,
        labels: &[u8],
        kind: impl Into<Loss>,
        lambda: f64,
        ws: &mut StackWorkspace<F>,
        pass: StackPass<'_>,
    ) -> f64 {
        self.loss(x, labels, kind, ws, pass) + lambda * self.weight_norm_sq()
    }

    /// A forward pass of kind `pass`, then the gradients of `mean loss + λ Σ‖W‖²` into `grads`
    /// (from [`Self::zero_gradients`]). Returns the mean loss.
    #[allow(clippy::too_many_arguments)]
    pub fn loss_and_backward<'a>(
        &self,
        x: impl Into<StackInput<'a, F>>,
        labels: &[u8],
        kind: impl Into<Loss>,
        lambda: f64,
        ws: &mut StackWorkspace<F>,
        pass: StackPass<'_>,
        grads: &mut [StackLayer<F>],
    ) -> f64 {
        self.forward(x, ws, pass);
        let loss = self.loss_of_pass(labels, kind, ws, true);
        self.backward(lambda, ws, grads);
        loss
    }

    /// The backward pass from the score gradient the last loss left in `ws`.
    fn backward(&self, lambda: f64, ws: &mut StackWorkspace<F>, grads: &mut [StackLayer<F>]) {
        let two_lambda = F::of(2.0 * lambda);
        for i in (0..self.layers.len()).rev() {
            self.layer_backward(i, two_lambda, ws, &mut grads[i]);
        }
    }

    /// Layer `i`'s part of [`Self::backward`]: its parameters' gradients (with the
    /// penalty's 2λW) into `grad`, and the gradient of its input into `ws` (not for the
    /// first layer, whose input is the data).
    fn layer_backward(
        &self,
        i: usize,
        two_lambda: F,
        ws: &mut StackWorkspace<F>,
        grad: &mut StackLayer<F>,
    ) {
        let rows = ws.rows;
        let (shape_in, shape_out) = (self.shapes[i], self.shapes[i + 1]);
        let need_input_grad = i > 0;
        let [even, odd] = &mut ws.deltas;
        let (d_out, d_in) = if i.is_multiple_of(2) {
            (&*odd, even)
        } else {
            (&*even, odd)
        };
        let input = &ws.acts[i];
        let output = &ws.acts[i + 1];
        let n_in = rows * shape_in.size();
        let n_out = rows * shape_out.size();
        match (&self.specs[i], &self.layers[i], grad) {
            (
                LayerSpec::Patchify { .. } | LayerSpec::Conv { .. },
                StackLayer::Linear { weights, .. },
                StackLayer::Linear {
                    weights: dw,
                    bias: db,
                },
            ) => {
                if let Some(g) = self.same_conv(i, rows) {
                    conv::same_conv_backward(
                        &g,
                        flat(&ws.cols[i]),
                        weights.view(),
                        &flat(d_out)[..n_out],
                        dw.as_slice_mut().expect("owned arrays are contiguous"),
                        db.as_slice_mut().expect("owned arrays are contiguous"),
                        need_input_grad.then(|| (&mut ws.d_cols[..], &mut flat_mut(d_in)[..n_in])),
                    );
                    dw.scaled_add(two_lambda, weights);
                    return;
                }
                let win = self.window(i).expect("a convolution has a window");
                let pr = rows * win.positions();
                let plen = win.patch_len();
                let d_cols = &mut ws.d_cols[..pr * plen];
                conv::linear_backward(
                    mat(flat(&ws.cols[i]), pr, plen),
                    weights.view(),
                    mat(flat(d_out), pr, shape_out.c),
                    dw.view_mut(),
                    db.as_slice_mut().expect("owned arrays are contiguous"),
                    need_input_grad.then(|| mat_mut(d_cols, pr, plen)),
                );
                if need_input_grad {
                    conv::col2im(&win, d_cols, &mut flat_mut(d_in)[..n_in]);
                }
                dw.scaled_add(two_lambda, weights);
            }
            (
                LayerSpec::Dense { .. },
                StackLayer::Linear { weights, .. },
                StackLayer::Linear {
                    weights: dw,
                    bias: db,
                },
            ) => {
                let d_cols = &mut ws.d_cols[..n_in];
                conv::linear_backward(
                    input.slice(s![..rows, ..]),
                    weights.view(),
                    mat(flat(d_out), rows, shape_out.size()),
                    dw.view_mut(),
                    db.as_slice_mut().expect("owned arrays are contiguous"),
                    need_input_grad.then(|| mat_mut(d_cols, rows, shape_in.size())),
                );
                if need_input_grad {
                    flat_mut(d_in)[..n_in].copy_from_slice(d_cols);
                }
                dw.scaled_add(two_lambda, weights);
            }
            (LayerSpec::Bn, StackLayer::Bn(bn), StackLayer::Bn(g)) => {
                let m = rows * shape_in.positions();
                let cache = ws.bn[i]
                    .as_ref()
                    .expect("a training pass kept the batch statistics");
                norm::backward(
                    bn,
                    cache,
                    mat(flat(d_out), m, shape_in.c),
                    g.gamma.as_slice_mut().expect("owned arrays are contiguous"),
                    g.beta.as_slice_mut().expect("owned arrays are contiguous"),
                    need_input_grad.then(|| mat_mut(flat_mut(d_in), m, shape_in.c)),
                );
            }
            _ if !need_input_grad => {}
            (LayerSpec::Pool { .. }, _, _) => {
                pool::backward(
                    shape_in,
                    &flat(d_out)[..n_out],
                    &ws.argmax[i][..n_out],
                    &mut flat_mut(d_in)[..n_in],
                );
            }
            (
                spec @ (LayerSpec::Relu
                | LayerSpec::Dropout { .. }
                | LayerSpec::Tanh
                | LayerSpec::Sigmoid
                | LayerSpec::Flatten),
                _,
                _,
            ) => pointwise_backward(
                spec,
                &mut flat_mut(d_in)[..n_in],
                &flat(d_out)[..n_in],
                &flat(output)[..n_in],
                &ws.masks[i],
            ),
            (spec, _, _) => unreachable!("layer {spec} was built with parameters of its kind"),
        }
    }

    /// Moves every batch-norm layer's running averages toward the last training pass's
    /// statistics.
    pub fn track_batch_statistics(&mut self, ws: &StackWorkspace<F>) {
        if !ws.batch_stats {
            return;
        }
        for (layer, cache) in self.layers.iter_mut().zip(&ws.bn) {
            if let (StackLayer::Bn(bn), Some(c)) = (layer, cache) {
                norm::track(bn, c);
            }
        }
    }
}
