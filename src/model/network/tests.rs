//! Gradients with dropout against numerical ones; batch norm's running averages.

use super::*;
use crate::model::LossKind;
use ndarray::{Array2, s};
use rand::Rng;
use rand::{SeedableRng, rngs::SmallRng};

/// |a − n| / max(ε, |a| + |n|), as the gradient check measures (kept here so the network's
/// tests do not reach into the checker that is built on the network).
fn relative_error(analytic: f64, numeric: f64, eps: f64) -> f64 {
    (analytic - numeric).abs() / eps.max(analytic.abs() + numeric.abs())
}

fn problem(rng: &mut SmallRng) -> (Array2<f64>, Vec<u8>) {
    let x = Array2::from_shape_simple_fn((12, 7), || rng.random_range(-1.0..1.0));
    (x, (0..12).map(|i| (i % 3) as u8).collect())
}

/// With the same masks (the same seed), dropout's gradients match centred differences.
#[test]
fn dropout_gradients_match_numerical_ones() {
    let mut rng = SmallRng::seed_from_u64(5);
    let (x, labels) = problem(&mut rng);
    for act in Activation::ALL {
        let net = Network::<f64>::new(7, &[9, 8], 3, act, InitKind::Xavier, 0.0, &mut rng);
        let cost = |n: &Network<f64>| {
            let mut ws = Workspace::new(n, 12);
            let mut masks = SmallRng::seed_from_u64(99);
            let pass = Pass::Dropout {
                rate: 0.3,
                rng: &mut masks,
            };
            n.loss_with(x.view(), &labels, LossKind::Ce, &mut ws, pass) / 12.0
        };
        let mut grads = Vec::new();
        let mut ws = Workspace::new(&net, 12);
        let mut masks = SmallRng::seed_from_u64(99);
        net.clone().loss_and_backward_with(
            x.view(),
            &labels,
            LossKind::Ce,
            &mut ws,
            GradientUse::Store {
                lambda: 0.0,
                out: &mut grads,
            },
            Pass::Dropout {
                rate: 0.3,
                rng: &mut masks,
            },
        );
        let h = 1e-5;
        for (l, grad) in grads.iter().enumerate() {
            for idx in 0..grad.weights.len() {
                let mut probe = net.clone();
                let w = probe.layers[l].weights.as_slice_mut().unwrap();
                w[idx] += h;
                let plus = cost(&probe);
                probe.layers[l].weights.as_slice_mut().unwrap()[idx] -= 2.0 * h;
                let minus = cost(&probe);
                let numeric = (plus - minus) / (2.0 * h);
                let analytic = grad.weights.as_slice().unwrap()[idx];
                let e = relative_error(analytic, numeric, 1e-4);
                assert!(
                    e < 1e-6,
                    "{act:?} W{} entry {idx}: {analytic} vs {numeric}",
                    l + 1
                );
            }
        }
        // Some units were dropped and the rest scaled up.
        let mask = ws.masks[0].slice(s![..12, ..]);
        assert!(mask.iter().any(|&m| m == 0.0));
        assert!(mask.iter().any(|&m| (m - 1.0 / 0.7).abs() < 1e-12));
    }
}

/// Evaluation with running averages equal to a batch's statistics gives that batch's
/// training outputs; tracking moves the averages by 1 − BN_AVERAGING towards them.
#[test]
fn batch_norm_evaluation_uses_running_averages() {
    let mut rng = SmallRng::seed_from_u64(6);
    let (x, _) = problem(&mut rng);
    let mut net = Network::<f64>::new(7, &[5], 3, Activation::Tanh, InitKind::He, 0.0, &mut rng)
        .with_batch_norm(true);
    assert!(net.has_batch_norm() && net.layers[1].bn.is_none());
    let mut ws = Workspace::new(&net, 12);
    net.forward_with(x.view(), &mut ws, Pass::Batch);
    let trained = ws.layer_output(1, 12).to_owned();
    let cache = ws.bn[0].clone().unwrap();
    net.track_batch_statistics(&ws);
    let bn = net.layers[0].bn.as_ref().unwrap();
    let step = 1.0 - BN_AVERAGING;
    assert!((bn.mean[0] - step * cache.mean[0]).abs() < 1e-12);
    assert!((bn.var[0] - (BN_AVERAGING + step * cache.var[0])).abs() < 1e-12);
    let bn = net.layers[0].bn.as_mut().unwrap();
    bn.mean.assign(&cache.mean);
    bn.var.assign(&cache.var);
    net.forward(x.view(), &mut ws);
    for (a, b) in ws.layer_output(1, 12).iter().zip(&trained) {
        assert!((a - b).abs() < 1e-9, "{a} vs {b}");
    }
    // The normalised layer has mean 0 and spread 1 over the batch before γ and β.
    let normed = &cache.normed;
    for col in normed.columns() {
        let m = col.mean().unwrap();
        let v = col.mapv(|h| (h - m) * (h - m)).mean().unwrap();
        assert!(m.abs() < 1e-9 && (v - 1.0).abs() < 1e-6, "mean {m} var {v}");
    }
}
