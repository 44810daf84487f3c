//! Training steps shared by N threads. Each thread owns one part of the input columns: it
//! multiplies that part of every image of the batch (read as bytes where it lies) by its
//! columns of the first weight matrix and, after the small rest of the step (summing the
//! parts' products, loss, upper layers, biases) is done on the calling thread, updates its
//! columns of the first weight matrix, by SGD or by a rule with state whose moments for
//! those columns it keeps. A thread only ever touches its own part of the batch and of W₀,
//! so each part stays in its core's cache, and the threads meet at two barriers per step.
//!
//! Columns rather than batch rows: a split by rows would need every thread's whole
//! gradient of W₀ summed before the update (k × d floats per thread per step), while a
//! split by columns exchanges only the rows × k partial products and δ.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use ndarray::{Array2, ArrayView2, ArrayViewMut2};

use crate::data::Normalizer;
use crate::data::augment::{Augment, augment_bytes};
use crate::model::kernels;
use crate::train::optimizer::Rule;

/// Spins this many times before yielding the core while waiting at a barrier: the other
/// threads of a step are usually microseconds away, but on a busy machine (the window's thread
/// wants a core too) spinning longer would steal its time.
const SPIN_LIMIT: u32 = 2_000;

/// A barrier of a fixed number of threads that spins briefly, then yields; any of them
/// can leave it for good.
pub(super) struct SpinBarrier {
    parties: usize,
    arrived: AtomicUsize,
    generation: AtomicUsize,
    abandoned: AtomicBool,
}

impl SpinBarrier {
    /// A barrier for `parties` threads (at least one).
    pub(super) fn new(parties: usize) -> Self {
        SpinBarrier {
            parties: parties.max(1),
            arrived: AtomicUsize::new(0),
            generation: AtomicUsize::new(0),
            abandoned: AtomicBool::new(false),
        }
    }

    /// Waits for the other threads. False when one of them has left (finished or
    /// panicked).
    pub(super) fn wait(&self) -> bool {
        let generation = self.generation.load(Ordering::Acquire);
        if self.arrived.fetch_add(1, Ordering::AcqRel) == self.parties - 1 {
            self.arrived.store(0, Ordering::Relaxed);
            self.generation.fetch_add(1, Ordering::Release);
            return true;
        }
        let mut spins = 0u32;
        while self.generation.load(Ordering::Acquire) == generation {
            if self.abandoned.load(Ordering::Acquire) {
                // A leaver may have passed this barrier just before leaving.
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
/// others spinning.
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

/// What the calling thread hands the helpers between the two barriers of a step.
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

/// State the threads exchange.
pub(super) struct Shared {
    pub(super) barrier: SpinBarrier,
    /// Each helper's partial product x_i·W₀ᵢᵀ, rows × width (helper i writes entry i).
    pub(super) partials: Vec<Mutex<Vec<f32>>>,
    /// Written by the calling thread only between the barriers, read by every helper after
    /// the second one.
    pub(super) after: RwLock<AfterForward>,
}

impl Shared {
    /// Room for `helpers` helpers' products of `rows` × `width`.
    pub(super) fn new(rows: usize, width: usize, helpers: usize) -> Self {
        Shared {
            barrier: SpinBarrier::new(helpers + 1),
            partials: (0..helpers)
                .map(|_| Mutex::new(vec![0.0; rows * width]))
                .collect(),
            after: RwLock::new(AfterForward {
                delta: vec![0.0; rows * width],
                ..AfterForward::default()
            }),
        }
    }
}

/// Locks `m`; a poisoned lock only means another thread panicked, which its join reports.
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Reads `m` (poisoning as in [`lock`]).
pub(super) fn read<T>(m: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(PoisonError::into_inner)
}

/// Writes `m` (poisoning as in [`lock`]).
pub(super) fn write<T>(m: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(PoisonError::into_inner)
}

/// Where one row of a batch's part lies.
#[derive(Debug, Clone, Copy)]
enum RowAt {
    /// In the training set's pixels, from this byte.
    Set(usize),
    /// In the part's scratch buffer (an augmented copy), from this byte.
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

/// One thread's part: its input columns, where the batch's bytes in those columns lie, its
/// columns of W₀ (and W₀ folded with the normalisation, see [`kernels::FoldedWeights`]).
pub(super) struct Part {
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

impl Part {
    /// The part of `w` (all of W₀) in columns `cols`, with `x` a buffer to reuse, and the
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
        Part {
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

    /// Finds this part's columns of the batch's images: where they lie in the training set,
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

    /// `out = x_part · W_partᵀ` (rows × width), x the normalised batch.
    pub(super) fn product(&self, rows: usize, out: ArrayViewMut2<'_, f32>) {
        debug_assert_eq!(rows, self.rows.len());
        let c = self.cols.len();
        let rows = row_slices(&self.rows, &self.set.train.pixels, &self.x, c);
        kernels::bytes_wt(&rows, &self.folded, out);
    }

    /// `W_part ← keep·W_part − η δᵀ x_part`.
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

    /// `W_part ← rule(W_part, g)` with `g = δᵀ x_part + 2λ W_part`, for update rules that
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

/// Helper `index`'s side of the steps: runs until the calling thread sends no next batch
/// or a thread leaves.
pub(super) fn helper_steps(part: &mut Part, mut batch: Batch, shared: &Shared, index: usize) {
    let width = part.w.nrows();
    kernels::serial(|| {
        loop {
            let rows = batch.indices.len();
            part.gather(&batch);
            {
                let mut partial = lock(&shared.partials[index]);
                let out = ArrayViewMut2::from_shape((rows, width), &mut partial[..rows * width])
                    .expect("partial holds rows × width");
                part.product(rows, out);
            }
            // The caller finishes the step in between.
            if !shared.barrier.wait() || !shared.barrier.wait() {
                return;
            }
            let next = {
                let after = read(&shared.after);
                let delta = ArrayView2::from_shape((rows, width), &after.delta[..rows * width])
                    .expect("delta holds rows × width");
                match after.rule {
                    Some(rule) => part.update_with(delta, rule, after.lambda),
                    None => part.update(delta, after.keep, after.eta),
                }
                after.next.clone()
            };
            match next {
                Some(b) => batch = b,
                None => return,
            }
        }
    });
}

/// How to split `d` input columns of images `image_width` pixels wide among at most
/// `threads` threads: near-equal parts that end on whole pixel rows (so a mirrored row
/// stays within a part); fewer parts when there are fewer rows than threads.
pub(super) fn column_parts(d: usize, image_width: usize, threads: usize) -> Vec<Range<usize>> {
    let row = image_width.max(1);
    let rows = d.div_ceil(row);
    let n = threads.clamp(1, rows.max(1));
    let mut parts = Vec::with_capacity(n);
    let mut start = 0;
    for i in 1..=n {
        let end = if i == n {
            d
        } else {
            (rows * i / n * row).min(d)
        };
        if end > start {
            parts.push(start..end);
            start = end;
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_land_on_pixel_rows_and_cover_every_column() {
        assert_eq!(column_parts(3072, 32, 2), vec![0..1536, 1536..3072]);
        assert_eq!(
            column_parts(3072, 32, 3),
            vec![0..1024, 1024..2048, 2048..3072]
        );
        assert_eq!(column_parts(784, 28, 2), vec![0..392, 392..784]);
        assert_eq!(column_parts(90, 32, 2), vec![0..32, 32..90]);
        assert_eq!(column_parts(32, 32, 4), vec![0..32]);
        assert_eq!(column_parts(3072, 32, 1), vec![0..3072]);
        for threads in 1..=20 {
            let parts = column_parts(3072, 32, threads);
            assert_eq!(parts.len(), threads);
            assert_eq!(parts[0].start, 0);
            assert_eq!(parts[threads - 1].end, 3072);
            for w in parts.windows(2) {
                assert_eq!(w[0].end, w[1].start);
                assert_eq!(w[0].end % 32, 0);
            }
        }
    }

    #[test]
    fn barrier_passes_both_threads_many_times_and_reports_a_leaver() {
        let barrier = SpinBarrier::new(2);
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
