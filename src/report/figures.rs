//! The figures of a run, built from what the engine reports (per-epoch metrics, the
//! weights, the test evaluation), each with the CSV of its numbers.

pub use super::figure_text::run_label;
pub(crate) use super::figure_text::{csv_field, titled};
use super::layer_figures::{LayerMetric, layer_metric, unit_activation};
use super::svg::{self, HistogramPanel, PALETTE, Series, TABLEAU10, Tile};
use crate::data::{ImageSet, ImageShape, Normalizer};
use crate::model::{LossKind, Network};
use crate::train::analysis;
use crate::train::metrics::TRUTH_BINS;
use crate::train::{EpochMetrics, Evaluation, Histogram, RunInfo};
use crate::words::{Words, class_name};

/// Most first-layer units an MLP's template figure shows.
const MAX_TEMPLATE_UNITS: usize = 20;

/// Everything a run's figures are drawn from.
#[derive(Clone, Copy)]
pub struct RunRecord<'a> {
    /// Data set, class names and settings of the run.
    pub info: &'a RunInfo,
    /// Per-epoch metrics, in order.
    pub history: &'a [EpochMetrics],
    /// The latest weights.
    pub network: Option<&'a Network<f32>>,
    /// The test-set evaluation, once there is one.
    pub test: Option<&'a Evaluation>,
}

/// One figure: an SVG drawing and the CSV of the numbers in it.
#[derive(Debug, Clone)]
pub struct Figure {
    /// File stem, e.g. "confusion_test".
    pub id: String,
    /// Title, as drawn.
    pub title: String,
    /// The drawing.
    pub svg: String,
    /// The data, with a header row.
    pub csv: String,
}

/// Which per-epoch curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    /// Mean loss + λ‖W‖².
    Cost,
    /// Mean loss.
    Loss,
    /// Fraction correct.
    Accuracy,
}

impl Curve {
    /// All three, in report order.
    pub const ALL: [Curve; 3] = [Curve::Cost, Curve::Loss, Curve::Accuracy];
    fn name(self) -> &'static str {
        match self {
            Curve::Cost => "cost",
            Curve::Loss => "loss",
            Curve::Accuracy => "accuracy",
        }
    }
    fn value(self, e: &Evaluation) -> f64 {
        match self {
            Curve::Cost => e.cost,
            Curve::Loss => e.loss,
            Curve::Accuracy => e.accuracy,
        }
    }
    /// (epoch, value) of this curve on the validation (or training) set of each epoch.
    pub fn points(self, history: &[EpochMetrics], validation: bool) -> Vec<(f64, f64)> {
        history
            .iter()
            .map(|m| {
                let e = if validation { &m.val } else { &m.train };
                (m.epoch as f64, self.value(e))
            })
            .collect()
    }
}

/// Training and validation `curve` per epoch.
pub fn curve(record: &RunRecord<'_>, curve: Curve) -> Figure {
    let name = curve.name();
    let train = curve.points(record.history, false);
    let val = curve.points(record.history, true);
    let title = titled(
        &format!("{} per epoch", capitalise(name)),
        Some(record.info),
    );
    let markers: Vec<(f64, String)> = record
        .info
        .settings
        .markers()
        .into_iter()
        .map(|(_, epoch, text)| (epoch as f64, text))
        .collect();
    let svg = svg::line_chart_marked(
        &title,
        "epoch",
        name,
        &training_and_validation(&train, &val),
        &markers,
    );
    let mut csv = format!("epoch,train_{name},val_{name}\n");
    for (t, v) in train.iter().zip(&val) {
        crate::format::putln!(csv, "{},{},{}", t.0, t.1, v.1);
    }
    Figure {
        id: name.to_string(),
        title,
        svg,
        csv,
    }
}

/// Training and validation `curve` against the update step, from every evaluation of a run
/// that evaluates every few steps (`points`, in step order: within epochs and at their ends);
/// the live changes are marked at their step and the CSV gives each point's epoch too.
pub fn curve_per_step(
    record: &RunRecord<'_>,
    curve: Curve,
    points: &[crate::train::steps::EvalPoint],
) -> Figure {
    let name = curve.name();
    let value = |s: &crate::train::steps::PointScores| match curve {
        Curve::Cost => s.cost,
        Curve::Loss => s.loss,
        Curve::Accuracy => s.accuracy,
    };
    let train: Vec<(f64, f64)> = points
        .iter()
        .map(|p| (p.step as f64, value(&p.train)))
        .collect();
    let val: Vec<(f64, f64)> = points
        .iter()
        .map(|p| (p.step as f64, value(&p.val)))
        .collect();
    let every = record.info.settings.start.eval_every;
    let title = format!(
        "{} every {every} update steps — {}, {}",
        capitalise(name),
        record.info.dataset,
        record.info.settings.title()
    );
    let markers: Vec<(f64, String)> = record
        .info
        .settings
        .markers()
        .into_iter()
        .map(|(step, _, text)| (step as f64, text))
        .collect();
    // The epochs as a second scale, in the axis name: where they fall in steps.
    let per_epoch = points
        .iter()
        .find(|p| p.epoch == 1.0)
        .map(|p| format!("update step (1 epoch = {} steps)", p.step));
    let svg = svg::line_chart_marked(
        &title,
        per_epoch.as_deref().unwrap_or("update step"),
        name,
        &training_and_validation(&train, &val),
        &markers,
    );
    let mut csv = format!("step,epoch,train_{name},val_{name}\n");
    for (p, (t, v)) in points.iter().zip(train.iter().zip(&val)) {
        crate::format::putln!(csv, "{},{},{},{}", p.step, p.epoch, t.1, v.1);
    }
    Figure {
        id: name.to_string(),
        title,
        svg,
        csv,
    }
}

/// Several runs' validation (or training) `curve` on the same axes, each labelled.
pub fn overlay(runs: &[(String, &[EpochMetrics])], curve: Curve, validation: bool) -> Figure {
    overlay_noted(runs, curve, validation, None)
}

/// [`overlay`] with `note` in brackets after the title (what the curves measure, where it
/// is not what the runs trained on).
pub fn overlay_noted(
    runs: &[(String, &[EpochMetrics])],
    curve: Curve,
    validation: bool,
    note: Option<&str>,
) -> Figure {
    let name = curve.name();
    let set = if validation { "validation" } else { "training" };
    let series: Vec<Series> = runs
        .iter()
        .enumerate()
        .map(|(i, (label, history))| Series {
            name: label.clone(),
            points: curve.points(history, validation),
            colour: PALETTE[i % PALETTE.len()],
            dash: svg::overlay_dash(i),
        })
        .collect();
    let mut title = format!("{} {name} of {} runs", capitalise(set), runs.len());
    if let Some(note) = note {
        title = format!("{title} ({note})");
    }
    let svg = svg::line_chart(&title, "epoch", name, &series);
    let mut csv = format!("run,epoch,{set}_{name}\n");
    for s in &series {
        for (x, y) in &s.points {
            crate::format::putln!(csv, "{},{x},{y}", csv_field(&s.name));
        }
    }
    Figure {
        id: format!("overlay_{set}_{name}"),
        title,
        svg,
        csv,
    }
}

/// The per-step mini-batch loss: the raw values (thinned) and their moving average.
pub fn step_loss(raw: &[(f64, f64)], smoothed: &[(f64, f64)], smoothing: f64) -> Figure {
    step_loss_marked(raw, smoothed, smoothing, &[], None)
}

/// [`step_loss`] with the live changes of the run marked at their (fractional) epoch, the
/// title naming the run when `run` is known.
pub fn step_loss_marked(
    raw: &[(f64, f64)],
    smoothed: &[(f64, f64)],
    smoothing: f64,
    markers: &[(f64, String)],
    run: Option<&RunInfo>,
) -> Figure {
    const MAX_POINTS: usize = 2000;
    let thin = |v: &[(f64, f64)]| -> Vec<(f64, f64)> {
        let stride = v.len().div_ceil(MAX_POINTS).max(1);
        v.iter().step_by(stride).copied().collect()
    };
    let title = titled("Mini-batch loss per step", run);
    let svg = svg::line_chart_marked(
        &title,
        "epoch",
        "loss",
        &[
            Series {
                name: "each mini-batch".into(),
                points: thin(raw),
                // Grey: the raw losses are the background to the average.
                colour: "#999999",
                dash: None,
            },
            Series {
                name: format!("moving average ({smoothing:.2})"),
                points: thin(smoothed),
                colour: PALETTE[0],
                dash: None,
            },
        ],
        markers,
    );
    let mut csv = String::from("epoch,batch_loss,smoothed\n");
    for (r, s) in raw.iter().zip(smoothed) {
        crate::format::putln!(csv, "{},{},{}", r.0, r.1, s.1);
    }
    Figure {
        id: "step_loss".into(),
        title,
        svg,
        csv,
    }
}

/// η against the update step, as the run used it (`points`: global step, η), whatever the
/// schedule (constant, exponential, step, cyclic), with the live changes marked at their step.
pub fn eta_per_step(points: &[(f64, f64)], settings: &crate::train::RunSettings) -> Figure {
    const MAX_POINTS: usize = 4000;
    // Keep each stride's first point and the last one: a cycle's corners are those of the
    // drawing at any length the figure can show.
    let stride = points.len().div_ceil(MAX_POINTS).max(1);
    let mut drawn: Vec<(f64, f64)> = points.iter().step_by(stride).copied().collect();
    if let Some(&last) = points.last()
        && drawn.last() != Some(&last)
    {
        drawn.push(last);
    }
    let schedule = settings.start.schedule.label().to_lowercase();
    let title = format!("Learning rate η per update step — {schedule} schedule");
    let markers: Vec<(f64, String)> = settings
        .markers()
        .into_iter()
        .map(|(step, _, text)| (step as f64, text))
        .collect();
    let svg = svg::line_chart_marked(
        &title,
        "update step",
        "η",
        &[Series {
            name: "η used by the step".into(),
            points: drawn,
            colour: PALETTE[0],
            dash: None,
        }],
        &markers,
    );
    let mut csv = String::from("step,eta\n");
    for (step, eta) in points {
        crate::format::putln!(csv, "{step},{eta}");
    }
    Figure {
        id: "eta".into(),
        title,
        svg,
        csv,
    }
}

/// Where the live changes of a run fall on the step-loss plot: at the x of the first
/// mini-batch trained with the new values (`x_of_step` gives a step's x, when known), or at
/// the epoch the change took effect when that step is unknown.
pub fn step_markers(
    settings: &crate::train::RunSettings,
    x_of_step: impl Fn(usize) -> Option<f64>,
) -> Vec<(f64, String)> {
    settings
        .markers()
        .into_iter()
        .map(|(step, epoch, text)| (x_of_step(step).unwrap_or(epoch as f64), text))
        .collect()
}

/// The gradient check: largest and mean relative error per parameter, as log10 bars.
pub fn gradient_check(report: &[crate::model::gradcheck::ParamCheck]) -> Figure {
    let names: Vec<String> = report.iter().map(|p| p.name.clone()).collect();
    let log = |v: f64| v.max(1e-16).log10();
    let groups = vec![
        (
            "largest",
            PALETTE[1],
            report.iter().map(|p| log(p.max_rel_error)).collect(),
        ),
        (
            "mean",
            PALETTE[0],
            report.iter().map(|p| log(p.mean_rel_error)).collect(),
        ),
    ];
    let title = "Gradient check: relative error per parameter".to_string();
    let svg = svg::bar_chart(&title, "log10 relative error", &names, &groups, None);
    let mut csv = String::from("parameter,values,max_rel_error,mean_rel_error\n");
    for p in report {
        crate::format::putln!(
            csv,
            "{},{},{},{}",
            p.name,
            p.count,
            p.max_rel_error,
            p.mean_rel_error
        );
    }
    Figure {
        id: "gradient_check".into(),
        title,
        svg,
        csv,
    }
}

/// A page of the predictions gallery: each image labelled "true → predicted (p)"; the CSV
/// lists every prediction given, with the top 3.
pub fn predictions(
    shown: &[(&crate::train::analysis::Prediction, Vec<u8>)],
    all: &[&crate::train::analysis::Prediction],
    shape: ImageShape,
    class_names: &[String],
) -> Figure {
    let name = |c: u8| class_name(class_names, usize::from(c));
    let tiles: Vec<Tile> = shown
        .iter()
        .map(|(p, rgb)| Tile {
            label: format!(
                "{} → {} {:.0}%",
                name(p.label),
                name(p.predicted()),
                100.0 * p.top3[0].1
            ),
            width: shape.width,
            height: shape.height,
            rgb: rgb.clone(),
        })
        .collect();
    let title = "Predictions: true class → predicted (probability)".to_string();
    let svg = svg::image_grid(&title, &tiles, 4);
    let mut csv = String::from("index,true,first,p1,second,p2,third,p3\n");
    for p in all {
        crate::format::put!(csv, "{},{}", p.index, csv_field(&name(p.label)));
        for (c, prob) in p.top3 {
            crate::format::put!(csv, ",{},{prob}", csv_field(&name(c)));
        }
        csv.push('\n');
    }
    Figure {
        id: "predictions".into(),
        title,
        svg,
        csv,
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// The name people use for the set with the short id `set` ("val" → "validation").
fn set_name(set: &str) -> &str {
    match set {
        "train" => "training",
        "val" => "validation",
        other => other,
    }
}

/// The confusion matrix of `eval` on the set called `set`, as counts or row-normalised; the
/// subtitle names the run when `run` is known.
pub fn confusion(
    eval: &Evaluation,
    class_names: &[String],
    set: &str,
    normalised: bool,
    run: Option<&RunInfo>,
) -> Figure {
    let k = eval.classes();
    let names = padded_names(class_names, k);
    let row_totals: Vec<u32> = (0..k)
        .map(|r| eval.confusion[r * k..(r + 1) * k].iter().sum())
        .collect();
    let fraction = |r: usize, c: usize| {
        let total = row_totals[r];
        if total == 0 {
            0.0
        } else {
            f64::from(eval.confusion[r * k + c]) / f64::from(total)
        }
    };
    let shade: Vec<f64> = (0..k * k).map(|i| fraction(i / k, i % k)).collect();
    let text: Vec<String> = (0..k * k)
        .map(|i| {
            if normalised {
                format!("{:.0}", 100.0 * shade[i])
            } else {
                eval.confusion[i].to_string()
            }
        })
        .collect();
    let title = format!(
        "Confusion matrix, {} set ({})",
        set_name(set),
        if normalised {
            "% of each true class"
        } else {
            "counts"
        }
    );
    // The title says counts or % already; the subtitle adds what it does not.
    let subtitle = titled(
        &format!(
            "accuracy {:.1} % of {} images",
            100.0 * eval.accuracy,
            thousands(eval.count)
        ),
        run,
    );
    let svg = svg::heatmap(
        &title,
        &subtitle,
        ("true class", "predicted class"),
        &names,
        &shade,
        &text,
    );
    let mut csv = String::from("true\\predicted");
    for n in &names {
        crate::format::put!(csv, ",{}", csv_field(n));
    }
    csv.push('\n');
    for (r, name) in names.iter().enumerate() {
        csv.push_str(&csv_field(name));
        for c in 0..k {
            if normalised {
                crate::format::put!(csv, ",{:.6}", fraction(r, c));
            } else {
                crate::format::put!(csv, ",{}", eval.confusion[r * k + c]);
            }
        }
        csv.push('\n');
    }
    let suffix = if normalised { "_normalised" } else { "" };
    Figure {
        id: format!("confusion_{set}{suffix}"),
        title,
        svg,
        csv,
    }
}

/// Class names, or "class i" where there are fewer names than classes.
fn padded_names(names: &[String], k: usize) -> Vec<String> {
    (0..k).map(|i| class_name(names, i)).collect()
}

/// Accuracy per class on each named set.
pub fn per_class_accuracy(sets: &[(&str, &Evaluation)], class_names: &[String]) -> Figure {
    let k = sets.first().map_or(class_names.len(), |s| s.1.classes());
    let names = padded_names(class_names, k);
    let groups: Vec<(&str, &'static str, Vec<f64>)> = sets
        .iter()
        .enumerate()
        .map(|(i, (set, e))| (*set, PALETTE[i % PALETTE.len()], e.per_class_accuracy()))
        .collect();
    let set_list: Vec<&str> = sets.iter().map(|(s, _)| set_name(s)).collect();
    let title = format!(
        "Accuracy per class, {} set{}",
        set_list.join(", "),
        if set_list.len() > 1 { "s" } else { "" }
    );
    let svg = svg::bar_chart(&title, "accuracy", &names, &groups, Some((0.0, 1.0)));
    let mut csv = String::from("class");
    for (set, _, _) in &groups {
        crate::format::put!(csv, ",{set}_accuracy");
    }
    csv.push('\n');
    for (i, name) in names.iter().enumerate() {
        csv.push_str(&csv_field(name));
        for (_, _, values) in &groups {
            crate::format::put!(csv, ",{}", values[i]);
        }
        csv.push('\n');
    }
    Figure {
        id: "per_class_accuracy".into(),
        title,
        svg,
        csv,
    }
}

/// Names of the weight matrices of `net`, e.g. "W1 (50 × 3072)".
pub fn layer_names(shapes: impl Iterator<Item = (usize, usize)>) -> Vec<String> {
    shapes
        .enumerate()
        .map(|(i, (r, c))| format!("W{} ({r} × {c})", i + 1))
        .collect()
}

/// Histogram panels to a figure with its CSV (one block per panel).
fn histograms_figure(
    id: &str,
    title: String,
    x_label: &str,
    panels: Vec<HistogramPanel>,
) -> Figure {
    let svg = svg::histogram_panels(&title, x_label, &panels);
    let mut csv = String::from("panel,series,bin_left,bin_right,count\n");
    for p in &panels {
        for (name, _, counts) in &p.series {
            let w = (p.max - p.min) / counts.len().max(1) as f64;
            for (i, n) in counts.iter().enumerate() {
                let left = p.min + i as f64 * w;
                crate::format::putln!(
                    csv,
                    "{},{},{left},{},{n}",
                    csv_field(&p.title),
                    csv_field(name),
                    left + w
                );
            }
        }
    }
    Figure {
        id: id.to_string(),
        title,
        svg,
        csv,
    }
}

fn single_panels(names: Vec<String>, hists: &[Histogram], series: &str) -> Vec<HistogramPanel> {
    names
        .into_iter()
        .zip(hists)
        .enumerate()
        .map(|(i, (title, h))| HistogramPanel {
            title,
            min: h.min,
            max: h.max,
            series: vec![(
                series.to_string(),
                PALETTE[i % PALETTE.len()],
                h.counts.clone(),
            )],
        })
        .collect()
}

/// Gradient histograms of each weight matrix at the end of `metrics`' epoch.
pub fn gradient_histograms(
    metrics: &EpochMetrics,
    layer_shapes: &[(usize, usize)],
    run: Option<&RunInfo>,
) -> Figure {
    let names = layer_names(layer_shapes.iter().copied());
    let panels = single_panels(names, &metrics.gradient_histograms, "gradient");
    histograms_figure(
        "gradient_histograms",
        titled(
            &format!("Gradients of the weights in epoch {}", metrics.epoch),
            run,
        ),
        "∂cost/∂w",
        panels,
    )
}

/// Shapes of the weight matrices, (outputs, inputs).
pub fn layer_shapes(net: &Network<f32>) -> Vec<(usize, usize)> {
    net.layers.iter().map(|l| l.weights.dim()).collect()
}

/// Histograms of the weight values of each matrix.
pub fn weight_histograms(net: &Network<f32>, run: Option<&RunInfo>) -> Figure {
    let hists: Vec<Histogram> = net
        .layers
        .iter()
        .map(|l| Histogram::of_matrix(&l.weights))
        .collect();
    let panels = single_panels(
        layer_names(layer_shapes(net).into_iter()),
        &hists,
        "weights",
    );
    histograms_figure(
        "weight_histograms",
        titled("Weight values of the final weights", run),
        "w",
        panels,
    )
}

/// Histogram of the probability given to the true class, correct vs misclassified.
pub fn truth_probability(
    eval: &Evaluation,
    set: &str,
    loss: LossKind,
    run: Option<&RunInfo>,
) -> Figure {
    let tp = &eval.truth_probability;
    let how = match loss {
        LossKind::Ce => "softmax",
        LossKind::Bce => "sigmoid of the true class",
        LossKind::Svm => "softmax of the SVM scores",
    };
    let panels = vec![HistogramPanel {
        title: format!("{} set, {how}", set_name(set)),
        min: 0.0,
        max: 1.0,
        series: vec![
            (
                "correctly classified".into(),
                PALETTE[2],
                tp.correct.clone(),
            ),
            ("misclassified".into(), PALETTE[1], tp.wrong.clone()),
        ],
    }];
    debug_assert_eq!(tp.correct.len(), TRUTH_BINS);
    histograms_figure(
        &format!("truth_probability_{set}"),
        match run {
            // The run's name says the loss already.
            Some(_) => titled(
                &format!("Probability given to the true class, {} set", set_name(set)),
                run,
            ),
            None => format!(
                "Probability given to the true class, {} set — {}",
                set_name(set),
                loss.label()
            ),
        },
        "p(true class)",
        panels,
    )
}

/// The caption of template `unit` of `net` (see [`crate::model::templates::templates`]): a
/// linear classifier's weight rows are its classes, by name; an MLP's pictures are
/// first-layer units ("unit 7").
pub(super) fn template_caption(net: &Network<f32>, class_names: &[String], unit: usize) -> String {
    if net.layers.len() == 1 {
        class_name(class_names, unit)
    } else {
        format!("unit {unit}")
    }
}

/// The class templates (a linear classifier's weight rows, or an MLP's most important
/// first-layer units) as a labelled grid.
pub fn templates(
    net: &Network<f32>,
    shape: ImageShape,
    class_names: &[String],
    run: Option<&RunInfo>,
) -> Option<Figure> {
    let pictures = crate::model::templates::templates(net, shape, MAX_TEMPLATE_UNITS);
    if pictures.is_empty() {
        return None;
    }
    let linear = net.layers.len() == 1;
    let tiles: Vec<Tile> = pictures
        .iter()
        .map(|(unit, p)| Tile {
            label: template_caption(net, class_names, *unit),
            width: p.width,
            height: p.height,
            rgb: p.pixels.iter().flatten().copied().collect(),
        })
        .collect();
    let title = titled(
        if linear {
            "Class templates (weights of each class)"
        } else {
            "Weights of the most important first-layer units"
        },
        run,
    );
    let svg = svg::image_grid(&title, &tiles, 5);
    let mut csv = String::from("tile,label,row,column,red,green,blue\n");
    for (n, t) in tiles.iter().enumerate() {
        for (i, p) in t.rgb.chunks_exact(3).enumerate() {
            crate::format::putln!(
                csv,
                "{n},{},{},{},{},{},{}",
                csv_field(&t.label),
                i / t.width.max(1),
                i % t.width.max(1),
                p[0],
                p[1],
                p[2]
            );
        }
    }
    Some(Figure {
        id: "templates".into(),
        title,
        svg,
        csv,
    })
}

/// Scatter plot of a 2-D embedding (PCA or t-SNE), one Tableau 10 colour per class; `what`
/// says what was embedded and how (e.g. "t-SNE of hidden layer 1 (50 units)"), `axes` names
/// the two axes (see [`crate::train::analysis::axis_names`]). The title gives the number
/// of points.
pub fn embedding(
    points: &[[f32; 2]],
    labels: &[u8],
    class_names: &[String],
    what: &str,
    axes: &[String; 2],
) -> Figure {
    let k = labels
        .iter()
        .map(|&l| usize::from(l) + 1)
        .max()
        .unwrap_or(0);
    let names = padded_names(class_names, k);
    let groups: Vec<svg::ScatterGroup> = names
        .iter()
        .enumerate()
        .map(|(c, name)| {
            let pts = points
                .iter()
                .zip(labels)
                .filter(|(_, l)| usize::from(**l) == c)
                .map(|(p, _)| (f64::from(p[0]), f64::from(p[1])))
                .collect();
            (name.clone(), TABLEAU10[c % TABLEAU10.len()], pts)
        })
        .collect();
    let title = format!("{what} on {} validation images", thousands(points.len()));
    let svg = svg::scatter_chart(&title, &axes[0], &axes[1], &groups);
    let mut csv = format!("{},{},class\n", csv_field(&axes[0]), csv_field(&axes[1]));
    for (p, &l) in points.iter().zip(labels) {
        crate::format::putln!(
            csv,
            "{},{},{}",
            p[0],
            p[1],
            csv_field(&names[usize::from(l)])
        );
    }
    Figure {
        id: "embedding".into(),
        title,
        svg,
        csv,
    }
}

/// Validation images in the report's PCA of the last hidden layer.
pub const REPORT_PCA_POINTS: usize = 2000;

/// The last hidden layer's outputs on the first [`REPORT_PCA_POINTS`] validation images: what
/// the report's PCA figure is drawn from. Computed by whoever holds the data (see
/// [`HiddenActivations::of`]); the report does not load data.
#[derive(Debug, Clone)]
pub struct HiddenActivations {
    /// Units of the layer.
    pub units: usize,
    /// One row per image, one column per unit.
    pub values: ndarray::Array2<f32>,
    /// The images' classes.
    pub labels: Vec<u8>,
}

impl HiddenActivations {
    /// The last hidden layer of `net` (None without a hidden layer or images) on the first
    /// [`REPORT_PCA_POINTS`] images of `val`, normalised by `norm`.
    pub fn of(net: &Network<f32>, norm: &Normalizer, val: &ImageSet) -> Option<Self> {
        let last_hidden = net.layers.len().checked_sub(2)?;
        if val.is_empty() {
            return None;
        }
        let model = analysis::ModelRef::Mlp(net);
        let (values, labels) =
            analysis::layer_activations(model, norm, val, last_hidden, REPORT_PCA_POINTS);
        Some(HiddenActivations {
            units: net.layers[last_hidden].weights.nrows(),
            values,
            labels,
        })
    }
}

/// The report's PCA figure of the last hidden layer's activations `acts`.
pub fn last_hidden_pca(acts: &HiddenActivations, class_names: &[String]) -> Figure {
    let pca = analysis::pca2_with_variance(&acts.values);
    let axes = analysis::axis_names(analysis::Projection::Pca, Some(pca.variance_share));
    let what = format!("PCA of the last hidden layer ({} units)", acts.units);
    let mut fig = embedding(&pca.points, &acts.labels, class_names, &what, &axes);
    fig.id = "embedding_pca_last_hidden".into();
    fig
}

/// The sizes of the training, validation and test sets in words: "10,000 training, 1,000
/// validation, 10,000 test images".
pub fn image_counts(sizes: [usize; 3]) -> String {
    format!(
        "{} training, {} validation, {} test images",
        thousands(sizes[0]),
        thousands(sizes[1]),
        thousands(sizes[2])
    )
}

/// `n` with commas between thousands (10,000); the engine's messages write counts the same.
pub use crate::format::thousands;

/// Every figure of the run that its data allows, in report order.
pub fn all(record: &RunRecord<'_>) -> Vec<Figure> {
    let names = &record.info.class_names;
    let mut out: Vec<Figure> = Curve::ALL.iter().map(|&c| curve(record, c)).collect();
    // A point in the plane is a one-pixel "image": its templates would be single dots.
    if let Some(net) = record.network
        && !record.info.settings.start.dataset.is_plane()
        && let Some(t) = templates(net, record.info.shape, names, Some(record.info))
    {
        out.push(t);
    }
    let last = record.history.last();
    let mut sets: Vec<(&str, &Evaluation)> = Vec::new();
    if let Some(m) = last {
        sets.push(("train", &m.train));
        sets.push(("val", &m.val));
    }
    if let Some(t) = record.test {
        sets.push(("test", t));
    }
    for (set, eval) in &sets {
        out.push(confusion(eval, names, set, false, Some(record.info)));
        out.push(confusion(eval, names, set, true, Some(record.info)));
    }
    if !sets.is_empty() {
        out.push(per_class_accuracy(&sets, names));
    }
    for (set, eval) in sets.iter().filter(|s| s.0 != "train") {
        // The evaluations were made with the loss in force at their time: the last one.
        out.push(truth_probability(
            eval,
            set,
            record.info.settings.live().loss,
            Some(record.info),
        ));
    }
    if let Some(net) = record.network {
        if let Some(m) = last {
            out.push(gradient_histograms(
                m,
                &layer_shapes(net),
                Some(record.info),
            ));
        }
        out.push(weight_histograms(net, Some(record.info)));
    }
    if record.history.iter().any(|m| m.layers.len() > 1) {
        for metric in LayerMetric::ALL {
            out.push(layer_metric(
                record.history,
                metric,
                unit_activation(&record.info.settings.start),
                Some(record.info),
            ));
        }
    }
    out
}

/// The results table: cost, loss and accuracy on each set, with the settings that made them.
#[derive(Debug, Clone)]
pub struct ResultsTable {
    /// (set, cost, loss, accuracy).
    pub rows: Vec<(String, f64, f64, f64)>,
    /// (setting, value), from the run's configuration and the last epoch's live values.
    pub settings: Vec<(String, String)>,
}

/// The results table of the run.
pub fn results_table(record: &RunRecord<'_>) -> ResultsTable {
    let mut rows = Vec::new();
    if let Some(m) = record.history.last() {
        rows.push((
            "training".to_string(),
            m.train.cost,
            m.train.loss,
            m.train.accuracy,
        ));
        rows.push((
            "validation".to_string(),
            m.val.cost,
            m.val.loss,
            m.val.accuracy,
        ));
    }
    if let Some(t) = record.test {
        rows.push(("test".to_string(), t.cost, t.loss, t.accuracy));
    }
    let recorded = &record.info.settings;
    let mut settings = vec![
        ("data set".to_string(), record.info.dataset.clone()),
        ("images".to_string(), image_counts(record.info.sizes)),
        ("model".to_string(), recorded.title()),
    ];
    // Every setting as it was over the run (with the changes made while it trained), so the
    // table alone reproduces the run.
    // The data set is named in the first row already.
    settings.extend(
        recorded
            .settings_table()
            .into_iter()
            .filter(|(k, _)| k != "dataset"),
    );
    if let Some(m) = record.history.last() {
        settings.push(("epochs trained".into(), m.epoch.to_string()));
        settings.push(("final η".into(), crate::train::record::number(m.eta)));
    }
    ResultsTable { rows, settings }
}

impl ResultsTable {
    /// As CSV.
    pub fn csv(&self) -> String {
        let mut s = String::from("set,cost,loss,accuracy\n");
        for (set, cost, loss, acc) in &self.rows {
            crate::format::putln!(s, "{set},{cost},{loss},{acc}");
        }
        s
    }

    /// As a LaTeX `tabular` (booktabs), ready for `\input`.
    pub fn latex(&self) -> String {
        let mut s = String::from(
            "% Results table written by trainviz; needs \\usepackage{booktabs}.\n\\begin{tabular}{lrrr}\n\\toprule\nSet & Cost & Loss & Accuracy (\\%) \\\\\n\\midrule\n",
        );
        for (set, cost, loss, acc) in &self.rows {
            crate::format::putln!(s, "{set} & {cost:.4} & {loss:.4} & {:.2} \\\\", 100.0 * acc);
        }
        s.push_str("\\bottomrule\n\\end{tabular}\n");
        s
    }

    /// As Markdown: the results, then the settings.
    pub fn markdown(&self) -> String {
        let mut s = String::from("| set | cost | loss | accuracy |\n|---|---:|---:|---:|\n");
        for (set, cost, loss, acc) in &self.rows {
            crate::format::putln!(
                s,
                "| {set} | {cost:.4} | {loss:.4} | {:.2} % |",
                100.0 * acc
            );
        }
        s.push_str("\n| setting | value |\n|---|---|\n");
        for (k, v) in &self.settings {
            // The name people read ("η learning rate", "validation images"), not the key.
            let name = crate::train::config::setting_label(k);
            let v = if k == "val" {
                v.parse().map_or_else(|_| v.clone(), thousands)
            } else {
                v.clone()
            };
            crate::format::putln!(s, "| {name} | {} |", v.replace('|', "\\|"));
        }
        s
    }
}

/// The report: title, results and settings, then every figure (PNG, with links to the SVG
/// and CSV).
pub fn markdown_report(
    record: &RunRecord<'_>,
    figures: &[Figure],
    table: &ResultsTable,
    missing: &[String],
) -> String {
    let mut s = format!(
        "# {} — {}\n\n## Results\n\n{}\n## Figures\n\n",
        record.info.dataset,
        record.info.settings.title(),
        table.markdown()
    );
    // A figure the report could not draw is named, not left out without a word.
    for why in missing {
        crate::format::putln!(s, "*Not drawn:* {why}\n");
    }
    for f in figures {
        crate::format::putln!(
            s,
            "### {}\n\n![{}](figures/{id}.png)\n\n[SVG](figures/{id}.svg) · [data (CSV)](figures/{id}.csv)\n",
            f.title,
            f.title,
            id = f.id
        );
    }
    s
}

/// The two curves of a training-set / validation-set figure: training dashed in the first
/// colour, validation solid in the second (the same in every such figure).
fn training_and_validation(train: &[(f64, f64)], val: &[(f64, f64)]) -> [Series; 2] {
    [
        Series {
            name: "training".into(),
            points: train.to_vec(),
            colour: PALETTE[0],
            dash: Some(svg::DASHED),
        },
        Series {
            name: "validation".into(),
            points: val.to_vec(),
            colour: PALETTE[1],
            dash: None,
        },
    ]
}
