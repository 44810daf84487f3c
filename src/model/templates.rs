//! Pictures of weights: each class's weight row (or each hidden unit's) as an image, scaled
//! to the full colour range per picture, for display and export.

use super::Network;
use crate::data::ImageShape;

/// An 8-bit RGB picture, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct RgbPicture {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// `width · height` pixels.
    pub pixels: Vec<[u8; 3]>,
}

/// Turns one weight vector laid out as `shape` (channel planes) into a picture, mapping its
/// minimum to 0 and its maximum to 255 (grey images are repeated in all three channels).
pub fn weights_to_picture(weights: &[f32], shape: ImageShape) -> RgbPicture {
    let (lo, hi) = weights
        .iter()
        .filter(|v| v.is_finite())
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let range = if hi > lo { hi - lo } else { 1.0 };
    let plane = shape.height * shape.width;
    let to_u8 = |v: f32| {
        if v.is_finite() {
            ((v - lo) / range * 255.0).round().clamp(0.0, 255.0) as u8
        } else {
            0
        }
    };
    let pixels = (0..plane)
        .map(|p| {
            if shape.channels >= 3 {
                [
                    to_u8(weights[p]),
                    to_u8(weights[plane + p]),
                    to_u8(weights[2 * plane + p]),
                ]
            } else {
                let g = to_u8(weights[p]);
                [g, g, g]
            }
        })
        .collect();
    RgbPicture {
        width: shape.width,
        height: shape.height,
        pixels,
    }
}

/// One picture per class for a linear classifier (its weight rows); for an MLP, the first
/// layer's `max_units` most important units, importance being the norm of the weights that
/// leave the unit. Returns (label suffix, picture): the class index or the unit index.
pub fn templates(
    net: &Network<f32>,
    shape: ImageShape,
    max_units: usize,
) -> Vec<(usize, RgbPicture)> {
    let first = &net.layers[0].weights;
    if first.ncols() != shape.dim() {
        return Vec::new();
    }
    let picture = |row: usize| {
        let w: Vec<f32> = first.row(row).to_vec();
        weights_to_picture(&w, shape)
    };
    if net.layers.len() == 1 {
        return (0..first.nrows()).map(|k| (k, picture(k))).collect();
    }
    let next = &net.layers[1].weights;
    let mut importance: Vec<(usize, f32)> = (0..first.nrows())
        .map(|u| (u, next.column(u).iter().map(|v| v * v).sum::<f32>()))
        .collect();
    importance.sort_by(|a, b| b.1.total_cmp(&a.1));
    importance
        .into_iter()
        .take(max_units)
        .map(|(u, _)| (u, picture(u)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_each_picture_to_full_range() {
        let shape = ImageShape {
            channels: 3,
            height: 1,
            width: 2,
        };
        let p = weights_to_picture(&[-1.0, 1.0, 0.0, 0.0, 1.0, -1.0], shape);
        assert_eq!(p.pixels, vec![[0, 128, 255], [255, 128, 0]]);
    }
}
