//! Numerical gradient check: fourth-order centred differences against the analytic
//! gradients.

use ndarray::{Array2, ArrayView2};

use super::loss::{Loss, loss_rows};
use super::network::{Activation, GradientUse, Layer, Network, Workspace};
use super::{LossKind, Real};

/// Largest and mean relative error of one parameter array.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamCheck {
    /// E.g. `W1`, `b2` (layers counted from 1).
    pub name: String,
    /// Number of entries compared.
    pub count: usize,
    /// max over entries of |g_a − g_n| / max(eps, |g_a| + |g_n|).
    pub max_rel_error: f64,
    /// Mean of the same quantity.
    pub mean_rel_error: f64,
}

/// The `idx`-th entry of parameter array `which` (see [`crate::model::Layer::params`]) of
/// layer `layer`.
fn param_mut<F: Real>(net: &mut Network<F>, layer: usize, which: usize, idx: usize) -> &mut F {
    net.layers[layer]
        .params_mut()
        .swap_remove(which)
        .get_mut(idx)
        .expect("index within the parameter array")
}

/// Relative error as the course defines it; `eps` keeps 0/0 at 0.
pub fn relative_error(analytic: f64, numeric: f64, eps: f64) -> f64 {
    (analytic - numeric).abs() / eps.max(analytic.abs() + numeric.abs())
}

/// The analytic gradients of `cost = mean loss + λ Σ‖W‖²` on (`x`, `labels`), one per layer
/// of `net` (the L2 term included), from the network's own backward pass.
pub fn analytic_gradients<F: Real>(
    net: &Network<F>,
    x: ArrayView2<F>,
    labels: &[u8],
    loss: impl Into<Loss>,
    lambda: f64,
) -> Vec<Layer<F>> {
    let mut ws = Workspace::new(net, x.nrows());
    let mut analytic = Vec::new();
    let mut scratch = net.clone();
    scratch.loss_and_backward(
        x,
        labels,
        loss,
        &mut ws,
        Some(GradientUse::Store {
            lambda: F::of(lambda),
            out: &mut analytic,
        }),
    );
    analytic
}

/// Compares analytic gradients of `cost = mean loss + λ Σ‖W‖²` on (`x`, `labels`) with
/// numerical ones of step `h` (1e-4 suits f64), for every parameter of `net`.
pub fn check<F: Real>(
    net: &Network<F>,
    x: ArrayView2<F>,
    labels: &[u8],
    loss: impl Into<Loss>,
    lambda: f64,
    h: f64,
) -> Vec<ParamCheck> {
    let loss = loss.into();
    let analytic = analytic_gradients(net, x, labels, loss, lambda);
    compare(net, x, labels, loss, lambda, h, &analytic)
}

/// Which side of each kink of the cost a forward pass was on: for ReLU, whether each hidden
/// unit was active (one matrix per hidden layer, rows × units); for the hinge loss, whether
/// each margin was positive (rows × classes). While these stay the same the cost is smooth,
/// so a finite difference errs only by its truncation; across a kink it can be off by any
/// amount.
#[derive(Debug, Clone, PartialEq)]
struct Pattern {
    relu: Vec<Array2<bool>>,
    margins: Option<Array2<bool>>,
}

impl Pattern {
    /// The pattern of the last forward pass in `ws`.
    fn of<F: Real>(
        net: &Network<F>,
        ws: &Workspace<F>,
        rows: usize,
        labels: &[u8],
        loss: Loss,
    ) -> Self {
        let relu = if net.activation == Activation::Relu {
            (0..net.layers.len() - 1)
                .map(|l| ws.layer_output(l, rows).mapv(|a| a > F::zero()))
                .collect()
        } else {
            Vec::new()
        };
        let margins = (loss.kind == LossKind::Svm).then(|| {
            let scores = ws.scores(rows);
            Array2::from_shape_fn(scores.dim(), |(i, j)| {
                let y = usize::from(labels[i]);
                j != y && scores[[i, j]] - scores[[i, y]] + F::one() > F::zero()
            })
        });
        Pattern { relu, margins }
    }
}

/// The cost with every kink held on the side `pattern` gives: ReLU units gated by its
/// on/off masks, the hinge loss summed over its active margins. On the smooth piece of the
/// cost that `pattern` describes this is the cost itself, and beyond that piece it goes on
/// smoothly, so its derivative is the one the analytic gradient (which uses the same
/// pattern) claims, even where a finite difference of the cost would straddle a kink.
fn frozen_cost<F: Real>(
    net: &Network<F>,
    x: ArrayView2<F>,
    labels: &[u8],
    loss: Loss,
    lambda: f64,
    pattern: &Pattern,
    ws: &mut Workspace<F>,
) -> f64 {
    let rows = x.nrows();
    let scores: Array2<F> = if pattern.relu.is_empty() {
        net.forward(x, ws);
        ws.scores(rows).to_owned()
    } else {
        let mut a = x.to_owned();
        for (l, layer) in net.layers.iter().enumerate() {
            let mut z = a.dot(&layer.weights.t()) + &layer.bias;
            if let Some(mask) = pattern.relu.get(l) {
                z.zip_mut_with(mask, |v, &on| {
                    if !on {
                        *v = F::zero();
                    }
                });
            }
            a = z;
        }
        a
    };
    let total = match &pattern.margins {
        Some(active) => {
            let mut total = 0.0;
            for ((i, j), &on) in active.indexed_iter() {
                if on {
                    let y = usize::from(labels[i]);
                    let margin = scores[[i, j]] - scores[[i, y]] + F::one();
                    total += margin.to_f64().unwrap_or(f64::NAN);
                }
            }
            total
        }
        None => {
            let mut predictions = vec![0u8; rows];
            loss_rows(
                loss,
                scores.view(),
                labels,
                &mut predictions,
                None,
                F::one(),
            )
        }
    };
    total / rows as f64 + lambda * net.weight_norm_sq()
}

/// The cost as a function of one parameter at a time, for numerical derivatives.
struct Probe<'a, F> {
    net: Network<F>,
    ws: Workspace<F>,
    x: ArrayView2<'a, F>,
    labels: &'a [u8],
    loss: Loss,
    lambda: f64,
    /// [`Pattern::of`] the unperturbed parameters.
    pattern: Pattern,
}

impl<'a, F: Real> Probe<'a, F> {
    fn new(
        net: &Network<F>,
        x: ArrayView2<'a, F>,
        labels: &'a [u8],
        loss: Loss,
        lambda: f64,
    ) -> Self {
        let mut ws = Workspace::new(net, x.nrows());
        net.batch_cost(x, labels, loss, lambda, &mut ws);
        let pattern = Pattern::of(net, &ws, x.nrows(), labels, loss);
        Probe {
            net: net.clone(),
            ws,
            x,
            labels,
            loss,
            lambda,
            pattern,
        }
    }

    /// The cost with parameter (`layer`, `which`, `idx`) set to `value` (`frozen`: with
    /// the kinks held as at the unperturbed point), and whether that point is on the
    /// unperturbed point's side of every kink.
    fn cost_at(
        &mut self,
        layer: usize,
        which: usize,
        idx: usize,
        value: F,
        frozen: bool,
    ) -> (f64, bool) {
        *param_mut(&mut self.net, layer, which, idx) = value;
        let (x, labels, loss, lambda) = (self.x, self.labels, self.loss, self.lambda);
        if frozen {
            let cost = frozen_cost(
                &self.net,
                x,
                labels,
                loss,
                lambda,
                &self.pattern,
                &mut self.ws,
            );
            return (cost, true);
        }
        // The cost the training gradients are gradients of (with batch norm: on the batch's
        // own statistics; without, the plain cost).
        let cost = self.net.batch_cost(x, labels, loss, lambda, &mut self.ws);
        let same = Pattern::of(&self.net, &self.ws, x.nrows(), labels, loss) == self.pattern;
        (cost, same)
    }

    /// The five-point centred difference `(8[f(θ+h) − f(θ−h)] − [f(θ+2h) − f(θ−2h)]) / 12h`
    /// around `orig`, and whether all four points lie on `orig`'s side of every kink.
    fn five_point(
        &mut self,
        (layer, which, idx): (usize, usize, usize),
        orig: F,
        h: f64,
        frozen: bool,
    ) -> (f64, bool) {
        let mut at = |steps: f64| self.cost_at(layer, which, idx, orig + F::of(steps * h), frozen);
        let (p1, p1_same) = at(1.0);
        let (m1, m1_same) = at(-1.0);
        let (p2, p2_same) = at(2.0);
        let (m2, m2_same) = at(-2.0);
        let estimate = (8.0 * (p1 - m1) - (p2 - m2)) / (12.0 * h);
        (estimate, p1_same && m1_same && p2_same && m2_same)
    }

    /// ∂cost/∂(parameter), see [`compare`]; the parameter is left as it was. Without batch
    /// norm a difference that crosses a kink is taken again of the frozen cost; with it
    /// (kinks move with the batch) the step shrinks by 4 up to five times until none is
    /// crossed.
    fn derivative(&mut self, layer: usize, which: usize, idx: usize, h: f64) -> f64 {
        let at = (layer, which, idx);
        let orig = *param_mut(&mut self.net, layer, which, idx);
        let attempts: Vec<(f64, bool)> = if self.net.has_batch_norm() {
            (0..6).map(|i| (h / 4f64.powi(i), false)).collect()
        } else {
            vec![(h, false), (h, true)]
        };
        let mut estimate = f64::NAN;
        for (step, frozen) in attempts {
            let (e, clean) = self.five_point(at, orig, step, frozen);
            estimate = e;
            if clean {
                break;
            }
        }
        *param_mut(&mut self.net, layer, which, idx) = orig;
        estimate
    }
}

/// Compares `analytic` (one gradient per layer of `net`, as from [`analytic_gradients`])
/// with numerical gradients of the cost: the five-point centred difference
/// `(8[f(θ+h) − f(θ−h)] − [f(θ+2h) − f(θ−2h)]) / 12h`, whose error is O(h⁴).
///
/// The plain two-point difference errs by h²·f‴/6: with h = 1e-4 that is ~1e-9 absolute,
/// which is a relative error above 1e-6 on the small bias gradients of a deep network, so
/// correct gradients failed. Its fourth-order error (~1e-18) is far below the round-off.
///
/// ReLU units and hinge margins make the cost piecewise smooth; a difference whose points
/// fall on both sides of such a kink is wrong however exact the gradient (and with the small
/// default initialisation, deep ReLU units sit within 1e-7 of theirs). When one does, the
/// difference is taken of the cost with every kink held as it is at θ instead (see
/// [`frozen_cost`]), which equals the cost on θ's side.
pub fn compare<F: Real>(
    net: &Network<F>,
    x: ArrayView2<F>,
    labels: &[u8],
    loss: impl Into<Loss>,
    lambda: f64,
    h: f64,
    analytic: &[Layer<F>],
) -> Vec<ParamCheck> {
    // Round-off of the cost (≈1e-16 · cost, cost up to ~10 for the hinge loss) divided by the
    // step puts a floor of ≈1e-11 under any numerical gradient. With this floor a gradient
    // that is zero up to round-off passes (absolute error < 1e-10 for a 1e-6 tolerance),
    // while every gradient above 1e-4 is held to the full relative tolerance.
    const EPS: f64 = 1e-4;
    let mut probe = Probe::new(net, x, labels, loss.into(), lambda);
    let mut results = Vec::new();
    for (l, grad) in analytic.iter().enumerate().take(net.layers.len()) {
        for (which, values) in grad.params().into_iter().enumerate() {
            let values: Vec<F> = values.to_vec();
            let mut max = 0.0f64;
            let mut sum = 0.0f64;
            for (idx, &ga) in values.iter().enumerate() {
                let gn = probe.derivative(l, which, idx, h);
                let e = relative_error(ga.to_f64().unwrap_or(f64::NAN), gn, EPS);
                // A NaN must stick (f64::max would drop it): a NaN gradient fails the check.
                if e > max || e.is_nan() {
                    max = e;
                }
                sum += e;
            }
            results.push(ParamCheck {
                name: format!("{}{}", grad.param_names()[which], l + 1),
                count: values.len(),
                max_rel_error: max,
                mean_rel_error: sum / values.len().max(1) as f64,
            });
        }
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Activation, InitKind};
    use ndarray::Array2;
    use rand::{Rng, SeedableRng, rngs::SmallRng};

    const TOL: f64 = 1e-6;

    /// A small random problem: `n` rows of `d` inputs in [−1, 1], labels cycling over `k`.
    fn problem(rng: &mut SmallRng, n: usize, d: usize, k: usize) -> (Array2<f64>, Vec<u8>) {
        let x = Array2::from_shape_simple_fn((n, d), || rng.random_range(-1.0..1.0f64));
        (x, (0..n).map(|i| (i % k) as u8).collect())
    }

    /// Hidden widths for 0 to 3 hidden layers.
    const DEPTHS: [&[usize]; 4] = [&[], &[8], &[8, 6], &[8, 6, 5]];

    /// Every loss × activation × depth (0–3 hidden layers), with the course's small Gaussian
    /// initialisation (σ = 0.01: deep ReLU units then sit within ~1e-7 of their kinks),
    /// Xavier's with L2 and He's, on several seeds: correct gradients pass at 1e-6.
    #[test]
    fn correct_gradients_pass_for_every_loss_activation_and_depth() {
        let (n, d, k) = (6, 12, 5);
        let mut worst = 0.0f64;
        let mut checked = 0;
        for seed in 0..5u64 {
            let mut rng = SmallRng::seed_from_u64(seed);
            let (x, labels) = problem(&mut rng, n, d, k);
            for hidden in DEPTHS {
                for act in Activation::ALL {
                    for loss in LossKind::ALL {
                        for (init, lambda) in [
                            (InitKind::Gaussian, 0.0),
                            (InitKind::Xavier, 0.1),
                            (InitKind::He, 0.01),
                        ] {
                            let net = Network::<f64>::new(d, hidden, k, act, init, 0.01, &mut rng);
                            let report = check(&net, x.view(), &labels, loss, lambda, 1e-4);
                            assert_eq!(report.len(), 2 * (hidden.len() + 1));
                            for p in &report {
                                assert!(
                                    p.max_rel_error < TOL,
                                    "seed {seed} {loss:?} hidden {hidden:?} {act:?} {init:?}: \
                                     {} max rel error {:e}",
                                    p.name,
                                    p.max_rel_error
                                );
                                worst = worst.max(p.max_rel_error);
                            }
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(checked, 5 * 4 * 3 * 3 * 3);
        eprintln!("largest relative error over {checked} networks: {worst:e}");
    }

    /// ReLU units exactly at their kink (a layer of zero weights feeds the next one zeros,
    /// so its pre-activations are exactly its zero biases): the analytic gradient takes the
    /// inactive side, and so must the numerical one.
    #[test]
    fn units_exactly_at_their_kink_pass() {
        let mut rng = SmallRng::seed_from_u64(5);
        let (x, labels) = problem(&mut rng, 6, 12, 5);
        for loss in LossKind::ALL {
            let mut net = Network::<f64>::new(
                12,
                &[8, 6, 5],
                5,
                Activation::Relu,
                InitKind::He,
                0.0,
                &mut rng,
            );
            net.layers[1].weights.fill(0.0);
            for p in check(&net, x.view(), &labels, loss, 0.0, 1e-4) {
                assert!(p.max_rel_error < TOL, "{loss:?}: {p:?}");
            }
        }
    }

    /// The case of the bug report: two hidden tanh layers (20, 10), cross-entropy, a small
    /// Gaussian initialisation. The two-point difference put b3 at 1.2e-6.
    #[test]
    fn deep_tanh_biases_pass() {
        for seed in 0..5u64 {
            let mut rng = SmallRng::seed_from_u64(seed);
            let (x, labels) = problem(&mut rng, 10, 100, 10);
            let net = Network::<f64>::new(
                100,
                &[20, 10],
                10,
                Activation::Tanh,
                InitKind::Gaussian,
                0.01,
                &mut rng,
            );
            for p in check(&net, x.view(), &labels, LossKind::Ce, 0.0, 1e-4) {
                assert!(p.max_rel_error < TOL, "seed {seed}: {p:?}");
            }
        }
    }

    /// The check is not vacuous: one analytic entry off by a relative 1e-5 fails its
    /// parameter (and only that one), for a weight and a bias of every layer.
    #[test]
    fn one_perturbed_gradient_entry_fails() {
        let mut rng = SmallRng::seed_from_u64(11);
        let (x, labels) = problem(&mut rng, 6, 12, 5);
        for (loss, act) in LossKind::ALL
            .into_iter()
            .flat_map(|l| Activation::ALL.map(|a| (l, a)))
        {
            let net = Network::<f64>::new(12, &[8, 6], 5, act, InitKind::Xavier, 0.0, &mut rng);
            let good = analytic_gradients(&net, x.view(), &labels, loss, 0.1);
            for layer in 0..good.len() {
                for is_bias in [false, true] {
                    let mut bad = good.clone();
                    // The entry with the largest magnitude, so that 1e-5 of it is far above
                    // round-off.
                    let entries = if is_bias {
                        bad[layer].bias.as_slice_mut()
                    } else {
                        bad[layer].weights.as_slice_mut()
                    }
                    .expect("gradients are contiguous");
                    let i = (0..entries.len())
                        .max_by(|&a, &b| entries[a].abs().total_cmp(&entries[b].abs()))
                        .expect("every layer has parameters");
                    entries[i] *= 1.0 + 1e-5;
                    let name = format!("{}{}", if is_bias { "b" } else { "W" }, layer + 1);
                    let report = compare(&net, x.view(), &labels, loss, 0.1, 1e-4, &bad);
                    for p in &report {
                        if p.name == name {
                            assert!(
                                p.max_rel_error > TOL,
                                "{loss:?} {act:?}: perturbed {name} passed: {p:?}"
                            );
                        } else {
                            assert!(p.max_rel_error < TOL, "{loss:?} {act:?}: {p:?}");
                        }
                    }
                }
            }
        }
    }

    /// Label smoothing (ε = 0.1 and 0.4) with softmax cross-entropy and BCE, at every depth
    /// and activation: the analytic gradients match numerical ones at 1e-6. And the check
    /// sees the smoothing: the smoothed gradients against the one-hot cost fail.
    #[test]
    fn label_smoothing_gradients_match_numerical_ones() {
        let mut rng = SmallRng::seed_from_u64(21);
        let (x, labels) = problem(&mut rng, 6, 12, 5);
        for hidden in DEPTHS {
            for act in Activation::ALL {
                for kind in [LossKind::Ce, LossKind::Bce] {
                    for smoothing in [0.1, 0.4] {
                        let loss = Loss { kind, smoothing };
                        let net =
                            Network::<f64>::new(12, hidden, 5, act, InitKind::He, 0.0, &mut rng);
                        for p in check(&net, x.view(), &labels, loss, 0.01, 1e-4) {
                            assert!(
                                p.max_rel_error < TOL,
                                "{loss:?} hidden {hidden:?} {act:?}: {p:?}"
                            );
                        }
                        let smoothed = analytic_gradients(&net, x.view(), &labels, loss, 0.01);
                        let one_hot = compare(&net, x.view(), &labels, kind, 0.01, 1e-4, &smoothed);
                        assert!(
                            one_hot.iter().any(|p| p.max_rel_error > 1e-3),
                            "{loss:?} {act:?}: smoothing changed no gradient: {one_hot:?}"
                        );
                    }
                }
            }
        }
    }

    /// A NaN gradient fails the check instead of vanishing from the maximum.
    #[test]
    fn a_nan_gradient_fails() {
        let mut rng = SmallRng::seed_from_u64(3);
        let (x, labels) = problem(&mut rng, 4, 6, 3);
        let net = Network::<f64>::new(6, &[], 3, Activation::Relu, InitKind::Xavier, 0.0, &mut rng);
        let mut bad = analytic_gradients(&net, x.view(), &labels, LossKind::Ce, 0.0);
        bad[0].weights[[0, 0]] = f64::NAN;
        let report = compare(&net, x.view(), &labels, LossKind::Ce, 0.0, 1e-4, &bad);
        assert!(report[0].max_rel_error.is_nan(), "{report:?}");
        assert!(report[1].max_rel_error < TOL, "{report:?}");
    }

    #[test]
    fn relative_error_is_the_course_formula() {
        assert!(relative_error(1.0, 1.001, 1e-10) > 1e-6);
        assert_eq!(relative_error(0.0, 0.0, 1e-10), 0.0);
        assert!((relative_error(2.0, 1.0, 1e-10) - 1.0 / 3.0).abs() < 1e-15);
    }

    /// Batch norm after every hidden layer, with γ and β away from 1 and 0, at depths 2 and
    /// 3 and with every activation and loss.
    #[test]
    fn batch_norm_gradients_match_numerical_ones() {
        // Batch norm curves the cost more sharply in W than a plain layer does, so the
        // check uses h = 1e-5 (its fourth-order differences err far below 1e-6 either way).
        let mut rng = SmallRng::seed_from_u64(12);
        let (n, d, k) = (8, 10, 4);
        let x = Array2::from_shape_simple_fn((n, d), || rng.random_range(-1.0..1.0f64));
        let labels: Vec<u8> = (0..n).map(|i| (i % k) as u8).collect();
        let models: [(&[usize], Activation); 4] = [
            (&[6], Activation::Relu),
            (&[6, 5], Activation::Relu),
            (&[6, 5], Activation::Tanh),
            (&[6], Activation::Sigmoid),
        ];
        for (hidden, act) in models {
            for loss in LossKind::ALL {
                let mut net = Network::<f64>::new(d, hidden, k, act, InitKind::He, 0.0, &mut rng)
                    .with_batch_norm(true);
                for layer in &mut net.layers {
                    if let Some(bn) = &mut layer.bn {
                        bn.gamma.mapv_inplace(|_| rng.random_range(0.5..1.5));
                        bn.beta.mapv_inplace(|_| rng.random_range(-0.5..0.5));
                    }
                }
                let report = check(&net, x.view(), &labels, loss, 0.1, 1e-5);
                assert_eq!(report.len(), 3 * hidden.len() + 2);
                assert!(report.iter().any(|p| p.name == "γ1"));
                for p in &report {
                    assert!(
                        p.max_rel_error < 1e-6,
                        "batch norm {loss:?} hidden {hidden:?} {act:?}: {} max rel error {}",
                        p.name,
                        p.max_rel_error
                    );
                }
            }
        }
    }
}
