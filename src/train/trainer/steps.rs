//! A training step: the next batch, gathered (and augmented) as bytes, and the step taken on
//! this thread or shared by the run's team of threads.

use super::*;

impl Trainer {
    /// Shuffles at the start of an epoch, then picks the next mini-batch: its labels and
    /// augmentations land in `batch_labels`/`batch_augments`; returns its size. Does not
    /// advance.
    pub(super) fn next_batch(&mut self) -> usize {
        self.progress.next_batch(
            &mut self.rng,
            &self.data.train.labels,
            &mut self.batch_labels,
            &mut self.batch_augments,
        )
    }

    /// Normalises the `b` images from position `start` of this epoch's order into
    /// `batch_x`, augmented as `batch_augments` says.
    pub(super) fn gather_batch(&mut self, start: usize, b: usize) {
        let dim = self.data.shape().dim();
        self.normalizer.gather(
            &self.data.train,
            &self.progress.order[start..start + b],
            Some((&self.batch_augments[..b], &self.fill)),
            &mut self.batch_x[..b * dim],
        );
    }

    /// Book-keeping after a step of `b` images that began at `started`.
    pub(super) fn finish_step(
        &mut self,
        b: usize,
        total: f64,
        eta: f64,
        started: Instant,
    ) -> StepOutcome {
        self.last_batch = b;
        self.progress.advance(b, total / b as f64, eta, started)
    }

    pub(super) fn step_here(&mut self) -> StepOutcome {
        let started = Instant::now();
        let b = self.next_batch();
        self.gather_batch(self.progress.cursor, b);
        let dim = self.data.shape().dim();
        let eta = self.current_eta();
        let x = ArrayView2::from_shape((b, dim), &self.batch_x[..b * dim])
            .expect("batch buffer holds b rows of dim values");
        let loss = self.training_loss();
        let pass = training_pass(self.progress.settings.start.dropout, &mut self.rng);
        let lambda = self.progress.live.lambda as f32;
        let l1 = self.progress.settings.start.l1 as f32;
        // Plain SGD fuses its step into the backward pass; with L1 the gradient is stored
        // first, to add λ₁·sign(W) before the step.
        let fused = self.progress.live.optimizer == OptimizerKind::Sgd && l1 == 0.0;
        let grad = GradientUse::fused_or_stored(fused, eta as f32, lambda, &mut self.gradients);
        let total = self.net.loss_and_backward_with(
            x,
            &self.batch_labels[..b],
            loss,
            &mut self.ws,
            grad,
            pass,
        );
        if !fused {
            if l1 > 0.0 {
                crate::model::l1::add_gradient(&self.net, &mut self.gradients, l1);
            }
            self.optimizer.step(&mut self.net, &self.gradients, eta);
        }
        self.net.track_batch_statistics(&self.ws);
        self.finish_step(b, total, eta, started)
    }

    /// The batch [`Self::next_batch`] just picked, for the helper threads.
    pub(super) fn batch_for_helper(&self, b: usize) -> team::Batch {
        team::Batch {
            indices: self.progress.batch(b).to_vec(),
            augments: self.batch_augments[..b].to_vec(),
        }
    }

    /// [`Self::steps_for`] with the input columns split into `parts`: the first on this
    /// thread, each other on a helper thread. Same arithmetic as [`Self::step_here`] up to
    /// float rounding (the parts' products are summed at the end).
    pub(super) fn team_steps(
        &mut self,
        parts: Vec<Range<usize>>,
        budget: Duration,
        mut on_step: impl FnMut(&StepOutcome) + Send,
    ) -> StepOutcome {
        let started = Instant::now();
        let width = self.net.layers[0].weights.nrows();
        let sgd = self.progress.live.optimizer == OptimizerKind::Sgd;
        let buffers = std::mem::take(&mut self.team_buffers);
        let mut all = self.team_members(&parts, buffers, sgd);
        let helpers = all.len() - 1;
        let shared = team::Shared::new(self.progress.live.batch, width, helpers);
        let mut step_started = Instant::now();
        let mut b = self.next_batch();
        let first = self.batch_for_helper(b);
        let mut batch = first.clone();
        let mut last = None;
        let (mine, theirs) = all.split_at_mut(1);
        let mine = &mut mine[0];
        std::thread::scope(|scope| {
            let _leave = team::LeaveOnDrop(&shared.barrier);
            let mut started_all = Vec::with_capacity(helpers);
            for (i, part) in theirs.iter_mut().enumerate() {
                let (shared, first) = (&shared, first.clone());
                let spawned = std::thread::Builder::new()
                    .name(format!("trainviz-step-{}", i + 1))
                    .spawn_scoped(scope, move || {
                        let _leave = team::LeaveOnDrop(&shared.barrier);
                        team::helper_steps(part, first, shared, i);
                    });
                match spawned {
                    Ok(h) => started_all.push(h),
                    // No thread to be had: the others leave at the first barrier (this
                    // thread's guard leaves it on return) and the caller falls back to one
                    // thread below.
                    Err(_) => return,
                }
            }
            kernels::serial(|| {
                loop {
                    mine.gather(&batch);
                    mine.product(b, self.ws.first_product_mut(&self.net, b));
                    if !shared.barrier.wait() {
                        break;
                    }
                    self.team_forward(b, width, &shared);
                    let step = self.team_backward(b, sgd, step_started);
                    step_started = Instant::now();
                    let go_on = !step.out.pauses(started, budget, self.eval_due());
                    let next_b = go_on.then(|| self.next_batch());
                    self.publish_after(&shared, &step, b, width, next_b, &mut batch);
                    if !shared.barrier.wait() {
                        break;
                    }
                    match step.rule {
                        Some(r) => mine.update_with(self.ws.first_delta(b), r, step.lambda),
                        None => mine.update(self.ws.first_delta(b), step.keep(), step.eta as f32),
                    }
                    on_step(&step.out);
                    last = Some(step.out);
                    match next_b {
                        Some(nb) => b = nb,
                        None => break,
                    }
                }
            });
            for helper in started_all {
                if let Err(panic) = helper.join() {
                    std::panic::resume_unwind(panic);
                }
            }
        });
        self.gather_team_weights(&all, sgd);
        self.team_buffers = all.into_iter().map(|p| p.x).collect();
        match last {
            Some(out) => out,
            // A helper could not start: nothing was stepped, do it on one thread.
            None => self.steps_for_one_thread(budget, on_step),
        }
    }

    /// The team's parts: each takes its `parts` range of input columns of W₀ (and, for rules
    /// with state, of their moments: each part keeps the moments of its own columns), with
    /// the byte buffers of the last team step again.
    fn team_members(
        &mut self,
        parts: &[Range<usize>],
        mut buffers: Vec<Vec<u8>>,
        sgd: bool,
    ) -> Vec<team::Part> {
        let d = self.data.shape().dim();
        let width = self.net.layers[0].weights.nrows();
        let moments = (!sgd).then(|| {
            let (m, v) = self.optimizer.first_weights_state(&self.net);
            [&*m, &*v].map(|a| ArrayView2::from_shape((width, d), a).expect("state fits W₀"))
        });
        let w = &self.net.layers[0].weights;
        buffers.resize_with(parts.len(), Vec::new);
        parts
            .iter()
            .zip(buffers)
            .map(|(cols, x)| {
                team::Part::new(
                    self.data.clone(),
                    &self.normalizer,
                    self.fill.clone(),
                    w.view(),
                    cols.clone(),
                    x,
                    moments.as_ref().map(|[m, v]| [m.view(), v.view()]),
                )
            })
            .collect()
    }

    /// The leader's forward pass of a team step of `b` images: adds the helpers' partial
    /// first-layer products to its own, then runs the rest of the network forward.
    fn team_forward(&mut self, b: usize, width: usize, shared: &team::Shared) {
        {
            let mut product = self.ws.first_product_mut(&self.net, b);
            for partial in &shared.partials {
                let partial = team::lock(partial);
                let theirs = ArrayView2::from_shape((b, width), &partial[..b * width])
                    .expect("partial holds rows × width");
                product += &theirs;
            }
        }
        let pass = training_pass(self.progress.settings.start.dropout, &mut self.rng);
        self.net.forward_after_first_product(b, &mut self.ws, pass);
    }

    /// The leader's backward pass of a team step of `b` images that began at
    /// `step_started`: every weight but W₀ is updated here (fused into the pass for plain
    /// SGD, by the rule otherwise); W₀'s columns are each part's to update.
    fn team_backward(&mut self, b: usize, sgd: bool, step_started: Instant) -> LeaderStep {
        let eta = self.current_eta();
        let lambda = self.progress.live.lambda as f32;
        let loss = self.training_loss();
        let grad = GradientUse::fused_or_stored(sgd, eta as f32, lambda, &mut self.gradients);
        let total = self.net.backward_all_but_first_weights(
            b,
            &self.batch_labels[..b],
            loss,
            &mut self.ws,
            grad,
        );
        let rule = (!sgd).then(|| {
            let r = self.optimizer.begin_step(&self.net, eta);
            self.optimizer
                .apply(r, &mut self.net, &self.gradients, true);
            r
        });
        self.net.track_batch_statistics(&self.ws);
        let out = self.finish_step(b, total, eta, step_started);
        LeaderStep {
            out,
            eta,
            lambda,
            rule,
        }
    }

    /// Tells the helpers what they need to update their columns of W₀ after `step` of `b`
    /// images (the first layer's delta and the rule's numbers) and the next batch, if
    /// `next_b` says there is one; that batch becomes the leader's `batch` as well.
    fn publish_after(
        &self,
        shared: &team::Shared,
        step: &LeaderStep,
        b: usize,
        width: usize,
        next_b: Option<usize>,
        batch: &mut team::Batch,
    ) {
        let mut after = team::write(&shared.after);
        after.delta[..b * width].copy_from_slice(
            self.ws
                .first_delta(b)
                .as_slice()
                .expect("workspace rows are contiguous"),
        );
        after.keep = step.keep();
        after.eta = step.eta as f32;
        after.rule = step.rule;
        after.lambda = step.lambda;
        after.next = next_b.map(|nb| self.batch_for_helper(nb));
        if let Some(next) = &after.next {
            batch.clone_from(next);
        }
    }

    /// Puts the parts' columns of W₀ (and of its moments, for rules with state) back into
    /// the network and the optimiser after a team's steps.
    fn gather_team_weights(&mut self, all: &[team::Part], sgd: bool) {
        let d = self.data.shape().dim();
        let width = self.net.layers[0].weights.nrows();
        let weights = &mut self.net.layers[0].weights;
        for part in all {
            weights.slice_mut(s![.., part.cols.clone()]).assign(&part.w);
        }
        if !sgd {
            let (m, v) = self.optimizer.first_weights_state(&self.net);
            for (state, k) in [(m, 0), (v, 1)] {
                let mut state =
                    ArrayViewMut2::from_shape((width, d), state).expect("state fits W₀");
                for part in all {
                    state
                        .slice_mut(s![.., part.cols.clone()])
                        .assign(&part.moments[k]);
                }
            }
        }
    }
}

/// What the leader's half of a team step decided: its outcome and the numbers the parts
/// update their columns of W₀ with.
struct LeaderStep {
    /// The step's outcome.
    out: StepOutcome,
    /// Its learning rate.
    eta: f64,
    /// Its L2 factor λ.
    lambda: f32,
    /// The update rule's constants (none for plain SGD).
    rule: Option<crate::train::optimizer::Rule>,
}

impl LeaderStep {
    /// Plain SGD's weight decay factor: what W₀ is multiplied by before the gradient step.
    fn keep(&self) -> f32 {
        1.0 - 2.0 * self.eta as f32 * self.lambda
    }
}
