//! The figures only a ConvNet has: its filters as pictures, the feature maps it makes of one
//! image, and the bar charts that compare runs of the course's third assignment (test
//! accuracy and training time per network).

use super::figures::{Figure, csv_field, titled};
use super::svg::{self, PALETTE, Tile};
use crate::data::{ImageSet, Normalizer};
use crate::format::{put, putln};
use crate::model::stack::Stack;
use crate::model::stack_views::{self, LayerFilters, LayerMaps};
use crate::model::templates::RgbPicture;
use crate::train::RunInfo;
use crate::words::class_name;

/// Most filters of one layer a figure shows (a wide layer's first ones; the CSV has all).
const MAX_FILTERS: usize = 64;
/// Most maps per layer the feature-map figure shows.
const MAX_MAPS: usize = 8;

/// A picture as a grid tile.
fn tile(label: String, p: &RgbPicture) -> Tile {
    Tile {
        label,
        width: p.width,
        height: p.height,
        rgb: p.pixels.iter().flatten().copied().collect(),
    }
}

/// One layer's filters as a labelled grid: id `filters` for the first convolution (in
/// colour), `filters_layer<i>` for deeper ones (a grey tile per input channel). The CSV
/// holds every weight of every filter, scaled as drawn, and each filter's range.
pub fn filters(layer: &LayerFilters, first: bool, run: Option<&RunInfo>) -> Figure {
    let shown = layer.pictures.len().min(MAX_FILTERS);
    // Colour filters one tile each; a deeper layer's as one sheet, a row per filter and a
    // column per input channel (tiles a few pixels high, one per filter, left a figure
    // thousands of pixels tall and mostly empty).
    let tiles: Vec<Tile> = if layer.channels == 3 {
        layer.pictures[..shown]
            .iter()
            .enumerate()
            .map(|(i, p)| tile(format!("{}", i + 1), p))
            .collect()
    } else if shown > layer.channels {
        // More filters than channels: a column per filter, so the sheet lies landscape as
        // the page does (64 rows of 32 tiles were a thin strip in its middle).
        vec![tile(
            format!(
                "rows: input channels 1–{}; columns: filters 1–{shown}",
                layer.channels
            ),
            &stack_views::filter_sheet_by_channel(layer, shown),
        )]
    } else {
        vec![tile(
            format!(
                "rows: filters 1–{shown}; columns: input channels 1–{}",
                layer.channels
            ),
            &stack_views::filter_sheet(layer, shown),
        )]
    };
    let what = if layer.channels == 3 {
        format!(
            "Filters of layer {} ({}, {}×{}, colour: the image's RGB)",
            layer.layer + 1,
            layer.name,
            layer.size,
            layer.size
        )
    } else {
        format!(
            "Filters of layer {} ({}, {}×{}, one grey tile per input channel of {})",
            layer.layer + 1,
            layer.name,
            layer.size,
            layer.size,
            layer.channels
        )
    };
    let more = if shown < layer.pictures.len() {
        format!(", first {shown} of {}", layer.pictures.len())
    } else {
        String::new()
    };
    let title = titled(&format!("{what}{more}"), run);
    let svg = svg::image_grid(&title, &tiles, 10);
    let mut csv = String::from("filter,min_weight,max_weight,row,column,red,green,blue\n");
    for (f, (p, (lo, hi))) in layer.pictures.iter().zip(&layer.ranges).enumerate() {
        for (i, px) in p.pixels.iter().enumerate() {
            putln!(
                csv,
                "{},{lo},{hi},{},{},{},{},{}",
                f + 1,
                i / p.width.max(1),
                i % p.width.max(1),
                px[0],
                px[1],
                px[2]
            );
        }
    }
    Figure {
        id: if first {
            "filters".into()
        } else {
            format!("filters_layer{}", layer.layer + 1)
        },
        title,
        svg,
        csv,
    }
}

/// The feature maps every layer makes of one image, a row per layer: the image first, then
/// each layer's first maps (grey, scaled over the whole layer so maps of one layer compare);
/// a dense layer's units fill a near-square tile, and the class scores' label names the
/// predicted class. `image` is the picture as the data set stores it, `caption` says which
/// image it is, `class_names` names the scores. The CSV holds every value of every map.
pub fn feature_maps(
    image: &RgbPicture,
    caption: &str,
    layers: &[LayerMaps],
    class_names: &[String],
    run: Option<&RunInfo>,
) -> Figure {
    let mut tiles = vec![tile(caption.to_string(), image)];
    // Empty tiles end a row, so that each layer starts on its own.
    let end_row = |tiles: &mut Vec<Tile>| {
        while !tiles.len().is_multiple_of(MAX_MAPS) {
            tiles.push(Tile {
                label: String::new(),
                width: 0,
                height: 0,
                rgb: Vec::new(),
            });
        }
    };
    end_row(&mut tiles);
    let last = layers.len().saturating_sub(1);
    for (i, l) in layers.iter().enumerate() {
        if l.shape.positions() == 1 {
            let values: Vec<f32> = l.maps.iter().map(|m| m[0]).collect();
            let label = if i == last {
                let best = values
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .map_or(0, |(k, _)| k);
                let class = class_name(class_names, best);
                format!("{}. scores: {class} highest", l.layer + 1)
            } else {
                format!("{}. {} ({} units)", l.layer + 1, l.name, values.len())
            };
            // Units in a near-square block, row by row; cells past the last stay black.
            let side = (values.len() as f64).sqrt().ceil().max(1.0) as usize;
            let rows = values.len().div_ceil(side);
            let mut cells = vec![f32::NAN; side * rows];
            cells[..values.len()].copy_from_slice(&values);
            tiles.push(tile(
                label,
                &stack_views::grey_picture(&cells, rows, side, l.range),
            ));
        } else {
            for (c, m) in l.maps.iter().take(MAX_MAPS).enumerate() {
                let label = if c == 0 {
                    format!("{}. {} #1", l.layer + 1, l.name)
                } else {
                    format!("#{}", c + 1)
                };
                tiles.push(tile(
                    label,
                    &stack_views::grey_picture(m, l.shape.h, l.shape.w, l.range),
                ));
            }
            end_row(&mut tiles);
        }
    }
    let title = titled(
        &format!(
            "Feature maps of {caption} (first {MAX_MAPS} maps per layer, grey scaled per layer)"
        ),
        run,
    );
    let svg = svg::image_grid(&title, &tiles, MAX_MAPS);
    let mut csv = String::from("layer,name,map,row,column,value\n");
    for l in layers {
        for (c, m) in l.maps.iter().enumerate() {
            for (i, v) in m.iter().enumerate() {
                putln!(
                    csv,
                    "{},{},{},{},{},{v}",
                    l.layer + 1,
                    csv_field(&l.name),
                    c + 1,
                    i / l.shape.w.max(1),
                    i % l.shape.w.max(1)
                );
            }
        }
    }
    Figure {
        id: "feature_maps".into(),
        title,
        svg,
        csv,
    }
}

/// Every ConvNet figure of a trained `stack`: each convolution's filters and the feature maps
/// of validation image `image` of `val` (normalised with `norm`, as training sees it).
/// Empty for a stack without convolutions and no validation image.
pub fn stack_figures(
    stack: &Stack<f32>,
    norm: &Normalizer,
    val: &ImageSet,
    image: usize,
    class_names: &[String],
    run: Option<&RunInfo>,
) -> Vec<Figure> {
    let mut out: Vec<Figure> = stack_views::filters(stack)
        .iter()
        .enumerate()
        .map(|(i, layer)| filters(layer, i == 0, run))
        .collect();
    if image < val.len() && norm.dim() == val.shape.dim() {
        let mut x = vec![0.0f32; norm.dim()];
        norm.write_row(val.image(image), None, &mut x);
        let maps = stack_views::feature_maps(stack, &x);
        let shape = val.shape;
        let picture = RgbPicture {
            width: shape.width,
            height: shape.height,
            pixels: val
                .rgb(image)
                .chunks_exact(3)
                .map(|p| [p[0], p[1], p[2]])
                .collect(),
        };
        let label = usize::from(val.labels[image]);
        let class = class_name(class_names, label);
        let caption = format!("validation image {} ({class})", image + 1);
        out.push(feature_maps(&picture, &caption, &maps, class_names, run));
    }
    out
}

/// What a report's ConvNet figures (filters, feature maps) are drawn from.
#[derive(Debug, Clone)]
pub enum ConvNetFigures {
    /// Not a layer stack, or no weights: no such figures.
    Absent,
    /// The figures, drawn (see [`stack_figures`]).
    Drawn(Vec<Figure>),
    /// They could not be drawn (the data could not be loaded…): the report says why.
    Unavailable(String),
}

/// One run in a comparison of networks: its name, test accuracy and seconds of training.
#[derive(Debug, Clone, PartialEq)]
pub struct RunBar {
    /// What the bar is labelled with (a preset's name, or the layers).
    pub name: String,
    /// Test accuracy in [0, 1].
    pub test_accuracy: f64,
    /// Seconds spent training: its steps and each epoch's evaluation (the run summary's
    /// `seconds`; loading data and the test set are not counted).
    pub train_seconds: f64,
}

/// A bar's name from the settings that make its run differ, (key, value) pairs: a layer
/// stack by its sized layers ("patchify 4:10, dense 50"), other settings as "key value";
/// at most 60 characters.
pub fn bar_name(values: &[(String, String)]) -> String {
    let parts: Vec<String> = values
        .iter()
        .map(|(k, v)| {
            if k == "layers" {
                let layers: Vec<&str> = v
                    .split(',')
                    .map(str::trim)
                    .filter(|l| l.contains(' '))
                    .collect();
                layers.join(", ")
            } else {
                format!("{k} {v}")
            }
        })
        .collect();
    crate::report::svg::ellipsize(&parts.join(", "), 60)
}

/// The two bar charts the third assignment asks for: `test_accuracy_bars` and
/// `training_time_bars`, one bar per run, in the order given.
pub fn comparison_bars(runs: &[RunBar], what: &str) -> [Figure; 2] {
    let names: Vec<String> = runs.iter().map(|r| r.name.clone()).collect();
    let acc: Vec<f64> = runs.iter().map(|r| r.test_accuracy).collect();
    let secs: Vec<f64> = runs.iter().map(|r| r.train_seconds).collect();
    let figure = |id: &str, title: String, y: &str, values: Vec<f64>, range, column: &str| {
        let svg = svg::bar_chart(
            &title,
            y,
            &names,
            &[("", PALETTE[0], values.clone())],
            range,
        );
        let mut csv = format!("run,{column}\n");
        for (n, v) in names.iter().zip(&values) {
            put!(csv, "{},{v}\n", csv_field(n));
        }
        Figure {
            id: id.into(),
            title,
            svg,
            csv,
        }
    };
    [
        figure(
            "test_accuracy_bars",
            format!("Test accuracy — {what}"),
            "test accuracy",
            acc,
            Some((0.0, 1.0)),
            "test_accuracy",
        ),
        figure(
            "training_time_bars",
            format!("Training time — {what}"),
            "seconds training (steps and evaluations)",
            secs,
            None,
            "train_seconds",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{ImageShape, Preprocess};
    use crate::model::InitKind;
    use crate::model::layers::{Shape, parse};
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    fn stack() -> Stack<f32> {
        let mut rng = SmallRng::seed_from_u64(1);
        Stack::new(
            &parse("patchify 2:4, relu, conv 3:3, relu, pool 2, dense 5, relu").expect("parses"),
            Shape { h: 8, w: 8, c: 3 },
            10,
            InitKind::He,
            0.0,
            &mut rng,
        )
        .expect("fits")
    }

    #[test]
    fn filters_figure_draws_every_filter_and_writes_every_weight() {
        let s = stack();
        let layers = stack_views::filters(&s);
        let first = filters(&layers[0], true, None);
        assert_eq!(first.id, "filters");
        assert!(first.title.contains("patchify 2:4") && first.title.contains("colour"));
        // 4 filters of 2×2 pixels: 16 pixel rectangles, plus the background.
        assert_eq!(first.svg.matches("<rect").count() - 1, 16);
        assert_eq!(first.csv.lines().count(), 1 + 16);
        let deeper = filters(&layers[1], false, None);
        assert_eq!(deeper.id, "filters_layer3");
        assert!(deeper.title.contains("input channel of 4"));
    }

    #[test]
    fn feature_maps_figure_has_the_image_and_each_layers_maps() {
        let s = stack();
        let x: Vec<f32> = (0..8 * 8 * 3).map(|i| (i % 7) as f32 * 0.2 - 0.6).collect();
        let maps = stack_views::feature_maps(&s, &x);
        let image = RgbPicture {
            width: 8,
            height: 8,
            pixels: vec![[10, 20, 30]; 64],
        };
        let names: Vec<String> = (0..10).map(|i| format!("name{i}")).collect();
        let f = feature_maps(&image, "validation image 1 (cat)", &maps, &names, None);
        assert_eq!(f.id, "feature_maps");
        for name in [
            "validation image 1 (cat)",
            "1. patchify 2:4 #1",
            "#4",
            "5. pool 2 #1",
            "6. dense 5 (5 units)",
            "8. scores: name",
        ] {
            assert!(f.svg.contains(name), "{name} is missing");
        }
        // Every value of every map is in the CSV.
        let values: usize = maps
            .iter()
            .map(|l| l.maps.iter().map(Vec::len).sum::<usize>())
            .sum();
        assert_eq!(f.csv.lines().count(), 1 + values);
    }

    #[test]
    fn a_stack_has_filters_for_each_convolution_and_maps_of_a_validation_image() {
        let s = stack();
        let shape = ImageShape {
            channels: 3,
            height: 8,
            width: 8,
        };
        let val = ImageSet {
            pixels: (0..2 * shape.dim()).map(|i| (i * 31 % 256) as u8).collect(),
            labels: vec![3, 1],
            shape,
        };
        let norm = Normalizer::fit(&val, Preprocess::default());
        let names: Vec<String> = (0..10).map(|i| format!("name{i}")).collect();
        let figures = stack_figures(&s, &norm, &val, 1, &names, None);
        let ids: Vec<&str> = figures.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["filters", "filters_layer3", "feature_maps"]);
        assert!(figures[2].title.contains("validation image 2 (name1)"));
        // Past the end of the set: filters only, no panic.
        assert_eq!(stack_figures(&s, &norm, &val, 9, &names, None).len(), 2);
    }

    #[test]
    fn comparison_bars_name_each_run() {
        let runs = [
            RunBar {
                name: "a3-f2".into(),
                test_accuracy: 0.5,
                train_seconds: 4.0,
            },
            RunBar {
                name: "a3-f4".into(),
                test_accuracy: 0.56,
                train_seconds: 3.4,
            },
        ];
        let [acc, time] = comparison_bars(&runs, "patchify nets");
        assert_eq!(acc.id, "test_accuracy_bars");
        assert_eq!(time.id, "training_time_bars");
        assert!(acc.svg.contains("a3-f2") && acc.svg.contains("a3-f4"));
        assert_eq!(acc.csv, "run,test_accuracy\na3-f2,0.5\na3-f4,0.56\n");
        assert_eq!(time.csv, "run,train_seconds\na3-f2,4\na3-f4,3.4\n");
    }
}
