//! Image data sets: loaders for CIFAR-10 and Fashion-MNIST, a synthetic set, points in the
//! plane (the playground), splits and preprocessing. Pixels stay as `u8` in memory; batches
//! are normalised on the fly.

pub mod augment;
pub mod cifar;
pub mod download;
pub mod fashion;
pub mod folder;
pub mod plane;
pub mod preprocess;
pub mod synthetic;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use preprocess::{Normalizer, Preprocess};

/// Everything that can go wrong while reading a data set; each variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The data directory does not exist.
    #[error("data directory {0} does not exist")]
    MissingDir(PathBuf),
    /// A file the format needs is not there.
    #[error("{path}: file not found ({what})")]
    MissingFile {
        /// The file that was looked for.
        path: PathBuf,
        /// What the file would have held.
        what: &'static str,
    },
    /// Reading failed at the operating-system level.
    #[error("{path}: {source}")]
    Io {
        /// The file being read.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file was read but its contents are not what the format says.
    #[error("{path}: {problem}")]
    Corrupt {
        /// The offending file.
        path: PathBuf,
        /// What is wrong, in words.
        problem: String,
    },
}

impl DataError {
    pub(crate) fn corrupt(path: &Path, problem: impl Into<String>) -> Self {
        DataError::Corrupt {
            path: path.to_path_buf(),
            problem: problem.into(),
        }
    }
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        if source.kind() == std::io::ErrorKind::NotFound {
            return DataError::MissingFile {
                path: path.to_path_buf(),
                what: "expected by the data format",
            };
        }
        DataError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// A file or folder left out while loading a data set, and why; the rest of the data is
/// used. Shown as "skipped photos/cat/img_012.jpg: cannot decode the image: …".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataWarning {
    /// The file or folder that was skipped.
    pub path: PathBuf,
    /// Why, in words.
    pub problem: String,
}

impl DataWarning {
    pub(crate) fn new(path: &Path, problem: impl Into<String>) -> Self {
        DataWarning {
            path: path.to_path_buf(),
            problem: problem.into(),
        }
    }
}

impl std::fmt::Display for DataWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "skipped {}: {}", self.path.display(), self.problem)
    }
}

impl From<DataError> for DataWarning {
    /// The error that made a file unusable, as the warning that it was skipped.
    fn from(e: DataError) -> Self {
        match e {
            DataError::Corrupt { path, problem } => DataWarning { path, problem },
            DataError::Io { path, source } => DataWarning {
                path,
                problem: source.to_string(),
            },
            DataError::MissingFile { path, what } => DataWarning {
                path,
                problem: format!("file not found ({what})"),
            },
            DataError::MissingDir(path) => DataWarning {
                path,
                problem: "folder does not exist".into(),
            },
        }
    }
}

/// Shape of one image: channels are stored as planes (all red, then green, then blue).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageShape {
    /// 3 for colour, 1 for grey.
    pub channels: usize,
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
}

impl ImageShape {
    /// CIFAR-10's 32×32 colour images.
    pub const CIFAR: ImageShape = ImageShape {
        channels: 3,
        height: 32,
        width: 32,
    };
    /// Fashion-MNIST's 28×28 grey images.
    pub const FASHION: ImageShape = ImageShape {
        channels: 1,
        height: 28,
        width: 28,
    };
    /// Number of input dimensions (values per image).
    pub fn dim(&self) -> usize {
        self.channels * self.height * self.width
    }
    /// For each input dimension, the dimension it comes from when the image is mirrored
    /// left–right.
    pub fn flip_permutation(&self) -> Vec<usize> {
        let mut perm = Vec::with_capacity(self.dim());
        for c in 0..self.channels {
            for r in 0..self.height {
                for col in 0..self.width {
                    perm.push((c * self.height + r) * self.width + (self.width - 1 - col));
                }
            }
        }
        perm
    }
}

/// A set of labelled images, pixels as `u8`, one image per row of `dim()` bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageSet {
    /// `len() * shape.dim()` bytes, image after image.
    pub pixels: Vec<u8>,
    /// One class index per image.
    pub labels: Vec<u8>,
    /// Shape of each image.
    pub shape: ImageShape,
}

impl ImageSet {
    /// An empty set of images of the given shape.
    pub fn empty(shape: ImageShape) -> Self {
        ImageSet {
            pixels: Vec::new(),
            labels: Vec::new(),
            shape,
        }
    }
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    /// True when there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    /// The pixels of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        let d = self.shape.dim();
        &self.pixels[i * d..(i + 1) * d]
    }
    /// Image `i` as interleaved RGB bytes, row by row (grey images repeat their value), for
    /// display.
    pub fn rgb(&self, i: usize) -> Vec<u8> {
        let ImageShape {
            channels,
            height,
            width,
        } = self.shape;
        let plane = height * width;
        let px = self.image(i);
        (0..plane)
            .flat_map(|p| (0..3).map(move |c| px[c.min(channels.saturating_sub(1)) * plane + p]))
            .collect()
    }
    /// Appends all images of `other`.
    pub fn extend(&mut self, other: &ImageSet) {
        self.pixels.extend_from_slice(&other.pixels);
        self.labels.extend_from_slice(&other.labels);
    }
    /// Images `range` as a new set.
    pub fn slice(&self, range: std::ops::Range<usize>) -> ImageSet {
        let d = self.shape.dim();
        ImageSet {
            pixels: self.pixels[range.start * d..range.end * d].to_vec(),
            labels: self.labels[range].to_vec(),
            shape: self.shape,
        }
    }
    /// Keeps only the first `n` images.
    pub fn truncate(&mut self, n: usize) {
        if n < self.len() {
            self.pixels.truncate(n * self.shape.dim());
            self.labels.truncate(n);
        }
    }
}

/// Which data set to train on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetKind {
    /// CIFAR-10, binary version.
    #[default]
    Cifar10,
    /// Fashion-MNIST IDX files.
    FashionMnist,
    /// Built-in generated images; needs no files.
    Synthetic,
    /// A folder of PNG/JPEG images, one sub-folder per class.
    Folder,
    /// Points in the plane on a spiral, one arm per class.
    Spiral,
    /// Points in the plane on concentric rings.
    Circle,
    /// Points in the plane on a checkerboard (XOR for two classes).
    Xor,
    /// Points in the plane in Gaussian blobs.
    Gauss,
    /// Points in the plane on interleaved half-moons.
    Moons,
}

impl DatasetKind {
    /// The shape of the points when this is a data set in the plane.
    pub fn plane(self) -> Option<plane::PlaneKind> {
        use plane::PlaneKind as P;
        match self {
            DatasetKind::Spiral => Some(P::Spiral),
            DatasetKind::Circle => Some(P::Circle),
            DatasetKind::Xor => Some(P::Xor),
            DatasetKind::Gauss => Some(P::Gauss),
            DatasetKind::Moons => Some(P::Moons),
            DatasetKind::Cifar10
            | DatasetKind::FashionMnist
            | DatasetKind::Synthetic
            | DatasetKind::Folder => None,
        }
    }
    /// True for the data sets in the plane.
    pub fn is_plane(self) -> bool {
        self.plane().is_some()
    }
    /// The data set of points of shape `kind`.
    pub fn of_plane(kind: plane::PlaneKind) -> Self {
        use plane::PlaneKind as P;
        match kind {
            P::Spiral => DatasetKind::Spiral,
            P::Circle => DatasetKind::Circle,
            P::Xor => DatasetKind::Xor,
            P::Gauss => DatasetKind::Gauss,
            P::Moons => DatasetKind::Moons,
        }
    }
}

/// The settings of a data set in the plane that are not its shape or seed.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaneRequest {
    /// Points in all.
    pub points: usize,
    /// σ of the jitter, plane units.
    pub noise: f64,
    /// Share held out (half validation, half test).
    pub test_share: f64,
    /// Number of classes.
    pub classes: usize,
    /// The network's inputs.
    pub features: Vec<plane::Feature>,
    /// Points added by hand to the training set.
    pub added: Vec<plane::PlanePoint>,
}

impl PlaneRequest {
    /// The full spec of the points for data set `kind` with `seed`.
    pub fn spec(&self, kind: plane::PlaneKind, seed: u64) -> plane::PlaneSpec {
        plane::PlaneSpec {
            kind,
            points: self.points,
            noise: self.noise,
            test_share: self.test_share,
            classes: self.classes,
            seed,
        }
    }
    /// The points of data set `kind` with `seed`, the hand-added ones appended to the
    /// training set.
    pub fn points(
        &self,
        kind: plane::PlaneKind,
        seed: u64,
    ) -> Result<plane::PlanePoints, plane::PlaneError> {
        plane::check_features(&self.features)?;
        let mut pts = plane::generate(&self.spec(kind, seed))?;
        pts.train.extend(
            self.added
                .iter()
                .filter(|p| usize::from(p.label) < self.classes),
        );
        Ok(pts)
    }
}

/// How the training files are divided into training and validation sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum SplitKind {
    /// CIFAR-10: train on batch 1, validate on batch 2 (Fashion-MNIST: the first 10,000
    /// training images and the next 10,000).
    #[default]
    Classic,
    /// All training images but the last `val` for validation.
    All,
}

/// Which part of the data to load and how to split it.
#[derive(Debug, Clone, PartialEq)]
pub struct DataRequest {
    /// The data set.
    pub kind: DatasetKind,
    /// Directory with the files (ignored for the synthetic set).
    pub dir: Option<PathBuf>,
    /// Training/validation split.
    pub split: SplitKind,
    /// Validation size for the `All` split.
    pub val: usize,
    /// At most this many training images (`None`: all).
    pub train_limit: Option<usize>,
    /// Seed for the synthetic set and random splits.
    pub seed: u64,
    /// Side of the square images an image folder is resized to.
    pub image_size: usize,
    /// The points' settings for the data sets in the plane (ignored by the others).
    pub plane: PlaneRequest,
}

/// A data set divided into training, validation and test sets.
#[derive(Debug, Clone)]
pub struct Splits {
    /// Name shown to the user, e.g. "CIFAR-10".
    pub name: String,
    /// Class names, index = label.
    pub class_names: Vec<String>,
    /// Images the model learns from.
    pub train: ImageSet,
    /// Images evaluated after every epoch.
    pub val: ImageSet,
    /// Images evaluated at the end.
    pub test: ImageSet,
    /// Files and folders that were skipped because they could not be used (an image
    /// folder's undecodable files and classes without images); empty for the built-in sets.
    pub warnings: Vec<DataWarning>,
}

impl Splits {
    /// Shape of every image.
    pub fn shape(&self) -> ImageShape {
        self.train.shape
    }
    /// Number of classes.
    pub fn num_classes(&self) -> usize {
        self.class_names.len()
    }
}

/// Where CIFAR-10 is looked for when no directory is given: `$TRAINVIZ_CIFAR10`, then
/// `data/cifar-10-batches-bin`, then `data/`.
pub fn default_cifar_dir() -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(env) = crate::env::cifar10_dir() {
        candidates.push(PathBuf::from(env));
    }
    candidates.push(PathBuf::from("data/cifar-10-batches-bin"));
    candidates.push(PathBuf::from("data"));
    candidates.into_iter().find(|d| cifar::looks_like_cifar(d))
}

/// Where Fashion-MNIST is looked for when no directory is given.
pub fn default_fashion_dir() -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(env) = crate::env::fashion_mnist_dir() {
        candidates.push(PathBuf::from(env));
    }
    candidates.push(PathBuf::from("data/fashion-mnist"));
    candidates.push(PathBuf::from("/usr/share/datasets/fashion-mnist"));
    candidates
        .into_iter()
        .find(|d| fashion::looks_like_fashion(d))
}

/// Splits a list of training parts into training and validation sets.
fn split_train(
    mut parts: Vec<ImageSet>,
    split: SplitKind,
    val: usize,
    path: &Path,
) -> Result<(ImageSet, ImageSet), DataError> {
    let shape = parts[0].shape;
    match split {
        SplitKind::Classic => {
            let val_set = parts.swap_remove(1);
            Ok((parts.swap_remove(0), val_set))
        }
        SplitKind::All => {
            let mut all = if parts.len() == 1 {
                parts.swap_remove(0)
            } else {
                let mut all = ImageSet::empty(shape);
                let total: usize = parts.iter().map(|p| p.len()).sum();
                all.pixels.reserve_exact(total * shape.dim());
                all.labels.reserve_exact(total);
                for p in parts {
                    all.extend(&p);
                }
                all
            };
            if val >= all.len() {
                return Err(DataError::corrupt(
                    path,
                    format!(
                        "validation size {val} leaves no training images (only {} in all)",
                        all.len()
                    ),
                ));
            }
            let val_set = all.slice(all.len() - val..all.len());
            all.truncate(all.len() - val);
            all.pixels.shrink_to_fit();
            Ok((all, val_set))
        }
    }
}

/// What kind of data set the folder `dir` holds (CIFAR-10 when it is not recognisable, so
/// that the error names the CIFAR-10 files it lacks).
pub fn detect_kind(dir: &Path) -> DatasetKind {
    if fashion::looks_like_fashion(dir) {
        DatasetKind::FashionMnist
    } else if cifar::looks_like_cifar(dir) {
        DatasetKind::Cifar10
    } else if folder::looks_like_folder(dir) {
        DatasetKind::Folder
    } else {
        DatasetKind::Cifar10
    }
}

/// Loads the requested data set and splits it.
pub fn load(req: &DataRequest) -> Result<Splits, DataError> {
    load_with_progress(req, &|_, _| {})
}

/// [`load`], calling `progress(done, total)` while an image folder decodes (from several
/// threads).
pub fn load_with_progress(
    req: &DataRequest,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Splits, DataError> {
    let mut splits = match req.kind {
        DatasetKind::Folder => {
            let dir = req.dir.as_ref().ok_or_else(|| DataError::MissingFile {
                path: PathBuf::from("."),
                what: "an image folder (choose it with --data DIR)",
            })?;
            if !dir.is_dir() {
                return Err(DataError::MissingDir(dir.clone()));
            }
            folder::load_splits(dir, req.image_size, req.val, req.seed, progress)?
        }
        DatasetKind::Spiral
        | DatasetKind::Circle
        | DatasetKind::Xor
        | DatasetKind::Gauss
        | DatasetKind::Moons => {
            let kind = req.kind.plane().expect("the arm matches only plane kinds");
            let pts = req
                .plane
                .points(kind, req.seed)
                .map_err(|e| DataError::corrupt(Path::new(kind.key()), e.to_string()))?;
            pts.to_splits(&req.plane.features)
        }
        DatasetKind::Synthetic => synthetic::generate(&synthetic::SyntheticSpec {
            seed: req.seed,
            ..Default::default()
        }),
        DatasetKind::Cifar10 => {
            let dir = match &req.dir {
                Some(d) => d.clone(),
                None => default_cifar_dir().ok_or_else(|| DataError::MissingFile {
                    path: PathBuf::from("data/cifar-10-batches-bin"),
                    what: "CIFAR-10 (set --data DIR or TRAINVIZ_CIFAR10)",
                })?,
            };
            cifar::load_splits(&dir, req.split, req.val)?
        }
        DatasetKind::FashionMnist => {
            let dir = match &req.dir {
                Some(d) => d.clone(),
                None => default_fashion_dir().ok_or_else(|| DataError::MissingFile {
                    path: PathBuf::from("/usr/share/datasets/fashion-mnist"),
                    what: "Fashion-MNIST (apt-get install dataset-fashion-mnist, or --data DIR)",
                })?,
            };
            fashion::load_splits(&dir, req.split, req.val)?
        }
    };
    if let Some(limit) = req.train_limit {
        splits.train.truncate(limit.max(1));
    }
    Ok(splits)
}
