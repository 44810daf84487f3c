//! Matrix products for the skinny shapes of training (many rows × 3,072 inputs × 10–100
//! outputs), where a general GEMM spends most of its time packing. Hand-tiled kernels,
//! chosen at run time: AVX-512 or AVX2 register tiles for the first layer's bytes and for
//! products of `f32` ([`tiles`]), AVX2 tiles for the float updates; everything else goes
//! through ndarray.

use ndarray::{ArrayView2, ArrayViewMut2, linalg::general_mat_mul};

use super::Real;

/// `out = x · wᵀ`, with `x` rows × d, `w` k × d, `out` rows × k.
pub fn xwt<F: Real>(x: ArrayView2<F>, w: ArrayView2<F>, mut out: ArrayViewMut2<F>) {
    if let Some(true) = F::fast_xwt(&x, &w, &mut out) {
        return;
    }
    general_mat_mul(F::one(), &x, &w.t(), F::zero(), &mut out);
}

/// `w = keep · w − eta · deltaᵀ · a`, with `delta` rows × k, `a` rows × d, `w` k × d: a
/// gradient-descent step with weight decay, fused so no gradient matrix is stored.
pub fn sgd_update<F: Real>(
    mut w: ArrayViewMut2<F>,
    delta: ArrayView2<F>,
    a: ArrayView2<F>,
    keep: F,
    eta: F,
) {
    if let Some(true) = F::fast_update(&mut w, &delta, &a, keep, eta) {
        return;
    }
    general_mat_mul(-eta, &delta.t(), &a, keep, &mut w);
}

/// Whether the AVX2/FMA kernels can run on this CPU.
pub fn have_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Below this many multiply-adds a product runs on one thread: for the linear classifier's
/// 100 × 10 × 3072 steps, waking a second thread costs more than it saves (measured).
const PARALLEL_MIN_WORK: usize = 8_000_000;

// A thread-local rather than a parameter: the flag belongs to the thread (each share of a
// step split over threads, in `train::team` and the stack trainer, runs on its own), and
// the products that read it sit many calls below the code that sets it; a parameter would
// thread a `serial: bool` through every layer, loss and product signature. It is set and
// restored only by [`serial`], so nothing outside its closure sees it change.
thread_local! {
    /// Set on threads that already share a step between them: their products stay on them.
    static SERIAL: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with every product it starts kept on the calling thread (no rayon splits), for
/// threads that already divide the work among themselves.
pub fn serial<R>(f: impl FnOnce() -> R) -> R {
    let before = SERIAL.replace(true);
    let out = f();
    SERIAL.set(before);
    out
}

/// Whether the calling thread runs inside [`serial`] (its products must not split).
pub fn is_serial() -> bool {
    SERIAL.get()
}

/// A kernel over a block of rows: (x rows, out rows, row count).
type RowKernel<'a> = dyn Fn(&[f32], &mut [f32], usize) + Sync + 'a;
/// A kernel over a block of output rows: (w rows, first output, output count).
type OutputKernel<'a> = dyn Fn(&mut [f32], usize, usize) + Sync + 'a;

/// Runs `f` on two halves of the rows of `x`/`out` on the rayon pool when the product is big.
fn par_rows(x: &[f32], out: &mut [f32], rows: usize, k: usize, d: usize, f: &RowKernel<'_>) {
    if rows < 4
        || rows * k * d < PARALLEL_MIN_WORK
        || rayon::current_num_threads() < 2
        || SERIAL.get()
    {
        f(x, out, rows);
        return;
    }
    let half = rows / 2;
    let (x0, x1) = x.split_at(half * d);
    let (o0, o1) = out.split_at_mut(half * k);
    rayon::join(|| f(x0, o0, half), || f(x1, o1, rows - half));
}

/// Runs `f` on two blocks of output rows of `w` on the rayon pool when the update is big.
fn par_outputs(w: &mut [f32], k: usize, work: usize, d: usize, f: &OutputKernel<'_>) {
    if k < 2 || work < PARALLEL_MIN_WORK || rayon::current_num_threads() < 2 || SERIAL.get() {
        f(w, 0, k);
        return;
    }
    // Halves in multiples of 5 outputs where possible, the kernel's tile width.
    let half = if k >= 10 { k / 10 * 5 } else { k / 2 };
    let (w0, w1) = w.split_at_mut(half * d);
    rayon::join(|| f(w0, 0, half), || f(w1, half, k - half));
}

/// `f32` entry points: `Some(true)` when the fast kernel ran.
pub(crate) fn xwt_f32(
    x: &ArrayView2<f32>,
    w: &ArrayView2<f32>,
    out: &mut ArrayViewMut2<f32>,
) -> Option<bool> {
    #[cfg(target_arch = "x86_64")]
    {
        if !have_avx2() {
            return None;
        }
        let (rows, d) = x.dim();
        let k = w.nrows();
        let xs = x.as_slice()?;
        let ws = w.as_slice()?;
        let os = out.as_slice_mut()?;
        let wide = have_avx512();
        par_rows(xs, os, rows, k, d, &|xs, os, rows| {
            if wide {
                let x_rows: Vec<&[f32]> = xs.chunks_exact(d.max(1)).take(rows).collect();
                // SAFETY: AVX-512 was detected; the kernel checks the sizes.
                unsafe { tiles::dot_wt_avx512(&x_rows, ws, None, os, k, d) };
                return;
            }
            // SAFETY: AVX2 and FMA were detected above; the slices have the sizes the shapes say.
            unsafe { avx2::xwt(xs, ws, os, rows, k, d) }
        });
        Some(true)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (x, w, out);
        None
    }
}

pub(crate) fn update_f32(
    w: &mut ArrayViewMut2<f32>,
    delta: &ArrayView2<f32>,
    a: &ArrayView2<f32>,
    keep: f32,
    eta: f32,
) -> Option<bool> {
    #[cfg(target_arch = "x86_64")]
    {
        if !have_avx2() {
            return None;
        }
        let (k, d) = w.dim();
        let rows = delta.nrows();
        let ds = delta.as_slice()?;
        let as_ = a.as_slice()?;
        let ws = w.as_slice_mut()?;
        par_outputs(ws, k, rows * k * d, d, &|ws, j0, nj| {
            // SAFETY: AVX2 and FMA were detected above; the slices have the sizes the shapes say.
            unsafe { avx2::update(ws, ds, as_, rows, k, d, j0, nj, keep, eta) }
        });
        Some(true)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (w, delta, a, keep, eta);
        None
    }
}

/// The largest right-hand side (k · n values) the register panels take: they (≤ 512 KB)
/// must stay in a core's L2 while every row block streams past them. A bigger one (a dense
/// layer on 4,096 inputs) goes to the general product, which blocks it.
const PANELS_MAX: usize = 128 * 1024;

/// A convolution with stride 1 read from its zero-padded input (no patch matrix): `images`
/// images of `h × w × c` (positions × channels), filters `k × k`, `pad` zeros on each side,
/// `n` outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SameConv {
    /// Images.
    pub images: usize,
    /// Input rows.
    pub h: usize,
    /// Input columns.
    pub w: usize,
    /// Input channels.
    pub c: usize,
    /// Filter side.
    pub k: usize,
    /// Zeros on each side.
    pub pad: usize,
    /// Outputs (filters).
    pub n: usize,
}

impl SameConv {
    /// Rows and columns of one padded input image.
    pub fn padded_hw(&self) -> (usize, usize) {
        (self.h + 2 * self.pad, self.w + 2 * self.pad)
    }
    /// Output rows and columns.
    pub fn out_hw(&self) -> (usize, usize) {
        let (hp, wp) = self.padded_hw();
        (hp + 1 - self.k, wp + 1 - self.k)
    }
    /// Values of all the padded input images.
    pub fn padded_len(&self) -> usize {
        let (hp, wp) = self.padded_hw();
        self.images * hp * wp * self.c
    }
    /// Values of the padded output gradient the input gradient goes through.
    pub fn input_grad_scratch(&self) -> usize {
        self.transposed().padded_len()
    }
    /// Whether this CPU's kernels take it: filters whose patch rows (k pixels × channels)
    /// fill whole registers, on AVX2 or AVX-512, and are small enough for the panels. A
    /// first layer on 3 colour channels (9 values a row) keeps its patch matrix.
    pub fn fits(&self) -> bool {
        #[cfg(target_arch = "x86_64")]
        // A panel is two registers wide.
        let Some(lanes) = panels::panel_width().map(|w| w / 2) else {
            return false;
        };
        #[cfg(not(target_arch = "x86_64"))]
        let lanes = 0;
        self.k >= 1
            && self.pad < self.k
            && self.padded_hw().0 >= self.k
            && self.padded_hw().1 >= self.k
            && lanes > 0
            && (self.k * self.c).is_multiple_of(lanes)
            && self.k * self.k * self.c * self.n <= PANELS_MAX
    }
    /// The geometry of the input gradient: a convolution of the output gradient, padded by
    /// `k − 1 − pad`, with the filters turned half a turn and their channels and outputs
    /// swapped.
    pub(crate) fn transposed(&self) -> SameConv {
        let (oh, ow) = self.out_hw();
        SameConv {
            images: self.images,
            h: oh,
            w: ow,
            c: self.n,
            k: self.k,
            pad: self.k - 1 - self.pad,
            n: self.c,
        }
    }
}

/// One pass of a [`SameConv`] on the register panels, its data as plain slices
/// (positions × channels, image after image).
pub enum ConvPass<'a, F> {
    /// `padded` ← `input` with its zero border, then `out = conv(padded) + bias`.
    Forward {
        /// The layer's input.
        input: &'a [F],
        /// Room for the padded input, kept for the backward pass.
        padded: &'a mut [F],
        /// Filters, outputs × (row, column, channel).
        weights: ArrayView2<'a, F>,
        /// One per output.
        bias: &'a [F],
        /// The output positions × outputs.
        out: &'a mut [F],
    },
    /// `d_input` from the output gradient, through `scratch` (its padded copy).
    InputGrad {
        /// ∂cost/∂output.
        d_out: &'a [F],
        /// Filters, outputs × (row, column, channel).
        weights: ArrayView2<'a, F>,
        /// Room for the padded output gradient ([`SameConv::input_grad_scratch`] values).
        scratch: &'a mut [F],
        /// ∂cost/∂input, overwritten.
        d_input: &'a mut [F],
    },
    /// `dw = Σ d_outᵀ · patches`, overwritten.
    WeightGrad {
        /// The padded input the forward pass kept.
        padded: &'a [F],
        /// ∂cost/∂output.
        d_out: &'a [F],
        /// ∂cost/∂filters, outputs × (row, column, channel).
        dw: &'a mut [F],
    },
}

/// Runs `pass` on the register panels (`Some(true)`), or `None` where `g` does not
/// [fit](SameConv::fits) this CPU; `parts` shares of the work on the rayon pool.
pub(crate) fn same_conv_f32(g: &SameConv, pass: ConvPass<'_, f32>, parts: usize) -> Option<bool> {
    if !g.fits() {
        return None;
    }
    #[cfg(target_arch = "x86_64")]
    {
        match pass {
            ConvPass::Forward {
                input,
                padded,
                weights,
                bias,
                out,
            } => {
                panels::pad_images(g, input, padded);
                panels::conv_forward(g, padded, weights, Some(bias), out, parts);
            }
            ConvPass::InputGrad {
                d_out,
                weights,
                scratch,
                d_input,
            } => panels::conv_input_grad(g, d_out, weights, scratch, d_input, parts),
            ConvPass::WeightGrad { padded, d_out, dw } => {
                let len = g.n * g.k * g.k * g.c;
                dw[..len].fill(0.0);
                panels::conv_weight_grad(g, padded, d_out, dw, parts);
            }
        }
        Some(true)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (pass, parts);
        None
    }
}

/// `out = a · b (+ bias)` on [`panels`]: for a row-major `a` with many rows and a small `b`
/// (k × n, any strides), as a convolution's products are; the rows split into `parts` on the
/// rayon pool. `Some(true)` when it ran; `None` where the shapes or the CPU don't suit (the
/// caller then uses the general product).
pub(crate) fn rows_times_small_f32(
    a: &ArrayView2<f32>,
    b: &ArrayView2<f32>,
    bias: Option<&[f32]>,
    out: &mut ArrayViewMut2<f32>,
    parts: usize,
) -> Option<bool> {
    #[cfg(target_arch = "x86_64")]
    {
        use rayon::prelude::*;
        let (rows, k) = a.dim();
        let n = b.ncols();
        if k * n > PANELS_MAX || k == 0 || n == 0 || rows == 0 || b.nrows() != k {
            return None;
        }
        let xs = a.as_slice()?;
        let os = out.as_slice_mut()?;
        let packed = panels::pack(b.view())?;
        let tile = panels::tile_rows();
        let chunk = rows.div_ceil(parts.max(1)).div_ceil(tile) * tile;
        xs.par_chunks(chunk * k)
            .zip(os.par_chunks_mut(chunk * n))
            .for_each(|(x, o)| panels::rows_times(x, k, &packed, bias, o, n, x.len() / k));
        Some(true)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (a, b, bias, out, parts);
        None
    }
}

/// A buffer of `f32` whose start lies on a 64-byte cache line: a 32- or 64-byte load that
/// straddles two lines costs two, and the allocator only promises 16 bytes. With rows a
/// multiple of 16 values long (CIFAR-10's 3,072 and its halves), every row is aligned too.
#[derive(Debug, Clone, Default)]
pub struct AlignedBuffer {
    lines: Vec<CacheLine>,
    len: usize,
}

/// 16 `f32` on one cache line.
#[derive(Debug, Clone, Copy, Default)]
#[repr(C, align(64))]
struct CacheLine([f32; 16]);

impl AlignedBuffer {
    /// `len` zeros.
    pub fn zeros(len: usize) -> Self {
        AlignedBuffer {
            lines: vec![CacheLine::default(); len.div_ceil(16)],
            len,
        }
    }

    /// Makes it `len` values long, all zero.
    pub fn reset(&mut self, len: usize) {
        self.lines.clear();
        self.lines.resize(len.div_ceil(16), CacheLine::default());
        self.len = len;
    }

    /// The values.
    pub fn as_slice(&self) -> &[f32] {
        // SAFETY: `lines` holds at least `len` contiguous f32 (CacheLine is repr(C) over
        // [f32; 16], with no padding).
        unsafe { std::slice::from_raw_parts(self.lines.as_ptr().cast::<f32>(), self.len) }
    }

    /// The values, to change.
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        // SAFETY: as in `as_slice`, and `self` is borrowed mutably.
        unsafe { std::slice::from_raw_parts_mut(self.lines.as_mut_ptr().cast::<f32>(), self.len) }
    }
}

/// The first layer's weights folded into the input normalisation `x = (p − mean) · scale`,
/// so products can read images as the bytes `p` they are stored as:
/// `x · Wᵀ = p · (W∘scale)ᵀ − offset`, with `offset_j = Σᵢ meanᵢ · scaleᵢ · W_ji`. This
/// saves writing and reading back a normalised `f32` copy of every image (a third of a
/// linear classifier's epoch went to that).
#[derive(Debug, Clone, Default)]
pub struct FoldedWeights {
    /// `W∘scale`, outputs × inputs, row-major.
    scaled: AlignedBuffer,
    /// `Σᵢ meanᵢ · scaled_ji` per output.
    offset: Vec<f32>,
    /// Scratch for the 8- or 16-lane partial sums of `offset` while updating.
    offset_acc: Vec<f32>,
    inputs: usize,
}

impl FoldedWeights {
    /// Folds `w` (outputs × inputs) with the normalisation's per-input `mean` and `scale`.
    pub fn new(w: ArrayView2<f32>, mean: &[f32], scale: &[f32]) -> Self {
        let (k, d) = w.dim();
        let mut folded = FoldedWeights {
            scaled: AlignedBuffer::zeros(k * d),
            offset: vec![0.0; k],
            offset_acc: vec![0.0; k * 16],
            inputs: d,
        };
        folded.refold(w, mean, scale);
        folded
    }

    /// Folds `w` again (after an update that did not fold it on the way), reusing the
    /// buffers when the shape is unchanged.
    pub fn refold(&mut self, w: ArrayView2<f32>, mean: &[f32], scale: &[f32]) {
        let (k, d) = w.dim();
        assert!(
            mean.len() == d && scale.len() == d,
            "one mean and scale per input"
        );
        if self.outputs() != k || self.inputs != d {
            *self = FoldedWeights::new(w, mean, scale);
            return;
        }
        for ((row, out), off) in w
            .rows()
            .into_iter()
            .zip(self.scaled.as_mut_slice().chunks_exact_mut(d.max(1)))
            .zip(&mut self.offset)
        {
            let mut sum = 0f64;
            for (((&v, &m), &s), o) in row.iter().zip(mean).zip(scale).zip(out) {
                *o = v * s;
                sum += f64::from(m) * f64::from(*o);
            }
            *off = sum as f32;
        }
    }

    /// Number of outputs (rows of W).
    pub fn outputs(&self) -> usize {
        self.offset.len()
    }

    /// Number of inputs (columns of W).
    pub fn inputs(&self) -> usize {
        self.inputs
    }
}

/// `out = x · Wᵀ` where row r of `x` is the normalised form of the bytes `pixels[r]` (each
/// at least `inputs` long; they may lie anywhere, so a batch of images needs no gathered
/// copy) and `W` is folded into `folded`.
pub fn bytes_wt(pixels: &[&[u8]], folded: &FoldedWeights, mut out: ArrayViewMut2<f32>) {
    let (k, d) = (folded.outputs(), folded.inputs);
    let rows = pixels.len();
    assert!(pixels.iter().all(|p| p.len() >= d) && out.dim() == (rows, k));
    #[cfg(target_arch = "x86_64")]
    if have_avx2()
        && let Some(os) = out.as_slice_mut()
    {
        let (scaled, offset) = (folded.scaled.as_slice(), Some(&folded.offset[..]));
        // SAFETY: the kernels check the sizes; each runs only where its features were
        // detected.
        unsafe {
            if have_avx512() {
                tiles::dot_wt_avx512(pixels, scaled, offset, os, k, d);
            } else {
                tiles::dot_wt_avx2(pixels, scaled, offset, os, k, d);
            }
        }
        return;
    }
    for (p, mut out_r) in pixels.iter().zip(out.rows_mut()) {
        for (j, o) in out_r.iter_mut().enumerate() {
            let w = &folded.scaled.as_slice()[j * d..(j + 1) * d];
            let s: f32 = p.iter().zip(w).map(|(&p, &w)| f32::from(p) * w).sum();
            *o = s - folded.offset[j];
        }
    }
}

/// `W ← keep·W − η·δᵀ·x` where row r of `x` is the normalised form of the bytes `pixels[r]`
/// under `mean` and `scale`; `folded` is brought up to date with the new `W` on the way.
#[allow(clippy::too_many_arguments)]
pub fn sgd_update_bytes(
    mut w: ArrayViewMut2<f32>,
    folded: &mut FoldedWeights,
    delta: ArrayView2<f32>,
    pixels: &[&[u8]],
    mean: &[f32],
    scale: &[f32],
    keep: f32,
    eta: f32,
) {
    let (k, d) = w.dim();
    let rows = delta.nrows();
    assert!(
        folded.outputs() == k
            && folded.inputs == d
            && delta.ncols() == k
            && pixels.len() == rows
            && pixels.iter().all(|p| p.len() >= d)
            && mean.len() == d
            && scale.len() == d
    );
    let delta_sum: Vec<f32> = delta.columns().into_iter().map(|c| c.sum()).collect();
    #[cfg(target_arch = "x86_64")]
    if have_avx2()
        && let (Some(ws), Some(ds)) = (w.as_slice_mut(), delta.as_slice())
    {
        let mut update = tiles::BytesUpdate {
            w: ws,
            scaled: folded.scaled.as_mut_slice(),
            offset: &mut folded.offset,
            mean,
            scale,
            delta_sum: &delta_sum,
            offset_acc: &mut folded.offset_acc,
            keep,
            eta,
            d,
        };
        // SAFETY: the kernels check the sizes; each runs only where its features were
        // detected.
        unsafe {
            if have_avx512() {
                tiles::update_bytes_avx512(&mut update, ds, pixels);
            } else {
                tiles::update_bytes_avx2(&mut update, ds, pixels);
            }
        }
        return;
    }
    for j in 0..k {
        for i in 0..d {
            let s: f32 = (0..rows)
                .map(|r| delta[[r, j]] * f32::from(pixels[r][i]))
                .sum();
            let g = scale[i] * (s - mean[i] * delta_sum[j]);
            w[[j, i]] = keep * w[[j, i]] - eta * g;
        }
    }
    folded.refold(w.view(), mean, scale);
}

/// Which register tiles the products and updates run on this CPU: `"avx512"`, `"avx2"`
/// (also with `TRAINVIZ_NO_AVX512=1` on an AVX-512 CPU) or `"scalar"` (ndarray and plain
/// loops).
pub fn kernel_name() -> &'static str {
    if have_avx512() {
        "avx512"
    } else if have_avx2() {
        "avx2"
    } else {
        "scalar"
    }
}

/// Whether the AVX-512 tiles can run on this CPU (`TRAINVIZ_NO_AVX512=1` turns them off,
/// to compare).
pub fn have_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static WIDE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *WIDE.get_or_init(|| {
            have_avx2()
                && std::arch::is_x86_feature_detected!("avx512f")
                && !crate::env::no_avx512()
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(target_arch = "x86_64")]
mod panels;
#[cfg(target_arch = "x86_64")]
mod tiles;

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn hsum(v: __m256) -> f32 {
        let lo = _mm256_castps256_ps128(v);
        let hi = _mm256_extractf128_ps::<1>(v);
        let s = _mm_add_ps(lo, hi);
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps::<1>(s, s));
        _mm_cvtss_f32(s)
    }

    /// See [`super::fma_chains`].
    ///
    /// # Safety
    /// Needs AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn fma_chains(iters: usize) -> f32 {
        let mut acc = [_mm256_set1_ps(1.0); 10];
        let m = _mm256_set1_ps(0.999_999);
        let a = _mm256_set1_ps(1e-7);
        for _ in 0..iters {
            for v in &mut acc {
                *v = _mm256_fmadd_ps(*v, m, a);
            }
        }
        acc.iter().map(|&v| hsum(v)).sum()
    }

    /// One MR × NR tile of dot products over `len` columns (a multiple of 8): rows of x at
    /// `x + m·x_stride`, rows of w at `w + n·w_stride`; the 8-lane partial sums live at
    /// `acc + m·acc_stride + 8n` between calls.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    #[allow(clippy::too_many_arguments)]
    unsafe fn dot_tile<const MR: usize, const NR: usize>(
        x: *const f32,
        x_stride: usize,
        w: *const f32,
        w_stride: usize,
        acc: *mut f32,
        acc_stride: usize,
        len: usize,
    ) {
        // SAFETY: the caller keeps every row of x and w `len` values long from these
        // pointers, and acc's MR rows × NR vectors of 8 inside its buffer.
        unsafe {
            // Registers: MR·NR accumulators + MR rows of x + one w vector ≤ 16 (no spills).
            let mut sums: [[__m256; NR]; MR] = std::array::from_fn(|m| {
                std::array::from_fn(|n| _mm256_loadu_ps(acc.add(m * acc_stride + n * 8)))
            });
            let mut q = 0;
            while q < len {
                let xv: [__m256; MR] =
                    std::array::from_fn(|m| _mm256_loadu_ps(x.add(m * x_stride + q)));
                #[allow(clippy::needless_range_loop)] // n indexes the inner arrays of sums
                for n in 0..NR {
                    let wv = _mm256_loadu_ps(w.add(n * w_stride + q));
                    for (sum_m, &xm) in sums.iter_mut().zip(&xv) {
                        sum_m[n] = _mm256_fmadd_ps(xm, wv, sum_m[n]);
                    }
                }
                q += 8;
            }
            for (m, sum_m) in sums.iter().enumerate() {
                for (n, &v) in sum_m.iter().enumerate() {
                    _mm256_storeu_ps(acc.add(m * acc_stride + n * 8), v);
                }
            }
        }
    }

    macro_rules! dispatch_tile {
        ($f:ident, $mr:expr, $nr:expr, ($($arg:expr),*)) => {
            match ($mr, $nr) {
                (2, 5) => $f::<2, 5>($($arg),*),
                (2, 4) => $f::<2, 4>($($arg),*),
                (2, 3) => $f::<2, 3>($($arg),*),
                (2, 2) => $f::<2, 2>($($arg),*),
                (2, 1) => $f::<2, 1>($($arg),*),
                (1, 5) => $f::<1, 5>($($arg),*),
                (1, 4) => $f::<1, 4>($($arg),*),
                (1, 3) => $f::<1, 3>($($arg),*),
                (1, 2) => $f::<1, 2>($($arg),*),
                _ => $f::<1, 1>($($arg),*),
            }
        };
    }

    /// Columns per block of `xwt` when W is too big for L2 (an MLP's 50 × 3072 first layer,
    /// 600 KB): a block of W (at most 100 KB) stays in cache while every row of x passes it.
    /// Measured on one core: MLP(50) epoch 0.90 → 0.78 s; a linear classifier's W (120 KB)
    /// fits L2 and is a little faster unblocked.
    const XWT_BLOCK: usize = 512;
    /// W larger than this (bytes) is processed in column blocks.
    const XWT_BLOCK_ABOVE: usize = 256 * 1024;

    // A thread-local rather than a buffer passed in: it is scratch space only (no value
    // survives a call), each rayon worker needs its own, and the callers of these products
    // (layers on any thread) would otherwise each carry a buffer they never read.
    thread_local! {
        /// Per-thread partial sums of the products, reused between calls (no allocation
        /// per step).
        static PARTIAL: std::cell::RefCell<super::AlignedBuffer> = std::cell::RefCell::new(super::AlignedBuffer::default());
    }

    /// `acc[r][j] = Σ_q x_rq · w_jq` as 8-lane partial sums over the first columns (the
    /// count is returned; the caller adds the rest): W is walked in column blocks that stay
    /// in cache while every pair of rows passes them. (The first layer's bytes take
    /// [`super::tiles`] instead.)
    #[target_feature(enable = "avx2,fma")]
    fn blocked_dot(
        x: &[f32],
        w: &[f32],
        acc: &mut super::AlignedBuffer,
        rows: usize,
        k: usize,
        d: usize,
    ) -> usize {
        let covered = d / 8 * 8;
        acc.reset(rows * k * 8);
        let acc = acc.as_mut_slice();
        let block = if k * d * 4 > XWT_BLOCK_ABOVE {
            XWT_BLOCK
        } else {
            covered.max(8)
        };
        let mut p0 = 0;
        while p0 < covered {
            let len = (p0 + block).min(covered) - p0;
            let mut r = 0;
            while r < rows {
                let mr = (rows - r).min(2);
                let (xp, x_stride) = (x[(r * d + p0)..].as_ptr(), d);
                let mut j = 0;
                while j < k {
                    let nr = (k - j).min(5);
                    let wp = w[j * d + p0..].as_ptr();
                    let ap = acc[(r * k + j) * 8..].as_mut_ptr();
                    // SAFETY: rows r..r+mr of x and j..j+nr of w hold `len` values from
                    // these pointers (p0 + len <= d8 <= d); acc holds rows · k vectors.
                    unsafe {
                        dispatch_tile!(dot_tile, mr, nr, (xp, x_stride, wp, d, ap, k * 8, len))
                    };
                    j += nr;
                }
                r += mr;
            }
            p0 += len;
        }
        covered
    }

    /// `out = x · wᵀ`.
    ///
    /// # Safety
    /// Needs AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn xwt(x: &[f32], w: &[f32], out: &mut [f32], rows: usize, k: usize, d: usize) {
        assert!(x.len() >= rows * d && w.len() >= k * d && out.len() >= rows * k);
        PARTIAL.with_borrow_mut(|acc| {
            let d8 = blocked_dot(x, w, acc, rows, k, d);
            for (r, out_r) in out.chunks_exact_mut(k).take(rows).enumerate() {
                for (j, o) in out_r.iter_mut().enumerate() {
                    let tail: f32 = (d8..d).map(|q| x[r * d + q] * w[j * d + q]).sum();
                    *o = hsum(load8(acc.as_slice(), (r * k + j) * 8)) + tail;
                }
            }
        });
    }

    /// The 8 values of `v` from `at`.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn load8(v: &[f32], at: usize) -> __m256 {
        let s = &v[at..at + 8];
        // SAFETY: `s` holds 8 values.
        unsafe { _mm256_loadu_ps(s.as_ptr()) }
    }

    /// `Σ_r δ_{r,n} · a_r[8c..8c+8]` for NR outputs and a strip of C vectors: rows of `a`
    /// are `a_stride` apart, `delta` points at δ[0][j0] with rows `k` apart.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn outer_tile<const C: usize, const NR: usize>(
        a: *const f32,
        a_stride: usize,
        delta: *const f32,
        k: usize,
        rows: usize,
    ) -> [[__m256; C]; NR] {
        let mut acc = [[_mm256_setzero_ps(); C]; NR];
        for r in 0..rows {
            // SAFETY: the caller keeps rows × (8·C) values of a and rows × NR of delta
            // inside their slices.
            unsafe {
                let av: [__m256; C] =
                    std::array::from_fn(|c| _mm256_loadu_ps(a.add(r * a_stride + 8 * c)));
                for (n, acc_n) in acc.iter_mut().enumerate() {
                    let dv = _mm256_broadcast_ss(&*delta.add(r * k + n));
                    for (s, &avc) in acc_n.iter_mut().zip(&av) {
                        *s = _mm256_fmadd_ps(dv, avc, *s);
                    }
                }
            }
        }
        acc
    }

    /// Columns p..p+8·C of outputs j0..j0+NR of the fused update of [`update`].
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    #[allow(clippy::too_many_arguments)]
    unsafe fn update_tile<const C: usize, const NR: usize>(
        w: &mut [f32],
        delta: &[f32],
        a: &[f32],
        rows: usize,
        k: usize,
        d: usize,
        p: usize,
        j0: usize,
        w_row0: usize,
        keep: f32,
        eta: f32,
    ) {
        // SAFETY: p + 8·C <= d and j0 + NR <= k (the caller's loop bounds).
        let acc = unsafe { outer_tile::<C, NR>(a[p..].as_ptr(), d, delta[j0..].as_ptr(), k, rows) };
        let keep_v = _mm256_set1_ps(keep);
        let neg_eta = _mm256_set1_ps(-eta);
        for (n, acc_n) in acc.iter().enumerate() {
            let row = &mut w[(j0 - w_row0 + n) * d..];
            for (c, &s) in acc_n.iter().enumerate() {
                let at = p + 8 * c;
                let new = _mm256_fmadd_ps(neg_eta, s, _mm256_mul_ps(keep_v, load8(row, at)));
                // SAFETY: at + 8 <= d.
                unsafe { _mm256_storeu_ps(row[at..at + 8].as_mut_ptr(), new) };
            }
        }
    }

    /// `w = keep · w − eta · deltaᵀ · a` for output rows `j0..j0 + nj`; `w` holds just
    /// those rows.
    ///
    /// # Safety
    /// Needs AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn update(
        w: &mut [f32],
        delta: &[f32],
        a: &[f32],
        rows: usize,
        k: usize,
        d: usize,
        j0: usize,
        nj: usize,
        keep: f32,
        eta: f32,
    ) {
        assert!(
            w.len() >= nj * d && delta.len() >= rows * k && a.len() >= rows * d && j0 + nj <= k
        );
        let (w_row0, k_end) = (j0, j0 + nj);
        let mut p = 0;
        // Registers: 2 column vectors × up to 5 outputs of accumulators + 2 + 1 ≤ 13.
        while p + 16 <= d {
            let mut j = j0;
            while j < k_end {
                let nr = (k_end - j).min(5);
                // SAFETY: sizes asserted above.
                unsafe {
                    match nr {
                        5 => update_tile::<2, 5>(w, delta, a, rows, k, d, p, j, w_row0, keep, eta),
                        4 => update_tile::<2, 4>(w, delta, a, rows, k, d, p, j, w_row0, keep, eta),
                        3 => update_tile::<2, 3>(w, delta, a, rows, k, d, p, j, w_row0, keep, eta),
                        2 => update_tile::<2, 2>(w, delta, a, rows, k, d, p, j, w_row0, keep, eta),
                        _ => update_tile::<2, 1>(w, delta, a, rows, k, d, p, j, w_row0, keep, eta),
                    }
                }
                j += nr;
            }
            p += 16;
        }
        while p + 8 <= d {
            for j in j0..k_end {
                // SAFETY: sizes asserted above.
                unsafe { update_tile::<1, 1>(w, delta, a, rows, k, d, p, j, w_row0, keep, eta) };
            }
            p += 8;
        }
        for q in p..d {
            for j in j0..k_end {
                let s: f32 = (0..rows).map(|r| delta[r * k + j] * a[r * d + q]).sum();
                let wi = (j - w_row0) * d + q;
                w[wi] = keep * w[wi] - eta * s;
            }
        }
    }
}

/// The machine's measured limits, to judge the kernels against.
#[derive(Debug, Clone, Copy)]
pub struct MachinePeaks {
    /// f32 multiply-add throughput of all cores, GFLOP/s (2 FLOP per multiply-add).
    pub gflops: f64,
    /// Rate of reading a buffer far larger than the caches with all cores, GB/s.
    pub read_gb_per_s: f64,
}

/// Measures [`MachinePeaks`] with `threads` threads: independent FMA chains held in
/// registers, and a sum over 256 MB of bytes. Takes about a second.
pub fn measure_peaks(threads: usize) -> MachinePeaks {
    let threads = threads.max(1);
    const ITERS: usize = 20_000_000;
    // The best of five tries: a peak is what the machine can do, and on a shared machine
    // one ~30 ms try can lose a core to another guest (seen here: half the peak, once in
    // four runs).
    let mut fma_secs = f64::INFINITY;
    for _ in 0..5 {
        let started = std::time::Instant::now();
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| std::hint::black_box(fma_chains(ITERS)));
            }
        });
        fma_secs = fma_secs.min(started.elapsed().as_secs_f64());
    }
    // 10 chains × 8 lanes × 2 FLOP per iteration.
    let gflops = (threads * ITERS * 10 * 8 * 2) as f64 / fma_secs / 1e9;
    let bytes = vec![1u8; 256 << 20];
    let chunk = bytes.len().div_ceil(threads);
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let started = std::time::Instant::now();
        std::thread::scope(|s| {
            for part in bytes.chunks(chunk) {
                s.spawn(move || std::hint::black_box(byte_sum(part)));
            }
        });
        best = best.min(started.elapsed().as_secs_f64());
    }
    MachinePeaks {
        gflops,
        read_gb_per_s: bytes.len() as f64 / best / 1e9,
    }
}

/// `iters` rounds of 10 independent 8-wide multiply-add chains (enough to fill two FMA
/// pipes with 4–5 cycles of latency each).
fn fma_chains(iters: usize) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if have_avx2() {
        // SAFETY: AVX2 and FMA were detected just above.
        return unsafe { avx2::fma_chains(iters) };
    }
    let mut acc = [1.0f32; 80];
    for _ in 0..iters {
        for a in &mut acc {
            *a = a.mul_add(0.999_999, 1e-7);
        }
    }
    acc.iter().sum()
}

/// A checksum that reads every byte, 32 at a time (cheap enough to be bound by memory).
fn byte_sum(bytes: &[u8]) -> u64 {
    let mut acc = [0u64; 4];
    let mut chunks = bytes.chunks_exact(32);
    for c in &mut chunks {
        for (a, word) in acc.iter_mut().zip(c.chunks_exact(8)) {
            let w = u64::from_le_bytes(word.try_into().expect("8-byte chunk"));
            *a = a.wrapping_add(w);
        }
    }
    let tail: u64 = chunks.remainder().iter().map(|&b| u64::from(b)).sum();
    acc.iter().fold(tail, |s, &a| s.wrapping_add(a))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use rand::{Rng, SeedableRng, rngs::SmallRng};

    fn random(rows: usize, cols: usize, rng: &mut SmallRng) -> Array2<f32> {
        Array2::from_shape_simple_fn((rows, cols), || rng.random_range(-1.0..1.0))
    }

    /// The fast kernels agree with ndarray's GEMM on awkward shapes (tails in every direction).
    #[test]
    fn kernels_match_general_gemm() {
        let mut rng = SmallRng::seed_from_u64(1);
        for &(rows, k, d) in &[
            (1, 1, 1),
            (5, 10, 3072),
            (7, 4, 45),
            (100, 50, 100),
            (3, 13, 37),
            (9, 2, 8),
            (100, 10, 3072),
            (64, 23, 3072),
        ] {
            let x = random(rows, d, &mut rng);
            let w = random(k, d, &mut rng);
            let mut fast = Array2::<f32>::zeros((rows, k));
            xwt(x.view(), w.view(), fast.view_mut());
            let slow = x.dot(&w.t());
            let err = (&fast - &slow).iter().fold(0f32, |m, v| m.max(v.abs()));
            assert!(err < 1e-3, "xwt {rows}×{k}×{d}: {err}");

            let delta = random(rows, k, &mut rng);
            let mut w_fast = w.clone();
            sgd_update(w_fast.view_mut(), delta.view(), x.view(), 0.9, 0.1);
            let w_slow = &w * 0.9 - &(delta.t().dot(&x) * 0.1);
            let err = (&w_fast - &w_slow).iter().fold(0f32, |m, v| m.max(v.abs()));
            assert!(err < 1e-4, "update {rows}×{k}×{d}: {err}");
        }
    }

    /// Products and updates that read bytes agree with the same maths on normalised `f32`
    /// rows, and leave the folded weights as a fresh fold of the new W would be.
    #[test]
    fn byte_kernels_match_normalised_floats() {
        let mut rng = SmallRng::seed_from_u64(2);
        for &(rows, k, d) in &[
            (1, 1, 1),
            (5, 10, 1536),
            (7, 4, 45),
            (100, 50, 392),
            (3, 13, 37),
            (9, 2, 8),
            (100, 10, 3072),
            (33, 23, 1536),
        ] {
            let pixels: Vec<u8> = (0..rows * d).map(|_| rng.random()).collect();
            let mean: Vec<f32> = (0..d).map(|_| rng.random_range(100.0..150.0)).collect();
            let scale: Vec<f32> = (0..d).map(|_| rng.random_range(0.01..0.03)).collect();
            let x = Array2::from_shape_fn((rows, d), |(r, i)| {
                (f32::from(pixels[r * d + i]) - mean[i]) * scale[i]
            });
            let w = random(k, d, &mut rng) * 0.05;
            let mut folded = FoldedWeights::new(w.view(), &mean, &scale);
            let mut fast = Array2::<f32>::zeros((rows, k));
            // Rows lie anywhere: read them in reverse order from a reversed copy.
            let reversed: Vec<u8> = pixels
                .chunks_exact(d.max(1))
                .rev()
                .flatten()
                .copied()
                .collect();
            let rows_of: Vec<&[u8]> = reversed.chunks_exact(d.max(1)).rev().collect();
            bytes_wt(&rows_of, &folded, fast.view_mut());
            let slow = x.dot(&w.t());
            let err = (&fast - &slow).iter().fold(0f32, |m, v| m.max(v.abs()));
            assert!(err < 2e-3, "bytes_wt {rows}×{k}×{d}: {err}");

            let delta = random(rows, k, &mut rng);
            let mut w_fast = w.clone();
            sgd_update_bytes(
                w_fast.view_mut(),
                &mut folded,
                delta.view(),
                &rows_of,
                &mean,
                &scale,
                0.9,
                0.01,
            );
            let w_slow = &w * 0.9 - &(delta.t().dot(&x) * 0.01);
            let err = (&w_fast - &w_slow).iter().fold(0f32, |m, v| m.max(v.abs()));
            assert!(err < 1e-4, "update {rows}×{k}×{d}: {err}");
            let fresh = FoldedWeights::new(w_fast.view(), &mean, &scale);
            let err = fresh
                .scaled
                .as_slice()
                .iter()
                .zip(folded.scaled.as_slice())
                .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
            assert!(err < 1e-6, "refolded weights {rows}×{k}×{d}: {err}");
            for (a, b) in fresh.offset.iter().zip(&folded.offset) {
                assert!((a - b).abs() < 1e-3 * (1.0 + a.abs()), "offset {a} vs {b}");
            }
        }
    }
}
