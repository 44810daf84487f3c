//! Numerical gradient check of a layer stack: fourth-order centred differences of the cost
//! against the stack's own backward pass, with ReLU gates, pooling choices and dropout masks
//! held as the analytic pass had them (so a difference never straddles a kink).

use ndarray::ArrayView2;
use rand::SeedableRng;
use rand::rngs::SmallRng;

use super::gradcheck::{ParamCheck, relative_error};
use super::loss::Loss;
use super::stack::{Stack, StackLayer, StackPass, StackWorkspace};
use super::{LossKind, Real};

/// Gradients of `mean loss + λ Σ‖W‖²` from one training pass (dropout masks drawn from
/// `seed`), and the workspace holding that pass's gates and masks.
pub fn analytic<F: Real>(
    stack: &Stack<F>,
    x: ArrayView2<F>,
    labels: &[u8],
    loss: impl Into<Loss>,
    lambda: f64,
    seed: u64,
) -> (Vec<StackLayer<F>>, StackWorkspace<F>) {
    let mut ws = StackWorkspace::new(stack, x.nrows());
    let mut grads = stack.zero_gradients();
    let mut rng = SmallRng::seed_from_u64(seed);
    stack.loss_and_backward(
        x,
        labels,
        loss,
        lambda,
        &mut ws,
        StackPass::Train(&mut rng),
        &mut grads,
    );
    (grads, ws)
}

/// Compares `analytic` (as [`analytic`] returns it, with its workspace `ws`) with numerical
/// derivatives of step `h` (1e-4 suits f64) for every parameter; one entry per array.
#[allow(clippy::too_many_arguments)]
pub fn compare<F: Real>(
    stack: &Stack<F>,
    x: ArrayView2<F>,
    labels: &[u8],
    loss: LossKind,
    lambda: f64,
    h: f64,
    analytic: &[StackLayer<F>],
    ws: &mut StackWorkspace<F>,
) -> Vec<ParamCheck> {
    compare_some(stack, x, labels, loss, lambda, h, analytic, ws, usize::MAX)
}

/// [`compare`] on at most `per_array` entries of each parameter array, drawn at random
/// (seeded, so the same entries each time) where an array has more: four passes per entry
/// make every entry of a ConvNet's arrays too slow to check. A [`ParamCheck`]'s count is
/// the entries compared.
#[allow(clippy::too_many_arguments)]
pub fn compare_some<F: Real>(
    stack: &Stack<F>,
    x: ArrayView2<F>,
    labels: &[u8],
    loss: impl Into<Loss>,
    lambda: f64,
    h: f64,
    analytic: &[StackLayer<F>],
    ws: &mut StackWorkspace<F>,
    per_array: usize,
) -> Vec<ParamCheck> {
    let loss: Loss = loss.into();
    let mut pick = SmallRng::seed_from_u64(11);
    // As in the MLP's check: round-off of the cost over the step floors a numerical
    // gradient near 1e-11; gradients above 1e-4 are held to the full relative tolerance.
    const EPS: f64 = 1e-4;
    let names = stack.param_names();
    let grads: Vec<Vec<f64>> = analytic
        .iter()
        .flat_map(|l| l.params())
        .map(|p| p.iter().map(|v| v.to_f64().unwrap_or(f64::NAN)).collect())
        .collect();
    let mut probe = stack.clone();
    let mut results = Vec::new();
    for (which, (name, ga)) in names.iter().zip(&grads).enumerate() {
        let mut max = 0.0f64;
        let mut sum = 0.0f64;
        let entries: Vec<usize> = if ga.len() <= per_array {
            (0..ga.len()).collect()
        } else {
            let mut some = rand::seq::index::sample(&mut pick, ga.len(), per_array).into_vec();
            some.sort_unstable();
            some
        };
        for &idx in &entries {
            let g = ga[idx];
            let mut at = |delta: f64, probe: &mut Stack<F>| {
                let orig = probe.params()[which][idx];
                probe.params_mut()[which][idx] = orig + F::of(delta);
                let c = probe.cost(x, labels, loss, lambda, ws, StackPass::Frozen);
                probe.params_mut()[which][idx] = orig;
                c
            };
            let numeric = (-at(2.0 * h, &mut probe) + 8.0 * at(h, &mut probe)
                - 8.0 * at(-h, &mut probe)
                + at(-2.0 * h, &mut probe))
                / (12.0 * h);
            let e = relative_error(g, numeric, EPS);
            if e > max || e.is_nan() {
                max = e;
            }
            sum += e;
        }
        results.push(ParamCheck {
            name: name.clone(),
            count: entries.len(),
            max_rel_error: max,
            mean_rel_error: sum / entries.len().max(1) as f64,
        });
    }
    results
}

/// [`analytic`] then [`compare`].
pub fn check<F: Real>(
    stack: &Stack<F>,
    x: ArrayView2<F>,
    labels: &[u8],
    loss: LossKind,
    lambda: f64,
    h: f64,
) -> Vec<ParamCheck> {
    let (grads, mut ws) = analytic(stack, x, labels, loss, lambda, 7);
    compare(stack, x, labels, loss, lambda, h, &grads, &mut ws)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::InitKind;
    use crate::model::layers::{Shape, parse};
    use ndarray::Array2;
    use rand::Rng;

    const TOL: f64 = 1e-6;
    const IMAGE: Shape = Shape { h: 4, w: 4, c: 2 };

    fn problem(seed: u64, rows: usize, classes: usize) -> (Array2<f64>, Vec<u8>) {
        let mut rng = SmallRng::seed_from_u64(seed);
        let x =
            Array2::from_shape_simple_fn((rows, IMAGE.size()), || rng.random_range(-1.0..1.0f64));
        (x, (0..rows).map(|i| (i % classes) as u8).collect())
    }

    fn stack(text: &str, seed: u64) -> Stack<f64> {
        let specs = parse(text).expect("test strings parse");
        let mut rng = SmallRng::seed_from_u64(seed);
        let mut s = Stack::new(&specs, IMAGE, 3, InitKind::He, 0.01, &mut rng).expect("fits");
        // Batch norm with γ, β away from 1, 0 so their gradients are tested in general.
        for layer in &mut s.layers {
            if let StackLayer::Bn(bn) = layer {
                bn.gamma.mapv_inplace(|_| rng.random_range(0.5..1.5));
                bn.beta.mapv_inplace(|_| rng.random_range(-0.5..0.5));
            }
        }
        s
    }

    /// Every layer kind alone (before the implied output layer) and in stacks, with each
    /// loss and with and without L2: correct gradients pass at 1e-6.
    #[test]
    fn every_layer_kind_alone_and_in_stacks_passes_with_each_loss() {
        let nets = [
            "",
            "dense 5",
            "patchify 2:3",
            "conv 3:2",
            "conv 1:2",
            "pool 2",
            "flatten",
            "relu",
            "tanh",
            "sigmoid",
            "bn",
            "dropout 0.3",
            "conv 3:3, bn",
            "dense 4, bn",
            "patchify 2:4, relu, dense 6, relu",
            "conv 3:3, bn, relu, pool 2, conv 3:4, relu, pool 2, dense 5, tanh, dropout 0.2",
            "conv 3:2, sigmoid, pool 2, flatten, bn, dense 4, relu",
            "patchify 4:3, tanh, dense 5, bn, relu",
        ];
        let mut worst = 0.0f64;
        for (n, text) in nets.iter().enumerate() {
            for loss in LossKind::ALL {
                for lambda in [0.0, 0.05] {
                    let s = stack(text, n as u64);
                    let (x, labels) = problem(n as u64 + 100, 5, 3);
                    let report = check(&s, x.view(), &labels, loss, lambda, 1e-4);
                    assert_eq!(report.len(), s.param_names().len());
                    for p in &report {
                        assert!(
                            p.max_rel_error < TOL,
                            "\"{text}\" {loss:?} λ {lambda}: {} max rel error {:e}",
                            p.name,
                            p.max_rel_error
                        );
                        worst = worst.max(p.max_rel_error);
                    }
                }
            }
        }
        eprintln!("largest relative error: {worst:e}");
    }

    /// One wrong entry in any parameter array fails the check.
    #[test]
    fn a_perturbed_entry_fails() {
        let s = stack("conv 3:3, bn, relu, pool 2, dense 5, relu", 3);
        let (x, labels) = problem(4, 5, 3);
        let (grads, mut ws) = analytic(&s, x.view(), &labels, LossKind::Ce, 0.01, 7);
        let arrays = grads.iter().flat_map(|l| l.params()).count();
        for which in 0..arrays {
            let mut wrong = grads.clone();
            let entry = &mut wrong
                .iter_mut()
                .flat_map(|l| l.params_mut())
                .nth(which)
                .expect("array")[0];
            *entry += 1e-3 + entry.abs() * 1e-3;
            let report = compare(
                &s,
                x.view(),
                &labels,
                LossKind::Ce,
                0.01,
                1e-4,
                &wrong,
                &mut ws,
            );
            assert!(
                report[which].max_rel_error > TOL,
                "{}: {:e}",
                report[which].name,
                report[which].max_rel_error
            );
            for (k, p) in report.iter().enumerate() {
                if k != which {
                    assert!(p.max_rel_error < TOL, "{}: {:e}", p.name, p.max_rel_error);
                }
            }
        }
    }

    /// The stack with only its output layer is the linear classifier of the MLP path: same
    /// scores once the input is rearranged the same way.
    #[test]
    fn a_dense_stack_computes_what_its_weights_say() {
        let s = stack("dense 4, relu", 9);
        let (x, _) = problem(1, 3, 3);
        let mut ws = StackWorkspace::new(&s, 3);
        s.forward(x.view(), &mut ws, StackPass::Eval);
        // By hand: the input rearranged to positions × channels, then two dense layers.
        let hwc = Array2::from_shape_fn((3, IMAGE.size()), |(r, i)| {
            let (p, c) = (i / IMAGE.c, i % IMAGE.c);
            x[[r, c * IMAGE.positions() + p]]
        });
        let (
            StackLayer::Linear {
                weights: w1,
                bias: b1,
            },
            StackLayer::Linear {
                weights: w2,
                bias: b2,
            },
        ) = (&s.layers[0], &s.layers[2])
        else {
            panic!("dense layers")
        };
        let h = (hwc.dot(&w1.t()) + b1).mapv(|v| v.max(0.0));
        let want = h.dot(&w2.t()) + b2;
        for (a, b) in ws.scores().iter().zip(want.iter()) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }
}
