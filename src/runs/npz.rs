//! A run's weights and input normalisation as a NumPy `.npz` archive, so that a few lines of
//! NumPy reproduce the network's outputs.
//!
//! The archive holds (all numbers `float32`):
//! - `W1`, `b1`, …, `WL`, `bL`: layer l maps its input `a` to `a @ Wl.T + bl`; `Wl` has one
//!   row per output unit; the last layer gives the class scores;
//! - `mean`, `scale`: the input of the first layer is `(pixels - mean) * scale`, pixels in
//!   the data set's order (CIFAR-10: the 3,072 bytes after each record's label);
//! - `activation`: the hidden layers' non-linearity as UTF-8 bytes (`relu`, `tanh` or
//!   `sigmoid`; read it with `bytes(f["activation"]).decode()`);
//! - `preprocess`: how `mean` and `scale` were fitted (`standardize`, `mean-only`, `none`),
//!   as UTF-8 bytes;
//! - `class_names`: the class names, one per line, as UTF-8 bytes.
//!
//!
//! A layer stack's archive (a run set with `layers`) holds instead, by the layer's position
//! `i` in the stack (from 1; the implied output layer to the classes is last):
//! - `W{i}`, `b{i}` for dense, patchify and convolution layers (a filter's weights ordered
//!   row, column, channel; a dense layer after maps reads them in that order too);
//! - `gamma{i}`, `beta{i}`, `mean{i}`, `var{i}` for batch norm (per channel);
//! - `layers`: the layers as text (the `--layers` grammar) and `shape`: the images' height,
//!   width and channels (`int64`); `mean`, `scale`, `preprocess` and `class_names` as above.
//!   README.md shows the NumPy lines that run it.
//!
//! Written with the `ndarray-npy` crate (it builds against our ndarray 0.17), uncompressed,
//! to a temporary file renamed into place.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use ndarray::Array1;
use ndarray_npy::{NpzWriter, WriteNpyExt};
use thiserror::Error;

use super::{RunError, SavedRun};
use crate::data::{self, DataError, Normalizer, Preprocess};
use crate::model::stack::{Stack, StackLayer};
use crate::model::{Activation, Network};
use crate::report::{ExportError, write_atomic};
use crate::train::Model;

/// What can go wrong while exporting a run as `.npz`.
#[derive(Debug, Error)]
pub enum NpzError {
    /// The run folder could not be read.
    #[error(transparent)]
    Run(#[from] RunError),
    /// The run's data (needed to refit the normalisation) could not be loaded.
    #[error("cannot load the run's data to refit its normalisation: {0}")]
    Data(#[from] DataError),
    /// The weights do not fit the data.
    #[error("the saved weights do not fit the run's data ({0})")]
    Mismatch(String),
    /// The archive could not be assembled.
    #[error("cannot write {path}: {problem}")]
    Encode {
        /// The file.
        path: PathBuf,
        /// Why.
        problem: String,
    },
    /// The file could not be written.
    #[error(transparent)]
    Write(#[from] ExportError),
}

/// The name NumPy's users know an activation by.
fn activation_name(a: Activation) -> &'static str {
    match a {
        Activation::Relu => "relu",
        Activation::Tanh => "tanh",
        Activation::Sigmoid => "sigmoid",
    }
}

/// The name of a normalisation, as in the settings.
fn preprocess_name(p: Preprocess) -> &'static str {
    match p {
        Preprocess::Standardize => "standardize",
        Preprocess::MeanOnly => "mean-only",
        Preprocess::None => "none",
    }
}

/// An archive being assembled in memory, for the file `path` (which its errors name).
struct Archive<'a> {
    npz: NpzWriter<Cursor<Vec<u8>>>,
    path: &'a Path,
}

impl<'a> Archive<'a> {
    /// An empty archive for a model of `inputs` inputs per image normalised by `norm`
    /// (refused when the two differ).
    fn new(path: &'a Path, inputs: usize, norm: &Normalizer) -> Result<Self, NpzError> {
        if norm.dim() != inputs {
            return Err(NpzError::Mismatch(format!(
                "{inputs} inputs, {} normalised dimensions",
                norm.dim()
            )));
        }
        Ok(Archive {
            npz: NpzWriter::new(Cursor::new(Vec::new())),
            path,
        })
    }

    /// Adds `array` as `name`.
    fn add(
        &mut self,
        name: impl Into<String>,
        array: &(impl WriteNpyExt + ?Sized),
    ) -> Result<(), NpzError> {
        self.npz
            .add_array(name, array)
            .map_err(|e| NpzError::Encode {
                path: self.path.to_path_buf(),
                problem: e.to_string(),
            })
    }

    /// Adds what every archive ends with (`mean`, `scale`, the model in words as
    /// `described.0`, `preprocess` and `class_names`; see the module's doc) and returns the
    /// archive's bytes.
    fn finish(
        mut self,
        norm: &Normalizer,
        described: (&str, &str),
        preprocess: Preprocess,
        class_names: &[String],
    ) -> Result<Vec<u8>, NpzError> {
        self.add("mean", &Array1::from(norm.mean.clone()))?;
        self.add("scale", &Array1::from(norm.scale.clone()))?;
        let bytes = |s: &str| Array1::from(s.as_bytes().to_vec());
        for (name, a) in [
            (described.0, bytes(described.1)),
            ("preprocess", bytes(preprocess_name(preprocess))),
            ("class_names", bytes(&class_names.join("\n"))),
        ] {
            self.add(name, &a)?;
        }
        let cursor = self.npz.finish().map_err(|e| NpzError::Encode {
            path: self.path.to_path_buf(),
            problem: e.to_string(),
        })?;
        Ok(cursor.into_inner())
    }
}

/// The `.npz` archive of `net` with its normalisation, as bytes.
pub fn npz_bytes(
    net: &Network<f32>,
    norm: &Normalizer,
    preprocess: Preprocess,
    class_names: &[String],
    path: &Path,
) -> Result<Vec<u8>, NpzError> {
    let mut npz = Archive::new(path, net.input_dim(), norm)?;
    for (l, layer) in net.layers.iter().enumerate() {
        npz.add(format!("W{}", l + 1), &layer.weights)?;
        npz.add(format!("b{}", l + 1), &layer.bias)?;
    }
    let activation = ("activation", activation_name(net.activation));
    npz.finish(norm, activation, preprocess, class_names)
}

/// The `.npz` archive of a layer stack with its normalisation, as bytes (see the module's
/// doc for the names).
pub fn stack_npz_bytes(
    stack: &Stack<f32>,
    norm: &Normalizer,
    preprocess: Preprocess,
    class_names: &[String],
    path: &Path,
) -> Result<Vec<u8>, NpzError> {
    let input = stack.input_shape();
    let mut npz = Archive::new(path, input.size(), norm)?;
    for (i, layer) in stack.layers.iter().enumerate() {
        let i = i + 1;
        match layer {
            StackLayer::Linear { weights, bias } => {
                npz.add(format!("W{i}"), weights)?;
                npz.add(format!("b{i}"), bias)?;
            }
            StackLayer::Bn(bn) => {
                for (name, a) in [
                    ("gamma", &bn.gamma),
                    ("beta", &bn.beta),
                    ("mean", &bn.mean),
                    ("var", &bn.var),
                ] {
                    npz.add(format!("{name}{i}"), a)?;
                }
            }
            StackLayer::Fixed => {}
        }
    }
    let shape = Array1::from(vec![input.h as i64, input.w as i64, input.c as i64]);
    npz.add("shape", &shape)?;
    let layers = crate::model::layers::to_text(&stack.specs[..stack.specs.len() - 1]);
    npz.finish(norm, ("layers", &layers), preprocess, class_names)
}

/// Writes the saved run's weights and normalisation to `out` as `.npz`. The normalisation
/// is refitted on the run's training data, as training fitted it (`data_dir` replaces the
/// data folder recorded in the run, e.g. after moving it).
pub fn export_run(saved: &SavedRun, data_dir: Option<PathBuf>, out: &Path) -> Result<(), NpzError> {
    let model = saved.model()?;
    let mut request = saved.settings.start.data_request();
    if data_dir.is_some() {
        request.dir = data_dir;
    }
    let splits = data::load(&request)?;
    if model.classes() != splits.num_classes() {
        return Err(NpzError::Mismatch(format!(
            "{} class scores, {} classes",
            model.classes(),
            splits.num_classes()
        )));
    }
    let preprocess = saved.settings.start.preprocess;
    let norm = Normalizer::fit(&splits.train, preprocess);
    let names = &saved.meta.class_names;
    let bytes = match &model {
        Model::Mlp(net) => npz_bytes(net, &norm, preprocess, names, out)?,
        Model::Stack(stack) => stack_npz_bytes(stack, &norm, preprocess, names, out)?,
    };
    write_atomic(out, &bytes)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use std::io::Read;

    #[test]
    fn archive_holds_every_layer_and_the_normalisation_as_npy_files() {
        let mut rng = rand::rngs::SmallRng::seed_from_u64(3);
        let net = Network::<f32>::new(
            12,
            &[5, 4],
            3,
            Activation::Tanh,
            crate::model::InitKind::Xavier,
            0.01,
            &mut rng,
        );
        let norm = Normalizer {
            mean: vec![1.5; 12],
            scale: vec![0.5; 12],
        };
        let names = vec!["a".to_string(), "b".into(), "c".into()];
        let bytes = npz_bytes(
            &net,
            &norm,
            Preprocess::Standardize,
            &names,
            Path::new("x.npz"),
        )
        .unwrap();
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut files: Vec<String> = zip.file_names().map(String::from).collect();
        files.sort();
        assert_eq!(
            files,
            [
                "W1.npy",
                "W2.npy",
                "W3.npy",
                "activation.npy",
                "b1.npy",
                "b2.npy",
                "b3.npy",
                "class_names.npy",
                "mean.npy",
                "preprocess.npy",
                "scale.npy"
            ]
        );
        let mut w2 = Vec::new();
        zip.by_name("W2.npy").unwrap().read_to_end(&mut w2).unwrap();
        let header = String::from_utf8_lossy(&w2[..w2.len().min(128)]).to_string();
        assert!(w2.starts_with(b"\x93NUMPY"), "{header}");
        assert!(header.contains("'descr': '<f4'"), "{header}");
        assert!(header.contains("'shape': (4, 5)"), "{header}");
        // The data follow the header, row-major, little-endian.
        let data = &w2[w2.len() - 4 * 20..];
        let first = f32::from_le_bytes([data[0], data[1], data[2], data[3]]);
        assert_eq!(first, net.layers[1].weights[[0, 0]]);
        let mut act = Vec::new();
        zip.by_name("activation.npy")
            .unwrap()
            .read_to_end(&mut act)
            .unwrap();
        assert!(act.ends_with(b"tanh"));
        let wrong = Normalizer {
            mean: vec![0.0; 3],
            scale: vec![1.0; 3],
        };
        assert!(matches!(
            npz_bytes(&net, &wrong, Preprocess::None, &names, Path::new("x.npz")),
            Err(NpzError::Mismatch(_))
        ));
    }
}
