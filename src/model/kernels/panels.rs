//! Products whose right-hand side is small and shared by many rows: a convolution's
//! `cols · Wᵀ` (every output position of every image times the same few dozen filters) and
//! its input gradient `δ · W`. A general GEMM (matrixmultiply) copies the many-row operand
//! into its own layout first, one value at a time when that operand is row-major, as a patch
//! matrix is: in the VGG-style net a quarter of the step went to that copy. Here only the
//! small operand is packed, into panels two registers wide; the rows are read where they
//! lie, one value at a time broadcast over a register, each load of a panel feeding MR
//! multiply-adds.
//!
//! A stride-1 convolution goes further ([`conv_forward`], [`conv_weight_grad`],
//! [`conv_input_grad`]): a row of its patch matrix is k stretches of k pixels × channels that
//! lie contiguous in the zero-padded input, so the tiles read them there and no patch matrix
//! (nine times the input for 3 × 3 filters) is written or read back from memory. On the
//! 2-core AVX-512 Xeon the VGG-style net went from 679 images/s (matrixmultiply's AVX-512
//! kernel) to ~770 with the panels and ~1,380 without the patch matrix.

use ndarray::ArrayView2;

use super::SameConv;
use super::tiles::{V8, V16, Vector};

/// The right-hand side `B` (k × n) in panels of `width` columns: panel `p` holds, for each
/// of the k rows, columns `p·width .. (p+1)·width` of that row, zeros past column n.
pub(crate) struct Panels {
    data: Vec<f32>,
    k: usize,
    n: usize,
    width: usize,
}

impl Panels {
    /// Packs `b` (k × n, any strides) into panels of `width` columns.
    fn pack(b: ArrayView2<f32>, width: usize) -> Self {
        let (k, n) = b.dim();
        let count = n.div_ceil(width);
        let mut data = vec![0.0; count * k * width];
        for (p, panel) in data.chunks_exact_mut(k * width).enumerate() {
            let first = p * width;
            let cols = (n - first).min(width);
            for (q, row) in panel.chunks_exact_mut(width).enumerate() {
                for (j, v) in row[..cols].iter_mut().enumerate() {
                    *v = b[[q, first + j]];
                }
            }
        }
        Panels { data, k, n, width }
    }
}

/// Where the rows of a product's left-hand side lie: `segments` stretches of `segment_len`
/// values, `segment_stride` apart, from each row's start. A row-major matrix is one segment
/// per row; a row of a convolution's patch matrix, read from the zero-padded input, is one
/// segment per filter row (k pixels × channels, contiguous in the padded image).
#[derive(Clone, Copy)]
struct RowLayout {
    segments: usize,
    segment_stride: usize,
    segment_len: usize,
}

/// `c[m][0..cols] = bias + Σ_q a_m[q] · panel[q][..]` for MR rows starting at `a` (the
/// rows after `valid` repeat the last valid one and are not written) and one panel of NV
/// registers.
///
/// # Safety
/// Needs V's CPU features; each of the MR row starts holds the values `layout` names;
/// `panel` holds segments × segment_len rows of NV·LANES values; `c` holds `valid` rows of
/// `cols` ≤ NV·LANES values `ldc` apart; `bias` holds `cols` values or is null.
#[inline(always)]
#[allow(clippy::too_many_arguments)] // One register tile: every pointer and length is needed.
unsafe fn tile<V: Vector, const MR: usize, const NV: usize>(
    a: [*const f32; MR],
    layout: RowLayout,
    panel: *const f32,
    c: *mut f32,
    ldc: usize,
    valid: usize,
    cols: usize,
    bias: *const f32,
) {
    // SAFETY: (whole body) the caller keeps every offset inside the buffers named above.
    unsafe {
        let width = NV * V::LANES;
        let mut start = [V::zero(); NV];
        if !bias.is_null() {
            let mut padded = [0.0f32; 64];
            std::ptr::copy_nonoverlapping(bias, padded.as_mut_ptr(), cols);
            for (v, s) in start.iter_mut().enumerate() {
                *s = V::load(padded.as_ptr().add(v * V::LANES));
            }
        }
        let mut acc = [start; MR];
        let mut b = panel;
        for seg in 0..layout.segments {
            let rows: [*const f32; MR] =
                std::array::from_fn(|m| a[m].add(seg * layout.segment_stride));
            for q in 0..layout.segment_len {
                let bv: [V; NV] = std::array::from_fn(|v| V::load(b.add(v * V::LANES)));
                for (acc_m, row) in acc.iter_mut().zip(&rows) {
                    let av = V::splat(*row.add(q));
                    for (acc_mv, &bv) in acc_m.iter_mut().zip(&bv) {
                        *acc_mv = V::fmadd(av, bv, *acc_mv);
                    }
                }
                b = b.add(width);
            }
        }
        for (m, acc_m) in acc.iter().enumerate().take(valid) {
            let row = c.add(m * ldc);
            if cols == width {
                for (v, acc_mv) in acc_m.iter().enumerate() {
                    acc_mv.store(row.add(v * V::LANES));
                }
            } else {
                let mut spill = [0.0f32; 64];
                for (v, acc_mv) in acc_m.iter().enumerate() {
                    acc_mv.store(spill.as_mut_ptr().add(v * V::LANES));
                }
                std::ptr::copy_nonoverlapping(spill.as_ptr(), row, cols);
            }
        }
    }
}

/// `c = a · B (+ bias)` for `rows` rows whose starts `start(r)` gives, laid out as `layout`
/// says, into `c` (n values a row, `ldc` apart), in tiles of MR rows × one panel.
///
/// # Safety
/// Needs V's CPU features; NV·LANES ≤ 64 and equal to the panels' width; every start
/// `start` gives for r < rows holds what `layout` names (the caller checks the extents).
#[inline(always)]
unsafe fn rows_times_panels<V: Vector, const MR: usize, const NV: usize>(
    start: &dyn Fn(usize) -> *const f32,
    layout: RowLayout,
    b: &Panels,
    bias: Option<&[f32]>,
    c: &mut [f32],
    ldc: usize,
    rows: usize,
) {
    let (k, n, width) = (b.k, b.n, b.width);
    assert!(width == NV * V::LANES && width <= 64);
    assert!(layout.segments * layout.segment_len == k);
    assert!(rows == 0 || c.len() >= (rows - 1) * ldc + n);
    assert!(ldc >= n && bias.is_none_or(|s| s.len() >= n));
    for r in (0..rows).step_by(MR) {
        let valid = (rows - r).min(MR);
        let a: [*const f32; MR] = std::array::from_fn(|m| start(r + m.min(valid - 1)));
        for p in 0..n.div_ceil(width) {
            let first = p * width;
            // SAFETY: rows r..r+valid of c and columns first..first+cols lie inside
            // (asserted above); the rows' values as the caller promises; the panel holds
            // k × width values.
            unsafe {
                tile::<V, MR, NV>(
                    a,
                    layout,
                    b.data[p * k * width..].as_ptr(),
                    c[r * ldc + first..].as_mut_ptr(),
                    ldc,
                    valid,
                    (n - first).min(width),
                    bias.map_or(std::ptr::null(), |s| s[first..].as_ptr()),
                );
            }
        }
    }
}

/// A row start: the `r`-th row's first value.
type RowStart<'a> = &'a dyn Fn(usize) -> *const f32;

/// AVX-512: 12 rows × 32 columns (24 of the 32 registers accumulate).
///
/// # Safety
/// Needs AVX-512F; `b` packed 32 wide; the rows as [`rows_times_panels`] needs them.
#[target_feature(enable = "avx2,fma,avx512f")]
unsafe fn rows_times_panels_avx512(
    start: RowStart<'_>,
    layout: RowLayout,
    b: &Panels,
    bias: Option<&[f32]>,
    c: &mut [f32],
    ldc: usize,
    rows: usize,
) {
    // SAFETY: AVX-512F is on; the rows as the caller promises.
    unsafe { rows_times_panels::<V16, 12, 2>(start, layout, b, bias, c, ldc, rows) }
}

/// AVX2: 6 rows × 16 columns (12 of the 16 registers accumulate), the classic Haswell tile.
///
/// # Safety
/// Needs AVX2 and FMA; `b` packed 16 wide; the rows as [`rows_times_panels`] needs them.
#[target_feature(enable = "avx2,fma")]
unsafe fn rows_times_panels_avx2(
    start: RowStart<'_>,
    layout: RowLayout,
    b: &Panels,
    bias: Option<&[f32]>,
    c: &mut [f32],
    ldc: usize,
    rows: usize,
) {
    // SAFETY: AVX2 and FMA are on; the rows as the caller promises.
    unsafe { rows_times_panels::<V8, 6, 2>(start, layout, b, bias, c, ldc, rows) }
}

/// [`rows_times_panels`] on the registers `b` was packed for.
///
/// # Safety
/// Every start `start` gives for r < rows holds what `layout` names.
unsafe fn dispatch(
    start: RowStart<'_>,
    layout: RowLayout,
    b: &Panels,
    bias: Option<&[f32]>,
    c: &mut [f32],
    ldc: usize,
    rows: usize,
) {
    if b.width == 32 {
        // SAFETY: `pack` made 32-wide panels only where AVX-512 was found; rows as promised.
        unsafe { rows_times_panels_avx512(start, layout, b, bias, c, ldc, rows) }
    } else {
        // SAFETY: `pack` made 16-wide panels only where AVX2 and FMA were found; rows as
        // promised.
        unsafe { rows_times_panels_avx2(start, layout, b, bias, c, ldc, rows) }
    }
}

/// Rows of one tile on this CPU: every share of rows but the last is a multiple of it.
pub(crate) fn tile_rows() -> usize {
    if super::have_avx512() { 12 } else { 6 }
}

/// The panel width on this CPU, or `None` where neither AVX2 nor AVX-512 is there.
pub(super) fn panel_width() -> Option<usize> {
    if super::have_avx512() {
        Some(32)
    } else if super::have_avx2() {
        Some(16)
    } else {
        None
    }
}

/// Packs `b` (k × n) for [`rows_times`] on this CPU, or `None` where neither AVX2 nor
/// AVX-512 is there.
pub(crate) fn pack(b: ArrayView2<f32>) -> Option<Panels> {
    Some(Panels::pack(b, panel_width()?))
}

/// `c = a · B (+ bias)`: `rows` rows of `a` (k values each, `lda` apart) times `b` as
/// [`pack`] made it, into `c` (n values a row, `ldc` apart).
pub(crate) fn rows_times(
    a: &[f32],
    lda: usize,
    b: &Panels,
    bias: Option<&[f32]>,
    c: &mut [f32],
    ldc: usize,
    rows: usize,
) {
    let k = b.k;
    assert!(lda >= k && (rows == 0 || a.len() >= (rows - 1) * lda + k));
    let layout = RowLayout {
        segments: 1,
        segment_stride: 0,
        segment_len: k,
    };
    let base = a.as_ptr();
    // SAFETY: row r < rows starts at r·lda and holds k values (asserted).
    let start = |r: usize| unsafe { base.add(r * lda) };
    // SAFETY: as above.
    unsafe { dispatch(&start, layout, b, bias, c, ldc, rows) }
}

/// Copies `input` (`g.images` images of h × w × c) into `padded` with `g.pad` zeros around.
pub(crate) fn pad_images(g: &SameConv, input: &[f32], padded: &mut [f32]) {
    let (hp, wp) = g.padded_hw();
    let row = g.w * g.c;
    let padded = &mut padded[..g.padded_len()];
    padded.fill(0.0);
    for (dst, src) in padded
        .chunks_exact_mut(hp * wp * g.c)
        .zip(input.chunks_exact(g.h * row))
    {
        for (y, src_row) in src.chunks_exact(row).enumerate() {
            let at = ((y + g.pad) * wp + g.pad) * g.c;
            dst[at..at + row].copy_from_slice(src_row);
        }
    }
}

/// `out = conv(padded) + bias` (all images' output positions × n) for weights
/// `n × (k·k·c)` in (row, column, channel) order, `padded` as [`pad_images`] wrote it; the
/// positions split into `parts` on the rayon pool.
pub(crate) fn conv_forward(
    g: &SameConv,
    padded: &[f32],
    weights: ArrayView2<f32>,
    bias: Option<&[f32]>,
    out: &mut [f32],
    parts: usize,
) {
    let width = panel_width().expect("SameConv::fits found AVX2 or AVX-512");
    let b = Panels::pack(weights.t(), width);
    conv_rows(g, padded, &b, bias, out, parts);
}

/// The positions of every image times the packed filters `b`.
fn conv_rows(
    g: &SameConv,
    padded: &[f32],
    b: &Panels,
    bias: Option<&[f32]>,
    out: &mut [f32],
    parts: usize,
) {
    use rayon::prelude::*;
    let (oh, ow) = g.out_hw();
    let (hp, wp) = g.padded_hw();
    let per_image = oh * ow;
    let positions = g.images * per_image;
    assert!(padded.len() >= g.padded_len() && out.len() >= positions * g.n);
    let layout = RowLayout {
        segments: g.k,
        segment_stride: wp * g.c,
        segment_len: g.k * g.c,
    };
    let tile = tile_rows();
    let chunk = positions.div_ceil(parts.max(1)).div_ceil(tile) * tile;
    out[..positions * g.n]
        .par_chunks_mut(chunk.max(1) * g.n)
        .enumerate()
        .for_each(|(part, out)| {
            let first = part * chunk;
            let start = |r: usize| {
                let pos = first + r;
                let (img, at) = (pos / per_image, pos % per_image);
                let (y, x) = (at / ow, at % ow);
                let offset = (img * hp * wp + y * wp + x) * g.c;
                // SAFETY: pos < positions, so the image and its k rows of k pixels from
                // (y, x) lie inside the padded images (asserted above).
                unsafe { padded.as_ptr().add(offset) }
            };
            let rows = out.len() / g.n;
            // SAFETY: every row start is inside `padded` with its k segments (see above).
            unsafe { dispatch(&start, layout, b, bias, out, g.n, rows) }
        });
}

/// `d_input` (images × h × w × c) from `d_out` (the output positions × n) through
/// `scratch` (at least the transposed geometry's padded length): the output gradient,
/// padded, convolved with the filters turned half a turn.
pub(crate) fn conv_input_grad(
    g: &SameConv,
    d_out: &[f32],
    weights: ArrayView2<f32>,
    scratch: &mut [f32],
    d_input: &mut [f32],
    parts: usize,
) {
    let width = panel_width().expect("SameConv::fits found AVX2 or AVX-512");
    let t = g.transposed();
    pad_images(&t, d_out, scratch);
    // Row (dy, dx, j) of the turned filters, column ch: filter j's weight at (k−1−dy,
    // k−1−dx) on channel ch.
    let (k, c) = (g.k, g.c);
    let turned = ndarray::Array2::from_shape_fn((k * k * g.n, c), |(q, ch)| {
        let (dy, rest) = (q / (k * g.n), q % (k * g.n));
        let (dx, j) = (rest / g.n, rest % g.n);
        weights[[j, ((k - 1 - dy) * k + (k - 1 - dx)) * c + ch]]
    });
    let b = Panels::pack(turned.view(), width);
    conv_rows(&t, scratch, &b, None, d_input, parts);
}

/// `dw += Σ over positions of d_out[pos]ᵀ · patch(pos)` (n × k·k·c) for `g.images` images:
/// the filters' gradient read from the padded input, no patch matrix. Outputs split into
/// `parts` on the rayon pool.
pub(crate) fn conv_weight_grad(
    g: &SameConv,
    padded: &[f32],
    d_out: &[f32],
    dw: &mut [f32],
    parts: usize,
) {
    use rayon::prelude::*;
    let (oh, ow) = g.out_hw();
    let kk = g.k * g.k * g.c;
    assert!(padded.len() >= g.padded_len() && d_out.len() >= g.images * oh * ow * g.n);
    assert!(dw.len() >= g.n * kk);
    // The same choice of registers as the products' panels (32 wide with AVX-512).
    let wide = panel_width().expect("SameConv::fits found AVX2 or AVX-512") == 32;
    let block = if wide { 8 } else { 4 };
    let per_part = g.n.div_ceil(parts.max(1)).div_ceil(block) * block;
    dw[..g.n * kk]
        .par_chunks_mut(per_part.max(1) * kk)
        .enumerate()
        .for_each(|(part, dw)| {
            let j0 = part * per_part;
            let outputs = dw.len() / kk;
            if wide {
                // SAFETY: 32-wide panels mean AVX-512 was found; the extents are asserted.
                unsafe { weight_grad_avx512(g, padded, d_out, dw, j0, outputs) }
            } else {
                // SAFETY: 16-wide panels mean AVX2 and FMA were found; the extents are
                // asserted above.
                unsafe { weight_grad_avx2(g, padded, d_out, dw, j0, outputs) }
            }
        });
}

/// One tile of the filters' gradient: outputs `j0..j0+NB` × NV registers of patch row
/// `dy` from value `q0`, summed over every position of one image.
///
/// # Safety
/// Needs V's features; `img` points at one padded image, `d_out` at its first position's
/// output gradient, `dw` at entry (j0, dy·k·c + q0) of rows `kk` apart; all inside.
#[inline(always)]
#[allow(clippy::too_many_arguments)] // One register tile: every pointer and length is needed.
unsafe fn weight_tile<V: Vector, const NB: usize, const NV: usize>(
    g: &SameConv,
    img: *const f32,
    d_out: *const f32,
    j0: usize,
    dy: usize,
    q0: usize,
    dw: *mut f32,
    kk: usize,
) {
    // SAFETY: (whole body) the offsets stay inside the image, its gradient and dw, as the
    // caller promises.
    unsafe {
        let (oh, ow) = g.out_hw();
        let (_, wp) = g.padded_hw();
        let mut acc: [[V; NV]; NB] = std::array::from_fn(|b| {
            std::array::from_fn(|v| V::load(dw.add(b * kk + v * V::LANES)))
        });
        for y in 0..oh {
            let row = img.add(((y + dy) * wp) * g.c + q0);
            let grads = d_out.add(y * ow * g.n + j0);
            for x in 0..ow {
                let src = row.add(x * g.c);
                let pv: [V; NV] = std::array::from_fn(|v| V::load(src.add(v * V::LANES)));
                let gr = grads.add(x * g.n);
                for (b, acc_b) in acc.iter_mut().enumerate() {
                    let dv = V::splat(*gr.add(b));
                    for (acc_bv, &pv) in acc_b.iter_mut().zip(&pv) {
                        *acc_bv = V::fmadd(dv, pv, *acc_bv);
                    }
                }
            }
        }
        for (b, acc_b) in acc.iter().enumerate() {
            for (v, acc_bv) in acc_b.iter().enumerate() {
                acc_bv.store(dw.add(b * kk + v * V::LANES));
            }
        }
    }
}

/// The filters' gradient for outputs `j0..j0+outputs` (`dw` holds just their rows), image
/// by image so each image's padded input and gradient stay in cache across the tiles.
///
/// # Safety
/// Needs V's features; extents as [`conv_weight_grad`] asserts; `g.k · g.c` a multiple of
/// NV·LANES (or of LANES for the narrower tiles it falls back to).
#[inline(always)]
unsafe fn weight_grad<V: Vector, const NB: usize>(
    g: &SameConv,
    padded: &[f32],
    d_out: &[f32],
    dw: &mut [f32],
    j0: usize,
    outputs: usize,
) {
    let (oh, ow) = g.out_hw();
    let (hp, wp) = g.padded_hw();
    let seg = g.k * g.c;
    let kk = g.k * seg;
    let vecs = seg / V::LANES;
    let nv = if vecs.is_multiple_of(3) {
        3
    } else if vecs.is_multiple_of(2) {
        2
    } else {
        1
    };
    for i in 0..g.images {
        let img = padded[i * hp * wp * g.c..].as_ptr();
        let grads = d_out[i * oh * ow * g.n..].as_ptr();
        let mut j = 0;
        while j < outputs {
            let nb = if outputs - j >= NB { NB } else { 1 };
            for dy in 0..g.k {
                for q0 in (0..seg).step_by(nv * V::LANES) {
                    let at = dw[j * kk + dy * seg + q0..].as_mut_ptr();
                    macro_rules! go {
                        ($nb:expr, $nv:expr) => {
                            // SAFETY: as the caller promises; j + nb ≤ outputs.
                            unsafe {
                                weight_tile::<V, $nb, $nv>(g, img, grads, j0 + j, dy, q0, at, kk)
                            }
                        };
                    }
                    match (nb == NB, nv) {
                        (true, 3) => go!(NB, 3),
                        (true, 2) => go!(NB, 2),
                        (true, _) => go!(NB, 1),
                        (false, 3) => go!(1, 3),
                        (false, 2) => go!(1, 2),
                        (false, _) => go!(1, 1),
                    }
                }
            }
            j += nb;
        }
    }
}

/// [`weight_grad`] with AVX-512: 8 outputs × up to 48 values (24 registers accumulate).
///
/// # Safety
/// Needs AVX-512F; as [`weight_grad`].
#[target_feature(enable = "avx2,fma,avx512f")]
unsafe fn weight_grad_avx512(
    g: &SameConv,
    padded: &[f32],
    d_out: &[f32],
    dw: &mut [f32],
    j0: usize,
    outputs: usize,
) {
    // SAFETY: AVX-512F is on; the rest as the caller promises.
    unsafe { weight_grad::<V16, 8>(g, padded, d_out, dw, j0, outputs) }
}

/// [`weight_grad`] with AVX2: 4 outputs × up to 24 values (12 registers accumulate).
///
/// # Safety
/// Needs AVX2 and FMA; as [`weight_grad`].
#[target_feature(enable = "avx2,fma")]
unsafe fn weight_grad_avx2(
    g: &SameConv,
    padded: &[f32],
    d_out: &[f32],
    dw: &mut [f32],
    j0: usize,
    outputs: usize,
) {
    // SAFETY: AVX2 and FMA are on; the rest as the caller promises.
    unsafe { weight_grad::<V8, 4>(g, padded, d_out, dw, j0, outputs) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    /// Every shape edge: rows not a multiple of the tile, columns not a multiple of the
    /// panel, a transposed right-hand side, a bias, rows and outputs with gaps between them.
    #[test]
    fn panels_product_is_the_plain_product() {
        if pack(Array2::<f32>::zeros((1, 1)).view()).is_none() {
            return;
        }
        for &(rows, k, n) in &[
            (1, 1, 1),
            (13, 27, 32),
            (25, 288, 64),
            (7, 10, 50),
            (40, 48, 33),
        ] {
            let a =
                Array2::from_shape_fn((rows, k + 3), |(i, j)| ((i * 7 + j * 3) % 11) as f32 - 5.0);
            let w =
                Array2::from_shape_fn((n, k), |(i, j)| ((i * 5 + j * 2) % 13) as f32 * 0.25 - 1.0);
            let bias: Vec<f32> = (0..n).map(|j| j as f32 * 0.5).collect();
            let b = pack(w.t()).expect("checked above");
            let ldc = n + 2;
            let mut c = vec![f32::NAN; rows * ldc];
            rows_times(
                a.as_slice().expect("owned"),
                k + 3,
                &b,
                Some(&bias),
                &mut c,
                ldc,
                rows,
            );
            for i in 0..rows {
                for j in 0..n {
                    let want: f32 = (0..k).map(|q| a[[i, q]] * w[[j, q]]).sum::<f32>() + bias[j];
                    assert!(
                        (c[i * ldc + j] - want).abs() <= 1e-4 * want.abs().max(1.0),
                        "rows {rows} k {k} n {n}: [{i}][{j}] = {} not {want}",
                        c[i * ldc + j]
                    );
                }
            }
        }
    }
}
