//! `trainviz embed`: a 2-D map (PCA or t-SNE) of a layer's outputs, written as a figure.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;

use super::figure_size::FigureSizeArgs;
use crate::data::{self, Normalizer};

use super::flags::TrainArgs;
use super::flags::by_name;

/// Options of `trainviz embed`.
#[derive(Debug, Args, Clone)]
pub struct EmbedArgs {
    /// The run's folder (under runs/).
    pub run: PathBuf,
    /// Layer to embed: 1 is the first hidden layer, the number of hidden layers + 1 the
    /// class scores (default: the last hidden layer, or the class scores without one); for
    /// a ConvNet (a run set with --layers) 1 is its first layer and the number of layers
    /// + 1 the class scores (default: the layer before them).
    #[arg(long)]
    pub layer: Option<usize>,
    /// pca or tsne (Barnes-Hut t-SNE, perplexity 30).
    #[arg(long, value_parser = by_name::<crate::train::analysis::Projection>, default_value = "tsne")]
    pub method: crate::train::analysis::Projection,
    /// Validation images embedded (at most 10,000).
    #[arg(long, default_value_t = 2000)]
    pub points: usize,
    /// Folder for embedding.png, embedding.svg and embedding.csv.
    #[arg(long)]
    pub out: PathBuf,
    /// The PNG's size.
    #[command(flatten)]
    pub figure: FigureSizeArgs,
    /// Also run the exact O(n²) t-SNE on the same points (at most 5,000) and print the
    /// share of 10 nearest neighbours each layout keeps, and both times.
    #[arg(long)]
    pub compare_exact: bool,
}

/// `trainviz embed`: the saved weights' layer on validation images, projected to 2-D and
/// written as a figure; prints the time taken (and with `--compare-exact`, the quality
/// against the exact method).
pub(super) fn embed_cmd(e: &EmbedArgs, global: &TrainArgs) -> Result<()> {
    use crate::train::analysis::{self, MAX_EMBEDDING_POINTS, Projection};
    let size = e.figure.size()?;
    if e.compare_exact && e.method != Projection::Tsne {
        bail!("--compare-exact compares two t-SNE methods: use it with --method tsne");
    }
    if e.points < 1 || e.points > MAX_EMBEDDING_POINTS {
        bail!("--points must be between 1 and {MAX_EMBEDDING_POINTS}");
    }
    let saved = crate::runs::SavedRun::load(&e.run)?;
    let saved_model = saved.model()?;
    let model = saved_model.view();
    let count = analysis::layer_count(model);
    let layer = chosen_layer(e.layer, count, saved.is_stack())?;
    let mut request = saved.settings.start.data_request();
    if global.data.is_some() {
        request.dir = global.data.clone();
    }
    let data = data::load(&request)?;
    if model.input_dim() != data.shape().dim() || model.classes() != data.num_classes() {
        bail!("the saved weights do not fit the run's data");
    }
    let norm = Normalizer::fit(&data.train, saved.settings.start.preprocess);
    // A wide layer (a convolution's maps) is embedded on fewer images, as in the window.
    let (points_used, note) =
        analysis::embedding_points(analysis::layer_width(model, layer), e.points);
    if let Some(note) = &note {
        println!("embedding {note}");
    }
    let (acts, labels) = analysis::layer_activations(model, &norm, &data.val, layer, points_used);
    if acts.nrows() == 0 {
        bail!("the run's data has no validation images to embed");
    }
    let start = Instant::now();
    let (points, axes) = project(e.method, &acts, start);
    let seconds = start.elapsed().as_secs_f64();
    let name = analysis::layer_name(model, layer);
    let layer_name = if layer + 1 == count {
        format!("the {name}")
    } else {
        name
    };
    let method = match e.method {
        Projection::Pca => "PCA",
        Projection::Tsne => "t-SNE",
    };
    println!(
        "{method} of {layer_name} on {} validation images: {seconds:.2} s",
        crate::report::figures::thousands(points.len())
    );
    if e.compare_exact && e.method == Projection::Tsne {
        compare_with_exact(&acts, &points, seconds)?;
    }
    let figure = crate::report::figures::embedding(
        &points,
        &labels,
        &saved.meta.class_names,
        &format!("{method} of {layer_name}"),
        &axes,
    );
    std::fs::create_dir_all(&e.out)
        .with_context(|| format!("cannot create {}", e.out.display()))?;
    for ext in ["png", "svg", "csv"] {
        let path = e.out.join(format!("embedding.{ext}"));
        crate::report::export_figure(&figure, &path, size)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// The 0-based layer `--layer` names (1-based; `count` is the class scores), by default the
/// layer before the class scores (an MLP's last hidden layer).
fn chosen_layer(layer: Option<usize>, count: usize, stack: bool) -> Result<usize> {
    Ok(match layer {
        None => (count - 1).max(1),
        Some(l) if (1..=count).contains(&l) => l,
        Some(l) if stack => bail!(
            "--layer {l}: this network has {count} layers, the class scores last; use 1 to \
             {count} (`trainviz layers` lists them)"
        ),
        Some(l) => bail!(
            "--layer {l}: this network has {} hidden layer(s); use 1 to {count}",
            count - 1
        ),
    } - 1)
}

/// `acts` projected to 2-D by `method`, and the axes' names; t-SNE prints how long its
/// neighbour search took since `start`.
fn project(
    method: crate::train::analysis::Projection,
    acts: &ndarray::Array2<f32>,
    start: Instant,
) -> (Vec<[f32; 2]>, [String; 2]) {
    use crate::train::analysis::{self, Projection, TsneSettings};
    match method {
        Projection::Pca => {
            let pca = analysis::pca2_with_variance(acts);
            (
                pca.points,
                analysis::axis_names(Projection::Pca, Some(pca.variance_share)),
            )
        }
        Projection::Tsne => {
            let mut search_done = None;
            let points = analysis::tsne2(acts, TsneSettings::default(), |f| {
                // The neighbour search and input similarities come first (a tenth).
                if f > 0.1 && search_done.is_none() {
                    search_done = Some(start.elapsed().as_secs_f64());
                }
                true
            });
            if let Some(s) = search_done {
                println!("neighbour search and input similarities: {s:.2} s");
            }
            (points, analysis::axis_names(Projection::Tsne, None))
        }
    }
}

/// `--compare-exact`: the exact t-SNE of `acts` beside the Barnes-Hut `points` (made in
/// `seconds`): how many of each point's 10 nearest neighbours each keeps, and the times.
fn compare_with_exact(
    acts: &ndarray::Array2<f32>,
    points: &[[f32; 2]],
    seconds: f64,
) -> Result<()> {
    use crate::train::analysis::{self, TsneSettings};
    if points.len() > 5000 {
        bail!("--compare-exact needs at most 5,000 points (the exact method is O(n²))");
    }
    let start = Instant::now();
    let exact = analysis::tsne2(acts, TsneSettings::default().exact(), |_| true);
    let exact_seconds = start.elapsed().as_secs_f64();
    println!(
        "share of 10 nearest neighbours kept: Barnes-Hut {:.4} ({seconds:.2} s), exact {:.4} ({exact_seconds:.2} s)",
        analysis::neighbour_preservation(acts, points, 10),
        analysis::neighbour_preservation(acts, &exact, 10),
    );
    Ok(())
}
