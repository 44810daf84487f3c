//! The Layers view's figures: one quantity of every layer per epoch (mean and spread of its
//! outputs, dead or saturated units, gradient norm, update ratio), for an MLP's layers and a
//! layer stack's alike; a stack's rows carry their own names (`conv 3×3, 64 + relu`).

use super::Figure;
use super::figure_text::{csv_field, titled};
use super::svg::{self, PALETTE, Series};
use crate::model::Activation;
use crate::model::layers::{self, LayerSpec};
use crate::train::metrics::LayerStats;
use crate::train::{EpochMetrics, RunInfo, TrainConfig};

/// The activation whose units the dead-or-saturated share judges: an MLP's, or the one a
/// layer stack uses throughout; `None` when a stack mixes them (or its layers do not parse).
pub fn unit_activation(config: &TrainConfig) -> Option<Activation> {
    if !config.uses_stack() {
        return Some(config.activation);
    }
    let specs = layers::parse(&config.layers).ok()?;
    let mut kinds = specs.iter().filter_map(|s| match s {
        LayerSpec::Relu => Some(Activation::Relu),
        LayerSpec::Tanh => Some(Activation::Tanh),
        LayerSpec::Sigmoid => Some(Activation::Sigmoid),
        _ => None,
    });
    let first = kinds.next()?;
    kinds.all(|k| k == first).then_some(first)
}

/// Which per-layer, per-epoch quantity of the Layers view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerMetric {
    /// Mean of the layer's outputs on the validation images.
    Mean,
    /// Standard deviation of the same.
    Spread,
    /// Share of dead (ReLU) or saturated (sigmoid, tanh) units.
    Stuck,
    /// log₁₀ ‖∂cost/∂W‖ (Frobenius).
    GradientNorm,
    /// log₁₀ ‖ΔW‖/‖W‖ (Frobenius; the window's font has no ‖, so its labels use |·|).
    UpdateRatio,
}

impl LayerMetric {
    /// All of them, in display order.
    pub const ALL: [LayerMetric; 5] = [
        LayerMetric::Mean,
        LayerMetric::Spread,
        LayerMetric::Stuck,
        LayerMetric::GradientNorm,
        LayerMetric::UpdateRatio,
    ];
    /// File stem of its figure.
    pub fn id(self) -> &'static str {
        match self {
            LayerMetric::Mean => "layers_mean",
            LayerMetric::Spread => "layers_spread",
            LayerMetric::Stuck => "layers_dead_or_saturated",
            LayerMetric::GradientNorm => "layers_gradient_norm",
            LayerMetric::UpdateRatio => "layers_update_ratio",
        }
    }
    /// The y range its plots always show, when it has one: a share reads 0 to 1.
    pub fn y_range(self) -> Option<(f64, f64)> {
        (self == LayerMetric::Stuck).then_some((0.0, 1.0))
    }
    /// Title, for people.
    /// `activation` is the one whose units the share judges ([`unit_activation`]; `None`:
    /// several).
    pub fn title(self, activation: Option<Activation>) -> &'static str {
        match (self, activation) {
            (LayerMetric::Mean, _) => "Mean output per layer (validation images)",
            (LayerMetric::Spread, _) => "Spread (standard deviation) of the outputs per layer",
            (LayerMetric::Stuck, Some(Activation::Relu)) => {
                "Share of dead units (never active on the validation images)"
            }
            (LayerMetric::Stuck, None) => "Share of dead (ReLU) or saturated (tanh, sigmoid) units",
            (LayerMetric::Stuck, _) => "Share of saturated units (slope < 5 % on 90 % of images)",
            (LayerMetric::GradientNorm, _) => "Gradient norm of each weight matrix (log10)",
            (LayerMetric::UpdateRatio, _) => "Update-to-weight ratio |ΔW| / |W| (log10)",
        }
    }
    /// The y-axis label.
    pub fn axis(self) -> &'static str {
        match self {
            LayerMetric::Mean => "mean",
            LayerMetric::Spread => "standard deviation",
            LayerMetric::Stuck => "share of units",
            LayerMetric::GradientNorm => "log10 |dcost/dW|",
            LayerMetric::UpdateRatio => "log10 |ΔW| / |W|",
        }
    }
    fn value(self, s: &LayerStats) -> f64 {
        match self {
            LayerMetric::Mean => s.mean,
            LayerMetric::Spread => s.std,
            LayerMetric::Stuck => s.stuck,
            LayerMetric::GradientNorm => s.grad_norm.log10(),
            LayerMetric::UpdateRatio => s.update_ratio.log10(),
        }
    }
    /// One (name, (epoch, value) points) series per layer, named as the last epoch's
    /// record names it (a stack's rows) or by number (an MLP's); the class-score layer is
    /// left out of the dead/saturated share (it has no activation). Non-finite values are
    /// skipped (a stack's layer that no activation follows has no points in that share).
    pub fn series(self, history: &[EpochMetrics]) -> Vec<(String, Vec<(f64, f64)>)> {
        let layers = history.iter().map(|m| m.layers.len()).max().unwrap_or(0);
        let shown = if self == LayerMetric::Stuck {
            layers.saturating_sub(1)
        } else {
            layers
        };
        (0..shown)
            .map(|l| {
                let named = history
                    .iter()
                    .rev()
                    .find_map(|m| m.layers.get(l).filter(|s| !s.name.is_empty()));
                let name = if let Some(s) = named {
                    s.name.clone()
                } else if l + 1 == layers {
                    format!("layer {} (scores)", l + 1)
                } else {
                    format!("layer {}", l + 1)
                };
                let points = history
                    .iter()
                    .filter_map(|m| {
                        let v = self.value(m.layers.get(l)?);
                        v.is_finite().then_some((m.epoch as f64, v))
                    })
                    .collect();
                (name, points)
            })
            .collect()
    }
}

/// One figure of the Layers view: `metric` per epoch, one line per layer.
pub fn layer_metric(
    history: &[EpochMetrics],
    metric: LayerMetric,
    activation: Option<Activation>,
    run: Option<&RunInfo>,
) -> Figure {
    let series: Vec<Series> = metric
        .series(history)
        .into_iter()
        .enumerate()
        .map(|(i, (name, points))| Series {
            name,
            points,
            colour: PALETTE[i % PALETTE.len()],
            dash: None,
        })
        .collect();
    let title = titled(metric.title(activation), run);
    let svg = svg::line_chart(&title, "epoch", metric.axis(), &series);
    let mut csv = format!(
        "layer,epoch,{}\n",
        metric.id().trim_start_matches("layers_")
    );
    for s in &series {
        for (x, y) in &s.points {
            crate::format::putln!(csv, "{},{x},{y}", csv_field(&s.name));
        }
    }
    Figure {
        id: metric.id().to_string(),
        title,
        svg,
        csv,
    }
}

/// The last epoch's numbers per layer as CSV (the report's `layers.csv`): what the Layers
/// tab's table shows, as ConvNetJS prints it beside each layer: parameters, the outputs'
/// range, mean and spread, the dead or saturated share, the weight gradient's range and
/// norm, the update ratio. A number the record lacks is an empty cell. `None` before the
/// first epoch or without per-layer numbers.
pub fn last_epoch_csv(history: &[EpochMetrics]) -> Option<String> {
    let last = history.last().filter(|m| !m.layers.is_empty())?;
    let names = LayerMetric::Mean.series(history);
    let mut csv = String::from(
        "layer,params,out_min,mean,out_max,std,dead_or_saturated,grad_min,grad_max,grad_norm,update_ratio\n",
    );
    let cell = |x: f64| {
        if x.is_finite() {
            x.to_string()
        } else {
            String::new()
        }
    };
    for (l, s) in last.layers.iter().enumerate() {
        let name = names
            .get(l)
            .map_or_else(|| format!("layer {}", l + 1), |(n, _)| n.clone());
        let params = if s.params > 0 {
            s.params.to_string()
        } else {
            String::new()
        };
        let numbers: Vec<String> = [
            s.out_min,
            s.mean,
            s.out_max,
            s.std,
            s.stuck,
            s.grad_min,
            s.grad_max,
            s.grad_norm,
            s.update_ratio,
        ]
        .into_iter()
        .map(cell)
        .collect();
        crate::format::putln!(csv, "{},{params},{}", csv_field(&name), numbers.join(","));
    }
    Some(csv)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stack's named rows and an old record's missing numbers (empty cells) in the CSV.
    #[test]
    fn the_last_epochs_table_names_its_rows_and_leaves_unknowns_empty() {
        let old: LayerStats = serde_json::from_str(
            r#"{"mean":0.5,"std":1.0,"stuck":0.0,"grad_norm":0.01,"update_ratio":0.001}"#,
        )
        .unwrap();
        let conv = LayerStats {
            name: "conv 3×3, 8 + relu".into(),
            out_min: 0.0,
            out_max: 2.0,
            grad_min: -0.5,
            grad_max: 0.25,
            params: 224,
            ..old.clone()
        };
        let json = format!(
            r#"{{"epoch":1,"eta":0.1,"lambda":0,"train":{e},"val":{e},"seconds":1,"gradient_histograms":[]}}"#,
            e = r#"{"loss":1,"cost":1,"accuracy":0.5,"count":1,"confusion":[],
                "truth_probability":{"correct":[],"wrong":[]}}"#
        );
        let mut m: EpochMetrics = serde_json::from_str(&json).unwrap();
        m.layers = vec![conv, old];
        let csv = last_epoch_csv(&[m]).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 3, "{csv}");
        assert_eq!(
            lines[1],
            "\"conv 3×3, 8 + relu\",224,0,0.5,2,1,0,-0.5,0.25,0.01,0.001"
        );
        assert_eq!(lines[2], "layer 2 (scores),,,0.5,,1,0,,,0.01,0.001");
        assert!(last_epoch_csv(&[]).is_none());
    }
}
