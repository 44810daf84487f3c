//! The words for each setting's choices, the one place they are written: what a person
//! would write, never the name of a Rust enum variant. The window's menus, the run titles,
//! the report and the command line's messages all take them from here.

use crate::data::{DatasetKind, Preprocess, SplitKind};
use crate::model::{Activation, InitKind, LossKind};
use crate::train::{OptimizerKind, ScheduleKind};

/// A choice shown in a menu: its label and a one-line explanation.
pub trait Words: Copy + PartialEq + 'static {
    /// Every choice, in menu order.
    fn all() -> &'static [Self];
    /// The label on the control.
    fn label(self) -> &'static str;
    /// What it means, for the tooltip.
    fn explain(self) -> &'static str;
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

impl Words for ScheduleKind {
    fn all() -> &'static [Self] {
        &ScheduleKind::ALL
    }
    fn label(self) -> &'static str {
        match self {
            ScheduleKind::Constant => "Constant η",
            ScheduleKind::Exp => "Exponential decay",
            ScheduleKind::Step => "Step decay",
            ScheduleKind::Cyclic => "Cyclic (triangular)",
        }
    }
    fn explain(self) -> &'static str {
        match self {
            ScheduleKind::Constant => "η stays as set.",
            ScheduleKind::Exp => "η is multiplied by the decay factor after every epoch.",
            ScheduleKind::Step => "η is multiplied by the step factor every few epochs.",
            ScheduleKind::Cyclic => "η goes up and down between η min and η max.",
        }
    }
}

impl Words for OptimizerKind {
    fn all() -> &'static [Self] {
        &OptimizerKind::ALL
    }
    fn label(self) -> &'static str {
        match self {
            OptimizerKind::Sgd => "SGD",
            OptimizerKind::Momentum => "momentum",
            OptimizerKind::Nesterov => "Nesterov",
            OptimizerKind::Rmsprop => "RMSProp",
            OptimizerKind::Adam => "Adam",
        }
    }
    fn explain(self) -> &'static str {
        match self {
            OptimizerKind::Sgd => "Plain gradient descent: W ← W − η·g.",
            OptimizerKind::Momentum => "Keeps a share μ of the last step in the next one.",
            OptimizerKind::Nesterov => {
                "Momentum with the gradient taken after the look-ahead step."
            }
            OptimizerKind::Rmsprop => "Divides each step by the root of a running mean of g².",
            OptimizerKind::Adam => "Running means of g and g², bias-corrected.",
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

/// Every variant name of the setting enums as Rust prints it (`Ce`, `Relu`, `Cifar10`…),
/// for tests that check none of them reaches the screen.
pub fn code_names() -> Vec<String> {
    // A variant whose name is already the word people write ("Adam") is no code name.
    fn names<T: Words + std::fmt::Debug>() -> impl Iterator<Item = String> {
        T::all()
            .iter()
            .map(|v| (format!("{v:?}"), v.label()))
            .filter(|(code, label)| code != label)
            .map(|(code, _)| code)
    }
    names::<LossKind>()
        .chain(names::<Activation>())
        .chain(names::<InitKind>())
        .chain(names::<ScheduleKind>())
        .chain(names::<DatasetKind>())
        .chain(names::<SplitKind>())
        .chain(names::<Preprocess>())
        .chain(names::<OptimizerKind>())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_label_is_a_code_name() {
        let codes = code_names();
        assert!(codes.contains(&"Ce".to_string()));
        fn labels<T: Words>() -> Vec<&'static str> {
            T::all().iter().map(|v| v.label()).collect()
        }
        let all: Vec<&str> = [
            labels::<LossKind>(),
            labels::<Activation>(),
            labels::<InitKind>(),
            labels::<ScheduleKind>(),
            labels::<DatasetKind>(),
            labels::<SplitKind>(),
            labels::<Preprocess>(),
            labels::<OptimizerKind>(),
        ]
        .concat();
        for l in &all {
            assert!(!codes.iter().any(|c| c == l), "{l} is a code name");
        }
        assert!(all.contains(&"Binary cross-entropy (sigmoid)"));
        assert!(all.contains(&"Fashion-MNIST"));
    }

    #[test]
    fn the_engine_names_choices_with_the_same_words() {
        use crate::train::{RunSettings, TrainConfig};
        let s = RunSettings::new(TrainConfig {
            loss: LossKind::Svm,
            hidden: vec![50],
            activation: Activation::Sigmoid,
            schedule: ScheduleKind::Exp,
            ..Default::default()
        });
        let title = s.title();
        for words in [
            "Multiclass SVM (hinge)",
            "Logistic sigmoid",
            "exponential decay",
        ] {
            assert!(title.contains(words), "{title}");
        }
        assert_eq!(s.setting_text("loss"), LossKind::Svm.label());
        assert_eq!(s.setting_text("dataset"), "CIFAR-10");
        assert_eq!(s.setting_text("init"), InitKind::Gaussian.label());
        assert_eq!(s.setting_text("schedule"), "Exponential decay");
        assert_eq!(s.setting_text("optimizer"), OptimizerKind::Sgd.label());
        assert_eq!(s.setting_text("hidden"), "50");
    }
}
