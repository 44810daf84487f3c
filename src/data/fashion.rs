//! Fashion-MNIST in IDX format (gzip-compressed or not), 28×28 grey images.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::{DataError, ImageSet, ImageShape, SplitKind, Splits, split_train};

/// Class names of Fashion-MNIST, index = label.
pub const CLASS_NAMES: [&str; 10] = [
    "T-shirt/top",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle boot",
];

/// Size of the classic training and validation parts.
const CLASSIC_PART: usize = 10_000;

/// Finds `stem` or `stem.gz` in `dir`.
fn find(dir: &Path, stem: &str) -> Option<PathBuf> {
    [dir.join(stem), dir.join(format!("{stem}.gz"))]
        .into_iter()
        .find(|p| p.is_file())
}

/// True when `dir` holds the four Fashion-MNIST files.
pub fn looks_like_fashion(dir: &Path) -> bool {
    [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ]
    .iter()
    .all(|s| find(dir, s).is_some())
}

/// Reads a file, decompressing it when it starts with the gzip magic.
/// Largest IDX file read (after unpacking).
const MAX_IDX_BYTES: u64 = 256 << 20;

fn read_maybe_gzip(path: &Path) -> Result<Vec<u8>, DataError> {
    let too_big = || {
        DataError::corrupt(
            path,
            format!(
                "holds over {} MB; Fashion-MNIST files are under 50 MB",
                MAX_IDX_BYTES >> 20
            ),
        )
    };
    let len = std::fs::metadata(path)
        .map_err(|e| DataError::io(path, e))?
        .len();
    if len > MAX_IDX_BYTES {
        return Err(too_big());
    }
    let raw = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        // Bounded, so a small file that unpacks to gigabytes is refused, not unpacked.
        flate2::read::GzDecoder::new(&raw[..])
            .take(MAX_IDX_BYTES + 1)
            .read_to_end(&mut out)
            .map_err(|e| DataError::corrupt(path, format!("gzip data is broken: {e}")))?;
        if out.len() as u64 > MAX_IDX_BYTES {
            return Err(too_big());
        }
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// Parses an IDX file's header: returns the dimensions and the payload.
pub fn parse_idx<'a>(
    bytes: &'a [u8],
    expected_dims: usize,
    path: &Path,
) -> Result<(Vec<usize>, &'a [u8]), DataError> {
    if bytes.len() < 4 {
        return Err(DataError::corrupt(
            path,
            "file is too short for an IDX header",
        ));
    }
    if bytes[0] != 0 || bytes[1] != 0 || bytes[2] != 0x08 {
        return Err(DataError::corrupt(
            path,
            format!(
                "wrong magic number {:02x}{:02x}{:02x}{:02x} (expected 000008{expected_dims:02x}, unsigned bytes)",
                bytes[0], bytes[1], bytes[2], bytes[3]
            ),
        ));
    }
    let ndims = usize::from(bytes[3]);
    if ndims != expected_dims {
        return Err(DataError::corrupt(
            path,
            format!("has {ndims} dimensions, expected {expected_dims}"),
        ));
    }
    let header = 4 + 4 * ndims;
    if bytes.len() < header {
        return Err(DataError::corrupt(
            path,
            "file is too short for its IDX header",
        ));
    }
    let dims: Vec<usize> = (0..ndims)
        .map(|i| {
            let b = &bytes[4 + 4 * i..8 + 4 * i];
            u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize
        })
        .collect();
    let expected: usize = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| DataError::corrupt(path, "dimensions in the header are impossibly large"))?;
    let payload = &bytes[header..];
    if payload.len() != expected {
        return Err(DataError::corrupt(
            path,
            format!(
                "header promises {expected} bytes of data ({dims:?}) but the file holds {}",
                payload.len()
            ),
        ));
    }
    Ok((dims, payload))
}

/// Loads one images file and its labels file into a set.
pub fn load_pair(images: &Path, labels: &Path) -> Result<ImageSet, DataError> {
    let img_bytes = read_maybe_gzip(images)?;
    let lbl_bytes = read_maybe_gzip(labels)?;
    let (idims, pixels) = parse_idx(&img_bytes, 3, images)?;
    let (ldims, label_data) = parse_idx(&lbl_bytes, 1, labels)?;
    if idims[1] != 28 || idims[2] != 28 {
        return Err(DataError::corrupt(
            images,
            format!("images are {}×{}, expected 28×28", idims[1], idims[2]),
        ));
    }
    if idims[0] != ldims[0] {
        return Err(DataError::corrupt(
            labels,
            format!("{} labels for {} images", ldims[0], idims[0]),
        ));
    }
    if idims[0] == 0 {
        return Err(DataError::corrupt(images, "holds no images"));
    }
    if let Some(pos) = label_data.iter().position(|&l| l >= 10) {
        return Err(DataError::corrupt(
            labels,
            format!(
                "label {} at index {pos}, labels must be 0..=9",
                label_data[pos]
            ),
        ));
    }
    Ok(ImageSet {
        pixels: pixels.to_vec(),
        labels: label_data.to_vec(),
        shape: ImageShape::FASHION,
    })
}

/// Loads Fashion-MNIST from `dir` and splits it.
pub fn load_splits(dir: &Path, split: SplitKind, val: usize) -> Result<Splits, DataError> {
    if !dir.is_dir() {
        return Err(DataError::MissingDir(dir.to_path_buf()));
    }
    let need = |stem: &str| {
        find(dir, stem).ok_or_else(|| DataError::MissingFile {
            path: dir.join(stem),
            what: "a Fashion-MNIST IDX file",
        })
    };
    let train_all = load_pair(
        &need("train-images-idx3-ubyte")?,
        &need("train-labels-idx1-ubyte")?,
    )?;
    let test = load_pair(
        &need("t10k-images-idx3-ubyte")?,
        &need("t10k-labels-idx1-ubyte")?,
    )?;
    let parts = match split {
        SplitKind::Classic => {
            let n = train_all.len();
            let a = CLASSIC_PART.min(n / 2);
            vec![train_all.slice(0..a), train_all.slice(a..(2 * a).min(n))]
        }
        SplitKind::All => vec![train_all],
    };
    let (train, val) = split_train(parts, split, val, dir)?;
    Ok(Splits {
        name: "Fashion-MNIST".into(),
        class_names: CLASS_NAMES.iter().map(|s| s.to_string()).collect(),
        train,
        val,
        test,
        warnings: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_wrong_magic_and_short_payload() {
        let p = Path::new("f");
        let err = parse_idx(&[0, 0, 9, 1, 0, 0, 0, 1, 5], 1, p).unwrap_err();
        assert!(err.to_string().contains("magic"), "{err}");
        let err = parse_idx(&[0, 0, 8, 1, 0, 0, 0, 3, 5], 1, p).unwrap_err();
        assert!(err.to_string().contains("promises 3 bytes"), "{err}");
        let (dims, data) = parse_idx(&[0, 0, 8, 1, 0, 0, 0, 1, 5], 1, p).unwrap();
        assert_eq!((dims, data), (vec![1], &[5u8][..]));
    }

    #[test]
    fn huge_dimensions_do_not_overflow() {
        let bytes = [
            0, 0, 8, 3, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
        ];
        assert!(parse_idx(&bytes, 3, Path::new("f")).is_err());
    }
}
