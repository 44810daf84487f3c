//! Optimisers: how a gradient becomes a step. Plain SGD is fused into the backward pass
//! (see `GradientUse::Step`); the others keep state per parameter and work on stored
//! gradients.

use serde::{Deserialize, Serialize};

use crate::model::{Layer, Network};
use crate::words::Words;

/// The update rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerKind {
    /// W ← W − η g.
    #[default]
    Sgd,
    /// v ← μv − η g; W ← W + v.
    Momentum,
    /// Nesterov momentum: the gradient taken after the look-ahead step (CS231n's form).
    Nesterov,
    /// W ← W − η g / (√c + ε), c the running mean of g² (decay β₂).
    Rmsprop,
    /// Adam: bias-corrected running means of g (β₁) and g² (β₂).
    Adam,
}

impl OptimizerKind {
    /// All kinds, in menu order.
    pub const ALL: [OptimizerKind; 5] = [
        OptimizerKind::Sgd,
        OptimizerKind::Momentum,
        OptimizerKind::Nesterov,
        OptimizerKind::Rmsprop,
        OptimizerKind::Adam,
    ];
}

/// The optimiser's constants.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OptimizerSettings {
    /// Which rule.
    pub kind: OptimizerKind,
    /// μ of momentum and Nesterov.
    pub momentum: f64,
    /// β₁ of Adam.
    pub beta1: f64,
    /// β₂ of Adam, and RMSProp's decay.
    pub beta2: f64,
    /// ε of RMSProp and Adam.
    pub eps: f64,
}

/// An optimiser with its state: one buffer (two for Adam) per learned parameter array.
#[derive(Debug, Clone)]
pub struct Optimizer {
    settings: OptimizerSettings,
    /// Velocity (momentum, Nesterov), mean square (RMSProp) or first moment (Adam).
    first: Vec<Vec<f32>>,
    /// Adam's second moment.
    second: Vec<Vec<f32>>,
    /// Steps taken since the state was last reset.
    steps: u64,
}

impl Optimizer {
    /// A fresh optimiser (empty state).
    pub fn new(settings: OptimizerSettings) -> Self {
        Optimizer {
            settings,
            first: Vec::new(),
            second: Vec::new(),
            steps: 0,
        }
    }

    /// Its settings.
    pub fn settings(&self) -> OptimizerSettings {
        self.settings
    }

    /// Steps taken since the state was last reset.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Makes sure the state matches `net`'s parameters (zeros where it did not).
    fn ensure(&mut self, net: &Network<f32>) {
        let sizes: Vec<usize> = net
            .layers
            .iter()
            .flat_map(|l| l.params().into_iter().map(<[f32]>::len))
            .collect();
        self.ensure_sizes(&sizes);
    }

    /// Makes sure the state matches parameter arrays of these `sizes` (zeros where it did
    /// not).
    fn ensure_sizes(&mut self, sizes: &[usize]) {
        let fits = |state: &Vec<Vec<f32>>| {
            state.len() == sizes.len() && state.iter().zip(sizes).all(|(s, &n)| s.len() == n)
        };
        if !fits(&self.first) || !fits(&self.second) {
            self.first = sizes.iter().map(|&n| vec![0.0; n]).collect();
            self.second = sizes.iter().map(|&n| vec![0.0; n]).collect();
            self.steps = 0;
        }
    }

    /// Counts a step and returns its rule (Adam's bias corrections depend on the count),
    /// making sure the state fits `net`.
    pub(crate) fn begin_step(&mut self, net: &Network<f32>, eta: f64) -> Rule {
        self.ensure(net);
        self.next_rule(eta)
    }

    /// Counts a step and returns its rule, for state that already fits.
    fn next_rule(&mut self, eta: f64) -> Rule {
        self.steps += 1;
        let s = self.settings;
        let t = self.steps as i32;
        // Adam's bias corrections, folded into the step size.
        let c1 = 1.0 - (s.beta1).powi(t);
        let c2 = 1.0 - (s.beta2).powi(t);
        Rule {
            kind: s.kind,
            eta: eta as f32,
            mu: s.momentum as f32,
            b1: s.beta1 as f32,
            b2: s.beta2 as f32,
            eps: s.eps as f32,
            adam_eta: (eta * c2.sqrt() / c1) as f32,
            adam_eps: (s.eps * c2.sqrt()) as f32,
        }
    }

    /// One step of `net` along `grads` (same shapes, L2 term included) with learning rate
    /// `eta`.
    pub fn step(&mut self, net: &mut Network<f32>, grads: &[Layer<f32>], eta: f64) {
        let rule = self.begin_step(net, eta);
        self.apply(rule, net, grads, false);
    }

    /// Applies `rule` to every parameter of `net` with its gradient in `grads`, except the
    /// first weight matrix when `skip_first_weights` (two threads update it, each its own
    /// columns, with [`Self::first_weights_state`]).
    pub(crate) fn apply(
        &mut self,
        rule: Rule,
        net: &mut Network<f32>,
        grads: &[Layer<f32>],
        skip_first_weights: bool,
    ) {
        let params = net.layers.iter_mut().flat_map(|l| l.params_mut());
        let g = grads.iter().flat_map(|l| l.params());
        self.apply_arrays(rule, params, g, usize::from(skip_first_weights));
    }

    /// One step of any list of parameter arrays (a layer stack's) along their gradients
    /// (same order and lengths, L2 term included) with learning rate `eta`; the state is
    /// made to fit them first.
    pub fn step_arrays(&mut self, params: Vec<&mut [f32]>, grads: Vec<&[f32]>, eta: f64) {
        let sizes: Vec<usize> = params.iter().map(|p| p.len()).collect();
        self.ensure_sizes(&sizes);
        let rule = self.next_rule(eta);
        self.apply_arrays(rule, params, grads, 0);
    }

    /// Applies `rule` to each array of `params` with its gradient, after the first `skip`.
    fn apply_arrays<'a, 'b>(
        &mut self,
        rule: Rule,
        params: impl IntoIterator<Item = &'a mut [f32]>,
        grads: impl IntoIterator<Item = &'b [f32]>,
        skip: usize,
    ) {
        for (((w, g), m), v) in params
            .into_iter()
            .zip(grads)
            .zip(self.first.iter_mut())
            .zip(self.second.iter_mut())
            .skip(skip)
        {
            if w.len() < PARALLEL_ABOVE {
                rule.apply(w, g, m, v);
                continue;
            }
            // A first layer's 150,000 weights: both cores (the rule is cheap per value, so
            // one core was a tenth of an Adam epoch).
            use rayon::prelude::*;
            w.par_chunks_mut(CHUNK)
                .zip(g.par_chunks(CHUNK))
                .zip(m.par_chunks_mut(CHUNK))
                .zip(v.par_chunks_mut(CHUNK))
                .for_each(|(((w, g), m), v)| rule.apply(w, g, m, v));
        }
    }

    /// The running state of the first weight matrix (first and second moments, each
    /// outputs × inputs, row-major), made to fit `net`.
    pub(crate) fn first_weights_state(&mut self, net: &Network<f32>) -> (&mut [f32], &mut [f32]) {
        self.ensure(net);
        (&mut self.first[0], &mut self.second[0])
    }

    /// ‖ΔW‖ of each layer's weight matrix for the step this optimiser would take along
    /// `grads` now, without taking it (for the update-to-weight ratio).
    pub fn weight_update_norms(
        &self,
        net: &Network<f32>,
        grads: &[Layer<f32>],
        eta: f64,
    ) -> Vec<f64> {
        let mut probe = self.clone();
        let mut after = net.clone();
        probe.step(&mut after, grads, eta);
        net.layers
            .iter()
            .zip(&after.layers)
            .map(|(a, b)| {
                a.weights
                    .iter()
                    .zip(&b.weights)
                    .map(|(&x, &y)| f64::from(y - x).powi(2))
                    .sum::<f64>()
                    .sqrt()
            })
            .collect()
    }
}

/// Tensors at least this long are updated on the rayon pool, in chunks of [`CHUNK`].
const PARALLEL_ABOVE: usize = 1 << 15;
const CHUNK: usize = 1 << 13;

/// One step's constants of an update rule.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rule {
    kind: OptimizerKind,
    eta: f32,
    mu: f32,
    b1: f32,
    b2: f32,
    eps: f32,
    /// η and ε with Adam's bias corrections folded in.
    adam_eta: f32,
    adam_eps: f32,
}

impl Rule {
    /// Updates the values `w` with their gradients `g` and the rule's running state `m`, `v`.
    pub(crate) fn apply(&self, w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
        let Rule {
            eta,
            mu,
            b1,
            b2,
            eps,
            adam_eta,
            adam_eps,
            ..
        } = *self;
        match self.kind {
            OptimizerKind::Sgd => {
                for (w, &g) in w.iter_mut().zip(g) {
                    *w -= eta * g;
                }
            }
            OptimizerKind::Momentum => {
                for ((w, &g), m) in w.iter_mut().zip(g).zip(m.iter_mut()) {
                    *m = mu * *m - eta * g;
                    *w += *m;
                }
            }
            OptimizerKind::Nesterov => {
                for ((w, &g), m) in w.iter_mut().zip(g).zip(m.iter_mut()) {
                    let before = *m;
                    *m = mu * *m - eta * g;
                    *w += -mu * before + (1.0 + mu) * *m;
                }
            }
            OptimizerKind::Rmsprop => {
                for ((w, &g), m) in w.iter_mut().zip(g).zip(m.iter_mut()) {
                    *m = b2 * *m + (1.0 - b2) * g * g;
                    *w -= eta * g / (m.sqrt() + eps);
                }
            }
            OptimizerKind::Adam => {
                for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                    *m = b1 * *m + (1.0 - b1) * g;
                    *v = b2 * *v + (1.0 - b2) * g * g;
                    *w -= adam_eta * *m / (v.sqrt() + adam_eps);
                }
            }
        }
    }
}

impl Words for OptimizerKind {
    fn all() -> &'static [Self] {
        &OptimizerKind::ALL
    }
    fn label(self) -> &'static str {
        match self {
            OptimizerKind::Sgd => "SGD",
            OptimizerKind::Momentum => "momentum",
            OptimizerKind::Nesterov => "Nesterov",
            OptimizerKind::Rmsprop => "RMSProp",
            OptimizerKind::Adam => "Adam",
        }
    }
    fn explain(self) -> &'static str {
        match self {
            OptimizerKind::Sgd => "Plain gradient descent: W ← W − η·g.",
            OptimizerKind::Momentum => "Keeps a share μ of the last step in the next one.",
            OptimizerKind::Nesterov => {
                "Momentum with the gradient taken after the look-ahead step."
            }
            OptimizerKind::Rmsprop => "Divides each step by the root of a running mean of g².",
            OptimizerKind::Adam => "Running means of g and g², bias-corrected.",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Activation, InitKind};
    use rand::{SeedableRng, rngs::SmallRng};

    fn settings(kind: OptimizerKind) -> OptimizerSettings {
        OptimizerSettings {
            kind,
            momentum: 0.9,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }

    /// Minimises ½‖W‖² (gradient W) from the same start; every rule must shrink it.
    #[test]
    fn every_rule_descends_a_bowl() {
        let mut rng = SmallRng::seed_from_u64(3);
        let start = Network::<f32>::new(
            4,
            &[3],
            2,
            Activation::Relu,
            InitKind::Xavier,
            0.0,
            &mut rng,
        )
        .with_batch_norm(true);
        let norm = |n: &Network<f32>| -> f64 {
            n.layers
                .iter()
                .flat_map(|l| l.params().concat())
                .map(|v| f64::from(v).powi(2))
                .sum()
        };
        let with_bias = |n: &Network<f32>| {
            let mut n = n.clone();
            for l in &mut n.layers {
                l.bias.fill(0.5);
            }
            n
        };
        let start = with_bias(&start);
        for kind in OptimizerKind::ALL {
            let mut net = start.clone();
            let mut opt = Optimizer::new(settings(kind));
            for _ in 0..50 {
                let grads = net.layers.clone();
                opt.step(&mut net, &grads, 0.05);
            }
            assert!(
                norm(&net) < 0.5 * norm(&start),
                "{kind:?}: {} vs {}",
                norm(&net),
                norm(&start)
            );
            assert_eq!(opt.steps(), 50);
        }
    }

    /// Adam's first step moves every parameter by η (bias correction), whatever the scale.
    #[test]
    fn adam_first_step_is_eta_sized() {
        let mut rng = SmallRng::seed_from_u64(4);
        let mut net =
            Network::<f32>::new(3, &[], 2, Activation::Relu, InitKind::Xavier, 0.0, &mut rng);
        let before = net.clone();
        let mut grads = net.layers.clone();
        grads[0].weights.fill(1e-3);
        grads[0].bias.fill(-50.0);
        let mut opt = Optimizer::new(settings(OptimizerKind::Adam));
        let norms = opt.weight_update_norms(&net, &grads, 0.01);
        opt.step(&mut net, &grads, 0.01);
        for (a, b) in net.layers[0].weights.iter().zip(&before.layers[0].weights) {
            assert!((a - b + 0.01).abs() < 1e-4, "{a} {b}");
        }
        for (a, b) in net.layers[0].bias.iter().zip(&before.layers[0].bias) {
            assert!((a - b - 0.01).abs() < 1e-4, "{a} {b}");
        }
        assert!((norms[0] - 0.01 * 6f64.sqrt()).abs() < 1e-4, "{norms:?}");
    }
}
