//! 2×2 max pooling with stride 2 over `height × width × channels` images.

use rayon::prelude::*;

use super::Shape;
use crate::model::Real;

/// The output shape of 2×2 pooling of `input` (an odd last row or column is dropped).
pub fn out_shape(input: Shape) -> Shape {
    Shape {
        h: input.h / 2,
        w: input.w / 2,
        c: input.c,
    }
}

/// Max-pools each image of `input` into `out` and writes, for every output value, the index
/// (within its image) of the input it came from into `argmax`. With `frozen`, `argmax` is read
/// instead: each output copies the input the last unfrozen pass chose (for numerical gradient
/// checks, which must not cross the max's kinks).
pub fn forward<F: Real>(
    input_shape: Shape,
    input: &[F],
    out: &mut [F],
    argmax: &mut [u32],
    frozen: bool,
) {
    let os = out_shape(input_shape);
    let (in_size, out_size) = (input_shape.size(), os.size());
    let c = input_shape.c;
    out.par_chunks_mut(out_size)
        .zip(argmax.par_chunks_mut(out_size))
        .zip(input.par_chunks(in_size))
        .for_each(|((o, am), img)| {
            if frozen {
                for (v, &a) in o.iter_mut().zip(am.iter()) {
                    *v = img[a as usize];
                }
                return;
            }
            for oy in 0..os.h {
                for ox in 0..os.w {
                    let base = (oy * os.w + ox) * c;
                    let corners = [
                        ((2 * oy) * input_shape.w + 2 * ox) * c,
                        ((2 * oy) * input_shape.w + 2 * ox + 1) * c,
                        ((2 * oy + 1) * input_shape.w + 2 * ox) * c,
                        ((2 * oy + 1) * input_shape.w + 2 * ox + 1) * c,
                    ];
                    for ch in 0..c {
                        let mut best = corners[0] + ch;
                        for &p in &corners[1..] {
                            if img[p + ch] > img[best] {
                                best = p + ch;
                            }
                        }
                        o[base + ch] = img[best];
                        am[base + ch] = best as u32;
                    }
                }
            }
        });
}

/// Routes each output's gradient to the input it came from; overwrites `d_input`.
pub fn backward<F: Real>(input_shape: Shape, d_out: &[F], argmax: &[u32], d_input: &mut [F]) {
    let out_size = out_shape(input_shape).size();
    d_input
        .par_chunks_mut(input_shape.size())
        .zip(d_out.par_chunks(out_size))
        .zip(argmax.par_chunks(out_size))
        .for_each(|((di, d), am)| {
            di.fill(F::zero());
            for (&g, &a) in d.iter().zip(am) {
                di[a as usize] = di[a as usize] + g;
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_largest_of_each_square_per_channel_and_routes_back() {
        // 2×4 image, 2 channels: channel 0 counts up, channel 1 counts down.
        let shape = Shape { h: 2, w: 4, c: 2 };
        let img: Vec<f64> = (0..8).flat_map(|p| [p as f64, -(p as f64)]).collect();
        let mut out = vec![0.0; 4];
        let mut am = vec![0u32; 4];
        forward(shape, &img, &mut out, &mut am, false);
        // Squares {0,1,4,5} and {2,3,6,7}.
        assert_eq!(out, vec![5.0, 0.0, 7.0, -2.0]);
        let mut back = vec![9.0; 16];
        backward(shape, &[1.0, 2.0, 3.0, 4.0], &am, &mut back);
        let mut want = vec![0.0; 16];
        want[5 * 2] = 1.0;
        want[1] = 2.0;
        want[7 * 2] = 3.0;
        want[2 * 2 + 1] = 4.0;
        assert_eq!(back, want);
    }
}
