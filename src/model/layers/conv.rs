//! The arithmetic of dense, patchify and convolution layers: every one is a matrix product
//! `cols · Wᵀ + b` where `cols` holds one row per output position (for a convolution, the
//! patch under the filter at that position, built by [`im2col`]; for a dense layer, the input
//! itself). Products are split over the rayon pool by rows (forward, input gradient) or by
//! weight columns (weight gradient), so both cores share every layer.

use ndarray::{ArrayView2, ArrayViewMut2, Axis, linalg::general_mat_mul, s};
use rayon::prelude::*;

use super::Shape;
use crate::model::Real;
use crate::model::kernels::{ConvPass, SameConv};

/// Below this many multiply-adds a product stays on the calling thread (a second thread's
/// wake-up costs more than it saves).
const PARALLEL_MIN_WORK: usize = 2_000_000;

/// How many blocks a product of `work` multiply-adds over `len` rows/columns is split into.
fn blocks(work: usize, len: usize) -> usize {
    if work < PARALLEL_MIN_WORK || crate::model::kernels::is_serial() {
        1
    } else {
        rayon::current_num_threads().clamp(1, len.max(1))
    }
}

/// Splits `a` into pieces of `chunk` along `axis`.
fn pieces<'a, F>(a: ArrayView2<'a, F>, axis: Axis, chunk: usize) -> Vec<ArrayView2<'a, F>> {
    let mut out = Vec::new();
    let mut rest = a;
    while rest.len_of(axis) > chunk {
        let (head, tail) = rest.split_at(axis, chunk);
        out.push(head);
        rest = tail;
    }
    out.push(rest);
    out
}

/// [`pieces`], writable.
fn pieces_mut<'a, F>(
    a: ArrayViewMut2<'a, F>,
    axis: Axis,
    chunk: usize,
) -> Vec<ArrayViewMut2<'a, F>> {
    let mut out = Vec::new();
    let mut rest = a;
    while rest.len_of(axis) > chunk {
        let (head, tail) = rest.split_at(axis, chunk);
        out.push(head);
        rest = tail;
    }
    out.push(rest);
    out
}

/// `c = op(a) · op(b)` for `c` and one operand split into `parts` pieces along `axis`, the
/// pieces multiplied on the pool; `split_a` says whether `a` (rows) or `b` (columns) is cut.
fn split_product<F: Real>(
    a: ArrayView2<F>,
    b: ArrayView2<F>,
    c: ArrayViewMut2<F>,
    parts: usize,
    split_a: bool,
) {
    if parts <= 1 {
        let mut c = c;
        general_mat_mul(F::one(), &a, &b, F::zero(), &mut c);
        return;
    }
    if split_a {
        let chunk = a.nrows().div_ceil(parts);
        pieces(a, Axis(0), chunk)
            .into_par_iter()
            .zip(pieces_mut(c, Axis(0), chunk))
            .for_each(|(a, mut c)| general_mat_mul(F::one(), &a, &b, F::zero(), &mut c));
    } else {
        let chunk = b.ncols().div_ceil(parts);
        pieces(b, Axis(1), chunk)
            .into_par_iter()
            .zip(pieces_mut(c, Axis(1), chunk))
            .for_each(|(b, mut c)| general_mat_mul(F::one(), &a, &b, F::zero(), &mut c));
    }
}

/// `out = a · bᵀ` (`a` m × k, `b` n × k, `out` m × n), split by rows of `a` over the pool.
pub fn matmul_abt<F: Real>(a: ArrayView2<F>, b: ArrayView2<F>, out: ArrayViewMut2<F>) {
    matmul_ab_bias(a, b.t(), None, out);
}

/// `out = a · b + bias` (`a` m × k, `b` k × n, `out` m × n, `bias` n values added to every
/// row), split by rows of `a` over the pool: on the register panels when `a` is row-major
/// and `b` small (a convolution's products), else on the general product.
fn matmul_ab_bias<F: Real>(
    a: ArrayView2<F>,
    b: ArrayView2<F>,
    bias: Option<&[F]>,
    mut out: ArrayViewMut2<F>,
) {
    let (m, k) = a.dim();
    let parts = blocks(m * k * b.ncols(), m);
    if let Some(true) = F::fast_rows_times_small(&a, &b, bias, &mut out, parts) {
        return;
    }
    split_product(a, b, out.view_mut(), parts, true);
    if let Some(bias) = bias {
        add_bias(bias, out);
    }
}

/// `out = a · b` (`a` m × k, `b` k × n, `out` m × n), split by rows of `a` over the pool.
pub fn matmul_ab<F: Real>(a: ArrayView2<F>, b: ArrayView2<F>, out: ArrayViewMut2<F>) {
    matmul_ab_bias(a, b, None, out);
}

/// `out = aᵀ · b` (`a` m × n, `b` m × k, `out` n × k): a weight gradient, summed over the m
/// rows; split by columns of `b` so no thread's sum needs another's.
pub fn matmul_atb<F: Real>(a: ArrayView2<F>, b: ArrayView2<F>, out: ArrayViewMut2<F>) {
    let (m, k) = b.dim();
    let mut parts = blocks(m * k * a.ncols(), k);
    if k < 2 * parts {
        parts = 1;
    }
    split_product(a.t(), b, out, parts, false);
}

/// Where a filter of side `k` with `stride` and zero padding `pad` reads, for input `input`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Filter side.
    pub k: usize,
    /// Step between positions.
    pub stride: usize,
    /// Zeros added on each side.
    pub pad: usize,
    /// The input's shape.
    pub input: Shape,
}

impl Window {
    /// Output rows and columns.
    pub fn out_hw(&self) -> (usize, usize) {
        let h = (self.input.h + 2 * self.pad - self.k) / self.stride + 1;
        let w = (self.input.w + 2 * self.pad - self.k) / self.stride + 1;
        (h, w)
    }
    /// Values in one patch: `k · k · channels`, ordered (row, column, channel).
    pub fn patch_len(&self) -> usize {
        self.k * self.k * self.input.c
    }
    /// Output positions per image.
    pub fn positions(&self) -> usize {
        let (h, w) = self.out_hw();
        h * w
    }
    /// For output position (`oy`, `ox`) and filter row `dy`: the input row and the range of
    /// filter columns that fall inside the image, with the first input column.
    fn row_span(&self, oy: usize, ox: usize, dy: usize) -> Option<(usize, usize, usize, usize)> {
        let y = (oy * self.stride + dy).checked_sub(self.pad)?;
        if y >= self.input.h {
            return None;
        }
        let x0 = ox * self.stride;
        // Filter columns dx with pad ≤ x0 + dx < pad + width.
        let dx_lo = self.pad.saturating_sub(x0);
        let dx_hi = (self.pad + self.input.w).saturating_sub(x0).min(self.k);
        if dx_lo >= dx_hi {
            return None;
        }
        Some((y, dx_lo, dx_hi, x0 + dx_lo - self.pad))
    }
}

/// Writes each image's patch matrix: `input` holds `rows` images of `win.input` (positions ×
/// channels), `cols` gets `rows · positions` rows of [`Window::patch_len`] values, zeros where
/// the filter hangs over the edge. Images are shared out over the pool.
pub fn im2col<F: Real>(win: &Window, input: &[F], cols: &mut [F]) {
    let (oh, ow) = win.out_hw();
    let c = win.input.c;
    let plen = win.patch_len();
    let in_size = win.input.size();
    let per_image = oh * ow * plen;
    cols.par_chunks_mut(per_image)
        .zip(input.par_chunks(in_size))
        .for_each(|(out, img)| {
            for oy in 0..oh {
                for ox in 0..ow {
                    let patch = &mut out[(oy * ow + ox) * plen..][..plen];
                    for dy in 0..win.k {
                        let row = &mut patch[dy * win.k * c..][..win.k * c];
                        match win.row_span(oy, ox, dy) {
                            None => row.fill(F::zero()),
                            Some((y, lo, hi, x)) => {
                                row[..lo * c].fill(F::zero());
                                row[lo * c..hi * c].copy_from_slice(
                                    &img[(y * win.input.w + x) * c..][..(hi - lo) * c],
                                );
                                row[hi * c..].fill(F::zero());
                            }
                        }
                    }
                }
            }
        });
}

/// The adjoint of [`im2col`]: `d_input` = the sum, over every patch that read an input value,
/// of that patch's gradient there. Overwrites `d_input`.
pub fn col2im<F: Real>(win: &Window, d_cols: &[F], d_input: &mut [F]) {
    let (oh, ow) = win.out_hw();
    let c = win.input.c;
    let plen = win.patch_len();
    let in_size = win.input.size();
    let per_image = oh * ow * plen;
    d_input
        .par_chunks_mut(in_size)
        .zip(d_cols.par_chunks(per_image))
        .for_each(|(img, cols)| {
            img.fill(F::zero());
            for oy in 0..oh {
                for ox in 0..ow {
                    let patch = &cols[(oy * ow + ox) * plen..][..plen];
                    for dy in 0..win.k {
                        if let Some((y, lo, hi, x)) = win.row_span(oy, ox, dy) {
                            let src = &patch[dy * win.k * c + lo * c..][..(hi - lo) * c];
                            let dst = &mut img[(y * win.input.w + x) * c..][..(hi - lo) * c];
                            for (d, &s) in dst.iter_mut().zip(src) {
                                *d = *d + s;
                            }
                        }
                    }
                }
            }
        });
}

/// `out = cols · Wᵀ + b` for `cols` (positions of all images) × fan-in.
pub fn linear_forward<F: Real>(
    cols: ArrayView2<F>,
    w: ArrayView2<F>,
    b: &[F],
    out: ArrayViewMut2<F>,
) {
    matmul_ab_bias(cols, w.t(), Some(b), out);
}

/// Adds `b` to every row of `out`.
fn add_bias<F: Real>(b: &[F], mut out: ArrayViewMut2<F>) {
    let n = b.len();
    match out.as_slice_mut() {
        Some(flat) => flat.par_chunks_mut(n.max(1)).for_each(|row| {
            for (o, &bias) in row.iter_mut().zip(b) {
                *o = *o + bias;
            }
        }),
        None => {
            for mut row in out.axis_iter_mut(Axis(0)) {
                for (o, &bias) in row.iter_mut().zip(b) {
                    *o = *o + bias;
                }
            }
        }
    }
}

/// Gradients of a linear layer from `d_out` (positions × outputs): `dW = d_outᵀ · cols`,
/// `db` = column sums of `d_out`, and when `d_cols` is given `d_cols = d_out · W`.
pub fn linear_backward<F: Real>(
    cols: ArrayView2<F>,
    w: ArrayView2<F>,
    d_out: ArrayView2<F>,
    dw: ArrayViewMut2<F>,
    db: &mut [F],
    d_cols: Option<ArrayViewMut2<F>>,
) {
    matmul_atb(d_out, cols, dw);
    column_sums(d_out, db);
    if let Some(d_cols) = d_cols {
        matmul_ab(d_out, w, d_cols);
    }
}

/// `db` = the column sums of `d_out`: a bias gradient.
fn column_sums<F: Real>(d_out: ArrayView2<F>, db: &mut [F]) {
    db.fill(F::zero());
    for row in d_out.axis_iter(Axis(0)) {
        for (g, &d) in db.iter_mut().zip(row.iter()) {
            *g = *g + d;
        }
    }
}

/// The convolution of window `win` with `n` outputs over `images` images, read from its
/// padded input without a patch matrix, when this type's kernels take it (stride 1).
pub fn same_conv<F: Real>(win: &Window, n: usize, images: usize) -> Option<SameConv> {
    let g = SameConv {
        images,
        h: win.input.h,
        w: win.input.w,
        c: win.input.c,
        k: win.k,
        pad: win.pad,
        n,
    };
    (win.stride == 1 && F::same_conv_fits(&g)).then_some(g)
}

/// `out = conv(input) + bias` for a [`same_conv`] geometry, keeping the padded input in
/// `padded` for [`same_conv_backward`].
pub fn same_conv_forward<F: Real>(
    g: &SameConv,
    input: &[F],
    padded: &mut [F],
    weights: ArrayView2<F>,
    bias: &[F],
    out: &mut [F],
) {
    let (oh, ow) = g.out_hw();
    let parts = blocks(
        g.images * oh * ow * g.n * g.k * g.k * g.c,
        g.images * oh * ow,
    );
    let pass = ConvPass::Forward {
        input,
        padded,
        weights,
        bias,
        out,
    };
    let ran = F::fast_same_conv(g, pass, parts);
    debug_assert_eq!(ran, Some(true), "same_conv said the kernels take {g:?}");
}

/// The gradients of a [`same_conv`] layer from `d_out`: `dw` (overwritten), `db` (column
/// sums of `d_out`) and, when given, the input's gradient through `scratch`
/// ([`SameConv::input_grad_scratch`] values).
pub fn same_conv_backward<F: Real>(
    g: &SameConv,
    padded: &[F],
    weights: ArrayView2<F>,
    d_out: &[F],
    dw: &mut [F],
    db: &mut [F],
    d_input: Option<(&mut [F], &mut [F])>,
) {
    let (oh, ow) = g.out_hw();
    let positions = g.images * oh * ow;
    let work = positions * g.n * g.k * g.k * g.c;
    let d_out = &d_out[..positions * g.n];
    column_sums(
        ArrayView2::from_shape((positions, g.n), d_out).expect("d_out holds every position"),
        db,
    );
    let pass = ConvPass::WeightGrad { padded, d_out, dw };
    let ran = F::fast_same_conv(g, pass, blocks(work, g.n));
    debug_assert_eq!(ran, Some(true), "same_conv said the kernels take {g:?}");
    if let Some((scratch, d_input)) = d_input {
        let pass = ConvPass::InputGrad {
            d_out,
            weights,
            scratch,
            d_input,
        };
        let ran = F::fast_same_conv(g, pass, blocks(work, g.images * g.h * g.w));
        debug_assert_eq!(ran, Some(true), "same_conv said the kernels take {g:?}");
    }
}

/// The first `rows` rows of a 2-D buffer.
pub fn top<F>(a: &ndarray::Array2<F>, rows: usize) -> ArrayView2<'_, F> {
    a.slice(s![..rows, ..])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A direct convolution, position by position, to check im2col + product against.
    fn direct(win: &Window, img: &[f64], w: &[f64], n: usize) -> Vec<f64> {
        let (oh, ow) = win.out_hw();
        let c = win.input.c;
        let mut out = vec![0.0; oh * ow * n];
        for oy in 0..oh {
            for ox in 0..ow {
                for f in 0..n {
                    let mut s = 0.0;
                    for dy in 0..win.k {
                        for dx in 0..win.k {
                            let y = (oy * win.stride + dy) as isize - win.pad as isize;
                            let x = (ox * win.stride + dx) as isize - win.pad as isize;
                            if y < 0
                                || x < 0
                                || y >= win.input.h as isize
                                || x >= win.input.w as isize
                            {
                                continue;
                            }
                            for ch in 0..c {
                                let v = img[((y as usize) * win.input.w + x as usize) * c + ch];
                                s += v * w[f * win.patch_len() + (dy * win.k + dx) * c + ch];
                            }
                        }
                    }
                    out[(oy * ow + ox) * n + f] = s;
                }
            }
        }
        out
    }

    #[test]
    fn im2col_product_is_the_direct_convolution_and_col2im_its_adjoint() {
        let input = Shape { h: 5, w: 6, c: 2 };
        for (k, stride, pad) in [(3, 1, 1), (1, 1, 0), (5, 1, 2), (2, 2, 0), (3, 3, 0)] {
            let win = Window {
                k,
                stride,
                pad,
                input,
            };
            let img: Vec<f64> = (0..2 * input.size())
                .map(|i| ((i * 7919) % 13) as f64 - 6.0)
                .collect();
            let n = 3;
            let w: Vec<f64> = (0..n * win.patch_len())
                .map(|i| ((i * 31) % 11) as f64 - 5.0)
                .collect();
            let p = win.positions();
            let mut cols = vec![0.0; 2 * p * win.patch_len()];
            im2col(&win, &img, &mut cols);
            let cols_a = ArrayView2::from_shape((2 * p, win.patch_len()), &cols).expect("shape");
            let w_a = ArrayView2::from_shape((n, win.patch_len()), &w).expect("shape");
            let mut out = ndarray::Array2::zeros((2 * p, n));
            linear_forward(cols_a, w_a, &[0.0; 3], out.view_mut());
            for i in 0..2 {
                let want = direct(&win, &img[i * input.size()..][..input.size()], &w, n);
                let got = out
                    .slice(s![i * p..(i + 1) * p, ..])
                    .iter()
                    .copied()
                    .collect::<Vec<_>>();
                assert_eq!(got, want, "k {k} stride {stride} pad {pad}");
            }
            // ⟨im2col(x), y⟩ = ⟨x, col2im(y)⟩ for any y.
            let y: Vec<f64> = (0..cols.len())
                .map(|i| ((i * 17) % 7) as f64 - 3.0)
                .collect();
            let mut back = vec![1.0; img.len()];
            col2im(&win, &y, &mut back);
            let lhs: f64 = cols.iter().zip(&y).map(|(a, b)| a * b).sum();
            let rhs: f64 = img.iter().zip(&back).map(|(a, b)| a * b).sum();
            assert_eq!(lhs, rhs, "k {k} stride {stride} pad {pad}");
        }
    }

    /// The padded-input path (f32, register panels) against im2col and the general product:
    /// forward, filter gradient and input gradient, for the shapes the kernels take (16 and
    /// 32 channels, 3×3 and 1×1, an odd number of outputs, images whose positions are not a
    /// multiple of the tile). Skipped where the CPU has neither AVX2 nor AVX-512.
    #[test]
    fn padded_input_convolution_matches_the_patch_matrix() {
        for (h, w, c, k, n, images) in [
            (5, 7, 16, 3, 10, 3),
            (8, 8, 32, 3, 32, 2),
            (4, 4, 16, 1, 7, 2),
            (6, 5, 32, 3, 64, 1),
        ] {
            let input = Shape { h, w, c };
            let win = Window {
                k,
                stride: 1,
                pad: (k - 1) / 2,
                input,
            };
            let Some(g) = same_conv::<f32>(&win, n, images) else {
                return;
            };
            let value = |i: usize, m: usize| ((i * m) % 17) as f32 / 8.0 - 1.0;
            let x: Vec<f32> = (0..images * input.size()).map(|i| value(i, 7919)).collect();
            let wts = ndarray::Array2::from_shape_fn((n, win.patch_len()), |(j, q)| {
                value(j * 131 + q, 31)
            });
            let bias: Vec<f32> = (0..n).map(|j| j as f32 * 0.1).collect();
            let pr = images * win.positions();
            let mut cols = vec![0.0f32; pr * win.patch_len()];
            im2col(&win, &x, &mut cols);
            let cols = ArrayView2::from_shape((pr, win.patch_len()), &cols).expect("shape");
            let mut want = ndarray::Array2::zeros((pr, n));
            general_mat_mul(1.0, &cols, &wts.t(), 0.0, &mut want);
            want += &ndarray::ArrayView1::from(&bias);
            let mut padded = vec![0.0f32; g.padded_len()];
            let mut got = vec![0.0f32; pr * n];
            same_conv_forward(&g, &x, &mut padded, wts.view(), &bias, &mut got);
            let close = |a: f32, b: f32| (a - b).abs() <= 1e-4 * b.abs().max(1.0);
            for (i, (&a, &b)) in got.iter().zip(want.iter()).enumerate() {
                assert!(close(a, b), "{g:?}: forward [{i}] = {a}, not {b}");
            }
            let d_out: Vec<f32> = (0..pr * n).map(|i| value(i, 13)).collect();
            let d_out_a = ArrayView2::from_shape((pr, n), &d_out).expect("shape");
            let mut want_dw = ndarray::Array2::zeros((n, win.patch_len()));
            let mut want_db = vec![0.0f32; n];
            let mut d_cols = ndarray::Array2::zeros((pr, win.patch_len()));
            linear_backward(
                cols,
                wts.view(),
                d_out_a,
                want_dw.view_mut(),
                &mut want_db,
                Some(d_cols.view_mut()),
            );
            let mut want_dx = vec![0.0f32; x.len()];
            col2im(&win, d_cols.as_slice().expect("owned"), &mut want_dx);
            let mut dw = vec![f32::NAN; n * win.patch_len()];
            let mut db = vec![f32::NAN; n];
            let mut scratch = vec![f32::NAN; g.input_grad_scratch()];
            let mut dx = vec![f32::NAN; x.len()];
            same_conv_backward(
                &g,
                &padded,
                wts.view(),
                &d_out,
                &mut dw,
                &mut db,
                Some((&mut scratch, &mut dx)),
            );
            for (i, (&a, &b)) in dw.iter().zip(want_dw.iter()).enumerate() {
                assert!(close(a, b), "{g:?}: dw [{i}] = {a}, not {b}");
            }
            for (i, (&a, &b)) in db.iter().zip(&want_db).enumerate() {
                assert!(close(a, b), "{g:?}: db [{i}] = {a}, not {b}");
            }
            for (i, (&a, &b)) in dx.iter().zip(&want_dx).enumerate() {
                assert!(close(a, b), "{g:?}: dx [{i}] = {a}, not {b}");
            }
        }
    }
}
