//! Register tiles of the first layer's products, written once over the vector width: 16
//! lanes with AVX-512 (32 registers), 8 with AVX2 (16 registers). Rows of the input are
//! bytes (converted in a register as they are loaded, so no converted copy is written) or
//! `f32`, and may lie anywhere.
//!
//! Measured on one Zen 4 core against the AVX2 tiles that packed converted rows first: the
//! forward product 72 → 108 GFLOP/s (10 outputs) and 86 → 110 (50 outputs); the update
//! 65 → 95 and 85 → 92.

use std::arch::x86_64::*;

/// A register of `f32` lanes. Every method is `unsafe`: it needs the CPU features of its
/// width, which the `#[target_feature]` entry points below guarantee; the methods are
/// always inlined into them.
pub(super) trait Vector: Copy {
    /// Lanes per register.
    const LANES: usize;
    /// All lanes 0.
    unsafe fn zero() -> Self;
    /// All lanes `x`.
    unsafe fn splat(x: f32) -> Self;
    /// `LANES` values from `src`.
    unsafe fn load(src: *const f32) -> Self;
    /// `LANES` bytes from `src` as `f32`.
    unsafe fn bytes(src: *const u8) -> Self;
    /// The lanes to `dst..dst + LANES`.
    unsafe fn store(self, dst: *mut f32);
    /// `a · b + c`.
    unsafe fn fmadd(a: Self, b: Self, c: Self) -> Self;
    /// `c − a · b`.
    unsafe fn fnmadd(a: Self, b: Self, c: Self) -> Self;
    /// `a · b`, lane by lane.
    unsafe fn mul(a: Self, b: Self) -> Self;
    /// The sum of the lanes.
    unsafe fn sum(self) -> f32;
}

/// Eight lanes (AVX2 and FMA).
#[derive(Clone, Copy)]
pub(super) struct V8(__m256);

/// Sixteen lanes (AVX-512F).
#[derive(Clone, Copy)]
pub(super) struct V16(__m512);

impl Vector for V8 {
    const LANES: usize = 8;
    #[inline(always)]
    unsafe fn zero() -> Self {
        // SAFETY: the caller runs with AVX2 (all methods alike).
        unsafe { V8(_mm256_setzero_ps()) }
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self {
        // SAFETY: the caller runs with AVX2 and FMA, pointers inside their slices (see `Vector`).
        unsafe { V8(_mm256_set1_ps(x)) }
    }
    #[inline(always)]
    unsafe fn load(src: *const f32) -> Self {
        // SAFETY: the caller runs with AVX2 and FMA, pointers inside their slices (see `Vector`).
        unsafe { V8(_mm256_loadu_ps(src)) }
    }
    #[inline(always)]
    unsafe fn bytes(src: *const u8) -> Self {
        // SAFETY: the caller runs with AVX2 and FMA, pointers inside their slices (see `Vector`).
        unsafe {
            V8(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(
                src.cast(),
            ))))
        }
    }
    #[inline(always)]
    unsafe fn store(self, dst: *mut f32) {
        // SAFETY: the caller runs with AVX2 and FMA, pointers inside their slices (see `Vector`).
        unsafe { _mm256_storeu_ps(dst, self.0) }
    }
    #[inline(always)]
    unsafe fn fmadd(a: Self, b: Self, c: Self) -> Self {
        // SAFETY: the caller runs with AVX2 and FMA, pointers inside their slices (see `Vector`).
        unsafe { V8(_mm256_fmadd_ps(a.0, b.0, c.0)) }
    }
    #[inline(always)]
    unsafe fn fnmadd(a: Self, b: Self, c: Self) -> Self {
        // SAFETY: the caller runs with AVX2 and FMA, pointers inside their slices (see `Vector`).
        unsafe { V8(_mm256_fnmadd_ps(a.0, b.0, c.0)) }
    }
    #[inline(always)]
    unsafe fn mul(a: Self, b: Self) -> Self {
        // SAFETY: the caller runs with AVX2 and FMA, pointers inside their slices (see `Vector`).
        unsafe { V8(_mm256_mul_ps(a.0, b.0)) }
    }
    #[inline(always)]
    unsafe fn sum(self) -> f32 {
        // SAFETY: the caller runs with AVX2 and FMA, pointers inside their slices (see `Vector`).
        unsafe {
            let s = _mm_add_ps(
                _mm256_castps256_ps128(self.0),
                _mm256_extractf128_ps::<1>(self.0),
            );
            let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
            _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps::<1>(s, s)))
        }
    }
}

impl Vector for V16 {
    const LANES: usize = 16;
    #[inline(always)]
    unsafe fn zero() -> Self {
        // SAFETY: the caller runs with AVX-512F (all methods alike).
        unsafe { V16(_mm512_setzero_ps()) }
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self {
        // SAFETY: the caller runs with AVX-512F, pointers inside their slices (see `Vector`).
        unsafe { V16(_mm512_set1_ps(x)) }
    }
    #[inline(always)]
    unsafe fn load(src: *const f32) -> Self {
        // SAFETY: the caller runs with AVX-512F, pointers inside their slices (see `Vector`).
        unsafe { V16(_mm512_loadu_ps(src)) }
    }
    #[inline(always)]
    unsafe fn bytes(src: *const u8) -> Self {
        // SAFETY: the caller runs with AVX-512F, pointers inside their slices (see `Vector`).
        unsafe {
            V16(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(
                src.cast(),
            ))))
        }
    }
    #[inline(always)]
    unsafe fn store(self, dst: *mut f32) {
        // SAFETY: the caller runs with AVX-512F, pointers inside their slices (see `Vector`).
        unsafe { _mm512_storeu_ps(dst, self.0) }
    }
    #[inline(always)]
    unsafe fn fmadd(a: Self, b: Self, c: Self) -> Self {
        // SAFETY: the caller runs with AVX-512F, pointers inside their slices (see `Vector`).
        unsafe { V16(_mm512_fmadd_ps(a.0, b.0, c.0)) }
    }
    #[inline(always)]
    unsafe fn fnmadd(a: Self, b: Self, c: Self) -> Self {
        // SAFETY: the caller runs with AVX-512F, pointers inside their slices (see `Vector`).
        unsafe { V16(_mm512_fnmadd_ps(a.0, b.0, c.0)) }
    }
    #[inline(always)]
    unsafe fn mul(a: Self, b: Self) -> Self {
        // SAFETY: the caller runs with AVX-512F, pointers inside their slices (see `Vector`).
        unsafe { V16(_mm512_mul_ps(a.0, b.0)) }
    }
    #[inline(always)]
    unsafe fn sum(self) -> f32 {
        // SAFETY: the caller runs with AVX-512F, pointers inside their slices (see `Vector`).
        unsafe { _mm512_reduce_add_ps(self.0) }
    }
}

/// What a row of a product's input holds: bytes or `f32`.
pub(super) trait Lanes: Copy {
    /// `V::LANES` values from `src` as `f32`.
    unsafe fn load<V: Vector>(src: *const Self) -> V;
    /// One value as `f32` (for the columns after the last whole register).
    fn to_f32(self) -> f32;
}

impl Lanes for u8 {
    #[inline(always)]
    unsafe fn load<V: Vector>(src: *const u8) -> V {
        // SAFETY: as the caller promises.
        unsafe { V::bytes(src) }
    }
    fn to_f32(self) -> f32 {
        f32::from(self)
    }
}

impl Lanes for f32 {
    #[inline(always)]
    unsafe fn load<V: Vector>(src: *const f32) -> V {
        // SAFETY: as the caller promises.
        unsafe { V::load(src) }
    }
    fn to_f32(self) -> f32 {
        self
    }
}

/// `Σ_q p_{m,q} · w_{n,q}` over `len` columns (a multiple of the lanes) for MR rows of `p`
/// and NR rows of W (`w_stride` apart), as lane-wise partial sums: each load of W feeds MR
/// multiply-adds.
#[inline(always)]
unsafe fn dot_tile<V: Vector, T: Lanes, const MR: usize, const NR: usize>(
    p: [*const T; MR],
    w: *const f32,
    w_stride: usize,
    len: usize,
) -> [[V; NR]; MR] {
    // SAFETY: (whole body) the caller keeps `len` values from each row pointer inside
    // their slices.
    unsafe {
        let mut acc = [[V::zero(); NR]; MR];
        let mut q = 0;
        while q < len {
            let xv: [V; MR] = std::array::from_fn(|m| T::load::<V>(p[m].add(q)));
            for n in 0..NR {
                let wv = V::load(w.add(n * w_stride + q));
                for (acc_m, &x) in acc.iter_mut().zip(&xv) {
                    acc_m[n] = V::fmadd(x, wv, acc_m[n]);
                }
            }
            q += V::LANES;
        }
        acc
    }
}

/// `out[r][j] = Σ_q p_{r,q} · w_{j,q} − offset_j` (all columns; no offset when `None`) in
/// tiles of MR rows × NR outputs, edges in tiles of at most 4 × 5.
#[inline(always)]
unsafe fn dot_wt<V: Vector, T: Lanes, const MR: usize, const NR: usize>(
    p: &[&[T]],
    w: &[f32],
    offset: Option<&[f32]>,
    out: &mut [f32],
    k: usize,
    d: usize,
) {
    let rows = p.len();
    assert!(
        p.iter().all(|r| r.len() >= d)
            && w.len() >= k * d
            && out.len() >= rows * k
            && offset.is_none_or(|o| o.len() >= k)
    );
    let len = d / V::LANES * V::LANES;
    macro_rules! tile {
        ($m:expr, $n:expr, $r:expr, $j:expr) => {{
            let (r, j) = ($r, $j);
            let pp: [*const T; $m] = std::array::from_fn(|m| p[r + m].as_ptr());
            // SAFETY: rows r..r+$m and outputs j..j+$n lie inside (asserted).
            let acc = unsafe { dot_tile::<V, T, $m, $n>(pp, w[j * d..].as_ptr(), d, len) };
            // (Written out here, not in a closure: a closure is not compiled with the entry
            // point's features, and its lane sums became calls, 13 % of an MLP epoch.)
            for (m, acc_m) in acc.iter().enumerate() {
                let r = r + m;
                for (n, &v) in acc_m.iter().enumerate() {
                    let tail: f32 = (len..d)
                        .map(|q| p[r][q].to_f32() * w[(j + n) * d + q])
                        .sum();
                    // SAFETY: the entry point runs with V's features.
                    let lanes = unsafe { v.sum() };
                    out[r * k + j + n] = lanes + tail - offset.map_or(0.0, |o| o[j + n]);
                }
            }
        }};
    }
    let mut r = 0;
    while r < rows {
        let mr = (rows - r).min(MR);
        let mut j = 0;
        while j < k {
            let nr = (k - j).min(NR);
            if mr == MR && nr == NR {
                tile!(MR, NR, r, j);
            } else {
                let mut rr = 0;
                while rr < mr {
                    let m4 = (mr - rr).min(4);
                    let mut jj = 0;
                    while jj < nr {
                        let n5 = (nr - jj).min(5);
                        let (r, j) = (r + rr, j + jj);
                        match (m4, n5) {
                            (4, 5) => tile!(4, 5, r, j),
                            (4, 4) => tile!(4, 4, r, j),
                            (4, 3) => tile!(4, 3, r, j),
                            (4, 2) => tile!(4, 2, r, j),
                            (4, _) => tile!(4, 1, r, j),
                            (3, 5) => tile!(3, 5, r, j),
                            (3, 4) => tile!(3, 4, r, j),
                            (3, 3) => tile!(3, 3, r, j),
                            (3, 2) => tile!(3, 2, r, j),
                            (3, _) => tile!(3, 1, r, j),
                            (2, 5) => tile!(2, 5, r, j),
                            (2, 4) => tile!(2, 4, r, j),
                            (2, 3) => tile!(2, 3, r, j),
                            (2, 2) => tile!(2, 2, r, j),
                            (2, _) => tile!(2, 1, r, j),
                            (_, 5) => tile!(1, 5, r, j),
                            (_, 4) => tile!(1, 4, r, j),
                            (_, 3) => tile!(1, 3, r, j),
                            (_, 2) => tile!(1, 2, r, j),
                            (_, _) => tile!(1, 1, r, j),
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
}

/// `out = p · wᵀ − offset` with AVX-512: tiles of 4 rows × 5 outputs (20 of the 32
/// registers accumulate; measured against 2 × 10, 3 × 8, 4 × 6, 5 × 5, 6 × 4 and 8 × 3).
///
/// # Safety
/// Needs AVX-512F.
#[target_feature(enable = "avx2,fma,avx512f")]
pub(super) unsafe fn dot_wt_avx512<T: Lanes>(
    p: &[&[T]],
    w: &[f32],
    offset: Option<&[f32]>,
    out: &mut [f32],
    k: usize,
    d: usize,
) {
    // SAFETY: AVX-512F is on.
    unsafe { dot_wt::<V16, T, 4, 5>(p, w, offset, out, k, d) }
}

/// `out = p · wᵀ − offset` with AVX2: tiles of 2 rows × 5 outputs (10 of the 16 registers
/// accumulate).
///
/// # Safety
/// Needs AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn dot_wt_avx2<T: Lanes>(
    p: &[&[T]],
    w: &[f32],
    offset: Option<&[f32]>,
    out: &mut [f32],
    k: usize,
    d: usize,
) {
    // SAFETY: AVX2 and FMA are on.
    unsafe { dot_wt::<V8, T, 2, 5>(p, w, offset, out, k, d) }
}

/// `Σ_r δ_{r,n} · p_r[q + L·c ..]` for NR outputs and C vectors of bytes from column `q` of
/// each row; `delta` points at δ[0][j0] with rows `k` apart.
#[inline(always)]
unsafe fn outer_tile<V: Vector, const C: usize, const NR: usize>(
    p: &[&[u8]],
    q: usize,
    delta: *const f32,
    k: usize,
) -> [[V; C]; NR] {
    // SAFETY: (whole body) the caller keeps q + L·C bytes in each row and rows × NR values
    // of `delta` inside their slices.
    unsafe {
        let mut acc = [[V::zero(); C]; NR];
        for (r, row) in p.iter().enumerate() {
            let row = row.as_ptr();
            let xv: [V; C] = std::array::from_fn(|c| V::bytes(row.add(q + V::LANES * c)));
            for (n, acc_n) in acc.iter_mut().enumerate() {
                let dv = V::splat(*delta.add(r * k + n));
                for (s, &x) in acc_n.iter_mut().zip(&xv) {
                    *s = V::fmadd(dv, x, *s);
                }
            }
        }
        acc
    }
}

/// What [`update_bytes`] works on besides the strip's accumulators.
pub(super) struct BytesUpdate<'a> {
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

/// Writes the new W, W∘scale and the offset terms' lane sums for columns q.. of outputs
/// j0..j0+NR, given `acc[n][c] = Σ_r δ_{r,j0+n} p_r` over those columns.
#[inline(always)]
unsafe fn store_update<V: Vector, const C: usize, const NR: usize>(
    u: &mut BytesUpdate<'_>,
    acc: &[[V; C]; NR],
    q: usize,
    j0: usize,
) {
    let l = V::LANES;
    let d = u.d;
    // SAFETY: (whole body) every load and store below is of `l` values inside its slice
    // (q + l·C <= d, j0 + NR <= k, offset_acc holds k × 16).
    unsafe {
        let keep = V::splat(u.keep);
        let eta = V::splat(u.eta);
        for (n, acc_n) in acc.iter().enumerate() {
            let j = j0 + n;
            let ds = V::splat(u.delta_sum[j]);
            let off_at = u.offset_acc[j * 16..j * 16 + l].as_mut_ptr();
            let mut off = V::load(off_at);
            for (c, &s) in acc_n.iter().enumerate() {
                let col = q + l * c;
                let mv = V::load(u.mean[col..col + l].as_ptr());
                let sv = V::load(u.scale[col..col + l].as_ptr());
                // The gradient of the normalised inputs: scale · (Σ δp − mean · Σ δ).
                let g = V::mul(sv, V::fnmadd(mv, ds, s));
                let at = j * d + col;
                let w = &mut u.w[at..at + l];
                let new = V::fnmadd(eta, g, V::mul(keep, V::load(w.as_ptr())));
                new.store(w.as_mut_ptr());
                let folded = V::mul(new, sv);
                folded.store(u.scaled[at..at + l].as_mut_ptr());
                off = V::fmadd(mv, folded, off);
            }
            off.store(off_at);
        }
    }
}

/// The update of [`super::sgd_update_bytes`]: strips of C vectors of columns, NR outputs
/// at a time (edges five at a time), the bytes converted in registers.
#[inline(always)]
unsafe fn update_bytes<V: Vector, const C: usize, const NR: usize>(
    u: &mut BytesUpdate<'_>,
    delta: &[f32],
    p: &[&[u8]],
) {
    let (l, d, k, rows) = (V::LANES, u.d, u.delta_sum.len(), p.len());
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
    let mut q = 0;
    while q + l <= d {
        // Whole strips of C vectors, then single vectors at the end.
        let c = if q + l * C <= d { C } else { 1 };
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
                    // SAFETY: columns q..q+l·$c and outputs j..j+$n lie inside (the loop
                    // bounds and the assertion above).
                    unsafe { store_update(u, &outer_tile::<V, $c, $n>(p, q, dp, k), q, j) }
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
        q += l * c;
    }
    for j in 0..k {
        // SAFETY: offset_acc holds k × 16 values.
        let lanes = unsafe { V::load(u.offset_acc[j * 16..j * 16 + l].as_ptr()).sum() };
        u.offset[j] = lanes + update_tail(u, delta, p, q, j);
    }
}

/// [`update_bytes`] with AVX-512: strips of 4 vectors (64 columns) × 5 outputs (measured
/// against 2 × 10, 3 × 6, 4 × 6 and 2 × 8 on the 10- and 50-output shapes).
///
/// # Safety
/// Needs AVX-512F.
#[target_feature(enable = "avx2,fma,avx512f")]
pub(super) unsafe fn update_bytes_avx512(u: &mut BytesUpdate<'_>, delta: &[f32], p: &[&[u8]]) {
    // SAFETY: AVX-512F is on.
    unsafe { update_bytes::<V16, 4, 5>(u, delta, p) }
}

/// [`update_bytes`] with AVX2: strips of 2 vectors (16 columns) × 5 outputs.
///
/// # Safety
/// Needs AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn update_bytes_avx2(u: &mut BytesUpdate<'_>, delta: &[f32], p: &[&[u8]]) {
    // SAFETY: AVX2 and FMA are on.
    unsafe { update_bytes::<V8, 2, 5>(u, delta, p) }
}
