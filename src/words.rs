//! The words for each setting's choices, the one place they are written: what a person
//! would write, never the name of a Rust enum variant. The window's menus, the run titles,
//! the report and the command line's messages all take them from here. The words sit below
//! the training engine (which titles runs with them), so the words of the engine's own
//! choices — optimizers, schedules — are written beside their enums, in
//! `train::optimizer` and `train::config`, implementing this module's [`Words`].

use crate::data::{DatasetKind, Preprocess, SplitKind};
use crate::model::{Activation, InitKind, LossKind};

/// A choice shown in a menu: its label and a one-line explanation.
pub trait Words: Copy + PartialEq + 'static {
    /// Every choice, in menu order.
    fn all() -> &'static [Self];
    /// The label on the control.
    fn label(self) -> &'static str;
    /// What it means, for the tooltip.
    fn explain(self) -> &'static str;
}

/// The name of class `k` as the user reads it: its name in `names` (the data set's class
/// names), or "class k" where the data set names none.
pub fn class_name(names: &[String], k: usize) -> String {
    names
        .get(k)
        .cloned()
        .unwrap_or_else(|| format!("class {k}"))
}

impl Words for LossKind {
    fn all() -> &'static [Self] {
        &LossKind::ALL
    }
    fn label(self) -> &'static str {
        match self {
            LossKind::Ce => "Softmax cross-entropy",
            LossKind::Bce => "Binary cross-entropy (sigmoid)",
            LossKind::Svm => "Multiclass SVM (hinge)",
        }
    }
    fn explain(self) -> &'static str {
        match self {
            LossKind::Ce => "One softmax over the classes; the loss is −log p(true class).",
            LossKind::Bce => {
                "One independent sigmoid per class, each a yes/no question, averaged over classes."
            }
            LossKind::Svm => {
                "Multiclass hinge loss: other classes should score 1 below the true one."
            }
        }
    }
}

impl Words for Activation {
    fn all() -> &'static [Self] {
        &Activation::ALL
    }
    fn label(self) -> &'static str {
        match self {
            Activation::Relu => "ReLU",
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "Logistic sigmoid",
        }
    }
    fn explain(self) -> &'static str {
        match self {
            Activation::Relu => "max(0, z): fast, the usual choice.",
            Activation::Tanh => "Hyperbolic tangent, outputs in −1…1.",
            Activation::Sigmoid => "1 / (1 + e^−z), outputs in 0…1; learns slowly when saturated.",
        }
    }
}

impl Words for InitKind {
    fn all() -> &'static [Self] {
        &InitKind::ALL
    }
    fn label(self) -> &'static str {
        match self {
            InitKind::Gaussian => "Gaussian, fixed σ",
            InitKind::Xavier => "Xavier (σ = 1/√inputs)",
            InitKind::He => "He (σ = √(2/inputs))",
        }
    }
    fn explain(self) -> &'static str {
        match self {
            InitKind::Gaussian => "Every weight drawn from N(0, σ²) with the σ set below.",
            InitKind::Xavier => "σ shrinks with the number of inputs: suits tanh and sigmoid.",
            InitKind::He => "Twice the Xavier variance: suits ReLU.",
        }
    }
}

impl Words for DatasetKind {
    fn all() -> &'static [Self] {
        &[
            DatasetKind::Cifar10,
            DatasetKind::FashionMnist,
            DatasetKind::Folder,
            DatasetKind::Synthetic,
            DatasetKind::Spiral,
            DatasetKind::Circle,
            DatasetKind::Xor,
            DatasetKind::Gauss,
            DatasetKind::Moons,
        ]
    }
    fn label(self) -> &'static str {
        match self {
            DatasetKind::Cifar10 => "CIFAR-10",
            DatasetKind::FashionMnist => "Fashion-MNIST",
            DatasetKind::Folder => "Image folder",
            DatasetKind::Synthetic => "Synthetic practice set",
            DatasetKind::Spiral => "Plane: spiral",
            DatasetKind::Circle => "Plane: circle",
            DatasetKind::Xor => "Plane: XOR",
            DatasetKind::Gauss => "Plane: Gaussian blobs",
            DatasetKind::Moons => "Plane: moons",
        }
    }
    fn explain(self) -> &'static str {
        match self {
            DatasetKind::Cifar10 => "60,000 colour photos of 10 classes, 32×32 (162 MB download).",
            DatasetKind::FashionMnist => "70,000 grey pictures of clothes, 28×28.",
            DatasetKind::Folder => "Your own PNG/JPEG pictures, one sub-folder per class.",
            DatasetKind::Synthetic => {
                "Coloured blobs on noise, made up on the spot: for trying the app without data."
            }
            DatasetKind::Spiral => {
                "Playground: points in the plane on one spiral arm per class; see the Plane tab."
            }
            DatasetKind::Circle => {
                "Playground: points in the plane on concentric rings, one per class."
            }
            DatasetKind::Xor => {
                "Playground: points on a checkerboard; two classes make XOR (same sign or not)."
            }
            DatasetKind::Gauss => "Playground: one Gaussian blob of points per class.",
            DatasetKind::Moons => "Playground: interleaved half-moons, one per class.",
        }
    }
}

impl Words for SplitKind {
    fn all() -> &'static [Self] {
        &[SplitKind::Classic, SplitKind::All]
    }
    fn label(self) -> &'static str {
        match self {
            SplitKind::Classic => "Classic (batch 1 / batch 2)",
            SplitKind::All => "All training images",
        }
    }
    fn explain(self) -> &'static str {
        match self {
            SplitKind::Classic => "Train on CIFAR-10 batch 1, validate on batch 2.",
            SplitKind::All => "Train on every training image except the validation ones.",
        }
    }
}

impl Words for Preprocess {
    fn all() -> &'static [Self] {
        &[
            Preprocess::Standardize,
            Preprocess::MeanOnly,
            Preprocess::None,
        ]
    }
    fn label(self) -> &'static str {
        match self {
            Preprocess::Standardize => "Standardise each input",
            Preprocess::MeanOnly => "Subtract the mean",
            Preprocess::None => "Scale to 0…1 only",
        }
    }
    fn explain(self) -> &'static str {
        match self {
            Preprocess::Standardize => "Subtract each input's mean and divide by its spread.",
            Preprocess::MeanOnly => "Subtract each input's mean, then divide by 255.",
            Preprocess::None => "Divide by 255 and nothing else.",
        }
    }
}
