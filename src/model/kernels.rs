//! Matrix products for the skinny shapes of training (many rows × 3,072 inputs × 10–100
//! outputs), where a general GEMM spends most of its time packing. Hand-tiled AVX2/FMA
//! kernels for `f32`, chosen at run time; everything else goes through ndarray.

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
                let len = unsafe { wide::dot_wt::<f32, 4, 5>(&x_rows, ws, None, os, k, d) };
                if len < d {
                    for (x, o) in x_rows.iter().zip(os.chunks_exact_mut(k)) {
                        for (j, o) in o.iter_mut().enumerate() {
                            *o += (len..d).map(|q| x[q] * ws[j * d + q]).sum::<f32>();
                        }
                    }
                }
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
        assert!(
            mean.len() == d && scale.len() == d,
            "one mean and scale per input"
        );
        let mut scaled = AlignedBuffer::zeros(k * d);
        let mut offset = Vec::with_capacity(k);
        for (row, out) in w
            .rows()
            .into_iter()
            .zip(scaled.as_mut_slice().chunks_exact_mut(d.max(1)))
        {
            let mut off = 0f64;
            for (((&v, &m), &s), o) in row.iter().zip(mean).zip(scale).zip(out) {
                *o = v * s;
                off += f64::from(m) * f64::from(*o);
            }
            offset.push(off as f32);
        }
        FoldedWeights {
            scaled,
            offset,
            offset_acc: vec![0.0; k * 16],
            inputs: d,
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
    if have_avx512()
        && let Some(os) = out.as_slice_mut()
    {
        let (scaled, offset) = (folded.scaled.as_slice(), &folded.offset);
        // Four rows × five outputs: 20 accumulators; each load of W feeds four
        // multiply-adds (measured against 2 × 10, 3 × 8, 4 × 6, 5 × 5, 6 × 4 and 8 × 3).
        // SAFETY: AVX-512 was detected; the kernel checks the sizes.
        let len = unsafe { wide::dot_wt::<u8, 4, 5>(pixels, scaled, Some(offset), os, k, d) };
        if len < d {
            for (r, o) in os.chunks_exact_mut(k).take(rows).enumerate() {
                for (j, o) in o.iter_mut().enumerate() {
                    *o += (len..d)
                        .map(|q| f32::from(pixels[r][q]) * scaled[j * d + q])
                        .sum::<f32>();
                }
            }
        }
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if have_avx2()
        && let Some(os) = out.as_slice_mut()
    {
        // SAFETY: AVX2 and FMA were detected; the kernel checks the sizes.
        unsafe { avx2::bytes_wt(pixels, folded.scaled.as_slice(), &folded.offset, os, k, d) };
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
        let mut update = avx2::BytesUpdate {
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
        if have_avx512() {
            // Four 16-lane vectors of columns × five outputs: 20 accumulators, each
            // converted byte feeds five multiply-adds and each broadcast δ four (measured
            // against 2 × 10, 3 × 6, 4 × 6 and 2 × 8 on the 10- and 50-output shapes).
            // SAFETY: AVX-512 was detected; the kernel checks the sizes.
            unsafe { avx2::update_bytes_wide::<4, 5>(&mut update, ds, pixels) };
            return;
        }
        // SAFETY: AVX2 and FMA were detected; the kernel checks the sizes.
        unsafe { avx2::update_bytes(&mut update, ds, pixels) };
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
    *folded = FoldedWeights::new(w.view(), mean, scale);
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
                && std::env::var_os("TRAINVIZ_NO_AVX512").is_none()
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// AVX-512 tiles for the first layer, which reads bytes: 32 registers of 16 lanes hold 20
/// accumulators plus the operands, so each load of W (or broadcast δ) feeds four or five
/// multiply-adds, and each byte is converted in a register as it is loaded instead of into
/// a packed copy. Measured on one core against the AVX2 tiles: the forward product 72 → 108
/// GFLOP/s (10 outputs) and 86 → 110 (50 outputs); the update 65 → 95 and 85 → 92.
#[cfg(target_arch = "x86_64")]
mod wide {
    use std::arch::x86_64::*;

    /// The 16 values of `v` from `at`.
    #[target_feature(enable = "avx2,fma,avx512f")]
    #[inline]
    pub(super) fn load16(v: &[f32], at: usize) -> __m512 {
        let s = &v[at..at + 16];
        // SAFETY: `s` holds 16 values.
        unsafe { _mm512_loadu_ps(s.as_ptr()) }
    }

    /// Sixteen bytes from `src` as sixteen `f32`.
    ///
    /// # Safety
    /// Needs AVX-512F; src..src+16 lies inside its slice.
    #[target_feature(enable = "avx2,fma,avx512f")]
    #[inline]
    pub(super) unsafe fn bytes16(src: *const u8) -> __m512 {
        // SAFETY: as the caller promises.
        unsafe { _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(src.cast()))) }
    }

    /// `Σ_r δ_{r,n} · p_r[16c..16c+16]` for NR outputs and C 16-lane vectors of bytes,
    /// converted in registers as they are loaded: columns `q..` of each row of `p`; `delta`
    /// points at δ[0][j0] with rows `k` apart.
    ///
    /// # Safety
    /// Needs AVX-512F; the caller keeps q + 16·C bytes in each row of `p` and rows × NR
    /// values of `delta` inside their slices.
    #[target_feature(enable = "avx2,fma,avx512f")]
    #[inline]
    pub(super) unsafe fn bytes_outer_tile<const C: usize, const NR: usize>(
        p: &[&[u8]],
        q: usize,
        delta: *const f32,
        k: usize,
    ) -> [[__m512; C]; NR] {
        let mut acc = [[_mm512_setzero_ps(); C]; NR];
        for (r, row) in p.iter().enumerate() {
            let row = row.as_ptr();
            // SAFETY: as the caller promises.
            unsafe {
                let xv: [__m512; C] = std::array::from_fn(|c| bytes16(row.add(q + 16 * c)));
                for (n, acc_n) in acc.iter_mut().enumerate() {
                    let dv = _mm512_set1_ps(*delta.add(r * k + n));
                    for (s, &x) in acc_n.iter_mut().zip(&xv) {
                        *s = _mm512_fmadd_ps(dv, x, *s);
                    }
                }
            }
        }
        acc
    }

    /// What a row of a product's input can hold: bytes (converted in registers as they are
    /// loaded) or `f32`.
    pub(super) trait Lanes: Copy {
        /// Sixteen values from `src` as sixteen `f32`.
        ///
        /// # Safety
        /// Needs AVX-512F; src..src+16 lies inside its slice.
        unsafe fn load16(src: *const Self) -> __m512;
    }

    impl Lanes for u8 {
        #[inline]
        unsafe fn load16(src: *const u8) -> __m512 {
            // SAFETY: as the caller promises.
            unsafe { bytes16(src) }
        }
    }

    impl Lanes for f32 {
        #[inline]
        unsafe fn load16(src: *const f32) -> __m512 {
            // SAFETY: as the caller promises.
            unsafe { load16_avx512(src) }
        }
    }

    /// Sixteen `f32` from `src`.
    #[target_feature(enable = "avx2,fma,avx512f")]
    #[inline]
    unsafe fn load16_avx512(src: *const f32) -> __m512 {
        // SAFETY: the caller keeps src..src+16 inside its slice.
        unsafe { _mm512_loadu_ps(src) }
    }

    /// `Σ_q p_{m,q} · w_{n,q}` over `len` columns (a multiple of 16) for MR rows of `p` and
    /// NR rows of W, as 16-lane partial sums: each load of W feeds MR multiply-adds.
    ///
    /// # Safety
    /// Needs AVX-512F; the caller keeps `len` values from each of `p` and NR rows of `len`
    /// values from `w` (`w_stride` apart) inside their slices.
    #[target_feature(enable = "avx2,fma,avx512f")]
    #[inline]
    pub(super) unsafe fn dot_tile<T: Lanes, const MR: usize, const NR: usize>(
        p: [*const T; MR],
        w: *const f32,
        w_stride: usize,
        len: usize,
    ) -> [[__m512; NR]; MR] {
        let mut acc = [[_mm512_setzero_ps(); NR]; MR];
        let mut q = 0;
        while q < len {
            // SAFETY: as the caller promises.
            unsafe {
                let xv: [__m512; MR] = std::array::from_fn(|m| T::load16(p[m].add(q)));
                for n in 0..NR {
                    let wv = _mm512_loadu_ps(w.add(n * w_stride + q));
                    for (acc_m, &x) in acc.iter_mut().zip(&xv) {
                        acc_m[n] = _mm512_fmadd_ps(x, wv, acc_m[n]);
                    }
                }
            }
            q += 16;
        }
        acc
    }

    /// `out[r][j] = Σ_q p_{r,q} · w_{j,q} − offset_j` (no offset when `None`) over the first `d / 16 · 16` columns
    /// (returned; the caller adds the rest) in tiles of MR rows × NR outputs.
    ///
    /// # Safety
    /// Needs AVX-512F; each row of `p` holds d values, `w` k × d, `out` rows × k.
    #[target_feature(enable = "avx2,fma,avx512f")]
    pub(super) unsafe fn dot_wt<T: Lanes, const MR: usize, const NR: usize>(
        p: &[&[T]],
        w: &[f32],
        offset: Option<&[f32]>,
        out: &mut [f32],
        k: usize,
        d: usize,
    ) -> usize {
        let rows = p.len();
        assert!(
            p.iter().all(|r| r.len() >= d)
                && w.len() >= k * d
                && out.len() >= rows * k
                && offset.is_none_or(|o| o.len() >= k)
        );
        let len = d / 16 * 16;
        let mut r = 0;
        while r < rows {
            let mr = (rows - r).min(MR);
            let mut j = 0;
            while j < k {
                let nr = (k - j).min(NR);
                macro_rules! tile {
                    ($m:literal, $n:literal, $r:expr, $j:expr) => {{
                        let (r, j) = ($r, $j);
                        let pp: [*const T; $m] = std::array::from_fn(|m| p[r + m].as_ptr());
                        let wp = w[j * d..].as_ptr();
                        // SAFETY: rows r..r+$m and outputs j..j+$n lie inside (asserted).
                        let acc = unsafe { dot_tile::<T, $m, $n>(pp, wp, d, len) };
                        for (m, acc_m) in acc.iter().enumerate() {
                            for (n, &v) in acc_m.iter().enumerate() {
                                out[(r + m) * k + j + n] =
                                    _mm512_reduce_add_ps(v) - offset.map_or(0.0, |o| o[j + n]);
                            }
                        }
                    }};
                }
                if mr == MR && nr == NR {
                    // The common case, monomorphised for this tile.
                    let pp: [*const T; MR] = std::array::from_fn(|m| p[r + m].as_ptr());
                    let wp = w[j * d..].as_ptr();
                    // SAFETY: rows r..r+MR and outputs j..j+NR lie inside (asserted).
                    let acc = unsafe { dot_tile::<T, MR, NR>(pp, wp, d, len) };
                    for (m, acc_m) in acc.iter().enumerate() {
                        for (n, &v) in acc_m.iter().enumerate() {
                            out[(r + m) * k + j + n] =
                                _mm512_reduce_add_ps(v) - offset.map_or(0.0, |o| o[j + n]);
                        }
                    }
                } else {
                    // Edges: sub-tiles of at most 4 rows × 5 outputs.
                    let mut rr = 0;
                    while rr < mr {
                        let m4 = (mr - rr).min(4);
                        let mut jj = 0;
                        while jj < nr {
                            let n5 = (nr - jj).min(5);
                            match (m4, n5) {
                                (4, 5) => tile!(4, 5, r + rr, j + jj),
                                (4, 4) => tile!(4, 4, r + rr, j + jj),
                                (4, 3) => tile!(4, 3, r + rr, j + jj),
                                (4, 2) => tile!(4, 2, r + rr, j + jj),
                                (4, _) => tile!(4, 1, r + rr, j + jj),
                                (3, 5) => tile!(3, 5, r + rr, j + jj),
                                (3, 4) => tile!(3, 4, r + rr, j + jj),
                                (3, 3) => tile!(3, 3, r + rr, j + jj),
                                (3, 2) => tile!(3, 2, r + rr, j + jj),
                                (3, _) => tile!(3, 1, r + rr, j + jj),
                                (2, 5) => tile!(2, 5, r + rr, j + jj),
                                (2, 4) => tile!(2, 4, r + rr, j + jj),
                                (2, 3) => tile!(2, 3, r + rr, j + jj),
                                (2, 2) => tile!(2, 2, r + rr, j + jj),
                                (2, _) => tile!(2, 1, r + rr, j + jj),
                                (_, 5) => tile!(1, 5, r + rr, j + jj),
                                (_, 4) => tile!(1, 4, r + rr, j + jj),
                                (_, 3) => tile!(1, 3, r + rr, j + jj),
                                (_, 2) => tile!(1, 2, r + rr, j + jj),
                                (_, _) => tile!(1, 1, r + rr, j + jj),
                            }
                            jj += n5;
                        }
                        rr += m4;
                    }
                }
                j += nr;
            }
            r += mr;
        }
        len
    }
}

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

    thread_local! {
        /// Per-thread partial sums of the products, reused between calls (no allocation
        /// per step).
        static PARTIAL: std::cell::RefCell<super::AlignedBuffer> = std::cell::RefCell::new(super::AlignedBuffer::default());
        /// Per-thread rows of bytes converted to `f32` (a product's block of two rows, or an
        /// update's strip of columns), small enough to stay in L1.
        static PACKED: std::cell::RefCell<super::AlignedBuffer> = std::cell::RefCell::new(super::AlignedBuffer::default());
    }

    /// Eight bytes from `src` as eight `f32`.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn bytes_to_f32(src: *const u8) -> __m256 {
        // SAFETY: the caller keeps src..src+8 inside its slice.
        unsafe { _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(src.cast()))) }
    }

    /// Where a product's rows come from, for [`blocked_dot`].
    enum Rows<'a> {
        /// Already `f32`, `d` apart.
        Floats(&'a [f32]),
        /// Rows of bytes, converted a block of two rows at a time into `PACKED`.
        Bytes(&'a [&'a [u8]]),
    }

    /// `acc[r][j] = Σ_q x_rq · w_jq` as 8-lane partial sums over the first columns (the
    /// count is returned; the caller adds the rest): W is walked in column blocks that stay
    /// in cache while every pair of rows passes them. With AVX-512, bytes take
    /// [`super::wide::bytes_wt`] instead, which converts them in registers.
    #[target_feature(enable = "avx2,fma")]
    fn blocked_dot(
        x: &Rows<'_>,
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
        PACKED.with_borrow_mut(|pack| {
            pack.reset(2 * block);
            let pack = pack.as_mut_slice();
            let mut p0 = 0;
            while p0 < covered {
                let len = (p0 + block).min(covered) - p0;
                let mut r = 0;
                while r < rows {
                    let mr = (rows - r).min(2);
                    let (xp, x_stride) = match x {
                        Rows::Floats(x) => (x[(r * d + p0)..].as_ptr(), d),
                        Rows::Bytes(bytes) => {
                            for m in 0..mr {
                                let src = &bytes[r + m][p0..p0 + len];
                                let dst = &mut pack[m * len..(m + 1) * len];
                                for (o, i) in dst.chunks_exact_mut(8).zip(src.chunks_exact(8)) {
                                    // SAFETY: both chunks hold 8 values.
                                    unsafe {
                                        _mm256_storeu_ps(o.as_mut_ptr(), bytes_to_f32(i.as_ptr()))
                                    };
                                }
                            }
                            (pack.as_ptr(), len)
                        }
                    };
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
        });
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
            let d8 = blocked_dot(&Rows::Floats(x), w, acc, rows, k, d);
            for (r, out_r) in out.chunks_exact_mut(k).take(rows).enumerate() {
                for (j, o) in out_r.iter_mut().enumerate() {
                    let tail: f32 = (d8..d).map(|q| x[r * d + q] * w[j * d + q]).sum();
                    *o = hsum(load8(acc.as_slice(), (r * k + j) * 8)) + tail;
                }
            }
        });
    }

    /// `out = p · scaledᵀ − offset` for rows of bytes `p` (see [`super::FoldedWeights`]).
    ///
    /// # Safety
    /// Needs AVX2 and FMA.
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn bytes_wt(
        p: &[&[u8]],
        scaled: &[f32],
        offset: &[f32],
        out: &mut [f32],
        k: usize,
        d: usize,
    ) {
        let rows = p.len();
        assert!(
            p.iter().all(|r| r.len() >= d)
                && scaled.len() >= k * d
                && offset.len() >= k
                && out.len() >= rows * k
        );
        PARTIAL.with_borrow_mut(|acc| {
            let d8 = blocked_dot(&Rows::Bytes(p), scaled, acc, rows, k, d);
            for (r, out_r) in out.chunks_exact_mut(k).take(rows).enumerate() {
                for (j, o) in out_r.iter_mut().enumerate() {
                    let tail: f32 = (d8..d)
                        .map(|q| f32::from(p[r][q]) * scaled[j * d + q])
                        .sum();
                    *o = hsum(load8(acc.as_slice(), (r * k + j) * 8)) + tail - offset[j];
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

    /// What [`update_bytes`] works on besides the strip's accumulators.
    pub struct BytesUpdate<'a> {
        /// W, k × d.
        pub w: &'a mut [f32],
        /// W∘scale, k × d, rewritten from the new W.
        pub scaled: &'a mut [f32],
        /// Σ mean·scaled per output, rewritten.
        pub offset: &'a mut [f32],
        /// Per-column mean and scale of the normalisation.
        pub mean: &'a [f32],
        pub scale: &'a [f32],
        /// Σ_r δ_rj per output.
        pub delta_sum: &'a [f32],
        /// 8- or 16-lane partial sums of `offset`, k × 16.
        pub offset_acc: &'a mut [f32],
        pub keep: f32,
        pub eta: f32,
        pub d: usize,
    }

    /// Writes the new W, W∘scale and offset terms for columns p..p+8·C of outputs
    /// j0..j0+NR, given `acc[n][c] = Σ_r δ_{r,j0+n} p_r` over those columns.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn store_bytes_update<const C: usize, const NR: usize>(
        u: &mut BytesUpdate<'_>,
        acc: &[[__m256; C]; NR],
        p: usize,
        j0: usize,
    ) {
        let keep_v = _mm256_set1_ps(u.keep);
        let neg_eta = _mm256_set1_ps(-u.eta);
        let d = u.d;
        for (n, acc_n) in acc.iter().enumerate() {
            let j = j0 + n;
            let ds = _mm256_set1_ps(u.delta_sum[j]);
            let mut off = load8(u.offset_acc, j * 8);
            for (c, &s) in acc_n.iter().enumerate() {
                let col = p + 8 * c;
                let (mv, sv) = (load8(u.mean, col), load8(u.scale, col));
                // The gradient of the normalised inputs: scale · (Σ δp − mean · Σ δ).
                let g = _mm256_mul_ps(sv, _mm256_fnmadd_ps(mv, ds, s));
                let at = j * d + col;
                let new = _mm256_fmadd_ps(neg_eta, g, _mm256_mul_ps(keep_v, load8(u.w, at)));
                let folded = _mm256_mul_ps(new, sv);
                off = _mm256_fmadd_ps(mv, folded, off);
                // SAFETY: at + 8 <= k·d for both matrices.
                unsafe {
                    _mm256_storeu_ps(u.w[at..at + 8].as_mut_ptr(), new);
                    _mm256_storeu_ps(u.scaled[at..at + 8].as_mut_ptr(), folded);
                    _mm256_storeu_ps(u.offset_acc[j * 8..j * 8 + 8].as_mut_ptr(), off);
                }
            }
        }
    }

    /// [`store_bytes_update`] for 16-lane vectors.
    #[target_feature(enable = "avx2,fma,avx512f")]
    #[inline]
    fn store_bytes_update16<const C: usize, const NR: usize>(
        u: &mut BytesUpdate<'_>,
        acc: &[[__m512; C]; NR],
        p: usize,
        j0: usize,
    ) {
        use super::wide::load16;
        let keep_v = _mm512_set1_ps(u.keep);
        let neg_eta = _mm512_set1_ps(-u.eta);
        let d = u.d;
        for (n, acc_n) in acc.iter().enumerate() {
            let j = j0 + n;
            let ds = _mm512_set1_ps(u.delta_sum[j]);
            let mut off = load16(u.offset_acc, j * 16);
            for (c, &s) in acc_n.iter().enumerate() {
                let col = p + 16 * c;
                let (mv, sv) = (load16(u.mean, col), load16(u.scale, col));
                // The gradient of the normalised inputs: scale · (Σ δp − mean · Σ δ).
                let g = _mm512_mul_ps(sv, _mm512_fnmadd_ps(mv, ds, s));
                let at = j * d + col;
                let new = _mm512_fmadd_ps(neg_eta, g, _mm512_mul_ps(keep_v, load16(u.w, at)));
                let folded = _mm512_mul_ps(new, sv);
                off = _mm512_fmadd_ps(mv, folded, off);
                // SAFETY: at + 16 <= k·d for both matrices.
                unsafe {
                    _mm512_storeu_ps(u.w[at..at + 16].as_mut_ptr(), new);
                    _mm512_storeu_ps(u.scaled[at..at + 16].as_mut_ptr(), folded);
                }
            }
            // SAFETY: offset_acc holds k × 16 values.
            unsafe { _mm512_storeu_ps(u.offset_acc[j * 16..j * 16 + 16].as_mut_ptr(), off) };
        }
    }

    /// The update of [`super::sgd_update_bytes`] with AVX-512: strips of C 16-lane vectors
    /// of columns, NR outputs at a time, the bytes converted in registers as they are
    /// loaded (no converted copy is written).
    ///
    /// # Safety
    /// Needs AVX-512F.
    #[target_feature(enable = "avx2,fma,avx512f")]
    pub unsafe fn update_bytes_wide<const C: usize, const NR: usize>(
        u: &mut BytesUpdate<'_>,
        delta: &[f32],
        p: &[&[u8]],
    ) {
        let d = u.d;
        let k = u.delta_sum.len();
        let rows = p.len();
        assert!(
            u.w.len() >= k * d
                && u.scaled.len() >= k * d
                && u.offset.len() >= k
                && u.offset_acc.len() >= k * 16
                && u.mean.len() >= d
                && u.scale.len() >= d
                && delta.len() >= rows * k
                && p.iter().all(|r| r.len() >= d)
        );
        u.offset_acc[..k * 16].fill(0.0);
        use super::wide::bytes_outer_tile as tile;
        let mut q = 0;
        while q + 16 <= d {
            // Whole strips of C vectors, then single vectors at the end.
            let c = if q + 16 * C <= d { C } else { 1 };
            let mut j = 0;
            while j < k {
                let nr = if c == C && k - j >= NR {
                    NR
                } else {
                    (k - j).min(5)
                };
                let dp = delta[j..].as_ptr();
                macro_rules! run {
                    ($c:expr, $n:expr) => {
                        // SAFETY: columns q..q+16·$c and outputs j..j+$n lie inside (the
                        // loop bounds and the assertion above).
                        store_bytes_update16(u, &unsafe { tile::<$c, $n>(p, q, dp, k) }, q, j)
                    };
                }
                match (c == C, nr) {
                    (true, n) if n == NR => run!(C, NR),
                    (true, 5) => run!(C, 5),
                    (true, 4) => run!(C, 4),
                    (true, 3) => run!(C, 3),
                    (true, 2) => run!(C, 2),
                    (true, _) => run!(C, 1),
                    (false, 5) => run!(1, 5),
                    (false, 4) => run!(1, 4),
                    (false, 3) => run!(1, 3),
                    (false, 2) => run!(1, 2),
                    (false, _) => run!(1, 1),
                }
                j += nr;
            }
            q += 16 * c;
        }
        for j in 0..k {
            let lanes = _mm512_reduce_add_ps(super::wide::load16(u.offset_acc, j * 16));
            u.offset[j] = lanes + update_tail(u, delta, p, q, j);
        }
    }

    /// The fused update of columns `q..d` of output `j` (those no vector covered), one at a
    /// time; returns their part of the offset term.
    fn update_tail(u: &mut BytesUpdate<'_>, delta: &[f32], p: &[&[u8]], q: usize, j: usize) -> f32 {
        let (k, d) = (u.delta_sum.len(), u.d);
        let mut off = 0.0;
        for col in q..d {
            let s: f32 = p
                .iter()
                .enumerate()
                .map(|(r, row)| delta[r * k + j] * f32::from(row[col]))
                .sum();
            let g = u.scale[col] * (s - u.mean[col] * u.delta_sum[j]);
            let at = j * d + col;
            u.w[at] = u.keep * u.w[at] - u.eta * g;
            u.scaled[at] = u.w[at] * u.scale[col];
            off += u.mean[col] * u.scaled[at];
        }
        off
    }

    /// The update of [`super::sgd_update_bytes`] over all k outputs: a strip of 16 (then 8)
    /// columns of every row is converted once into `PACKED`, then each group of five outputs
    /// accumulates over it.
    ///
    /// # Safety
    /// Needs AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn update_bytes(u: &mut BytesUpdate<'_>, delta: &[f32], p: &[&[u8]]) {
        let rows = p.len();
        let d = u.d;
        let k = u.delta_sum.len();
        assert!(
            u.w.len() >= k * d
                && u.scaled.len() >= k * d
                && u.offset.len() >= k
                && u.offset_acc.len() >= k * 8
                && u.mean.len() >= d
                && u.scale.len() >= d
                && delta.len() >= rows * k
                && p.iter().all(|r| r.len() >= d)
        );
        u.offset_acc[..k * 8].fill(0.0);
        // A strip is 16 columns, then 8 at the end.
        const STRIDE: usize = 16;
        PACKED.with_borrow_mut(|strip| {
            strip.reset(rows * STRIDE);
            let strip = strip.as_mut_slice();
            let mut q = 0;
            while q + 8 <= d {
                let c = if q + 16 <= d { 2 } else { 1 };
                for r in 0..rows {
                    for v in 0..c {
                        let src = &p[r][q + 8 * v..q + 8 * v + 8];
                        let dst = &mut strip[r * STRIDE + 8 * v..r * STRIDE + 8 * v + 8];
                        // SAFETY: both hold 8 values.
                        unsafe { _mm256_storeu_ps(dst.as_mut_ptr(), bytes_to_f32(src.as_ptr())) };
                    }
                }
                let mut j = 0;
                while j < k {
                    let nr = if c >= 2 { (k - j).min(5) } else { 1 };
                    let (a, dp) = (strip.as_ptr(), delta[j..].as_ptr());
                    // SAFETY: the strip holds rows × 16 values; delta rows × k from column j,
                    // and j + nr <= k.
                    unsafe {
                        match (c, nr) {
                            (2, 5) => store_bytes_update(
                                u,
                                &outer_tile::<2, 5>(a, STRIDE, dp, k, rows),
                                q,
                                j,
                            ),
                            (2, 4) => store_bytes_update(
                                u,
                                &outer_tile::<2, 4>(a, STRIDE, dp, k, rows),
                                q,
                                j,
                            ),
                            (2, 3) => store_bytes_update(
                                u,
                                &outer_tile::<2, 3>(a, STRIDE, dp, k, rows),
                                q,
                                j,
                            ),
                            (2, 2) => store_bytes_update(
                                u,
                                &outer_tile::<2, 2>(a, STRIDE, dp, k, rows),
                                q,
                                j,
                            ),
                            (2, _) => store_bytes_update(
                                u,
                                &outer_tile::<2, 1>(a, STRIDE, dp, k, rows),
                                q,
                                j,
                            ),
                            _ => store_bytes_update(
                                u,
                                &outer_tile::<1, 1>(a, STRIDE, dp, k, rows),
                                q,
                                j,
                            ),
                        }
                    }
                    j += nr;
                }
                q += 8 * c;
            }
            for j in 0..k {
                u.offset[j] = hsum(load8(u.offset_acc, j * 8)) + update_tail(u, delta, p, q, j);
            }
        });
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
