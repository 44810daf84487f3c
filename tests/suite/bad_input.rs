//! Image folders as data sets, and bad input of every kind: each gives a message naming the
//! file and the problem, never a panic. Also: the window survives a failing worker.

use crate::common;

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::run;

#[cfg(feature = "window")]
use egui_kittest::kittest::Queryable;
use image::{ImageBuffer, Rgb};
#[cfg(feature = "window")]
use trainviz::data::DatasetKind;
#[cfg(feature = "window")]
use trainviz::train::{Command, TrainConfig};
#[cfg(feature = "window")]
use trainviz::ui::{Settings, TrainvizApp};

/// Writes `n` images of class `class` (a colour per class, varying sizes, PNG and JPEG).
fn write_class(dir: &Path, class: usize, n: usize) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..n {
        let (w, h) = (20 + 7 * i as u32, 16 + 5 * (i as u32 % 4));
        let img = ImageBuffer::from_fn(w, h, |x, y| {
            let base = [
                (class * 90) as u8,
                (255 - class * 80) as u8,
                (x * 3 + y) as u8,
            ];
            Rgb(base)
        });
        let ext = if i % 3 == 0 { "jpg" } else { "png" };
        img.save(dir.join(format!("img{i}.{ext}"))).unwrap();
    }
}

fn train_folder(dir: &Path, extra: &[&str]) -> (bool, String, String) {
    let mut args = vec![
        "train",
        "--no-save",
        "--epochs",
        "2",
        "--eta",
        "0.01",
        "--data",
        dir.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let (ok, out, err) = run(&args);
    assert!(!err.contains("panicked"), "{err}");
    (ok, out, err)
}

#[test]
fn an_image_folder_trains_with_a_random_or_given_split() {
    let tmp = tempfile::tempdir().unwrap();
    let flat = tmp.path().join("photos");
    for (c, name) in ["cats", "dogs", "owls"].iter().enumerate() {
        write_class(&flat.join(name), c, 10);
    }
    let (ok, out, err) = train_folder(&flat, &["--image-size", "16"]);
    assert!(ok, "{err}");
    // 30 images: a fifth of each class for testing (6), 4 of the remaining 24 for validation.
    assert!(
        out.contains("photos (16×16): 20 training, 4 validation, 6 test"),
        "{out}"
    );

    let split = tmp.path().join("split");
    for (c, name) in ["a", "b"].iter().enumerate() {
        write_class(&split.join("train").join(name), c, 8);
        write_class(&split.join("test").join(name), c, 3);
    }
    let (ok, out, err) = train_folder(&split, &[]);
    assert!(ok, "{err}");
    assert!(
        out.contains("split (32×32): 13 training, 3 validation, 6 test"),
        "{out}"
    );
}

/// Writes a valid JPEG of `class`'s colour and cuts it to half its length, as an
/// interrupted copy leaves it.
fn write_truncated_jpeg(path: &Path, class: usize) {
    let img = ImageBuffer::from_fn(40, 30, |x, y| {
        Rgb([(class * 90) as u8, (x * 5) as u8, (y * 7) as u8])
    });
    img.save(path).unwrap();
    let bytes = std::fs::read(path).unwrap();
    std::fs::write(path, &bytes[..bytes.len() / 2]).unwrap();
}

/// Lines of `stderr` that warn about a skipped file or folder.
fn warnings(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("warning: skipped"))
        .collect()
}

#[test]
fn a_photo_folder_with_bad_files_trains_and_names_what_it_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("photos");
    for (c, name) in ["cat", "dog", "owl"].iter().enumerate() {
        write_class(&d.join(name), c, 10);
    }
    // Unreadable images among good ones: truncated, empty, not an image, too large.
    write_truncated_jpeg(&d.join("cat/img_012.jpg"), 0);
    std::fs::write(d.join("dog/zero.jpg"), b"").unwrap();
    std::fs::write(d.join("owl/broken.png"), b"\x89PNG\r\n\x1a\nnot really").unwrap();
    let f = std::fs::File::create(d.join("owl/huge.png")).unwrap();
    f.set_len(100 << 20).unwrap(); // sparse: nothing is really written
    // A class folder without images; files that are not images by name.
    std::fs::create_dir_all(d.join("empty")).unwrap();
    std::fs::write(d.join("empty/README"), b"nothing here yet").unwrap();
    std::fs::write(d.join(".DS_Store"), b"\0\0\0\x01Bud1").unwrap();
    std::fs::write(d.join("cat/notes.txt"), b"cats").unwrap();
    // Hidden files and folders: macOS's resource-fork twins, a thumbnail cache.
    std::fs::write(d.join("dog/._img1.png"), b"\0\x05\x16\x07").unwrap();
    std::fs::create_dir_all(d.join(".thumbnails")).unwrap();
    std::fs::write(d.join(".thumbnails/t.png"), b"not a png").unwrap();

    let (ok, out, err) = train_folder(&d, &["--image-size", "16"]);
    assert!(ok, "{out}{err}");
    // The 30 good images of 3 classes train as if the bad ones were not there.
    assert!(
        out.contains("photos (16×16): 20 training, 4 validation, 6 test"),
        "{out}"
    );
    assert_eq!(
        out.lines().filter(|l| l.starts_with("epoch")).count(),
        2,
        "{out}"
    );
    let warned = warnings(&err);
    for (file, why) in [
        ("img_012.jpg", "decode"),
        ("zero.jpg", "empty"),
        ("broken.png", "decode"),
        ("huge.png", "MB"),
        ("empty", "no PNG or JPEG"),
    ] {
        assert!(
            warned.iter().any(|w| w.contains(file) && w.contains(why)),
            "no warning naming {file} ({why}): {err}"
        );
    }
    assert_eq!(
        warned.len(),
        5,
        "one warning per skipped file or folder: {err}"
    );
    for quiet in ["README", "DS_Store", "notes.txt", "._img1", "thumbnails"] {
        assert!(
            !err.contains(quiet),
            "{quiet} is not an image by name: {err}"
        );
    }

    // Saved, the run's folder records what was skipped.
    let runs = tmp.path().join("runs");
    let (ok, _, err) = run(&[
        "train",
        "--epochs",
        "1",
        "--image-size",
        "16",
        "--data",
        d.to_str().unwrap(),
        "--runs",
        runs.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let (saved, _) = trainviz::runs::list_runs(&runs);
    let meta = std::fs::read_to_string(saved[0].dir.join("meta.json")).unwrap();
    assert!(
        meta.contains("img_012.jpg") && meta.contains("zero.jpg"),
        "{meta}"
    );
    assert_eq!(saved[0].info().warnings.len(), 5);
}

#[test]
fn a_split_folder_skips_bad_files_in_train_and_test() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("split");
    for (c, name) in ["a", "b", "c"].iter().enumerate() {
        write_class(&d.join("train").join(name), c, 8);
        write_class(&d.join("test").join(name), c, 3);
    }
    write_truncated_jpeg(&d.join("test/b/cut.jpg"), 1);
    // Class c has test images but no readable training image: it is dropped as a class.
    for i in 0..8 {
        std::fs::remove_file(
            d.join("train/c")
                .join(format!("img{i}.{}", if i % 3 == 0 { "jpg" } else { "png" })),
        )
        .unwrap();
    }
    std::fs::write(d.join("train/c/only.jpg"), b"not a jpeg").unwrap();
    let (ok, out, err) = train_folder(&d, &[]);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("split (32×32): 13 training, 3 validation, 6 test"),
        "{out}"
    );
    let warned = warnings(&err);
    for file in ["cut.jpg", "only.jpg", "train/c", "test/c"] {
        assert!(
            warned.iter().any(|w| w.contains(file)),
            "no warning naming {file}: {err}"
        );
    }
}

#[test]
fn fewer_than_two_classes_with_images_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("one-class");
    write_class(&d.join("good"), 0, 6);
    std::fs::create_dir_all(d.join("nothing")).unwrap();
    std::fs::create_dir_all(d.join("broken")).unwrap();
    std::fs::write(d.join("broken/a.png"), b"garbage").unwrap();
    write_truncated_jpeg(&d.join("broken/b.jpg"), 1);
    let (ok, _, err) = train_folder(&d, &[]);
    assert!(!ok);
    assert!(
        err.contains("at least two class folders")
            && err.contains("only good")
            && err.contains("nothing")
            && err.contains("broken"),
        "{err}"
    );
    // No class folders at all.
    let d = tmp.path().join("flat");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("a.png"), b"x").unwrap();
    let (ok, _, err) = train_folder(&d, &["--dataset", "folder"]);
    assert!(!ok && err.contains("no class folders"), "{err}");
}

#[test]
fn an_image_size_out_of_range_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("size");
    write_class(&d.join("a"), 0, 6);
    write_class(&d.join("b"), 1, 6);
    let (ok, _, err) = train_folder(&d, &["--image-size", "4"]);
    assert!(
        !ok && err.contains("image_size") && err.contains("8 to 128"),
        "{err}"
    );
}

#[test]
fn an_oversized_cifar_batch_is_refused_without_reading_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cifar");
    std::fs::create_dir_all(&dir).unwrap();
    for name in common::CIFAR_FILES {
        std::fs::write(dir.join(name), vec![1u8; 3073 * 3]).unwrap();
    }
    let f = std::fs::File::create(dir.join("data_batch_1.bin")).unwrap();
    f.set_len(3073 * 1_000_000).unwrap();
    let started = Instant::now();
    let (ok, _, err) = run(&[
        "train",
        "--no-save",
        "--dataset",
        "cifar10",
        "--data",
        dir.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        err.contains("data_batch_1.bin") && err.contains("at most 10000 images"),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the 3 GB file was not read"
    );
}

#[cfg(feature = "window")]
#[test]
fn the_window_survives_a_failing_worker_and_resets() {
    let settings = Settings {
        config: TrainConfig {
            dataset: DatasetKind::Synthetic,
            epochs: 2,
            ..Default::default()
        },
        autostart: true,
        ..Default::default()
    };
    let mut h = common::harness(TrainvizApp::new(settings, None));
    common::wait_until(&mut h, "the first run", |a| a.history.summary.is_some());
    h.state_mut().send(Command::InjectFault);
    common::wait_until(&mut h, "the error", |a| a.history.message.is_some());
    h.get_by_label_contains("The training engine failed");
    h.get_by_label("Reset").click();
    h.step();
    common::wait_until(&mut h, "a new run", |a| {
        a.history.info.is_some() && a.history.message.is_none()
    });
    h.get_by_label("Start").click();
    h.step();
    common::wait_until(&mut h, "the new run to finish", |a| {
        a.history.summary.is_some() && a.history.message.is_none()
    });
    assert_eq!(h.state().history.epochs.len(), 2);
}
