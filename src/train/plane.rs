//! What a network trained on points in the plane computes over the whole plane: the class
//! probabilities on a grid (the decision boundary) and every neuron's output there (the
//! network view). The window's Plane and Network tabs and the report's figures read these.
//! Each grid point goes through the same byte encoding and normalisation as the training
//! points (see [`crate::data::plane`]), so the maps show what the network really computes.

use ndarray::ArrayView2;

use crate::data::Normalizer;
use crate::data::plane::{self, Feature};
use crate::model::loss::probabilities;
use crate::model::{LossKind, Network, Workspace};

/// The network's outputs on a `side` × `side` grid over the plane (row by row from the top,
/// see [`plane::grid`]).
#[derive(Debug, Clone, PartialEq)]
pub struct PlaneMaps {
    /// Cells per side.
    pub side: usize,
    /// Number of classes.
    pub classes: usize,
    /// Class probabilities, `side² × classes`, row-major.
    pub probs: Vec<f32>,
    /// Each input feature's value (before encoding), one map of `side²` per feature.
    pub inputs: Vec<Vec<f32>>,
    /// Each layer's outputs (hidden activations; the class scores last), per layer one map
    /// of `side²` values per unit.
    pub layers: Vec<Vec<Vec<f32>>>,
}

impl PlaneMaps {
    /// The predicted class and its probability in cell `i`.
    pub fn predicted(&self, i: usize) -> (usize, f32) {
        let row = &self.probs[i * self.classes..(i + 1) * self.classes];
        row.iter()
            .enumerate()
            .fold((0, f32::NEG_INFINITY), |best, (k, &p)| {
                if p > best.1 { (k, p) } else { best }
            })
    }
}

/// Runs `points` through `net` (inputs `features`, normalised by `norm`); returns the
/// class probabilities under `loss` (`points.len() × classes`) and each layer's outputs,
/// `points.len() × units`, row-major.
pub fn outputs(
    net: &Network<f32>,
    norm: &Normalizer,
    features: &[Feature],
    loss: LossKind,
    points: &[[f32; 2]],
) -> (Vec<f32>, Vec<Vec<f32>>) {
    let rows = points.len();
    let classes = net.classes();
    if rows == 0 || net.input_dim() != features.len() {
        return (Vec::new(), Vec::new());
    }
    let x = plane::inputs(points, features, norm);
    let x =
        ArrayView2::from_shape((rows, features.len()), &x).expect("inputs holds one row per point");
    let mut ws = Workspace::new(net, rows);
    net.forward(x, &mut ws);
    let layers: Vec<Vec<f32>> = (0..net.layers.len())
        .map(|l| ws.layer_output(l, rows).iter().copied().collect())
        .collect();
    let mut probs = vec![0f32; rows * classes];
    for (scores, out) in ws
        .scores(rows)
        .rows()
        .into_iter()
        .zip(probs.chunks_exact_mut(classes))
    {
        let scores: Vec<f32> = scores.iter().copied().collect();
        probabilities(loss, &scores, out);
    }
    (probs, layers)
}

/// The maps of `net` on a `side` × `side` grid; `None` when the network does not take
/// `features` as its inputs.
pub fn maps(
    net: &Network<f32>,
    norm: &Normalizer,
    features: &[Feature],
    loss: LossKind,
    side: usize,
) -> Option<PlaneMaps> {
    if net.input_dim() != features.len() || side == 0 {
        return None;
    }
    let grid = plane::grid(side);
    let (probs, flat) = outputs(net, norm, features, loss, &grid);
    let cells = grid.len();
    let layers = flat
        .iter()
        .map(|out| {
            let units = out.len() / cells;
            (0..units)
                .map(|u| (0..cells).map(|i| out[i * units + u]).collect())
                .collect()
        })
        .collect();
    let inputs = features
        .iter()
        .map(|f| grid.iter().map(|&p| f.value(p)).collect())
        .collect();
    Some(PlaneMaps {
        side,
        classes: net.classes(),
        probs,
        inputs,
        layers,
    })
}

/// ConvNetJS's view of how one layer maps the plane: the plane's grid lines and the
/// points, each carried through the network to that layer and drawn by the outputs of
/// two of its units.
#[derive(Debug, Clone, PartialEq)]
pub struct Warp {
    /// Each grid line (those of constant x₁ first, then those of constant x₂) as its
    /// vertices: the two units' outputs there, and the class the network predicts at the
    /// vertex's point of the plane.
    pub lines: Vec<Vec<WarpVertex>>,
    /// The points given, in their order: the two units' outputs at each.
    pub points: Vec<[f32; 2]>,
}

/// One vertex of a warped grid line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WarpVertex {
    /// The two units' outputs.
    pub at: [f32; 2],
    /// The class predicted at the vertex's point of the plane.
    pub class: usize,
    /// Its probability.
    pub confidence: f32,
}

/// The grid lines and `points` as layer `layer` (0 the first hidden layer; the last is
/// the class scores) sees them through units `units`: `lines` lines of constant x₁ and as
/// many of constant x₂, evenly over the plane, each sampled at `samples` points. `None`
/// when the network does not take `features`, or the layer or a unit does not exist.
#[allow(clippy::too_many_arguments)]
pub fn warp(
    net: &Network<f32>,
    norm: &Normalizer,
    features: &[Feature],
    loss: LossKind,
    layer: usize,
    units: [usize; 2],
    lines: usize,
    samples: usize,
    points: &[[f32; 2]],
) -> Option<Warp> {
    let width = net.layers.get(layer)?.weights.nrows();
    if net.input_dim() != features.len()
        || units.iter().any(|&u| u >= width)
        || lines < 2
        || samples < 2
    {
        return None;
    }
    let e = plane::EXTENT;
    let along = |i: usize, n: usize| -e + 2.0 * e * i as f32 / (n - 1) as f32;
    // Every vertex of every line, then the points, in one forward pass.
    let mut all: Vec<[f32; 2]> = Vec::with_capacity(2 * lines * samples + points.len());
    for i in 0..lines {
        all.extend((0..samples).map(|j| [along(i, lines), along(j, samples)]));
    }
    for i in 0..lines {
        all.extend((0..samples).map(|j| [along(j, samples), along(i, lines)]));
    }
    all.extend_from_slice(points);
    let (probs, outs) = outputs(net, norm, features, loss, &all);
    let out = outs.get(layer)?;
    let classes = net.classes();
    let at = |i: usize| [out[i * width + units[0]], out[i * width + units[1]]];
    let vertex = |i: usize| {
        let row = &probs[i * classes..(i + 1) * classes];
        let (class, confidence) =
            row.iter()
                .enumerate()
                .fold((0, f32::NEG_INFINITY), |best, (k, &p)| {
                    if p > best.1 { (k, p) } else { best }
                });
        WarpVertex {
            at: at(i),
            class,
            confidence,
        }
    };
    let grid = 2 * lines * samples;
    Some(Warp {
        lines: (0..2 * lines)
            .map(|l| (l * samples..(l + 1) * samples).map(vertex).collect())
            .collect(),
        points: (grid..all.len()).map(at).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Preprocess;
    use crate::data::plane::{PlaneKind, PlaneSpec, generate};
    use crate::model::{Activation, InitKind};
    use rand::{SeedableRng, rngs::SmallRng};

    #[test]
    fn maps_have_one_value_per_cell_and_unit_and_probabilities_sum_to_one() {
        let pts = generate(&PlaneSpec {
            kind: PlaneKind::Circle,
            points: 100,
            noise: 0.0,
            test_share: 0.2,
            classes: 3,
            seed: 0,
        })
        .expect("valid spec");
        let features = [Feature::X1, Feature::X2, Feature::X1Sq];
        let splits = pts.to_splits(&features);
        let norm = Normalizer::fit(&splits.train, Preprocess::Standardize);
        let mut rng = SmallRng::seed_from_u64(0);
        let net = Network::new(
            3,
            &[4],
            3,
            Activation::Tanh,
            InitKind::Xavier,
            0.0,
            &mut rng,
        );
        let m = maps(&net, &norm, &features, LossKind::Ce, 10).expect("inputs fit");
        assert_eq!(m.probs.len(), 100 * 3);
        assert_eq!(m.inputs.len(), 3);
        assert_eq!(m.layers.len(), 2);
        assert_eq!(m.layers[0].len(), 4);
        assert_eq!(m.layers[0][0].len(), 100);
        for i in 0..100 {
            let s: f32 = m.probs[i * 3..i * 3 + 3].iter().sum();
            assert!((s - 1.0).abs() < 1e-5);
        }
        assert!(maps(&net, &norm, &features[..2], LossKind::Ce, 10).is_none());
    }

    #[test]
    fn the_warped_grid_is_the_layers_output_along_the_plane_s_grid_lines() {
        let features = [Feature::X1, Feature::X2];
        let pts = generate(&PlaneSpec {
            kind: PlaneKind::Spiral,
            points: 60,
            noise: 0.1,
            test_share: 0.2,
            classes: 2,
            seed: 1,
        })
        .expect("valid spec");
        let norm = Normalizer::fit(&pts.to_splits(&features).train, Preprocess::Standardize);
        let mut rng = SmallRng::seed_from_u64(3);
        let net = Network::new(
            2,
            &[5, 3],
            2,
            Activation::Tanh,
            InitKind::Xavier,
            0.0,
            &mut rng,
        );
        let points: Vec<[f32; 2]> = pts.train.iter().map(|p| p.x).collect();
        let w = warp(
            &net,
            &norm,
            &features,
            LossKind::Ce,
            1,
            [2, 0],
            5,
            7,
            &points,
        )
        .expect("layer and units exist");
        assert_eq!(w.lines.len(), 10);
        assert!(w.lines.iter().all(|l| l.len() == 7));
        assert_eq!(w.points.len(), points.len());
        // The first line is x₁ = −6 from x₂ = −6 up; the sixth x₂ = −6 from x₁ = −6 on: both
        // start at the corner (−6, −6), and the third line passes through the centre.
        assert_eq!(w.lines[0][0], w.lines[5][0]);
        let (probs, outs) = outputs(&net, &norm, &features, LossKind::Ce, &[[0.0, 0.0]]);
        assert_eq!(w.lines[2][3].at, [outs[1][2], outs[1][0]]);
        let best = if probs[0] > probs[1] { 0 } else { 1 };
        assert_eq!(w.lines[2][3].class, best);
        let (_, outs) = outputs(&net, &norm, &features, LossKind::Ce, &points[..1]);
        assert_eq!(w.points[0], [outs[1][2], outs[1][0]]);
        // A tanh layer's outputs lie in (−1, 1).
        assert!(
            w.lines
                .iter()
                .flatten()
                .all(|v| v.at.iter().all(|x| x.abs() < 1.0))
        );
        // The second hidden layer has no fourth unit; the network has no fourth layer.
        assert!(warp(&net, &norm, &features, LossKind::Ce, 1, [3, 0], 5, 7, &[]).is_none());
        assert!(warp(&net, &norm, &features, LossKind::Ce, 3, [0, 1], 5, 7, &[]).is_none());
    }
}
