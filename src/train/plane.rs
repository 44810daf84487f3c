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
}
