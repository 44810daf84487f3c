//! CIFAR-10 in its official binary layout: records of 1 label byte and 3,072 pixel bytes.

use std::path::Path;

use super::{DataError, ImageSet, ImageShape, SplitKind, Splits, split_train};

/// Bytes per record: one label, then 1024 red, 1024 green and 1024 blue bytes.
pub const RECORD_BYTES: usize = 3073;
/// Number of classes.
pub const NUM_CLASSES: usize = 10;
/// The training files, in order.
pub const TRAIN_FILES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
/// The test file.
pub const TEST_FILE: &str = "test_batch.bin";
/// The class-name file.
pub const META_FILE: &str = "batches.meta.txt";

/// Class names used when `batches.meta.txt` is missing.
pub const DEFAULT_CLASS_NAMES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// True when `dir` holds at least the first training batch and the test batch.
pub fn looks_like_cifar(dir: &Path) -> bool {
    dir.join(TRAIN_FILES[0]).is_file() && dir.join(TEST_FILE).is_file()
}

/// Images in an official batch file.
const MAX_BATCH_RECORDS: u64 = 10_000;
/// Bytes of an official batch file.
const MAX_BATCH_BYTES: u64 = MAX_BATCH_RECORDS * RECORD_BYTES as u64;

/// Parses one batch file's bytes; `path` is only used in messages.
pub fn parse_batch(bytes: &[u8], path: &Path) -> Result<ImageSet, DataError> {
    if bytes.is_empty() {
        return Err(DataError::corrupt(path, "file is empty"));
    }
    if !bytes.len().is_multiple_of(RECORD_BYTES) {
        return Err(DataError::corrupt(
            path,
            format!(
                "size {} bytes is not a multiple of the record size {RECORD_BYTES} (truncated or not a CIFAR-10 batch)",
                bytes.len()
            ),
        ));
    }
    let n = bytes.len() / RECORD_BYTES;
    let dim = RECORD_BYTES - 1;
    let mut pixels = Vec::with_capacity(n * dim);
    let mut labels = Vec::with_capacity(n);
    for (i, record) in bytes.chunks_exact(RECORD_BYTES).enumerate() {
        let label = record[0];
        if usize::from(label) >= NUM_CLASSES {
            return Err(DataError::corrupt(
                path,
                format!("record {i} has label {label}, labels must be 0..=9"),
            ));
        }
        labels.push(label);
        pixels.extend_from_slice(&record[1..]);
    }
    Ok(ImageSet {
        pixels,
        labels,
        shape: ImageShape::CIFAR,
    })
}

/// Reads and parses one batch file.
pub fn load_batch(path: &Path) -> Result<ImageSet, DataError> {
    // An official batch holds 10,000 images; a far bigger file is not read into memory.
    let len = std::fs::metadata(path)
        .map_err(|e| DataError::io(path, e))?
        .len();
    if len > MAX_BATCH_BYTES {
        return Err(DataError::corrupt(
            path,
            format!(
                "file is {len} bytes; a CIFAR-10 batch holds at most {MAX_BATCH_RECORDS} images ({MAX_BATCH_BYTES} bytes)"
            ),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    parse_batch(&bytes, path)
}

/// Reads the class names from `batches.meta.txt`, or the standard names if it is absent.
pub fn load_class_names(dir: &Path) -> Result<Vec<String>, DataError> {
    let path = dir.join(META_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let names: Vec<String> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect();
            if names.len() != NUM_CLASSES {
                return Err(DataError::corrupt(
                    &path,
                    format!("expected {NUM_CLASSES} class names, found {}", names.len()),
                ));
            }
            Ok(names)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok(DEFAULT_CLASS_NAMES.iter().map(|s| s.to_string()).collect())
        }
        Err(e) => Err(DataError::io(&path, e)),
    }
}

/// Loads CIFAR-10 from `dir` and splits it as asked.
pub fn load_splits(dir: &Path, split: SplitKind, val: usize) -> Result<Splits, DataError> {
    if !dir.is_dir() {
        return Err(DataError::MissingDir(dir.to_path_buf()));
    }
    let files: &[&str] = match split {
        SplitKind::Classic => &TRAIN_FILES[..2],
        SplitKind::All => &TRAIN_FILES,
    };
    let mut parts = Vec::with_capacity(files.len());
    // For the `all` split, batches are appended to one set as they are read, so that at most
    // one batch (30 MB) exists beside it: peak memory stays near the data's own size.
    let mut merged = ImageSet::empty(ImageShape::CIFAR);
    if split == SplitKind::All {
        merged
            .pixels
            .reserve_exact(files.len() * 10_000 * ImageShape::CIFAR.dim());
    }
    for f in files {
        let path = dir.join(f);
        if !path.is_file() {
            return Err(DataError::MissingFile {
                path,
                what: "a CIFAR-10 training batch",
            });
        }
        let batch = load_batch(&path)?;
        match split {
            SplitKind::Classic => parts.push(batch),
            SplitKind::All => merged.extend(&batch),
        }
    }
    if split == SplitKind::All {
        parts.push(merged);
    }
    let test_path = dir.join(TEST_FILE);
    if !test_path.is_file() {
        return Err(DataError::MissingFile {
            path: test_path,
            what: "the CIFAR-10 test batch",
        });
    }
    let test = load_batch(&test_path)?;
    let class_names = load_class_names(dir)?;
    let (train, val) = split_train(parts, split, val, dir)?;
    Ok(Splits {
        name: "CIFAR-10".into(),
        class_names,
        train,
        val,
        test,
        warnings: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(label: u8, fill: u8) -> Vec<u8> {
        let mut r = vec![fill; RECORD_BYTES];
        r[0] = label;
        r
    }

    #[test]
    fn parses_records_in_order() {
        let mut bytes = record(3, 7);
        bytes.extend(record(9, 200));
        let set = parse_batch(&bytes, Path::new("x.bin")).unwrap();
        assert_eq!(set.labels, vec![3, 9]);
        assert_eq!(set.image(1)[0], 200);
        assert_eq!(set.image(0).len(), 3072);
    }

    #[test]
    fn rejects_bad_label_and_size() {
        let err = parse_batch(&record(200, 0), Path::new("b.bin")).unwrap_err();
        assert!(err.to_string().contains("label 200"), "{err}");
        let err = parse_batch(&record(1, 0)[..100], Path::new("b.bin")).unwrap_err();
        assert!(err.to_string().contains("not a multiple"), "{err}");
        let err = parse_batch(&[], Path::new("b.bin")).unwrap_err();
        assert!(err.to_string().contains("empty"), "{err}");
    }
}
