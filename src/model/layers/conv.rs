//! The arithmetic of dense, patchify and convolution layers: every one is a matrix product
//! `cols · Wᵀ + b` where `cols` holds one row per output position (for a convolution, the
//! patch under the filter at that position, built by [`im2col`]; for a dense layer, the input
//! itself). Products are split over the rayon pool by rows (forward, input gradient) or by
//! weight columns (weight gradient), so both cores share every layer.

use ndarray::{ArrayView2, ArrayViewMut2, Axis, linalg::general_mat_mul, s};
use rayon::prelude::*;

use super::Shape;
use crate::model::Real;

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
    let (m, k) = a.dim();
    let parts = blocks(m * k * b.nrows(), m);
    split_product(a, b.t(), out, parts, true);
}

/// `out = a · b` (`a` m × k, `b` k × n, `out` m × n), split by rows of `a` over the pool.
pub fn matmul_ab<F: Real>(a: ArrayView2<F>, b: ArrayView2<F>, out: ArrayViewMut2<F>) {
    let (m, k) = a.dim();
    let parts = blocks(m * k * b.ncols(), m);
    split_product(a, b, out, parts, true);
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
    mut out: ArrayViewMut2<F>,
) {
    matmul_abt(cols, w, out.view_mut());
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
    db.fill(F::zero());
    for row in d_out.axis_iter(Axis(0)) {
        for (g, &d) in db.iter_mut().zip(row.iter()) {
            *g = *g + d;
        }
    }
    if let Some(d_cols) = d_cols {
        matmul_ab(d_out, w, d_cols);
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
}
