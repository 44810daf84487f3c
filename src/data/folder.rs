//! Image folders as data sets: one sub-folder per class holding PNG or JPEG files of any
//! size, resized to `size`×`size` colour images. With `train/` and `test/` sub-folders
//! (each with the class folders) those are the split; otherwise a seeded random fifth of
//! each class is held out for testing. Decoding runs on every core and reports progress.
//! Files that cannot be decoded and class folders without images are skipped with a
//! warning; hidden files and folders (`.DS_Store`, macOS's `._photo.jpg` twins, thumbnail
//! caches) and files that are not images by name are not looked at.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use image::imageops::FilterType;
use rand::seq::SliceRandom;
use rand::{SeedableRng, rngs::SmallRng};
use rayon::prelude::*;

use super::{DataError, DataWarning, ImageSet, ImageShape, Splits};

/// Largest image file read (bytes): bigger files are refused, not decoded.
pub const MAX_FILE_BYTES: u64 = 64 << 20;
/// Largest width or height decoded.
const MAX_SIDE: u32 = 16_384;
/// Most classes (labels are bytes).
const MAX_CLASSES: usize = 256;

/// True for a name starting with a dot: system files, not photos or classes.
fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

/// True for a file name ending in .png, .jpg or .jpeg (any case), not hidden.
fn is_image(path: &Path) -> bool {
    !is_hidden(path)
        && path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
}

/// Sub-folders of `dir` that are not hidden, sorted by name.
fn sub_dirs(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let entries = std::fs::read_dir(dir).map_err(|e| DataError::Io {
        path: dir.to_path_buf(),
        source: e,
    })?;
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir() && !is_hidden(p))
        .collect();
    dirs.sort();
    Ok(dirs)
}

/// Image files directly in `dir`, sorted.
fn images_in(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let entries = std::fs::read_dir(dir).map_err(|e| DataError::Io {
        path: dir.to_path_buf(),
        source: e,
    })?;
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && is_image(p))
        .collect();
    files.sort();
    Ok(files)
}

/// True when `dir` looks like an image folder: class sub-folders with images, directly or
/// under `train/`.
pub fn looks_like_folder(dir: &Path) -> bool {
    let root = if dir.join("train").is_dir() {
        dir.join("train")
    } else {
        dir.to_path_buf()
    };
    sub_dirs(&root).is_ok_and(|classes| {
        classes
            .iter()
            .any(|c| images_in(c).is_ok_and(|f| !f.is_empty()))
    })
}

fn class_name(dir: &Path) -> String {
    dir.file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}

/// An image file and its class.
type LabelledFile = (PathBuf, u8);

/// The class folders of `root` (label = index) and every image file in them. A class
/// folder without images, or one that cannot be listed, adds a warning and no files.
fn list(
    root: &Path,
    warnings: &mut Vec<DataWarning>,
) -> Result<(Vec<PathBuf>, Vec<LabelledFile>), DataError> {
    let classes = sub_dirs(root)?;
    if classes.is_empty() {
        return Err(DataError::corrupt(
            root,
            "holds no class folders (one sub-folder of PNG/JPEG images per class)",
        ));
    }
    if classes.len() > MAX_CLASSES {
        return Err(DataError::corrupt(
            root,
            format!("has {} class folders; at most {MAX_CLASSES}", classes.len()),
        ));
    }
    let mut files = Vec::new();
    for (label, class) in classes.iter().enumerate() {
        match images_in(class) {
            Ok(images) if images.is_empty() => warnings.push(DataWarning::new(
                class,
                "class folder holds no PNG or JPEG images",
            )),
            Ok(images) => files.extend(images.into_iter().map(|f| (f, label as u8))),
            Err(e) => warnings.push(e.into()),
        }
    }
    Ok((classes, files))
}

/// Decodes one image file's bytes and resizes it to `size`×`size`, as planar RGB (the
/// layout of CIFAR-10: all red, then green, then blue). `path` is only used in messages.
pub fn decode_image(bytes: &[u8], size: usize, path: &Path) -> Result<Vec<u8>, DataError> {
    if bytes.is_empty() {
        return Err(DataError::corrupt(path, "file is empty"));
    }
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| DataError::corrupt(path, format!("cannot read: {e}")))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(1 << 30);
    reader.limits(limits);
    let img = reader
        .decode()
        .map_err(|e| DataError::corrupt(path, format!("cannot decode the image: {e}")))?;
    let side = size.clamp(1, 1024) as u32;
    let rgb = image::imageops::resize(&img.to_rgb8(), side, side, FilterType::Triangle);
    let plane = (side * side) as usize;
    let mut out = vec![0u8; 3 * plane];
    for (i, p) in rgb.pixels().enumerate() {
        for c in 0..3 {
            out[c * plane + i] = p.0[c];
        }
    }
    Ok(out)
}

/// Reads and decodes one image file, refusing oversized files before reading them.
fn read_image(path: &Path, size: usize) -> Result<Vec<u8>, DataError> {
    let meta = std::fs::metadata(path).map_err(|e| DataError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(DataError::corrupt(
            path,
            format!(
                "file is {} MB; images over {} MB are not read",
                meta.len() >> 20,
                MAX_FILE_BYTES >> 20
            ),
        ));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| DataError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
    decode_image(&bytes, size, path)
}

/// A decoded image: its class and its planar pixels.
type Decoded = (u8, Vec<u8>);

/// Reads and decodes `files` on every core; `progress(done, total)` is called as they
/// finish (from several threads). A file that cannot be used is left out with a warning
/// naming it, so one bad photo does not stop the whole folder.
fn decode_all(
    files: &[LabelledFile],
    size: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
    warnings: &mut Vec<DataWarning>,
) -> Vec<Decoded> {
    let done = AtomicUsize::new(0);
    let results: Vec<Result<Vec<u8>, DataError>> = files
        .par_iter()
        .map(|(path, _)| {
            let px = read_image(path, size);
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            progress(n, files.len());
            px
        })
        .collect();
    let mut decoded = Vec::with_capacity(files.len());
    for ((_, label), result) in files.iter().zip(results) {
        match result {
            Ok(px) => decoded.push((*label, px)),
            Err(e) => warnings.push(e.into()),
        }
    }
    decoded
}

/// Images as a set of `size`×`size` colour images.
fn image_set(images: Vec<Decoded>, size: usize) -> ImageSet {
    let shape = ImageShape {
        channels: 3,
        height: size,
        width: size,
    };
    let mut set = ImageSet::empty(shape);
    set.pixels.reserve_exact(images.len() * shape.dim());
    set.labels.reserve_exact(images.len());
    for (label, px) in images {
        set.pixels.extend_from_slice(&px);
        set.labels.push(label);
    }
    set
}

/// Keeps the classes of `class_dirs` that have at least one decoded training image, with a
/// warning for each class folder whose files all failed. Returns the kept classes' names and
/// the new label of each old one (`None`: dropped). Fewer than two classes is an error.
fn classes_with_images(
    root: &Path,
    class_dirs: &[PathBuf],
    files: &[LabelledFile],
    train: &[Decoded],
    warnings: &mut Vec<DataWarning>,
) -> Result<(Vec<String>, Vec<Option<u8>>), DataError> {
    let mut decoded = vec![0usize; class_dirs.len()];
    for (label, _) in train {
        decoded[usize::from(*label)] += 1;
    }
    let mut listed = vec![0usize; class_dirs.len()];
    for (_, label) in files {
        listed[usize::from(*label)] += 1;
    }
    let mut names = Vec::new();
    let mut relabel = vec![None; class_dirs.len()];
    for (old, dir) in class_dirs.iter().enumerate() {
        if decoded[old] > 0 {
            relabel[old] = Some(names.len() as u8);
            names.push(class_name(dir));
        } else if listed[old] > 0 {
            warnings.push(DataWarning::new(
                dir,
                format!(
                    "none of the class's {} image files could be read",
                    listed[old]
                ),
            ));
        }
    }
    if names.len() < 2 {
        let empty: Vec<String> = class_dirs
            .iter()
            .enumerate()
            .filter(|(old, _)| relabel[*old].is_none())
            .map(|(_, d)| class_name(d))
            .collect();
        let found = match names.first() {
            Some(name) => format!("only {name} has them"),
            None => "no class folder has any".into(),
        };
        let missing = if empty.is_empty() {
            String::new()
        } else {
            format!("; none in {}", empty.join(", "))
        };
        return Err(DataError::corrupt(
            root,
            format!(
                "needs at least two class folders with readable PNG or JPEG images; \
                 {found}{missing}"
            ),
        ));
    }
    Ok((names, relabel))
}

/// The kept classes' names, and the training and test images (labels of the kept classes).
type Loaded = (Vec<String>, Vec<Decoded>, Vec<Decoded>);

/// Loads an image folder (see the module docs); `val` images of the training part (at most
/// a fifth) are held out for validation, chosen at random with `seed`. Files that cannot be
/// decoded and class folders without images are skipped and listed in
/// [`Splits::warnings`]; fewer than two classes with images is an error.
pub fn load_splits(
    dir: &Path,
    size: usize,
    val: usize,
    seed: u64,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Splits, DataError> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut warnings = Vec::new();
    let (class_names, mut train, test) = if dir.join("train").is_dir() && dir.join("test").is_dir()
    {
        load_train_and_test(dir, size, progress, &mut warnings)?
    } else {
        load_and_hold_out(dir, size, progress, &mut rng, &mut warnings)?
    };
    train.shuffle(&mut rng);
    if train.len() < 2 {
        return Err(DataError::corrupt(dir, "needs at least 2 training images"));
    }
    let n_val = val.clamp(1, (train.len() / 5).max(1));
    let val_set = image_set(train.split_off(train.len() - n_val), size);
    Ok(Splits {
        name: format!(
            "{} ({size}×{size})",
            dir.file_name()
                .map_or_else(|| "images".into(), |n| n.to_string_lossy().into_owned())
        ),
        class_names,
        train: image_set(train, size),
        val: val_set,
        test: image_set(test, size),
        warnings,
    })
}

/// A folder with `train/` and `test/` class folders: test classes take the labels of the
/// training classes of the same name (a test class with no counterpart is an error), and
/// only classes with training images are kept.
fn load_train_and_test(
    dir: &Path,
    size: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
    warnings: &mut Vec<DataWarning>,
) -> Result<Loaded, DataError> {
    let (class_dirs, train_files) = list(&dir.join("train"), warnings)?;
    let (test_dirs, test_files) = list(&dir.join("test"), warnings)?;
    let train_names: Vec<String> = class_dirs.iter().map(|d| class_name(d)).collect();
    // Test labels follow the training classes' order.
    let mut test_label = Vec::with_capacity(test_dirs.len());
    for test_dir in &test_dirs {
        let name = class_name(test_dir);
        let Some(label) = train_names.iter().position(|n| *n == name) else {
            return Err(DataError::corrupt(
                test_dir,
                "class folder has no counterpart in train/",
            ));
        };
        test_label.push(label as u8);
    }
    let test_files: Vec<LabelledFile> = test_files
        .into_iter()
        .map(|(f, l)| (f, test_label[usize::from(l)]))
        .collect();
    let total = train_files.len() + test_files.len();
    let offset = train_files.len();
    let train = decode_all(&train_files, size, &|n, _| progress(n, total), warnings);
    let test = decode_all(
        &test_files,
        size,
        &|n, _| progress(offset + n, total),
        warnings,
    );
    let (names, relabel) = classes_with_images(dir, &class_dirs, &train_files, &train, warnings)?;
    for (test_dir, &label) in test_dirs.iter().zip(&test_label) {
        let has_images = test.iter().any(|(l, _)| *l == label);
        if relabel[usize::from(label)].is_none() && has_images {
            warnings.push(DataWarning::new(
                test_dir,
                "its class has no training images",
            ));
        }
    }
    let keep = |set: Vec<Decoded>| -> Vec<Decoded> {
        set.into_iter()
            .filter_map(|(l, px)| relabel[usize::from(l)].map(|l| (l, px)))
            .collect()
    };
    let (train, test) = (keep(train), keep(test));
    if test.is_empty() {
        return Err(DataError::corrupt(
            &dir.join("test"),
            "holds no images it can read for the training classes",
        ));
    }
    Ok((names, train, test))
}

/// A folder of class folders alone: a fifth of each class's images, chosen at random with
/// `rng`, are held out for testing.
fn load_and_hold_out(
    dir: &Path,
    size: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
    rng: &mut SmallRng,
    warnings: &mut Vec<DataWarning>,
) -> Result<Loaded, DataError> {
    let (class_dirs, files) = list(dir, warnings)?;
    let all = decode_all(&files, size, progress, warnings);
    let (names, relabel) = classes_with_images(dir, &class_dirs, &files, &all, warnings)?;
    let mut all: Vec<Decoded> = all
        .into_iter()
        .filter_map(|(l, px)| relabel[usize::from(l)].map(|l| (l, px)))
        .collect();
    all.shuffle(rng);
    // A fifth of each class for testing.
    let mut by_class: Vec<Vec<Decoded>> = vec![Vec::new(); names.len()];
    for image in all {
        by_class[usize::from(image.0)].push(image);
    }
    let mut train = Vec::new();
    let mut test = Vec::new();
    for mut of_class in by_class {
        let n_test = of_class.len() / 5;
        test.extend(of_class.drain(..n_test));
        train.extend(of_class);
    }
    if test.is_empty() {
        return Err(DataError::corrupt(
            dir,
            "too few images to hold out a test set (add train/ and test/ folders, or at least 5 images per class)",
        ));
    }
    Ok((names, train, test))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` PNG images of one flat colour in `dir`.
    fn write_colour(dir: &Path, colour: [u8; 3], n: usize) {
        std::fs::create_dir_all(dir).unwrap();
        for i in 0..n {
            image::RgbImage::from_pixel(12 + i as u32, 10, image::Rgb(colour))
                .save(dir.join(format!("{i}.png")))
                .unwrap();
        }
    }

    /// The red, green and blue values of image `i` of `set` (flat colours: the first pixel).
    fn colour_of(set: &ImageSet, i: usize) -> [u8; 3] {
        let plane = set.shape.height * set.shape.width;
        let px = set.image(i);
        [px[0], px[plane], px[2 * plane]]
    }

    /// Skipped classes leave no gap: the remaining classes are numbered 0, 1, … and every
    /// image keeps its own class's label.
    #[test]
    fn skipped_classes_leave_labels_consistent() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::create_dir_all(d.join("a-empty")).unwrap();
        write_colour(&d.join("b-red"), [250, 0, 0], 10);
        std::fs::create_dir_all(d.join("c-broken")).unwrap();
        std::fs::write(d.join("c-broken/x.png"), b"not a png").unwrap();
        std::fs::write(d.join("c-broken/y.jpg"), b"").unwrap();
        write_colour(&d.join("d-blue"), [0, 0, 250], 10);
        std::fs::write(d.join("d-blue/bad.jpg"), b"\xff\xd8\xff").unwrap();

        let splits = load_splits(d, 8, 3, 1, &|_, _| {}).unwrap();
        assert_eq!(splits.class_names, ["b-red", "d-blue"]);
        let expected = [[250, 0, 0], [0, 0, 250]];
        for set in [&splits.train, &splits.val, &splits.test] {
            for i in 0..set.len() {
                assert_eq!(colour_of(set, i), expected[usize::from(set.labels[i])]);
            }
        }
        assert_eq!(
            (splits.train.len(), splits.val.len(), splits.test.len()),
            (13, 3, 4)
        );
        let shown: Vec<String> = splits.warnings.iter().map(|w| w.to_string()).collect();
        assert_eq!(shown.len(), 5, "{shown:?}");
        for (name, why) in [
            ("a-empty", "holds no PNG or JPEG images"),
            ("x.png", "cannot"),
            ("y.jpg", "file is empty"),
            ("bad.jpg", "cannot decode"),
        ] {
            assert!(
                shown
                    .iter()
                    .any(|w| w.starts_with("skipped ") && w.contains(name) && w.contains(why)),
                "{name}: {shown:?}"
            );
        }
        // The class whose files all failed says so, after its files.
        assert!(
            splits
                .warnings
                .iter()
                .any(|w| w.path.ends_with("c-broken") && w.problem.contains("none of")),
            "{shown:?}"
        );
    }

    /// A folder without problems loads with no warnings.
    #[test]
    fn a_clean_folder_has_no_warnings() {
        let tmp = tempfile::tempdir().unwrap();
        write_colour(&tmp.path().join("a"), [1, 2, 3], 5);
        write_colour(&tmp.path().join("b"), [3, 2, 1], 5);
        let splits = load_splits(tmp.path(), 8, 1, 0, &|_, _| {}).unwrap();
        assert!(splits.warnings.is_empty(), "{:?}", splits.warnings);
        assert_eq!(splits.num_classes(), 2);
    }
}
