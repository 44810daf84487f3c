//! A ConvNet in the window: the settings panel's **layers** field refuses a bad stack beside
//! the field and trains a good one through the worker like an MLP (loss, cost, accuracy and
//! η reach the plots); views drawn from an MLP's weights say so instead of going blank.

use crate::common::{harness, wait_until};
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use trainviz::data::DatasetKind;
use trainviz::train::TrainConfig;
use trainviz::ui::{Settings, TrainvizApp};

/// Types `text` into the field named `label`.
fn type_into(h: &mut Harness<'_, TrainvizApp>, label: &str, text: &str) {
    h.get_by_role_and_label(Role::TextInput, label)
        .set_text_value_accesskit(text);
    h.step();
    h.step();
}

/// Whether a label containing every one of `parts` is shown.
fn shows(h: &Harness<'_, TrainvizApp>, parts: &[&str]) -> bool {
    h.get_all_by(|n| n.role() == Role::Label).any(|n| {
        let a = n.accesskit_node();
        let text = a
            .label()
            .map(|l| l.to_string())
            .or_else(|| a.value().map(|v| v.to_string()))
            .unwrap_or_default();
        parts.iter().all(|p| text.contains(p))
    })
}

#[test]
fn a_bad_stack_is_refused_beside_the_field_and_a_good_one_trains() {
    let settings = Settings {
        config: TrainConfig {
            dataset: DatasetKind::Synthetic,
            hidden: vec![20],
            epochs: 2,
            eta: 0.05,
            lambda: 0.003,
            init: trainviz::model::InitKind::He,
            ..Default::default()
        },
        autostart: false,
        ..Default::default()
    };
    let mut h = harness(TrainvizApp::new(settings, None));
    wait_until(&mut h, "the run to be ready", |a| a.history.info.is_some());

    // A 5-wide patchify does not divide 32 pixels: refused beside the field, nothing applied.
    let before = h.state().settings.config.clone();
    type_into(&mut h, "layers", "patchify 5:4, relu");
    assert!(
        shows(&h, &["patchify 5:4", "32×32×3"]),
        "no note on the misfit"
    );
    type_into(&mut h, "layers", "patchify 4:4, relu, dnese 10");
    assert!(shows(&h, &["dnese"]), "no note on the unknown word");
    assert_eq!(h.state().settings.config, before);
    // Reset does not start a run from the last text that read while the field shows
    // other, refused text: it says why.
    let run = h.state().history.run;
    h.get_by_label("Reset").click();
    h.step();
    h.step();
    assert_eq!(h.state().history.run, run, "no new run");
    assert!(shows(&h, &["Not reset", "layers"]), "Reset says why");

    type_into(&mut h, "layers", "patchify 4:4, relu, dense 10, relu");
    let config = &h.state().settings.config;
    assert_eq!(config.layers, "patchify 4:4, relu, dense 10, relu");
    assert!(config.hidden.is_empty(), "the MLP's widths give way");
    assert!(shows(&h, &["A layer stack", "parameters"]));

    let old_run = h.state().history.run;
    h.get_by_label("Reset").click();
    h.step();
    wait_until(&mut h, "the ConvNet run", |a| {
        a.history.run > old_run
            && a.history
                .info
                .as_ref()
                .is_some_and(|i| i.settings.start.uses_stack())
    });
    assert!(
        h.state().history.message.is_none(),
        "{:?}",
        h.state().history.message
    );
    h.get_by_label("Start").click();
    h.step();
    wait_until(&mut h, "two epochs", |a| a.history.summary.is_some());
    let history = &h.state().history;
    assert_eq!(history.epochs.len(), 2);
    assert_eq!(history.val_acc.len(), 2);
    assert!(!history.step_loss.is_empty() && !history.step_eta.is_empty());
    assert!(
        history.val_acc.iter().all(|p| p.y > 0.1),
        "{:?}",
        history.val_acc
    );
    assert!(history.test.is_some());
    assert!(history.message.is_none(), "{:?}", history.message);

    // The Training tab shows the first convolution's filters where a linear classifier's
    // templates are; the Histograms tab says why it is not drawn.
    assert!(shows(&h, &["Filters of layer 1 (patchify 4:4)"]));
    assert_eq!(h.state().convnet_filter_layers(), 1);
    h.get_by_label("Histograms").click();
    h.step();
    h.step();
    assert!(shows(
        &h,
        &["histograms", "shown for linear and MLP runs", "Network tab"]
    ));
    // The Network tab: the filters, and the feature maps of a validation image with the
    // value under the mouse.
    h.get_by_label("Network").click();
    h.step();
    h.step();
    assert!(shows(
        &h,
        &["Layer 1: patchify 4:4", "4×4 filters", "colour"]
    ));
    assert!(shows(
        &h,
        &["validation image 1 (of the first", "true class"]
    ));
    assert!(shows(&h, &["1. patchify 4:4 → 8×8×4, values"]));
    assert!(shows(&h, &["3. dense 10 → 10, values"]));
    h.get_by_label("next").click();
    h.step();
    h.step();
    assert!(shows(&h, &["validation image 2 (of the first"]));

    convnet_analyses(&mut h);
}

/// The analyses of the trained ConvNet in `h`: the confusion matrix, predictions with
/// top-3 guesses, a picture classified, the PCA of a convolution's flattened maps and the gradient check, each
/// showing results rather than a refusal.
fn convnet_analyses(h: &mut Harness<'_, TrainvizApp>) {
    // The confusion matrices come from the stack's own evaluations.
    h.get_by_label("Confusion").click();
    h.step();
    h.get_by_label("test").click();
    h.step();
    assert!(shows(h, &["test set: accuracy", "of 1000 images"]));
    h.get_by_label("Accuracy per class");
    let test = h.state().history.test.clone().expect("a test evaluation");
    assert_eq!(
        test.confusion.iter().map(|&c| c as usize).sum::<usize>(),
        1000
    );

    h.get_by_label("Predictions").click();
    h.step();
    h.step();
    assert!(!shows(h, &["shown for linear and MLP runs"]));
    h.get_by_label("Predict the test set").click();
    wait_until(h, "the ConvNet's predictions", |a| {
        a.history.predictions.is_some()
    });
    h.step();
    assert!(shows(h, &["of 1000 test images right"]));
    h.get_all_by_label_contains("1. ")
        .next()
        .expect("a first guess");

    // A picture of the user's, classified by the ConvNet.
    let dir = tempfile::tempdir().unwrap();
    let picture = dir.path().join("blob.png");
    image::RgbImage::from_fn(40, 40, |x, y| {
        let near = (x as i32 - 10).pow(2) + (y as i32 - 10).pow(2) < 60;
        image::Rgb(if near { [220, 30, 30] } else { [120, 120, 120] })
    })
    .save(&picture)
    .unwrap();
    let ctx = h.ctx.clone();
    let app = h.state_mut();
    app.classify.classify(picture, None, &app.history, &ctx);
    wait_until(h, "the picture's classes", |a| {
        a.classify.top().len() == 5 || a.classify.error().is_some()
    });
    assert_eq!(h.state().classify.error(), None);
    let top = h.state().classify.top();
    assert!(top.windows(2).all(|w| w[0].1 >= w[1].1), "{top:?}");
    assert!(shows(h, &["blob.png, as the model sees it (32×32)"]));
    // The Network tab's feature maps are of the dropped picture at once, and of a
    // validation image again when asked.
    h.get_by_label("Network").click();
    h.step();
    h.step();
    assert!(shows(h, &["your picture blob.png"]));
    h.get_by_label("a validation image").click();
    h.step();
    h.step();
    assert!(shows(
        h,
        &["validation image", "(of the first", "true class"]
    ));

    // The embedding's picker names the stack's layers; the first is the patchify layer.
    h.get_by_label("Embedding").click();
    h.step();
    h.step();
    assert!(!shows(h, &["shown for linear and MLP runs"]));
    h.get_by_label("PCA").click();
    h.step();
    h.get_by_label("Compute").click();
    wait_until(h, "the ConvNet's PCA", |a| a.history.embedding.is_some());
    assert!(shows(
        h,
        &["PCA of layer 1: patchify 4:4 → 8×8×4 on 1,000 validation images"]
    ));
    let Some(trainviz::train::AnalysisResult::Embedding { points, .. }) =
        &h.state().history.embedding
    else {
        panic!("an embedding")
    };
    assert!(points.iter().all(|p| p[0].is_finite() && p[1].is_finite()));

    h.get_by_label("Gradient check").click();
    h.step();
    h.step();
    assert!(shows(h, &["a random sample of its entries"]));
    h.get_by_label("Run check").click();
    wait_until(h, "the ConvNet's gradient check", |a| {
        a.history.gradient_check.is_some()
    });
    let report = h.state().history.gradient_check.clone().unwrap();
    let names: Vec<&str> = report.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["W1", "b1", "W3", "b3", "W5", "b5"]);
    assert!(report.iter().all(|p| p.max_rel_error < 1e-5), "{report:?}");
}

/// Picking an assignment-3 preset (as the menu does: its settings, then a new run) sets up
/// a ConvNet run in the worker. (The menu lists every preset; AccessKit does not reach
/// its scrolled entries, so the test applies the pick as the menu does.)
#[test]
fn an_assignment_preset_sets_up_a_convnet_run() {
    let config = TrainConfig {
        dataset: DatasetKind::Synthetic,
        ..Default::default()
    };
    let settings = Settings {
        config: config.clone(),
        autostart: false,
        ..Default::default()
    };
    let mut h = harness(TrainvizApp::new(settings, None));
    wait_until(&mut h, "the run to be ready", |a| a.history.info.is_some());
    let f4 = trainviz::runs::presets::find("a3-f4").expect("the a3-f4 preset");
    h.state_mut().settings.config = f4.config(&config).expect("the preset applies");
    h.state_mut()
        .apply(trainviz::ui::controls::UiAction::ResetForPreset(f4.label));
    wait_until(&mut h, "the ConvNet run", |a| {
        a.history
            .info
            .as_ref()
            .is_some_and(|i| i.settings.start.layers.starts_with("patchify 4:10"))
    });
    assert!(
        h.state().history.message.is_none(),
        "{:?}",
        h.state().history.message
    );
    // The run's length follows from its cycles: the greyed epochs field's default is not a
    // change waiting for Reset.
    h.run_steps(3);
    assert!(
        !shows(&h, &["Changed, applies on Reset"]),
        "a preset's own run shows a pending change"
    );
}

/// The Layers tab of a ConvNet: a line per layer with weights, named as the stack writes it,
/// in five drawn plots (no empty-state text), the last epoch's table below them; the
/// report's layer figures name the same rows.
#[test]
fn the_layers_tab_of_a_convnet_draws_its_layers() {
    let settings = Settings {
        config: TrainConfig {
            dataset: DatasetKind::Synthetic,
            train_limit: Some(300),
            layers: "patchify 4:4, relu, dense 10, relu".into(),
            hidden: Vec::new(),
            init: trainviz::model::InitKind::He,
            eta: 0.05,
            epochs: 2,
            ..Default::default()
        },
        autostart: true,
        ..Default::default()
    };
    let mut h = harness(TrainvizApp::new(settings, None));
    wait_until(&mut h, "two epochs", |a| a.history.epochs.len() == 2);
    h.state_mut().settings.tab = trainviz::ui::app::Tab::Layers;
    h.step();
    h.step();
    assert!(shows(&h, &[trainviz::ui::layers::STACK_ROWS]));
    assert!(!shows(&h, &["linear classifier"]) && !shows(&h, &["no activation"]));
    h.get_by_label("Share of dead units (never active on the validation images)");
    for id in [
        "layers_mean",
        "layers_spread",
        "layers_dead_or_saturated",
        "layers_gradient_norm",
        "layers_update_ratio",
    ] {
        assert!(
            egui_plot::PlotMemory::load(&h.ctx, egui::Id::unique(id)).is_some(),
            "{id} was not drawn"
        );
    }
    // Each name in the legend and in the table.
    for name in [
        "patchify 4×4, 4 + relu",
        "dense 10 + relu",
        "scores (dense 10)",
    ] {
        assert_eq!(h.query_all_by_label(name).count(), 2, "{name}");
    }
    assert!(shows(&h, &["Epoch 2, per layer"]));
    // patchify 4:4 on 32×32×3: 4·4·3·4 + 4 parameters.
    assert!(h.query_all_by_label("196").count() >= 1);

    let dir = tempfile::tempdir().unwrap();
    h.state_mut().export_report_to(dir.path());
    wait_until(&mut h, "the report to be written", |a| {
        a.exporter.last.is_some()
    });
    assert!(h.state().exporter.last.clone().unwrap().is_ok());
    let csv = std::fs::read_to_string(dir.path().join("figures/layers_mean.csv")).unwrap();
    // A header, then 3 layers × 2 epochs.
    assert_eq!(csv.lines().count(), 1 + 3 * 2, "{csv}");
    assert!(csv.contains("\"patchify 4×4, 4 + relu\",2,"), "{csv}");
    // The table's numbers beside the figures.
    let table = std::fs::read_to_string(dir.path().join("layers.csv")).unwrap();
    assert_eq!(table.lines().count(), 1 + 3, "{table}");
    assert!(
        table.contains("\n\"patchify 4×4, 4 + relu\",196,0,"),
        "{table}"
    );
}

/// The Network tab of a 3×3 ConvNet: the first convolution's filters in colour, a deeper
/// one's as grey tiles per input channel, and the feature maps of every layer.
#[test]
fn a_three_by_three_convnet_shows_its_filters_and_feature_maps() {
    let settings = Settings {
        config: TrainConfig {
            dataset: DatasetKind::Synthetic,
            train_limit: Some(200),
            layers: "conv 3:4, relu, pool 2, conv 3:3, relu, dense 8, relu".into(),
            hidden: vec![],
            epochs: 1,
            ..Default::default()
        },
        autostart: true,
        ..Default::default()
    };
    let mut h = harness(TrainvizApp::new(settings, None));
    wait_until(
        &mut h,
        "the run to finish with its weights and images",
        |a| a.history.summary.is_some() && a.history.stack.is_some() && a.history.samples.is_some(),
    );
    h.get_by_label("Network").click();
    h.step();
    h.step();
    assert!(shows(&h, &["Layer 1: conv 3:4", "3×3 filters", "colour"]));
    assert!(shows(
        &h,
        &["Layer 4: conv 3:3", "grey tile per input channel of 4"]
    ));
    assert_eq!(h.state().convnet_filter_layers(), 2);
    assert!(shows(&h, &["1. conv 3:4 → 32×32×4, values"]));
    assert!(shows(&h, &["3. pool 2 → 16×16×4, values"]));
    assert!(shows(&h, &["4. conv 3:3 → 16×16×3, values"]));
}
