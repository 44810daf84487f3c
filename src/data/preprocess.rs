//! Input normalisation and batch gathering: `u8` pixels in, normalised `f32`/`f64` rows out.

use num_traits::Float;
use serde::{Deserialize, Serialize};

use super::ImageSet;
use super::augment::{Augment, augment_bytes};

/// How pixels are turned into network inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Preprocess {
    /// Subtract the training set's per-dimension mean and divide by its std.
    #[default]
    Standardize,
    /// Subtract the per-dimension mean, then divide by 255.
    MeanOnly,
    /// Divide by 255 only.
    None,
}

/// Per-dimension affine map `x ↦ (x − mean) · scale`, fitted on the training set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Normalizer {
    /// Subtracted from each dimension.
    pub mean: Vec<f32>,
    /// Multiplied after subtraction (1/std for standardisation).
    pub scale: Vec<f32>,
}

impl Normalizer {
    /// Fits the normaliser to `set` as `kind` asks.
    pub fn fit(set: &ImageSet, kind: Preprocess) -> Self {
        let d = set.shape.dim();
        let n = set.len().max(1) as f64;
        if kind == Preprocess::None {
            return Normalizer {
                mean: vec![0.0; d],
                scale: vec![1.0 / 255.0; d],
            };
        }
        // Exact integer sums: fast, and the result does not depend on summation order.
        let mut sum = vec![0u64; d];
        let mut sum_sq = vec![0u64; d];
        for img in set.pixels.chunks_exact(d) {
            for ((s, q), &p) in sum.iter_mut().zip(sum_sq.iter_mut()).zip(img) {
                let p = u64::from(p);
                *s += p;
                *q += p * p;
            }
        }
        let mean: Vec<f32> = sum.iter().map(|&s| (s as f64 / n) as f32).collect();
        let scale = match kind {
            Preprocess::Standardize => sum
                .iter()
                .zip(&sum_sq)
                .map(|(&s, &q)| {
                    let m = s as f64 / n;
                    let var = (q as f64 / n - m * m).max(0.0);
                    // A constant pixel would divide by zero; leave it unscaled instead.
                    if var > 1e-12 {
                        (1.0 / var.sqrt()) as f32
                    } else {
                        1.0
                    }
                })
                .collect(),
            _ => vec![1.0 / 255.0; d],
        };
        Normalizer { mean, scale }
    }

    /// Number of input dimensions.
    pub fn dim(&self) -> usize {
        self.mean.len()
    }

    /// Writes the normalised pixels of one image into `out`, mirrored left–right when
    /// `flip_perm` is given (the permutation from [`super::ImageShape::flip_permutation`]).
    #[inline]
    pub fn write_row(&self, pixels: &[u8], flip_perm: Option<&[usize]>, out: &mut [f32]) {
        match flip_perm {
            None => {
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: AVX2 was detected just above.
                    unsafe { normalize_avx2(pixels, &self.mean, &self.scale, out) };
                    return;
                }
                normalize(pixels, &self.mean, &self.scale, out);
            }
            Some(perm) => {
                // Mirror the picture, then normalise it as any other: the products that read
                // bytes (see `FoldedWeights`) can only normalise that way.
                for ((o, &src), (&m, &s)) in out
                    .iter_mut()
                    .zip(perm)
                    .zip(self.mean.iter().zip(&self.scale))
                {
                    *o = (f32::from(pixels[src]) - m) * s;
                }
            }
        }
    }

    /// [`Self::write_row`] in any float type (for the f64 gradient check); not flipped.
    pub fn write_row_as<F: Float>(&self, pixels: &[u8], out: &mut [F]) {
        for (((o, &p), &m), &s) in out.iter_mut().zip(pixels).zip(&self.mean).zip(&self.scale) {
            *o = F::from((f64::from(p) - f64::from(m)) * f64::from(s)).unwrap_or_else(F::zero);
        }
    }

    /// Gathers images `indices` of `set` into the row-major matrix `out` (one row per image),
    /// each augmented as `augments` says: (one [`Augment`] per image, the fill bytes of
    /// [`super::augment::fill_bytes`]). An augmented image is written as bytes first, as the
    /// products that read bytes see it, then normalised.
    pub fn gather(
        &self,
        set: &ImageSet,
        indices: &[usize],
        augments: Option<(&[Augment], &[u8])>,
        out: &mut [f32],
    ) {
        let d = self.dim();
        let mut bytes = Vec::new();
        for (k, (&i, row)) in indices.iter().zip(out.chunks_exact_mut(d)).enumerate() {
            match augments {
                Some((augments, fill)) if !augments[k].is_identity() => {
                    bytes.resize(d, 0);
                    augment_bytes(
                        &set.shape,
                        set.image(i),
                        augments[k],
                        fill,
                        0..d,
                        &mut bytes,
                    );
                    self.write_row(&bytes, None, row);
                }
                _ => self.write_row(set.image(i), None, row),
            }
        }
    }
}

/// `out = (pixels − mean) · scale`, element by element.
#[inline(always)]
fn normalize(pixels: &[u8], mean: &[f32], scale: &[f32], out: &mut [f32]) {
    for (((o, &p), &m), &s) in out.iter_mut().zip(pixels).zip(mean).zip(scale) {
        *o = (f32::from(p) - m) * s;
    }
}

/// [`normalize`] compiled for AVX2 (8 pixels per instruction instead of 4).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn normalize_avx2(pixels: &[u8], mean: &[f32], scale: &[f32], out: &mut [f32]) {
    normalize(pixels, mean, scale, out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::ImageShape;

    /// A shift fills with the mean's byte: under standardisation the shifted-in pixels are
    /// input 0 (here the means are whole bytes, so exactly 0).
    #[test]
    fn shifted_in_pixels_are_zero_input() {
        let set = tiny();
        let n = Normalizer::fit(&set, Preprocess::Standardize);
        let fill = super::super::augment::fill_bytes(&n.mean);
        let mut out = vec![9f32; 4];
        let right = Augment {
            dx: 1,
            ..Augment::default()
        };
        n.gather(&set, &[0], Some((&[right], &fill)), &mut out);
        // Image 0 is (0, 10 / 20, 30); one right: (fill, 0 / fill, 20). The means are
        // (1, 10 / 30, 20) and the scales (1, 1 / 0.1, 0.1).
        assert_eq!(out, vec![0.0, -10.0, 0.0, 0.0]);
    }

    fn tiny() -> ImageSet {
        ImageSet {
            pixels: vec![0, 10, 20, 30, 2, 10, 40, 10],
            labels: vec![0, 1],
            shape: ImageShape {
                channels: 1,
                height: 2,
                width: 2,
            },
        }
    }

    #[test]
    fn standardize_gives_zero_mean_unit_std() {
        let set = tiny();
        let n = Normalizer::fit(&set, Preprocess::Standardize);
        assert_eq!(n.mean, vec![1.0, 10.0, 30.0, 20.0]);
        assert_eq!(n.scale[0], 1.0);
        assert_eq!(n.scale[1], 1.0, "constant pixel stays unscaled");
        let mut out = vec![0f32; 8];
        n.gather(&set, &[0, 1], None, &mut out);
        assert_eq!(out, vec![-1.0, 0.0, -1.0, 1.0, 1.0, 0.0, 1.0, -1.0]);
    }

    #[test]
    fn flip_mirrors_columns() {
        let set = tiny();
        let n = Normalizer::fit(&set, Preprocess::None);
        let perm = set.shape.flip_permutation();
        assert_eq!(perm, vec![1, 0, 3, 2]);
        let mut out = vec![0f32; 4];
        let s = 1.0f32 / 255.0;
        let want = vec![10.0 * s, 0.0, 30.0 * s, 20.0 * s];
        n.write_row(set.image(0), Some(&perm), &mut out);
        assert_eq!(out, want);
        let flip = Augment {
            flip: true,
            ..Augment::default()
        };
        n.gather(&set, &[0], Some((&[flip], &[0; 4])), &mut out);
        assert_eq!(out, want);
    }
}
