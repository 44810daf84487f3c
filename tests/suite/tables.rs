//! End-to-end tests of `trainviz table` (results table and templates across saved runs) and
//! `trainviz lr-range` (the learning-rate range test), on the synthetic set.

use std::path::{Path, PathBuf};

use crate::common::run;

/// Trains a small synthetic linear classifier with `lambda` and saves it under `runs`;
/// returns its folder.
fn saved_run(runs: &Path, lambda: &str) -> PathBuf {
    let before: Vec<PathBuf> = folders(runs);
    let (ok, _, stderr) = run(&[
        "train",
        "--dataset",
        "synthetic",
        "--train-limit",
        "600",
        "--epochs",
        "2",
        "--lambda",
        lambda,
        "--runs",
        runs.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    folders(runs)
        .into_iter()
        .find(|d| !before.contains(d))
        .expect("a new run folder")
}

fn folders(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|r| r.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

#[test]
fn table_of_three_runs_in_three_formats_with_their_templates() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let chosen: Vec<PathBuf> = ["0", "0.1", "1"]
        .iter()
        .map(|l| saved_run(&runs, l))
        .collect();
    let out = dir.path().join("table");
    let mut args = vec!["table"];
    args.extend(chosen.iter().map(|p| p.to_str().unwrap()));
    args.extend([
        "--out",
        out.to_str().unwrap(),
        "--templates",
        "--dpi",
        "100",
    ]);
    let (ok, stdout, stderr) = run(&args);
    assert!(ok, "{stderr}");
    assert!(
        !stderr.contains("invalid"),
        "no renderer warnings: {stderr}"
    );
    // Only λ differs: it is the one settings column, rows in the order given.
    let csv = std::fs::read_to_string(out.join("table.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "lambda,train_acc,val_acc,test_acc,train_cost,val_cost,test_cost"
    );
    assert_eq!(lines.len(), 4, "{csv}");
    let lambdas: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(lambdas, ["0", "0.1", "1"]);
    for l in &lines[1..] {
        let numbers: Vec<f64> = l.split(',').skip(1).map(|v| v.parse().unwrap()).collect();
        assert_eq!(numbers.len(), 6, "{l}");
        assert!(numbers[..3].iter().all(|a| (0.0..=1.0).contains(a)), "{l}");
    }
    let tex = std::fs::read_to_string(out.join("table.tex")).unwrap();
    assert!(tex.contains("\\begin{tabular}{lrrrrrr}"), "{tex}");
    assert!(
        tex.contains("\\toprule") && tex.contains("\\midrule"),
        "{tex}"
    );
    assert!(tex.contains("$\\lambda$ & Train acc."), "{tex}");
    assert_eq!(
        tex.matches(" \\\\\n").count(),
        4,
        "a header and three rows: {tex}"
    );
    let md = std::fs::read_to_string(out.join("table.md")).unwrap();
    assert!(md.starts_with("| λ | train acc. (%) |"), "{md}");
    assert_eq!(md.lines().count(), 5, "{md}");
    assert!(stdout.contains(&md), "the table is printed too: {stdout}");
    // The templates: one row per run, each named by its λ.
    let svg = std::fs::read_to_string(out.join("templates_compared.svg")).unwrap();
    for label in [">λ 0<", ">λ 0.1<", ">λ 1<"] {
        assert!(svg.contains(label), "{label} missing");
    }
    assert!(svg.contains("Class templates of 3 runs, synthetic"));
    let png = std::fs::read(out.join("templates_compared.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    let rows = std::fs::read_to_string(out.join("templates_compared.csv")).unwrap();
    assert!(
        rows.lines().count() > 3 * 10,
        "pixels of 3 runs × 10 classes"
    );

    // A folder that is not a run is named.
    let (ok, _, stderr) = run(&["table", dir.path().to_str().unwrap(), "--out", "x"]);
    assert!(!ok);
    assert!(stderr.contains("not a saved run"), "{stderr}");
}

#[test]
fn lr_range_writes_its_figure_and_prints_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("range");
    let (ok, stdout, stderr) = run(&[
        "lr-range",
        "--dataset",
        "synthetic",
        "--train-limit",
        "2000",
        "--eta-start",
        "1e-5",
        "--eta-end",
        "100",
        "--steps",
        "150",
        "--out",
        out.to_str().unwrap(),
        "--dpi",
        "100",
    ]);
    assert!(ok, "{stderr}\n{stdout}");
    assert!(!stderr.contains("invalid"), "{stderr}");
    let bound = |name: &str| -> f64 {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in {stdout}"));
        let v = line.split('=').nth(1).unwrap().trim();
        assert!(!v.contains('e'), "plain numbers: {line}");
        v.parse().unwrap()
    };
    let (lo, hi) = (bound("eta_min = "), bound("eta_max = "));
    assert!(1e-5 <= lo && lo < hi && hi <= 100.0, "{stdout}");
    let csv = std::fs::read_to_string(out.join("lr_range.csv")).unwrap();
    assert!(csv.starts_with("step,eta,batch_loss,smoothed\n"));
    let steps = csv.lines().count() - 1;
    assert!((20..=150).contains(&steps), "{steps} steps");
    let svg = std::fs::read_to_string(out.join("lr_range.svg")).unwrap();
    assert!(
        svg.contains("Learning-rate range test — synthetic, linear"),
        "title"
    );
    assert!(
        svg.contains("eta_min ") && svg.contains("eta_max "),
        "bounds marked"
    );
    assert!(
        std::fs::read(out.join("lr_range.png"))
            .unwrap()
            .starts_with(b"\x89PNG")
    );

    // A range that ends below its start is refused, naming the value.
    let (ok, _, stderr) = run(&[
        "lr-range",
        "--dataset",
        "synthetic",
        "--eta-start",
        "0.1",
        "--eta-end",
        "0.01",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(stderr.contains("eta-end = 0.01"), "{stderr}");
}
