//! Figures and reports from real (short) training runs: every figure renders to PNG and SVG
//! with the expected size and content, the CSVs hold the numbers, and the report links them.

use crate::common;

use std::path::Path;

use crate::common::trainviz;

/// Figures every finished run's report holds.
const EXPECTED: [&str; 15] = [
    "cost",
    "loss",
    "accuracy",
    "templates",
    "confusion_train",
    "confusion_train_normalised",
    "confusion_val",
    "confusion_val_normalised",
    "confusion_test",
    "confusion_test_normalised",
    "per_class_accuracy",
    "truth_probability_val",
    "truth_probability_test",
    "gradient_histograms",
    "weight_histograms",
];

/// Decodes a PNG; returns (width, height, fraction of non-white pixels, distinct colours ≥ 3).
fn inspect_png(path: &Path) -> (u32, u32, f64, bool) {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(path).expect("the PNG exists"),
    ));
    let mut reader = decoder.read_info().expect("a valid PNG header");
    let mut buf = vec![0; reader.output_buffer_size().expect("sane size")];
    let info = reader.next_frame(&mut buf).expect("decodable pixels");
    let px = &buf[..info.buffer_size()];
    let channels = info.color_type.samples();
    let mut colours = std::collections::HashSet::new();
    let mut ink = 0usize;
    for p in px.chunks_exact(channels) {
        if p[..3] != [255, 255, 255] {
            ink += 1;
        }
        if colours.len() < 3 {
            colours.insert(p[..3].to_vec());
        }
    }
    let total = (info.width * info.height) as f64;
    (
        info.width,
        info.height,
        ink as f64 / total,
        colours.len() >= 3,
    )
}

/// Checks the report folder `dir` written with PNGs `width_px` wide.
fn check_report(dir: &Path, width_px: u32, templates_label: &str) {
    let figures = dir.join("figures");
    for id in &EXPECTED {
        let png = figures.join(format!("{id}.png"));
        let (w, h, ink, colourful) = inspect_png(&png);
        assert_eq!(w, width_px, "{id}.png width");
        assert!(h > width_px / 3, "{id}.png height {h}");
        assert!(ink > 0.01, "{id}.png is blank ({ink})");
        assert!(colourful, "{id}.png has fewer than 3 colours");
        let svg = std::fs::read_to_string(figures.join(format!("{id}.svg"))).unwrap();
        let tree = resvg::usvg::Tree::from_str(&svg, &resvg::usvg::Options::default())
            .unwrap_or_else(|e| panic!("{id}.svg does not parse: {e}"));
        assert!(tree.size().width() >= 320.0, "{id}.svg width");
        assert!(svg.contains("<text"), "{id}.svg has no text");
        let csv = std::fs::read_to_string(figures.join(format!("{id}.csv"))).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert!(lines.len() >= 2, "{id}.csv has no data");
        let columns = lines[0].split(',').count();
        assert!(columns >= 2, "{id}.csv header {}", lines[0]);
    }
    let templates = std::fs::read_to_string(figures.join("templates.svg")).unwrap();
    assert!(templates.contains(templates_label), "template labels");
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    for id in &EXPECTED {
        assert!(
            report.contains(&format!("(figures/{id}.png)")),
            "report.md embeds {id}"
        );
    }
    for set in ["training", "validation", "test"] {
        assert!(report.contains(&format!("| {set} |")), "results row {set}");
    }
    let tex = std::fs::read_to_string(dir.join("results.tex")).unwrap();
    assert!(tex.contains("\\begin{tabular}") && tex.contains("test &"));
    let results = std::fs::read_to_string(dir.join("results.csv")).unwrap();
    assert_eq!(results.lines().count(), 4, "{results}");
}

#[test]
fn report_of_a_synthetic_mlp_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let result = trainviz()
        .args([
            "train",
            "--dataset",
            "synthetic",
            "--train-limit",
            "1000",
            "--epochs",
            "3",
            "--hidden",
            "20",
            "--eta",
            "0.01",
            "--out",
            out.to_str().unwrap(),
            "--figures",
            "--figure-width",
            "4",
            "--dpi",
            "100",
        ])
        .output()
        .unwrap();
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    check_report(&out, 400, "unit ");
    // Empty histogram bins draw nothing: the SVG renderer has nothing to warn about.
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(!stderr.contains("invalid"), "renderer warnings: {stderr}");
    for f in std::fs::read_dir(out.join("figures")).unwrap().flatten() {
        if f.path().extension().is_some_and(|e| e == "svg") {
            let svg = std::fs::read_to_string(f.path()).unwrap();
            assert!(
                !svg.contains(r#"height="0.00""#) && !svg.contains(r#"width="0.00""#),
                "{} has an empty rectangle",
                f.path().display()
            );
        }
    }
    // Every figure of one run names the run, so figures of two runs can be told apart (the
    // report's headings are the figures' titles).
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    for title in [
        "### Weights of the most important first-layer units — synthetic, MLP 20",
        "### Weight values of the final weights — synthetic, MLP 20",
        "### Gradients of the weights in epoch 3 — synthetic, MLP 20",
        "### Probability given to the true class, validation set — synthetic, MLP 20",
        "### Mean output per layer (validation images) — synthetic, MLP 20",
        "### Gradient norm of each weight matrix (log10) — synthetic, MLP 20",
        "### Update-to-weight ratio |ΔW| / |W| (log10) — synthetic, MLP 20",
    ] {
        assert!(report.contains(title), "no heading {title:?} in {report}");
    }
    // The matrix's subtitle does not say again what its title says.
    let svg = std::fs::read_to_string(out.join("figures/confusion_val_normalised.svg")).unwrap();
    assert_eq!(svg.matches("% of each true class").count(), 1, "{svg}");
    // An MLP's report also shows its last hidden layer, with a heading that says so.
    let (w, _, ink, colourful) = inspect_png(&out.join("figures/embedding_pca_last_hidden.png"));
    assert_eq!(w, 400);
    assert!(ink > 0.01 && colourful);
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("### PCA of the last hidden layer (20 units) on 1,000 validation images"),
        "{report}"
    );
    let csv = std::fs::read_to_string(out.join("figures/embedding_pca_last_hidden.csv")).unwrap();
    assert!(csv.starts_with("PC1 ("), "{csv}");
    assert_eq!(csv.lines().count(), 1001);
}

#[test]
fn report_of_the_classic_cifar_setting() {
    let Some(data) = common::cifar_dir() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let result = trainviz()
        .args([
            "train",
            "--data",
            data.to_str().unwrap(),
            "--epochs",
            "40",
            "--out",
            out.to_str().unwrap(),
            "--figures",
        ])
        .output()
        .unwrap();
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    check_report(&out, 1920, "airplane");
    assert!(
        !out.join("figures/embedding_pca_last_hidden.png").exists(),
        "a linear classifier has no hidden layer to embed"
    );
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("| λ | 0.1 |"), "{report}");
    assert!(
        report.contains("10,000 training, 10,000 validation"),
        "{report}"
    );
}

#[test]
fn unwritable_report_folder_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, b"not a folder").unwrap();
    let out = blocker.join("run");
    let result = trainviz()
        .args([
            "train",
            "--dataset",
            "synthetic",
            "--epochs",
            "1",
            "--out",
            out.to_str().unwrap(),
            "--figures",
        ])
        .output()
        .unwrap();
    assert!(!result.status.success());
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains("cannot create"), "{stderr}");
    assert!(stderr.contains("a-file"), "{stderr}");
    assert_eq!(std::fs::read(&blocker).unwrap(), b"not a folder");
}

#[test]
fn bad_png_size_names_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let result = trainviz()
        .args([
            "train",
            "--dataset",
            "synthetic",
            "--out",
            dir.path().to_str().unwrap(),
            "--figures",
            "--dpi",
            "5000",
        ])
        .output()
        .unwrap();
    assert!(!result.status.success());
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains("5000 DPI"), "{stderr}");
}

#[test]
fn step_loss_gradient_check_and_predictions_figures_render() {
    use std::sync::Arc;
    use trainviz::data::synthetic::{SyntheticSpec, generate};
    use trainviz::report::{PngSize, export_figure, figures};
    use trainviz::train::{TrainConfig, Trainer, analysis};

    let data = Arc::new(generate(&SyntheticSpec {
        train: 600,
        val: 100,
        test: 100,
        ..Default::default()
    }));
    let config = TrainConfig {
        eta: 0.01,
        epochs: 2,
        ..Default::default()
    };
    let mut t = Trainer::new(config.clone(), data.clone(), None).unwrap();
    let mut raw = Vec::new();
    for _ in 0..12 {
        let s = t.step();
        raw.push((raw.len() as f64 / 6.0, s.batch_loss));
    }
    let smoothed = trainviz::train::metrics::smooth(raw.iter().copied(), 0.9);
    let preds = analysis::predictions(
        analysis::ModelRef::Mlp(t.network()),
        t.normalizer(),
        &data.test,
        config.loss,
        100,
    );
    let shown: Vec<_> = preds.iter().filter(|p| !p.correct()).collect();
    let page: Vec<_> = preds
        .iter()
        .take(12)
        .map(|p| (p, data.test.rgb(p.index)))
        .collect();
    let check = analysis::gradient_check(&config, &data, t.normalizer(), 5, 30);
    let figs = [
        figures::step_loss(&raw, &smoothed, 0.9),
        figures::gradient_check(&check),
        figures::predictions(&page, &shown, data.shape(), &data.class_names),
    ];
    let dir = tempfile::tempdir().unwrap();
    let size = PngSize {
        width_inches: 5.0,
        dpi: 100.0,
    };
    for fig in &figs {
        for ext in ["png", "svg", "csv"] {
            export_figure(fig, &dir.path().join(format!("{}.{ext}", fig.id)), size).unwrap();
        }
        let (w, _, ink, colourful) = inspect_png(&dir.path().join(format!("{}.png", fig.id)));
        assert_eq!(w, 500, "{}", fig.id);
        assert!(ink > 0.01 && colourful, "{} is blank", fig.id);
        assert!(fig.csv.lines().count() >= 2, "{}", fig.id);
    }
    assert_eq!(figs[2].csv.lines().count(), 1 + shown.len());
}
