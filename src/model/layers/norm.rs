//! Batch normalisation over the rows of a `rows × channels` matrix: per unit after a dense
//! layer (one row per image), per channel after a convolution (one row per position of every
//! image).

use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2, Axis, Zip};

use crate::model::Real;
use crate::model::network::{BN_AVERAGING, BN_EPS, BatchNorm};

/// What a training pass remembers for the backward pass.
#[derive(Debug, Clone)]
pub struct BnCache<F> {
    /// ŝ, rows × channels.
    pub normed: Array2<F>,
    /// Batch mean per channel.
    pub mean: Array1<F>,
    /// Batch variance per channel.
    pub var: Array1<F>,
    /// 1/√(σ² + ε) per channel.
    pub inv_std: Array1<F>,
}

impl<F: Real> BnCache<F> {
    /// Buffers for `rows × channels`.
    pub fn new(rows: usize, channels: usize) -> Self {
        BnCache {
            normed: Array2::zeros((rows, channels)),
            mean: Array1::zeros(channels),
            var: Array1::zeros(channels),
            inv_std: Array1::zeros(channels),
        }
    }
}

/// `out = γ (x − μ)/√(σ² + ε) + β`: with the batch's μ and σ² (kept in `cache`) when
/// `cache` is given, with the running averages otherwise.
pub fn forward<F: Real>(
    bn: &BatchNorm<F>,
    x: ArrayView2<F>,
    mut out: ArrayViewMut2<F>,
    cache: Option<&mut BnCache<F>>,
) {
    let eps = F::of(BN_EPS);
    match cache {
        None => {
            let scale: Array1<F> = Zip::from(&bn.gamma)
                .and(&bn.var)
                .map_collect(|&g, &v| g / (v + eps).sqrt());
            for (mut o, xr) in out.axis_iter_mut(Axis(0)).zip(x.axis_iter(Axis(0))) {
                for ((o, &xv), ((&s, &m), &b)) in o
                    .iter_mut()
                    .zip(xr)
                    .zip(scale.iter().zip(&bn.mean).zip(&bn.beta))
                {
                    *o = (xv - m) * s + b;
                }
            }
        }
        Some(c) => {
            let m = F::of(x.nrows() as f64);
            c.mean.fill(F::zero());
            for xr in x.axis_iter(Axis(0)) {
                Zip::from(&mut c.mean)
                    .and(&xr)
                    .for_each(|a, &v| *a = *a + v);
            }
            c.mean.mapv_inplace(|v| v / m);
            c.var.fill(F::zero());
            for xr in x.axis_iter(Axis(0)) {
                Zip::from(&mut c.var)
                    .and(&xr)
                    .and(&c.mean)
                    .for_each(|a, &v, &mu| *a = *a + (v - mu) * (v - mu));
            }
            c.var.mapv_inplace(|v| v / m);
            Zip::from(&mut c.inv_std)
                .and(&c.var)
                .for_each(|s, &v| *s = F::one() / (v + eps).sqrt());
            let (mean, inv_std) = (&c.mean, &c.inv_std);
            Zip::from(c.normed.rows_mut())
                .and(out.rows_mut())
                .and(x.rows())
                .for_each(|mut nr, mut or, xr| {
                    for j in 0..xr.len() {
                        let n = (xr[j] - mean[j]) * inv_std[j];
                        nr[j] = n;
                        or[j] = bn.gamma[j] * n + bn.beta[j];
                    }
                });
        }
    }
}

/// Gradients of γ and β, and `d_x` from `d_out`, for the training pass in `cache`.
pub fn backward<F: Real>(
    bn: &BatchNorm<F>,
    cache: &BnCache<F>,
    d_out: ArrayView2<F>,
    d_gamma: &mut [F],
    d_beta: &mut [F],
    d_x: Option<ArrayViewMut2<F>>,
) {
    let m = F::of(d_out.nrows() as f64);
    d_gamma.fill(F::zero());
    d_beta.fill(F::zero());
    for (dr, nr) in d_out
        .axis_iter(Axis(0))
        .zip(cache.normed.axis_iter(Axis(0)))
    {
        for j in 0..dr.len() {
            d_gamma[j] = d_gamma[j] + dr[j] * nr[j];
            d_beta[j] = d_beta[j] + dr[j];
        }
    }
    if let Some(mut d_x) = d_x {
        // dx = γ/(σ m) · (m dŷ·… ): with dŝ = γ dy, dx = inv_std/m (m dŝ − Σdŝ − ŝ Σ(dŝ ŝ)),
        // and Σdŝ = γ dβ, Σ(dŝ ŝ) = γ dγ.
        Zip::from(d_x.rows_mut())
            .and(d_out.rows())
            .and(cache.normed.rows())
            .for_each(|mut xr, dr, nr| {
                for j in 0..dr.len() {
                    let g = bn.gamma[j];
                    xr[j] = cache.inv_std[j] / m
                        * (m * g * dr[j] - g * d_beta[j] - nr[j] * g * d_gamma[j]);
                }
            });
    }
}

/// Moves the running averages toward the batch statistics in `cache` (see [`BN_AVERAGING`]).
pub fn track<F: Real>(bn: &mut BatchNorm<F>, cache: &BnCache<F>) {
    let keep = F::of(BN_AVERAGING);
    let take = F::one() - keep;
    Zip::from(&mut bn.mean)
        .and(&cache.mean)
        .for_each(|r, &b| *r = keep * *r + take * b);
    Zip::from(&mut bn.var)
        .and(&cache.var)
        .for_each(|r, &b| *r = keep * *r + take * b);
}
