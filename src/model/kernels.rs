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
        par_rows(xs, os, rows, k, d, &|xs, os, rows| {
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

    /// One MR × NR tile of `x · wᵀ` over columns `p0..p1` (multiples of 8): rows r0.., outputs
    /// j0..; the 8-lane partial sums live in `acc` (rows × k vectors of 8) between blocks.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    #[allow(clippy::too_many_arguments)]
    unsafe fn xwt_tile<const MR: usize, const NR: usize>(
        x: &[f32],
        w: &[f32],
        acc: &mut [f32],
        r0: usize,
        j0: usize,
        k: usize,
        d: usize,
        p0: usize,
        p1: usize,
    ) {
        let xp = x.as_ptr();
        let wp = w.as_ptr();
        let ap = acc.as_mut_ptr();
        // SAFETY: the caller keeps r0 + MR <= rows, j0 + NR <= k and p1 <= d, and `acc`
        // holds rows · k · 8 values, so every access is inside the slices.
        unsafe {
            // Registers: MR·NR accumulators + MR rows of x + one w vector ≤ 16 (no spills).
            let mut sums: [[__m256; NR]; MR] = std::array::from_fn(|m| {
                std::array::from_fn(|n| _mm256_loadu_ps(ap.add(((r0 + m) * k + j0 + n) * 8)))
            });
            let mut p = p0;
            while p < p1 {
                let xv: [__m256; MR] =
                    std::array::from_fn(|m| _mm256_loadu_ps(xp.add((r0 + m) * d + p)));
                #[allow(clippy::needless_range_loop)] // n indexes the inner arrays of sums
                for n in 0..NR {
                    let wv = _mm256_loadu_ps(wp.add((j0 + n) * d + p));
                    for (sum_m, &xm) in sums.iter_mut().zip(&xv) {
                        sum_m[n] = _mm256_fmadd_ps(xm, wv, sum_m[n]);
                    }
                }
                p += 8;
            }
            for (m, sum_m) in sums.iter().enumerate() {
                for (n, &v) in sum_m.iter().enumerate() {
                    _mm256_storeu_ps(ap.add(((r0 + m) * k + j0 + n) * 8), v);
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
        /// Per-thread partial sums of `xwt`, reused between calls (no allocation per step).
        static PARTIAL: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
    }

    /// `out = x · wᵀ`.
    ///
    /// # Safety
    /// Needs AVX2 and FMA; `x` holds rows·d, `w` k·d and `out` rows·k values.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn xwt(x: &[f32], w: &[f32], out: &mut [f32], rows: usize, k: usize, d: usize) {
        assert!(x.len() >= rows * d && w.len() >= k * d && out.len() >= rows * k);
        let d8 = d / 8 * 8;
        PARTIAL.with_borrow_mut(|acc| {
            acc.clear();
            acc.resize(rows * k * 8, 0.0);
            let block = if k * d * 4 > XWT_BLOCK_ABOVE {
                XWT_BLOCK
            } else {
                d8.max(8)
            };
            let mut p0 = 0;
            while p0 < d8 {
                let p1 = (p0 + block).min(d8);
                let mut r = 0;
                while r < rows {
                    let mr = (rows - r).min(2);
                    let mut j = 0;
                    while j < k {
                        let nr = (k - j).min(5);
                        // SAFETY: sizes asserted above; tiles stay inside rows × k × d8.
                        unsafe {
                            dispatch_tile!(xwt_tile, mr, nr, (x, w, acc, r, j, k, d, p0, p1))
                        };
                        j += nr;
                    }
                    r += mr;
                }
                p0 = p1;
            }
            for r in 0..rows {
                for j in 0..k {
                    // SAFETY: acc holds rows · k vectors of 8.
                    let mut s = hsum(unsafe { _mm256_loadu_ps(acc.as_ptr().add((r * k + j) * 8)) });
                    for q in d8..d {
                        s += x[r * d + q] * w[j * d + q];
                    }
                    out[r * k + j] = s;
                }
            }
        });
    }

    /// Columns p..p+8·C of outputs j0..j0+NR of the fused update.
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
        let mut acc = [[_mm256_setzero_ps(); C]; NR];
        let ap = a.as_ptr();
        let dp = delta.as_ptr();
        for r in 0..rows {
            // SAFETY: p + 8·C <= d, r < rows and j0 + NR <= k keep every access in bounds.
            unsafe {
                let av: [__m256; C] =
                    std::array::from_fn(|c| _mm256_loadu_ps(ap.add(r * d + p + 8 * c)));
                for (n, acc_n) in acc.iter_mut().enumerate() {
                    let dv = _mm256_broadcast_ss(&*dp.add(r * k + j0 + n));
                    for (s, &avc) in acc_n.iter_mut().zip(&av) {
                        *s = _mm256_fmadd_ps(dv, avc, *s);
                    }
                }
            }
        }
        let keep_v = _mm256_set1_ps(keep);
        let neg_eta = _mm256_set1_ps(-eta);
        let wp = w.as_mut_ptr();
        for (n, acc_n) in acc.iter().enumerate() {
            for (c, &s) in acc_n.iter().enumerate() {
                // SAFETY: as above.
                unsafe {
                    let ptr = wp.add((j0 - w_row0 + n) * d + p + 8 * c);
                    let old = _mm256_loadu_ps(ptr);
                    _mm256_storeu_ps(ptr, _mm256_fmadd_ps(neg_eta, s, _mm256_mul_ps(keep_v, old)));
                }
            }
        }
    }

    /// `w = keep · w − eta · deltaᵀ · a` for output rows `j0..j0 + nj`; `w` holds just
    /// those rows.
    ///
    /// # Safety
    /// Needs AVX2 and FMA; `w` holds nj·d, `delta` rows·k and `a` rows·d values.
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
    let started = std::time::Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| std::hint::black_box(fma_chains(ITERS)));
        }
    });
    let fma_secs = started.elapsed().as_secs_f64();
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
}
