//! What a layer stack (a ConvNet) looks like from inside, as pictures and numbers: its
//! filters (the first convolution's in colour, deeper ones per input channel in grey) and
//! the feature maps every layer makes of one image. The window's Filters and Feature maps
//! views and the report's `filters.*` and `feature_maps.*` figures draw these.

use ndarray::ArrayView2;

use super::layers::{LayerSpec, Shape};
use super::stack::{Stack, StackLayer, StackPass, StackWorkspace};
use super::templates::RgbPicture;

/// The learned filters of one convolution or patchify layer.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerFilters {
    /// The layer's index in the stack.
    pub layer: usize,
    /// The layer as the grammar writes it (`patchify 4:10`).
    pub name: String,
    /// Filter side in pixels.
    pub size: usize,
    /// Input channels each filter reads.
    pub channels: usize,
    /// One picture per filter: in colour when the filter reads three channels (the image's
    /// RGB), otherwise one grey tile per input channel, side by side, each `size` wide with
    /// one pixel of gap. Every filter is scaled on its own: its minimum black, its maximum
    /// white.
    pub pictures: Vec<RgbPicture>,
    /// Each filter's smallest and largest weight, before scaling.
    pub ranges: Vec<(f32, f32)>,
}

/// The filters of every convolution and patchify layer, first layer first. A stack without
/// one gives an empty list.
pub fn filters(stack: &Stack<f32>) -> Vec<LayerFilters> {
    stack
        .specs
        .iter()
        .zip(&stack.layers)
        .enumerate()
        .filter_map(|(i, (spec, layer))| match (spec, layer) {
            (
                LayerSpec::Patchify { .. } | LayerSpec::Conv { .. },
                StackLayer::Linear { weights, .. },
            ) => {
                let win = stack.window(i)?;
                Some(layer_filters(
                    i,
                    spec,
                    weights.view(),
                    win.k,
                    stack.shapes[i].c,
                ))
            }
            _ => None,
        })
        .collect()
}

/// The pictures of one layer's `weights` (one row per filter, columns ordered row, column,
/// channel).
fn layer_filters(
    layer: usize,
    spec: &LayerSpec,
    weights: ArrayView2<f32>,
    size: usize,
    channels: usize,
) -> LayerFilters {
    let mut pictures = Vec::with_capacity(weights.nrows());
    let mut ranges = Vec::with_capacity(weights.nrows());
    for row in weights.rows() {
        let (lo, hi) = finite_range(row.iter().copied());
        ranges.push((lo, hi));
        let scale = |v: f32| -> u8 {
            if !v.is_finite() {
                0
            } else if hi > lo {
                ((v - lo) / (hi - lo) * 255.0).round().clamp(0.0, 255.0) as u8
            } else {
                128
            }
        };
        let at = |y: usize, x: usize, ch: usize| row[(y * size + x) * channels + ch];
        let picture = if channels == 3 {
            RgbPicture {
                width: size,
                height: size,
                pixels: (0..size * size)
                    .map(|p| {
                        let (y, x) = (p / size, p % size);
                        [scale(at(y, x, 0)), scale(at(y, x, 1)), scale(at(y, x, 2))]
                    })
                    .collect(),
            }
        } else {
            // Tiles side by side with a one-pixel gap, which stays black.
            let width = channels * (size + 1) - 1;
            let mut pixels = vec![[0u8; 3]; width * size];
            for ch in 0..channels {
                for y in 0..size {
                    for x in 0..size {
                        let g = scale(at(y, x, ch));
                        pixels[y * width + ch * (size + 1) + x] = [g, g, g];
                    }
                }
            }
            RgbPicture {
                width,
                height: size,
                pixels,
            }
        };
        pictures.push(picture);
    }
    LayerFilters {
        layer,
        name: spec.to_string(),
        size,
        channels,
        pictures,
        ranges,
    }
}

/// A deeper layer's filters as one picture: a row per filter, a column of tiles per input
/// channel, one black pixel between rows (each filter scaled on its own, as drawn alone).
pub fn filter_sheet(layer: &LayerFilters, filters: usize) -> RgbPicture {
    let shown = &layer.pictures[..filters.min(layer.pictures.len())];
    let width = shown.first().map_or(0, |p| p.width);
    let tile = layer.size;
    let height = (shown.len() * (tile + 1)).saturating_sub(1);
    let mut pixels = vec![[0u8; 3]; width * height];
    for (f, p) in shown.iter().enumerate() {
        let top = f * (tile + 1);
        for (i, px) in p.pixels.iter().enumerate() {
            let (y, x) = (i / p.width.max(1), i % p.width.max(1));
            if let Some(out) = pixels.get_mut((top + y) * width + x) {
                *out = *px;
            }
        }
    }
    RgbPicture {
        width,
        height,
        pixels,
    }
}

/// [`filter_sheet`] turned on its side: a row per input channel, a column per filter (a
/// layer with more filters than channels then fits a landscape page).
pub fn filter_sheet_by_channel(layer: &LayerFilters, filters: usize) -> RgbPicture {
    let shown = &layer.pictures[..filters.min(layer.pictures.len())];
    let tile = layer.size;
    let channels = layer.channels;
    let width = (shown.len() * (tile + 1)).saturating_sub(1);
    let height = (channels * (tile + 1)).saturating_sub(1);
    let mut pixels = vec![[0u8; 3]; width * height];
    for (f, p) in shown.iter().enumerate() {
        for ch in 0..channels {
            for y in 0..tile {
                for x in 0..tile {
                    let from = p.pixels.get(y * p.width + ch * (tile + 1) + x);
                    let to = (ch * (tile + 1) + y) * width + f * (tile + 1) + x;
                    if let (Some(v), Some(out)) = (from, pixels.get_mut(to)) {
                        *out = *v;
                    }
                }
            }
        }
    }
    RgbPicture {
        width,
        height,
        pixels,
    }
}

/// A map of `h × w` values as grey pixels, scaled from `range` (its low end black, its high
/// end white; a value that is not finite, or a range of one value, black).
pub fn grey_picture(values: &[f32], h: usize, w: usize, (lo, hi): (f32, f32)) -> RgbPicture {
    let span = hi - lo;
    RgbPicture {
        width: w,
        height: h,
        pixels: values
            .iter()
            .map(|&v| {
                let g = if span > 0.0 && v.is_finite() {
                    ((v - lo) / span * 255.0).round().clamp(0.0, 255.0) as u8
                } else {
                    0
                };
                [g, g, g]
            })
            .collect(),
    }
}

/// The smallest and largest finite value (0, 0 when there is none).
fn finite_range(values: impl Iterator<Item = f32>) -> (f32, f32) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi { (0.0, 0.0) } else { (lo, hi) }
}

/// What one layer made of one image.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerMaps {
    /// The layer's index in the stack.
    pub layer: usize,
    /// The layer as the grammar writes it; `output 10` for the class scores.
    pub name: String,
    /// The output's shape: `h × w × c` maps, or `1 × 1 × n` values of a dense layer.
    pub shape: Shape,
    /// One map per channel, `h · w` values row by row.
    pub maps: Vec<Vec<f32>>,
    /// The smallest and largest value over all maps.
    pub range: (f32, f32),
}

/// Every layer's output for one image `x` (normalised as training sees it, channel planes),
/// in evaluation mode (running averages, no dropout): the feature maps, in stack order,
/// ending with the class scores.
pub fn feature_maps(stack: &Stack<f32>, x: &[f32]) -> Vec<LayerMaps> {
    let mut ws = StackWorkspace::new(stack, 1);
    let Ok(input) = ArrayView2::from_shape((1, x.len()), x) else {
        return Vec::new();
    };
    if x.len() != stack.input_shape().size() {
        return Vec::new();
    }
    stack.forward(input, &mut ws, StackPass::Eval);
    let last = stack.specs.len() - 1;
    (0..stack.specs.len())
        .map(|i| {
            let shape = stack.shapes[i + 1];
            let out = ws.output(i + 1);
            let values: Vec<f32> = out.row(0).to_vec();
            let positions = shape.positions();
            let maps = (0..shape.c)
                .map(|ch| (0..positions).map(|p| values[p * shape.c + ch]).collect())
                .collect();
            LayerMaps {
                layer: i,
                name: if i == last {
                    format!("output {}", shape.c)
                } else {
                    stack.specs[i].to_string()
                },
                shape,
                maps,
                range: finite_range(values.iter().copied()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::InitKind;
    use crate::model::layers::parse;
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    fn stack(text: &str) -> Stack<f32> {
        let specs = parse(text).expect("a good stack");
        let mut rng = SmallRng::seed_from_u64(3);
        Stack::new(
            &specs,
            Shape { h: 8, w: 8, c: 3 },
            10,
            InitKind::He,
            0.0,
            &mut rng,
        )
        .expect("fits 8×8×3")
    }

    #[test]
    fn first_filters_are_colour_pictures_scaled_per_filter() {
        let s = stack("patchify 2:4, relu, conv 3:5, relu, dense 6, relu");
        let f = filters(&s);
        assert_eq!(f.len(), 2);
        assert_eq!((f[0].layer, f[0].size, f[0].channels), (0, 2, 3));
        assert_eq!(f[0].pictures.len(), 4);
        assert_eq!((f[0].pictures[0].width, f[0].pictures[0].height), (2, 2));
        // Scaled on its own: some channel of some pixel is black and one is white.
        for p in &f[0].pictures {
            let flat: Vec<u8> = p.pixels.iter().flatten().copied().collect();
            assert_eq!(flat.iter().min(), Some(&0));
            assert_eq!(flat.iter().max(), Some(&255));
        }
        // The deeper layer reads 4 channels: 4 grey 3×3 tiles with a gap, per filter.
        assert_eq!((f[1].layer, f[1].size, f[1].channels), (2, 3, 4));
        assert_eq!(f[1].pictures.len(), 5);
        assert_eq!((f[1].pictures[0].width, f[1].pictures[0].height), (15, 3));
        assert!(
            f[1].pictures[0]
                .pixels
                .iter()
                .all(|p| p[0] == p[1] && p[1] == p[2])
        );
        assert_eq!(f[1].name, "conv 3:5");
        // As one sheet: 5 rows of 3 pixels with 4 gaps, 15 wide; row 2 is filter 2.
        let sheet = filter_sheet(&f[1], 64);
        assert_eq!((sheet.width, sheet.height), (15, 19));
        assert_eq!(sheet.pixels[4 * 15..5 * 15], f[1].pictures[1].pixels[..15]);
        assert!(sheet.pixels[3 * 15..4 * 15].iter().all(|p| *p == [0, 0, 0]));
        // On its side: 4 rows of channels, 5 columns of filters, 19 × 15; filter 2's tile
        // of channel 3 sits in column 2, row 3.
        let side = filter_sheet_by_channel(&f[1], 64);
        assert_eq!((side.width, side.height), (19, 15));
        for y in 0..3 {
            for x in 0..3 {
                assert_eq!(
                    side.pixels[(2 * 4 + y) * 19 + 4 + x],
                    f[1].pictures[1].pixels[y * 15 + 2 * 4 + x]
                );
            }
        }
    }

    #[test]
    fn a_filter_picture_puts_each_weight_where_it_reads() {
        // A 2×2 RGB filter whose weights count up in (row, column, channel) order: the
        // picture's red channel rises left to right, then top to bottom.
        let mut s = stack("patchify 2:1, relu");
        if let StackLayer::Linear { weights, .. } = &mut s.layers[0] {
            for (i, w) in weights.iter_mut().enumerate() {
                *w = i as f32;
            }
        }
        let f = filters(&s);
        let p = &f[0].pictures[0];
        assert_eq!(f[0].ranges[0], (0.0, 11.0));
        let red: Vec<u8> = p.pixels.iter().map(|px| px[0]).collect();
        assert_eq!(red, vec![0, 70, 139, 209]);
        assert_eq!(p.pixels[3], [209, 232, 255]);
    }

    #[test]
    fn feature_maps_are_the_layers_outputs_per_channel() {
        let s = stack("conv 3:4, relu, pool 2, dense 5, relu");
        let x: Vec<f32> = (0..8 * 8 * 3)
            .map(|i| ((i * 37) % 11) as f32 * 0.1 - 0.5)
            .collect();
        let maps = feature_maps(&s, &x);
        let names: Vec<&str> = maps.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(
            names,
            ["conv 3:4", "relu", "pool 2", "dense 5", "relu", "output 10"]
        );
        assert_eq!(maps[0].maps.len(), 4);
        assert_eq!(maps[0].maps[0].len(), 64);
        assert_eq!(maps[2].maps[0].len(), 16);
        assert!(maps[1].range.0 >= 0.0, "ReLU's output is not negative");
        // The class scores agree with an evaluation pass over the same image.
        let mut ws = StackWorkspace::new(&s, 1);
        let input = ArrayView2::from_shape((1, x.len()), &x[..]).expect("one row");
        s.forward(input, &mut ws, StackPass::Eval);
        let scores: Vec<f32> = ws.scores().row(0).to_vec();
        let ours: Vec<f32> = maps[5].maps.iter().map(|m| m[0]).collect();
        assert_eq!(scores, ours);
        // ReLU keeps the positive part of the convolution's map.
        for (c, r) in maps[0].maps[1].iter().zip(&maps[1].maps[1]) {
            assert_eq!(c.max(0.0), *r);
        }
        // A wrong-sized image gives nothing rather than a panic.
        assert!(feature_maps(&s, &x[..10]).is_empty());
    }
}
