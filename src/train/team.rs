//! Training steps shared by two threads. Each thread owns one half of the input columns:
//! it multiplies that half of every image of the batch (read as bytes where it lies) by its
//! half of the first weight matrix and, after the small rest of the step (loss, upper
//! layers, biases) is done on the calling thread, updates its half of the first weight
//! matrix, by SGD or by a rule with state whose moments for those columns it keeps. A
//! thread only ever touches its own half of the batch and of W₀, so each half stays in its
//! core's cache, and the two meet at two barriers per step.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use ndarray::{Array2, ArrayView2, ArrayViewMut2};

use crate::data::Normalizer;
use crate::data::augment::{Augment, augment_bytes};
use crate::model::kernels;
use crate::train::optimizer::Rule;

/// Spins this many times before yielding the core while waiting at a barrier: the other
/// half of a step is usually microseconds away, but on a busy machine (the window's thread
/// wants a core too) spinning longer would steal its time.
const SPIN_LIMIT: u32 = 2_000;

/// A two-thread barrier that spins briefly, then yields; either side can leave it for good.
pub(super) struct SpinBarrier {
    arrived: AtomicUsize,
    generation: AtomicUsize,
    abandoned: AtomicBool,
}

impl SpinBarrier {
    pub(super) fn new() -> Self {
        SpinBarrier {
            arrived: AtomicUsize::new(0),
            generation: AtomicUsize::new(0),
            abandoned: AtomicBool::new(false),
        }
    }

    /// Waits for the other thread. False when it has left (finished or panicked).
    pub(super) fn wait(&self) -> bool {
        let generation = self.generation.load(Ordering::Acquire);
        if self.arrived.fetch_add(1, Ordering::AcqRel) == 1 {
            self.arrived.store(0, Ordering::Relaxed);
            self.generation.fetch_add(1, Ordering::Release);
            return true;
        }
        let mut spins = 0u32;
        while self.generation.load(Ordering::Acquire) == generation {
            if self.abandoned.load(Ordering::Acquire) {
                // It may have passed this barrier just before leaving.
                return self.generation.load(Ordering::Acquire) != generation;
            }
            if spins < SPIN_LIMIT {
                std::hint::spin_loop();
                spins += 1;
            } else {
                std::thread::yield_now();
            }
        }
        true
    }
}

/// Leaves the barrier when dropped, so a thread that ends (or panics) never strands the
/// other one spinning.
pub(super) struct LeaveOnDrop<'a>(pub(super) &'a SpinBarrier);

impl Drop for LeaveOnDrop<'_> {
    fn drop(&mut self) {
        self.0.abandoned.store(true, Ordering::Release);
    }
}

/// Which images a step uses, and how each is mirrored and shifted.
#[derive(Debug, Clone, Default)]
pub(super) struct Batch {
    pub(super) indices: Vec<usize>,
    pub(super) augments: Vec<Augment>,
}

/// What the calling thread hands the helper between the two barriers of a step.
#[derive(Debug, Default)]
pub(super) struct AfterForward {
    /// ∂cost/∂(first pre-activation), rows × width.
    pub(super) delta: Vec<f32>,
    pub(super) keep: f32,
    pub(super) eta: f32,
    /// The step's rule when it keeps state (momentum, RMSProp, Adam); `None` for SGD,
    /// which takes `keep` and `eta`.
    pub(super) rule: Option<Rule>,
    pub(super) lambda: f32,
    /// The next step's batch, or `None` when this was the last step.
    pub(super) next: Option<Batch>,
}

/// State the two threads exchange.
pub(super) struct Shared {
    pub(super) barrier: SpinBarrier,
    /// The helper's partial product x₁·W₀₁ᵀ, rows × width.
    pub(super) partial: Mutex<Vec<f32>>,
    pub(super) after: Mutex<AfterForward>,
}

impl Shared {
    pub(super) fn new(rows: usize, width: usize) -> Self {
        Shared {
            barrier: SpinBarrier::new(),
            partial: Mutex::new(vec![0.0; rows * width]),
            after: Mutex::new(AfterForward {
                delta: vec![0.0; rows * width],
                ..AfterForward::default()
            }),
        }
    }
}

/// Locks `m`; a poisoned lock only means the other thread panicked, which its join reports.
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Where one row of a batch's half lies.
#[derive(Debug, Clone, Copy)]
enum RowAt {
    /// In the training set's pixels, from this byte.
    Set(usize),
    /// In the half's scratch buffer (an augmented copy), from this byte.
    Scratch(usize),
}

/// The rows `rows` of `c` bytes, in the training set's `pixels` or in `scratch`.
fn row_slices<'a>(rows: &[RowAt], pixels: &'a [u8], scratch: &'a [u8], c: usize) -> Vec<&'a [u8]> {
    rows.iter()
        .map(|&at| match at {
            RowAt::Set(from) => &pixels[from..from + c],
            RowAt::Scratch(from) => &scratch[from..from + c],
        })
        .collect()
}

/// One thread's half: its input columns, where the batch's bytes in those columns lie, its
/// columns of W₀ (and W₀ folded with the normalisation, see [`kernels::FoldedWeights`]).
pub(super) struct Half {
    pub(super) set: Arc<crate::data::Splits>,
    /// The bytes of pixels shifted in from outside an image (see [`crate::data::augment::fill_bytes`]).
    fill: Arc<[u8]>,
    pub(super) cols: Range<usize>,
    /// The normalisation's mean and scale of these columns.
    pub(super) mean: Vec<f32>,
    pub(super) scale: Vec<f32>,
    /// Augmented copies of the batch's rows that are mirrored or shifted, in these columns
    /// (rows × cols bytes); rows left as they are are read where they lie in the training set.
    pub(super) x: Vec<u8>,
    rows: Vec<RowAt>,
    pub(super) w: Array2<f32>,
    pub(super) folded: kernels::FoldedWeights,
    /// An update rule's running state for these columns of W₀ (first and second moments);
    /// empty under SGD.
    pub(super) moments: [Array2<f32>; 2],
    /// Scratch for the gradient of these columns of W₀ (and its fold, which the kernel
    /// writes on the way and nothing reads).
    grad: Array2<f32>,
    grad_folded: kernels::FoldedWeights,
}

impl Half {
    /// The half of `w` (all of W₀) in columns `cols`, with `x` a buffer to reuse, and the
    /// same columns of an update rule's `moments` when it keeps state.
    pub(super) fn new(
        set: Arc<crate::data::Splits>,
        normalizer: &Normalizer,
        fill: Arc<[u8]>,
        w: ArrayView2<'_, f32>,
        cols: Range<usize>,
        x: Vec<u8>,
        moments: Option<[ArrayView2<'_, f32>; 2]>,
    ) -> Self {
        let columns = |a: ArrayView2<'_, f32>| a.slice(ndarray::s![.., cols.clone()]).to_owned();
        let moments = moments.map_or_else(
            || [Array2::zeros((0, 0)), Array2::zeros((0, 0))],
            |[m, v]| [columns(m), columns(v)],
        );
        let w = columns(w);
        let mean = normalizer.mean[cols.clone()].to_vec();
        let scale = normalizer.scale[cols.clone()].to_vec();
        let folded = kernels::FoldedWeights::new(w.view(), &mean, &scale);
        // Rules with state work on a gradient; SGD's update is fused and needs none.
        let (grad, grad_folded) = if moments[0].is_empty() {
            (Array2::zeros((0, 0)), kernels::FoldedWeights::default())
        } else {
            (w.clone(), folded.clone())
        };
        Half {
            set,
            fill,
            cols,
            mean,
            scale,
            x,
            rows: Vec::new(),
            grad,
            grad_folded,
            w,
            folded,
            moments,
        }
    }

    /// Finds this half's columns of the batch's images: where they lie in the training set,
    /// or augmented into `x` when mirrored or shifted. (Copying every row instead took a
    /// fifth of a linear classifier's step: the kernels read the rows wherever they are.)
    pub(super) fn gather(&mut self, batch: &Batch) {
        let c = self.cols.len();
        let need = batch.indices.len() * c;
        if self.x.len() < need {
            self.x.resize(need, 0);
        }
        let d = self.set.train.shape.dim();
        self.rows.clear();
        let shape = self.set.train.shape;
        for (r, (&i, &aug)) in batch.indices.iter().zip(&batch.augments).enumerate() {
            if !aug.is_identity() {
                let image = self.set.train.image(i);
                let row = &mut self.x[r * c..(r + 1) * c];
                augment_bytes(&shape, image, aug, &self.fill, self.cols.clone(), row);
                self.rows.push(RowAt::Scratch(r * c));
            } else {
                self.rows.push(RowAt::Set(i * d + self.cols.start));
            }
        }
    }

    /// `out = x_half · W_halfᵀ` (rows × width), x the normalised batch.
    pub(super) fn product(&self, rows: usize, out: ArrayViewMut2<'_, f32>) {
        debug_assert_eq!(rows, self.rows.len());
        let c = self.cols.len();
        let rows = row_slices(&self.rows, &self.set.train.pixels, &self.x, c);
        kernels::bytes_wt(&rows, &self.folded, out);
    }

    /// `W_half ← keep·W_half − η δᵀ x_half`.
    pub(super) fn update(&mut self, delta: ArrayView2<'_, f32>, keep: f32, eta: f32) {
        let c = self.cols.len();
        let rows = row_slices(&self.rows, &self.set.train.pixels, &self.x, c);
        kernels::sgd_update_bytes(
            self.w.view_mut(),
            &mut self.folded,
            delta,
            &rows,
            &self.mean,
            &self.scale,
            keep,
            eta,
        );
    }

    /// `W_half ← rule(W_half, g)` with `g = δᵀ x_half + 2λ W_half`, for update rules that
    /// keep state (their moments of these columns are in `moments`).
    pub(super) fn update_with(&mut self, delta: ArrayView2<'_, f32>, rule: Rule, lambda: f32) {
        self.grad.assign(&self.w);
        let c = self.cols.len();
        let rows = row_slices(&self.rows, &self.set.train.pixels, &self.x, c);
        // The fused update with keep = 2λ and η = −1 turns a copy of W into the gradient.
        kernels::sgd_update_bytes(
            self.grad.view_mut(),
            &mut self.grad_folded,
            delta,
            &rows,
            &self.mean,
            &self.scale,
            2.0 * lambda,
            -1.0,
        );
        let [m, v] = &mut self.moments;
        let slice = "owned arrays are contiguous";
        rule.apply(
            self.w.as_slice_mut().expect(slice),
            self.grad.as_slice().expect(slice),
            m.as_slice_mut().expect(slice),
            v.as_slice_mut().expect(slice),
        );
        self.folded.refold(self.w.view(), &self.mean, &self.scale);
    }
}

/// The helper thread's side of the steps: runs until the calling thread sends no next
/// batch or leaves.
pub(super) fn helper_steps(half: &mut Half, mut batch: Batch, shared: &Shared) {
    let width = half.w.nrows();
    kernels::serial(|| {
        loop {
            let rows = batch.indices.len();
            half.gather(&batch);
            {
                let mut partial = lock(&shared.partial);
                let out = ArrayViewMut2::from_shape((rows, width), &mut partial[..rows * width])
                    .expect("partial holds rows × width");
                half.product(rows, out);
            }
            // The caller finishes the step in between.
            if !shared.barrier.wait() || !shared.barrier.wait() {
                return;
            }
            let next = {
                let mut after = lock(&shared.after);
                let delta = ArrayView2::from_shape((rows, width), &after.delta[..rows * width])
                    .expect("delta holds rows × width");
                match after.rule {
                    Some(rule) => half.update_with(delta, rule, after.lambda),
                    None => half.update(delta, after.keep, after.eta),
                }
                after.next.take()
            };
            match next {
                Some(b) => batch = b,
                None => return,
            }
        }
    });
}

/// Where to split `d` input columns of images `width` pixels wide between two threads: at a
/// whole pixel row near the middle; `None` when too narrow to split.
pub(super) fn column_split(d: usize, image_width: usize) -> Option<usize> {
    let row = image_width.max(1);
    let split = (d / 2) / row * row;
    (split > 0 && split < d).then_some(split)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_lands_on_pixel_rows() {
        assert_eq!(column_split(3072, 32), Some(1536));
        assert_eq!(column_split(784, 28), Some(392));
        assert_eq!(column_split(90, 32), Some(32));
        assert_eq!(column_split(32, 32), None);
    }

    #[test]
    fn barrier_passes_both_threads_many_times_and_reports_a_leaver() {
        let barrier = SpinBarrier::new();
        let counter = AtomicUsize::new(0);
        std::thread::scope(|s| {
            s.spawn(|| {
                let _leave = LeaveOnDrop(&barrier);
                for _ in 0..1000 {
                    counter.fetch_add(1, Ordering::SeqCst);
                    assert!(barrier.wait());
                }
            });
            for i in 0..1000 {
                assert!(barrier.wait());
                // Both increments of round i happened before either passed the barrier.
                assert!(counter.load(Ordering::SeqCst) > i);
            }
            // The helper has finished and left: the next wait does not hang.
            assert!(!barrier.wait());
        });
    }
}
