//! Image folders as data sets: one sub-folder per class holding PNG or JPEG files of any
//! size, resized to `size`×`size` colour images. With `train/` and `test/` sub-folders
//! (each with the class folders) those are the split; otherwise a seeded random fifth of
//! each class is held out for testing. Decoding runs on every core and reports progress.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use image::imageops::FilterType;
use rand::seq::SliceRandom;
use rand::{SeedableRng, rngs::SmallRng};
use rayon::prelude::*;

use super::{DataError, ImageSet, ImageShape, Splits};

/// Largest image file read (bytes): bigger files are refused, not decoded.
pub const MAX_FILE_BYTES: u64 = 64 << 20;
/// Largest width or height decoded.
const MAX_SIDE: u32 = 16_384;
/// Most classes (labels are bytes).
const MAX_CLASSES: usize = 256;

/// True for a file name ending in .png, .jpg or .jpeg (any case).
fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
}

/// Sub-folders of `dir`, sorted by name.
fn sub_dirs(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let entries = std::fs::read_dir(dir).map_err(|e| DataError::Io {
        path: dir.to_path_buf(),
        source: e,
    })?;
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
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

/// (file, label) of every image under the class folders of `root`, with the class names.
fn list(root: &Path) -> Result<(Vec<String>, Vec<LabelledFile>), DataError> {
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
        let images = images_in(class)?;
        if images.is_empty() {
            return Err(DataError::corrupt(
                class,
                "class folder holds no PNG or JPEG images",
            ));
        }
        files.extend(images.into_iter().map(|f| (f, label as u8)));
    }
    Ok((classes.iter().map(|c| class_name(c)).collect(), files))
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

/// Reads and decodes `files` on every core; `progress(done, total)` is called as they
/// finish (from several threads). The first failure, naming its file, ends it.
fn decode_all(
    files: &[LabelledFile],
    size: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<ImageSet, DataError> {
    let done = AtomicUsize::new(0);
    let decoded: Vec<Vec<u8>> = files
        .par_iter()
        .map(|(path, _)| {
            let meta = std::fs::metadata(path).map_err(|e| DataError::Io {
                path: path.clone(),
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
                    path: path.clone(),
                    source: e,
                })?;
            let px = decode_image(&bytes, size, path)?;
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            progress(n, files.len());
            Ok(px)
        })
        .collect::<Result<_, DataError>>()?;
    let shape = ImageShape {
        channels: 3,
        height: size,
        width: size,
    };
    let mut set = ImageSet::empty(shape);
    set.pixels.reserve_exact(files.len() * shape.dim());
    for px in decoded {
        set.pixels.extend_from_slice(&px);
    }
    set.labels = files.iter().map(|f| f.1).collect();
    Ok(set)
}

/// Loads an image folder (see the module docs); `val` images of the training part (at most
/// a fifth) are held out for validation, chosen at random with `seed`.
pub fn load_splits(
    dir: &Path,
    size: usize,
    val: usize,
    seed: u64,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Splits, DataError> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let (class_names, mut train_files, test_files) = if dir.join("train").is_dir()
        && dir.join("test").is_dir()
    {
        let (names, train) = list(&dir.join("train"))?;
        let (test_names, test) = list(&dir.join("test"))?;
        if let Some(extra) = test_names.iter().find(|n| !names.contains(n)) {
            return Err(DataError::corrupt(
                &dir.join("test").join(extra),
                "class folder has no counterpart in train/",
            ));
        }
        // Test labels follow the training classes' order.
        let test = test
            .into_iter()
            .map(|(f, l)| {
                let name = &test_names[usize::from(l)];
                let label = names.iter().position(|n| n == name).unwrap_or(0) as u8;
                (f, label)
            })
            .collect();
        (names, train, test)
    } else {
        let (names, mut all) = list(dir)?;
        all.shuffle(&mut rng);
        // A fifth of each class for testing.
        let mut train = Vec::new();
        let mut test = Vec::new();
        for label in 0..names.len() as u8 {
            let of_class: Vec<_> = all.iter().filter(|f| f.1 == label).cloned().collect();
            let n_test = of_class.len() / 5;
            test.extend_from_slice(&of_class[..n_test]);
            train.extend_from_slice(&of_class[n_test..]);
        }
        if test.is_empty() {
            return Err(DataError::corrupt(
                dir,
                "too few images to hold out a test set (add train/ and test/ folders, or at least 5 images per class)",
            ));
        }
        (names, train, test)
    };
    train_files.shuffle(&mut rng);
    if train_files.len() < 2 {
        return Err(DataError::corrupt(dir, "needs at least 2 training images"));
    }
    let n_val = val.clamp(1, (train_files.len() / 5).max(1));
    let total = train_files.len() + test_files.len();
    let offset = train_files.len();
    let train_all = decode_all(&train_files, size, &|n, _| progress(n, total))?;
    let test = decode_all(&test_files, size, &|n, _| progress(offset + n, total))?;
    let val_set = train_all.slice(train_all.len() - n_val..train_all.len());
    let mut train = train_all;
    train.truncate(train.len() - n_val);
    Ok(Splits {
        name: format!(
            "{} ({size}×{size})",
            dir.file_name()
                .map_or_else(|| "images".into(), |n| n.to_string_lossy().into_owned())
        ),
        class_names,
        train,
        val: val_set,
        test,
    })
}
