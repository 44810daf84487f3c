//! Augmentation of training images as bytes: a mirror left–right and a shift by whole
//! pixels, written straight into a row of bytes so that the products which read images as
//! bytes (see [`crate::model::kernels::FoldedWeights`]) read augmented images the same way.

use std::ops::Range;

use rand::Rng;

use super::ImageShape;

/// How one training image is changed for one step: mirrored left–right first (when `flip`),
/// then shifted `dx` pixels right and `dy` pixels down (negative: left, up).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Augment {
    /// Mirror left–right.
    pub flip: bool,
    /// Pixels to shift right (negative: left).
    pub dx: i32,
    /// Pixels to shift down (negative: up).
    pub dy: i32,
}

impl Augment {
    /// True when the image stays as it is (so it can be read where it lies).
    pub fn is_identity(&self) -> bool {
        !self.flip && self.dx == 0 && self.dy == 0
    }

    /// A random augmentation: a mirror with probability `flip`, then shifts drawn uniformly
    /// from −`translate`…`translate` across and down. Draws nothing for a setting at 0, so
    /// a run without translations takes the same random numbers as before they existed.
    pub fn random(rng: &mut impl Rng, flip: f64, translate: usize) -> Self {
        let flip = flip > 0.0 && rng.random::<f64>() < flip;
        let (dx, dy) = if translate > 0 {
            let p = translate as i32;
            (rng.random_range(-p..=p), rng.random_range(-p..=p))
        } else {
            (0, 0)
        };
        Augment { flip, dx, dy }
    }
}

/// The fill of pixels shifted in from outside an image: for each input dimension, the byte
/// nearest the training set's mean there, so that after normalisation (x − mean)·scale the
/// network sees (almost exactly) 0 — the input a zero-padded normalised image would have.
/// (The bytes are read before normalising, so the fill is a byte: within half a grey level
/// of the mean.)
pub fn fill_bytes(mean: &[f32]) -> Vec<u8> {
    mean.iter()
        .map(|&m| m.round().clamp(0.0, 255.0) as u8)
        .collect()
}

/// Writes input dimensions `cols` of `image` (of `shape`, channel after channel, row after
/// row), augmented as `aug` says, into `out` (`cols.len()` bytes). Pixels shifted in from
/// outside the image take their dimension's byte of `fill` (see [`fill_bytes`]). Whole
/// stretches of a pixel row are copied at once.
pub fn augment_bytes(
    shape: &ImageShape,
    image: &[u8],
    aug: Augment,
    fill: &[u8],
    cols: Range<usize>,
    out: &mut [u8],
) {
    debug_assert_eq!(out.len(), cols.len());
    let (h, w) = (shape.height as i64, shape.width as i64);
    let width = shape.width.max(1);
    if cols.is_empty() {
        return;
    }
    // Pixel rows (over all channels) that `cols` touches.
    let first_row = cols.start / width;
    let last_row = (cols.end - 1) / width;
    for g in first_row..=last_row {
        let row_start = g * width;
        // The part of this pixel row inside `cols`, as columns x0..x1 of the row.
        let x0 = cols.start.max(row_start) - row_start;
        let x1 = cols.end.min(row_start + width) - row_start;
        let dst = &mut out[row_start + x0 - cols.start..row_start + x1 - cols.start];
        let channel = g / shape.height.max(1);
        let r = (g % shape.height.max(1)) as i64;
        let src_r = r - i64::from(aug.dy);
        if src_r < 0 || src_r >= h {
            dst.copy_from_slice(&fill[row_start + x0..row_start + x1]);
            continue;
        }
        let src_row_start = (channel * shape.height + src_r as usize) * width;
        let src_row = &image[src_row_start..src_row_start + width];
        // Output column x reads column x − dx of the (mirrored) image, inside 0..w.
        let dx = i64::from(aug.dx);
        let inside0 = (dx.clamp(0, w) as usize).clamp(x0, x1);
        let inside1 = ((w + dx).clamp(0, w) as usize).clamp(x0, x1);
        let fill_row = &fill[row_start..row_start + width];
        dst[..inside0 - x0].copy_from_slice(&fill_row[x0..inside0]);
        dst[inside1 - x0..].copy_from_slice(&fill_row[inside1..x1]);
        if inside0 == inside1 {
            // Shifted wholly out of these columns: all fill (and no source to slice).
            continue;
        }
        let inside = &mut dst[inside0 - x0..inside1 - x0];
        // Source columns of the stretch inside, in the image as it lies.
        let s0 = (inside0 as i64 - dx) as usize;
        let s1 = (inside1 as i64 - dx) as usize;
        if aug.flip {
            // Mirrored column c is column w−1−c of the image: the stretch s0..s1 of the
            // mirror is w−s1..w−s0 of the image, read backwards.
            let src = &src_row[width - s1..width - s0];
            for (o, &p) in inside.iter_mut().zip(src.iter().rev()) {
                *o = p;
            }
        } else {
            inside.copy_from_slice(&src_row[s0..s1]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{SeedableRng, rngs::SmallRng};

    /// A 2-channel 3×4 image whose byte at (c, r, x) is 100c + 10r + x.
    fn known() -> (ImageShape, Vec<u8>) {
        let shape = ImageShape {
            channels: 2,
            height: 3,
            width: 4,
        };
        let mut image = Vec::new();
        for c in 0..2u8 {
            for r in 0..3u8 {
                for x in 0..4u8 {
                    image.push(100 * c + 10 * r + x);
                }
            }
        }
        (shape, image)
    }

    fn augmented(aug: Augment, cols: Range<usize>) -> Vec<u8> {
        let (shape, image) = known();
        let fill = vec![255u8; shape.dim()];
        let mut out = vec![0u8; cols.len()];
        augment_bytes(&shape, &image, aug, &fill, cols, &mut out);
        out
    }

    #[test]
    fn no_change_is_the_image() {
        let (shape, image) = known();
        assert_eq!(augmented(Augment::default(), 0..shape.dim()), image);
        assert!(Augment::default().is_identity());
    }

    /// One right and one up: each row reads the row below, one column to the left; the
    /// first column and the last row come from outside (255).
    #[test]
    fn a_known_shift_gives_known_pixels() {
        let out = augmented(
            Augment {
                flip: false,
                dx: 1,
                dy: -1,
            },
            0..24,
        );
        #[rustfmt::skip]
        let want = vec![
            255, 10, 11, 12,
            255, 20, 21, 22,
            255, 255, 255, 255,
            255, 110, 111, 112,
            255, 120, 121, 122,
            255, 255, 255, 255,
        ];
        assert_eq!(out, want);
    }

    /// Mirrored, then two left and one down.
    #[test]
    fn a_flip_then_a_shift() {
        let out = augmented(
            Augment {
                flip: true,
                dx: -2,
                dy: 1,
            },
            0..12,
        );
        // Mirrored row r is (10r+3, 10r+2, 10r+1, 10r); two left: (10r+1, 10r, fill, fill).
        #[rustfmt::skip]
        let want = vec![
            255, 255, 255, 255,
            1, 0, 255, 255,
            11, 10, 255, 255,
        ];
        assert_eq!(out, want);
    }

    /// A part of the columns (as a thread's half reads them), starting and ending inside
    /// pixel rows, is that part of the whole.
    #[test]
    fn any_columns_are_the_same_part_of_the_whole() {
        for aug in [
            Augment {
                flip: true,
                dx: 1,
                dy: 1,
            },
            Augment {
                flip: false,
                dx: -3,
                dy: 0,
            },
            Augment {
                flip: true,
                dx: 5,
                dy: -4,
            },
        ] {
            let whole = augmented(aug, 0..24);
            for (a, b) in [(0, 12), (12, 24), (3, 17), (5, 6)] {
                assert_eq!(augmented(aug, a..b), whole[a..b], "{aug:?} {a}..{b}");
            }
        }
    }

    #[test]
    fn the_fill_is_the_nearest_byte_to_the_mean() {
        assert_eq!(
            fill_bytes(&[0.0, 120.4, 120.6, 300.0]),
            vec![0, 120, 121, 255]
        );
    }

    #[test]
    fn random_shifts_stay_in_range_and_zero_draws_nothing() {
        let mut rng = SmallRng::seed_from_u64(1);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..2000 {
            let a = Augment::random(&mut rng, 0.0, 2);
            assert!(!a.flip && a.dx.abs() <= 2 && a.dy.abs() <= 2, "{a:?}");
            seen.insert((a.dx, a.dy));
        }
        assert_eq!(seen.len(), 25, "every shift in [−2, 2]² turns up");
        let (mut a, mut b) = (SmallRng::seed_from_u64(7), SmallRng::seed_from_u64(7));
        assert_eq!(Augment::random(&mut a, 0.0, 0), Augment::default());
        assert_eq!(
            a.random::<u64>(),
            b.random::<u64>(),
            "P = 0 draws no number"
        );
    }
}
