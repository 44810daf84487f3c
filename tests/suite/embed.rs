//! End-to-end tests of `trainviz embed` and `trainviz export-npz` on runs the tests train.

use std::path::{Path, PathBuf};

use crate::common::{cifar_dir, run};

/// Trains with `args` plus `--runs runs` and returns the one run folder made.
fn train_run(runs: &Path, args: &[&str]) -> PathBuf {
    let mut all = vec!["train", "--runs", runs.to_str().unwrap()];
    all.extend_from_slice(args);
    let (ok, _, stderr) = run(&all);
    assert!(ok, "{stderr}");
    let folders: Vec<PathBuf> = std::fs::read_dir(runs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("meta.json").is_file())
        .collect();
    assert_eq!(folders.len(), 1, "{folders:?}");
    folders[0].clone()
}

/// Runs `trainviz embed RUN_DIR <flags> --out OUT`.
fn embed(run_dir: &Path, flags: &[&str], out: &Path) -> (bool, String, String) {
    let mut all = vec!["embed", run_dir.to_str().unwrap()];
    all.extend_from_slice(flags);
    all.extend(["--out", out.to_str().unwrap()]);
    run(&all)
}

fn synthetic_run(runs: &Path) -> PathBuf {
    train_run(
        runs,
        &["--dataset", "synthetic", "--hidden", "20", "--epochs", "2"],
    )
}

#[test]
fn embed_writes_png_svg_and_csv_of_a_saved_run() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = synthetic_run(&dir.path().join("runs"));
    let out = dir.path().join("tsne");
    let (ok, stdout, stderr) = embed(
        &run_dir,
        &[
            "--layer",
            "1",
            "--method",
            "tsne",
            "--points",
            "400",
            "--figure-width",
            "3",
            "--dpi",
            "100",
        ],
        &out,
    );
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("t-SNE of hidden layer 1 (20 units) on 400 validation images"),
        "{stdout}"
    );
    let csv = std::fs::read_to_string(out.join("embedding.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("t-SNE 1,t-SNE 2,class"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 400);
    for row in &rows {
        let cells: Vec<&str> = row.split(',').collect();
        assert!(cells[0].parse::<f32>().unwrap().is_finite(), "{row}");
        assert!(cells[1].parse::<f32>().unwrap().is_finite(), "{row}");
    }
    // Ten classes, all present among 400 images.
    let classes: std::collections::HashSet<&str> =
        rows.iter().map(|r| r.rsplit(',').next().unwrap()).collect();
    assert_eq!(classes.len(), 10, "{classes:?}");
    let svg = std::fs::read_to_string(out.join("embedding.svg")).unwrap();
    assert!(
        svg.contains("on 400 validation images"),
        "the title gives the count"
    );
    assert!(
        svg.contains(">t-SNE 1<") && svg.contains(">t-SNE 2<"),
        "axis names"
    );
    assert!(svg.contains("#4E79A7"), "Tableau 10 colours");
    let png = std::fs::read(out.join("embedding.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG"));

    // PCA of the class scores (layer 2 of an MLP with one hidden layer).
    let out = dir.path().join("pca");
    let (ok, stdout, stderr) = embed(
        &run_dir,
        &["--layer", "2", "--method", "pca", "--points", "300"],
        &out,
    );
    assert!(ok, "{stderr}");
    assert!(stdout.contains("PCA of the class scores (10)"), "{stdout}");
    let csv = std::fs::read_to_string(out.join("embedding.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(
        header.starts_with("PC1 (") && header.contains("% of variance),PC2 ("),
        "{header}"
    );
    assert_eq!(csv.lines().count(), 301);
}

#[test]
fn embed_maps_any_layer_of_a_saved_convnet() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = train_run(
        &dir.path().join("runs"),
        &[
            "--dataset",
            "synthetic",
            "--layers",
            "patchify 4:4, relu, dense 12, relu",
            "--init",
            "he",
            "--epochs",
            "1",
        ],
    );
    // Layer 1, the patchify layer: its maps flattened (8 × 8 × 4 values per image).
    let out = dir.path().join("conv");
    let (ok, stdout, stderr) = embed(
        &run_dir,
        &["--layer", "1", "--method", "pca", "--points", "300"],
        &out,
    );
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("PCA of layer 1: patchify 4:4 → 8×8×4 on 300 validation images"),
        "{stdout}"
    );
    let csv = std::fs::read_to_string(out.join("embedding.csv")).unwrap();
    assert_eq!(csv.lines().count(), 301);
    // By default the layer before the class scores; the class scores are layer 5.
    let (ok, stdout, stderr) = embed(&run_dir, &["--method", "pca", "--points", "200"], &out);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("PCA of layer 4: relu → 12 on 200"),
        "{stdout}"
    );
    let (ok, _, stderr) = embed(&run_dir, &["--layer", "6"], &out);
    assert!(!ok);
    assert!(
        stderr.contains("this network has 5 layers, the class scores last; use 1 to 5"),
        "{stderr}"
    );
}

#[test]
fn embed_refuses_a_layer_or_count_that_does_not_exist() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = synthetic_run(&dir.path().join("runs"));
    let out = dir.path().join("out");
    for (flags, says) in [
        (["--layer", "3"], "1 hidden layer(s); use 1 to 2"),
        (["--points", "10001"], "between 1 and 10000"),
        (
            ["--compare-exact", "--method=pca"],
            "use it with --method tsne",
        ),
    ] {
        let (ok, _, stderr) = embed(&run_dir, &flags, &out);
        assert!(!ok);
        assert!(stderr.contains(says), "{stderr}");
    }
    assert!(!out.join("embedding.png").exists());
    let (ok, _, stderr) = embed(&dir.path().join("no-such-run"), &[], &out);
    assert!(!ok);
    assert!(stderr.contains("meta.json"), "{stderr}");
}

#[test]
fn export_npz_writes_every_layer_and_the_normalisation() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = synthetic_run(&dir.path().join("runs"));
    let (ok, stdout, stderr) = run(&["export-npz", run_dir.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    let npz = run_dir.join("weights.npz");
    assert!(stdout.contains("weights.npz"), "{stdout}");
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&npz).unwrap()).unwrap();
    for name in [
        "W1.npy",
        "b1.npy",
        "W2.npy",
        "b2.npy",
        "mean.npy",
        "scale.npy",
    ] {
        assert!(zip.by_name(name).is_ok(), "{name} missing");
    }
    let mut act = Vec::new();
    std::io::Read::read_to_end(&mut zip.by_name("activation.npy").unwrap(), &mut act).unwrap();
    assert!(act.ends_with(b"relu"));
}

/// What `trainviz eval RUN_DIR` prints: its stdout and the test accuracy in it, as printed
/// ("... accuracy 41.81 % of 10000 images" gives "41.81").
fn eval_accuracy(run_dir: &Path) -> (String, String) {
    let (ok, stdout, stderr) = run(&["eval", run_dir.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    let accuracy = stdout
        .split("accuracy ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .unwrap_or_else(|| panic!("no accuracy in {stdout}"))
        .to_string();
    (stdout, accuracy)
}

/// Exports the run's `.npz` and checks that `tests/python/check_npz.py` finds `accuracy`
/// (in percent) on CIFAR-10's test set at `cifar` with the weights in it.
fn numpy_finds_accuracy(run_dir: &Path, cifar: &str, accuracy: &str) {
    let (ok, _, stderr) = run(&["export-npz", run_dir.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/check_npz.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(run_dir.join("weights.npz"))
        .arg(cifar)
        .args(["--expect", accuracy])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// True when `python3` can import NumPy. With `TRAINVIZ_REQUIRE_NUMPY=1` (CI, after
/// `pip install numpy`) a missing NumPy fails the test instead of skipping it.
fn numpy_available() -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("TRAINVIZ_REQUIRE_NUMPY").is_none(),
            "TRAINVIZ_REQUIRE_NUMPY is set but python3 cannot import numpy"
        );
        eprintln!("python3 with NumPy not found (pip install numpy); skipped");
    }
    ok
}

/// A run trained on CIFAR-10 with `flags`, written as on a command line ("--hidden 30
/// --layers patchify 4:4, relu": each flag's value is what follows it up to the next flag),
/// in a fresh temporary folder (kept while the first value lives), with the data's folder
/// and the run's; `None` (the test skips) without CIFAR-10 or NumPy.
fn cifar_run_for_numpy(flags: &str) -> Option<(tempfile::TempDir, String, PathBuf)> {
    let cifar = cifar_dir()?;
    if !numpy_available() {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let cifar = cifar.to_str().unwrap().to_string();
    let mut all = vec!["--data".to_string(), cifar.clone()];
    for part in flags.split("--").map(str::trim).filter(|p| !p.is_empty()) {
        let (flag, value) = part.split_once(' ').unwrap_or((part, ""));
        all.push(format!("--{flag}"));
        if !value.is_empty() {
            all.push(value.trim().to_string());
        }
    }
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    let run_dir = train_run(&dir.path().join("runs"), &all);
    Some((dir, cifar, run_dir))
}

#[test]
fn numpy_reproduces_the_test_accuracy_from_the_npz() {
    let flags = "--train-limit 2000 --hidden 30 --activation tanh --init xavier --eta 0.01 \
                 --epochs 2";
    let Some((_dir, cifar, run_dir)) = cifar_run_for_numpy(flags) else {
        return;
    };
    let (_, accuracy) = eval_accuracy(&run_dir);
    numpy_finds_accuracy(&run_dir, &cifar, &accuracy);
}

/// A ConvNet's `.npz` (here a patchify layer, ReLU and a dense layer, a hundred steps on
/// CIFAR-10) runs in the README's NumPy lines to the test accuracy `trainviz eval` reports.
#[test]
fn numpy_reproduces_a_convnets_test_accuracy_from_the_npz() {
    let flags = "--train-limit 5000 --layers patchify 4:4, relu, dense 10, relu --init he \
                 --lambda 0.003 --eta 0.05 --epochs 2";
    let Some((_dir, cifar, run_dir)) = cifar_run_for_numpy(flags) else {
        return;
    };
    let (stdout, printed) = eval_accuracy(&run_dir);
    let accuracy: f64 = printed
        .parse()
        .unwrap_or_else(|_| panic!("no accuracy in {stdout}"));
    // Trained, not chance: the weights that travel are worth checking.
    assert!(accuracy > 18.0, "{stdout}");
    numpy_finds_accuracy(&run_dir, &cifar, &format!("{accuracy:.2}"));
}

/// README.md shows the NumPy lines the checks above run, as the script has them (its
/// indentation taken off, the files it is given named as README.md names them).
#[test]
fn the_readme_shows_the_checked_numpy_lines() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = std::fs::read_to_string(root.join("tests/python/check_npz.py")).unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    for marker in [
        "# --- README snippet ---",
        "# --- README ConvNet snippet ---",
    ] {
        let block = script
            .split(marker)
            .nth(1)
            .unwrap_or_else(|| panic!("no {marker} block in check_npz.py"));
        let lines: Vec<&str> = block
            .lines()
            .map(|l| l.strip_prefix("    ").unwrap_or(l.trim_start()))
            .collect();
        // The script reads the files it is given; README.md names the usual places.
        let text = lines
            .join("\n")
            .replace("np.load(npz_path)", "np.load(\"runs/RUN/weights.npz\")")
            .replace(
                "f\"{cifar_dir}/test_batch.bin\"",
                "\"cifar-10-batches-bin/test_batch.bin\"",
            );
        let text = text.trim();
        assert!(
            readme.contains(text),
            "README.md does not show the lines between {marker} in check_npz.py:\n{text}"
        );
    }
}
