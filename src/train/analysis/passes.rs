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
/// are 64 MB, and PCA's products on such a matrix take seconds. A wider layer is embedded
/// on fewer images (a 32×32×32 convolution output: 512 images).
pub const MAX_EMBEDDING_VALUES: usize = 16 << 20;

/// Fewest images an embedding is cut to for a wide layer (the layout means little below).
const MIN_EMBEDDING_POINTS: usize = 100;

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
    let most = (MAX_EMBEDDING_VALUES / width.max(1)).max(MIN_EMBEDDING_POINTS);
    if count <= most {
        return (count, None);
    }
    let note = format!(
        "on the first {} of the {} images asked for: the layer has {} values per image, and \
         an embedding holds at most {} values",
        crate::format::thousands(most),
        crate::format::thousands(count),
        crate::format::thousands(width),
        crate::format::thousands(MAX_EMBEDDING_VALUES)
    );
    (most, Some(note))
}
