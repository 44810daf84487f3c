//! Presets: the settings of the classic course experiments, one click (or `--preset NAME`)
//! away. A preset is a whole configuration: the defaults with the keys it names. Only the
//! data location (data set, folder, image size) carries over from where it is applied, so a
//! preset gives the same run from the window as from `trainviz train --preset`. The
//! playground's presets name their data set in the plane themselves.

use super::errors::PresetError;
use crate::train::TrainConfig;
use crate::train::config::ConfigError;

/// One preset: a name for the CLI, a label for people, and the TOML keys it sets.
#[derive(Debug, Clone, Copy)]
pub struct Preset {
    /// `--preset` name.
    pub name: &'static str,
    /// What it is, for menus and `--help`.
    pub label: &'static str,
    /// The settings, as TOML.
    pub toml: &'static str,
}

/// The presets, in menu order: the playground's first (short, quick runs on points in the
/// plane, the way in on a first launch, and at the top so that a short window shows them
/// without scrolling the menu), then the course's on images.
pub const PRESETS: &[Preset] = &[
    Preset {
        name: "spiral-2x8-tanh",
        label: "Spiral, two classes, 2 × 8 tanh (playground: points in the plane)",
        toml: "dataset = \"spiral\"\nclasses = 2\nfeatures = [\"x1\", \"x2\"]\nhidden = [8, 8]\nactivation = \"tanh\"\ninit = \"xavier\"\nlambda = 0.0\nschedule = \"constant\"\neta = 0.03\nbatch = 10\nepochs = 300\nloss = \"ce\"\nbatch_norm = false\noptimizer = \"adam\"\ndropout = 0.0",
    },
    Preset {
        name: "xor-4-tanh",
        label: "XOR, two classes, 1 × 4 tanh (playground)",
        toml: "dataset = \"xor\"\nclasses = 2\nfeatures = [\"x1\", \"x2\"]\nhidden = [4]\nactivation = \"tanh\"\ninit = \"xavier\"\nlambda = 0.0\nschedule = \"constant\"\neta = 0.01\nbatch = 10\nepochs = 100\nloss = \"ce\"\nbatch_norm = false\noptimizer = \"adam\"\ndropout = 0.0",
    },
    Preset {
        name: "circle-squares-linear",
        label: "Circle, two classes, linear on x₁² and x₂² (playground: features do the work)",
        toml: "dataset = \"circle\"\nclasses = 2\nfeatures = [\"x1sq\", \"x2sq\"]\nhidden = []\ninit = \"xavier\"\nlambda = 0.0\nschedule = \"constant\"\neta = 0.01\nbatch = 10\nepochs = 50\nloss = \"ce\"\nbatch_norm = false\noptimizer = \"adam\"\ndropout = 0.0",
    },
    Preset {
        name: "spiral-3-arms",
        label: "Spiral, three arms, 3 × 12 ReLU, L1 1e-4 (playground)",
        toml: "dataset = \"spiral\"\nclasses = 3\npoints = 900\nfeatures = [\"x1\", \"x2\"]\nhidden = [12, 12, 12]\nactivation = \"relu\"\ninit = \"he\"\nlambda = 0.0\nl1 = 0.0001\nschedule = \"constant\"\neta = 0.01\nbatch = 10\nepochs = 300\nloss = \"ce\"\nbatch_norm = false\noptimizer = \"adam\"\ndropout = 0.0",
    },
    Preset {
        name: "lambda0-eta0.1",
        label: "Linear, λ=0, η=0.1 (too large a step: oscillates)",
        toml: "hidden = []\nlambda = 0.0\neta = 0.1\nepochs = 40\nbatch = 100\nloss = \"ce\"\nsplit = \"classic\"\nschedule = \"constant\"\nbatch_norm = false\noptimizer = \"sgd\"\ndropout = 0.0",
    },
    Preset {
        name: "lambda0-eta0.001",
        label: "Linear, λ=0, η=0.001",
        toml: "hidden = []\nlambda = 0.0\neta = 0.001\nepochs = 40\nbatch = 100\nloss = \"ce\"\nsplit = \"classic\"\nschedule = \"constant\"\nbatch_norm = false\noptimizer = \"sgd\"\ndropout = 0.0",
    },
    Preset {
        name: "classic",
        label: "Linear, λ=0.1, η=0.001 (the classic setting, ~39 %)",
        toml: "hidden = []\nlambda = 0.1\neta = 0.001\nepochs = 40\nbatch = 100\nloss = \"ce\"\nsplit = \"classic\"\nschedule = \"constant\"\nbatch_norm = false\noptimizer = \"sgd\"\ndropout = 0.0",
    },
    Preset {
        name: "lambda1-eta0.001",
        label: "Linear, λ=1, η=0.001 (strong regularisation)",
        toml: "hidden = []\nlambda = 1.0\neta = 0.001\nepochs = 40\nbatch = 100\nloss = \"ce\"\nsplit = \"classic\"\nschedule = \"constant\"\nbatch_norm = false\noptimizer = \"sgd\"\ndropout = 0.0",
    },
    Preset {
        name: "all-data-flip-decay",
        label: "Linear, all data + flips + η decay (~41 %)",
        toml: "hidden = []\nsplit = \"all\"\nval = 1000\nflip = 0.2\neta = 0.01\nschedule = \"exp\"\ndecay = 0.9\nlambda = 0.01\nepochs = 40\nloss = \"ce\"\nbatch_norm = false\noptimizer = \"sgd\"\ndropout = 0.0",
    },
    Preset {
        name: "svm",
        label: "Linear, multiclass SVM loss",
        toml: "hidden = []\nloss = \"svm\"\nlambda = 0.01\neta = 0.001\nepochs = 40\nsplit = \"classic\"\nschedule = \"constant\"\nbatch_norm = false\noptimizer = \"sgd\"\ndropout = 0.0",
    },
    Preset {
        name: "bce",
        label: "Linear, multiple binary cross-entropy (sigmoids)",
        toml: "hidden = []\nloss = \"bce\"\nlambda = 0.01\neta = 0.01\nepochs = 40\nsplit = \"classic\"\nschedule = \"constant\"\nbatch_norm = false\noptimizer = \"sgd\"\ndropout = 0.0",
    },
    Preset {
        name: "mlp-relu",
        label: "MLP 50 ReLU, Xavier, cyclic η (~52 %)",
        toml: "hidden = [50]\nactivation = \"relu\"\ninit = \"xavier\"\nlambda = 0.005\nschedule = \"cyclic\"\neta_min = 1e-5\neta_max = 0.1\nhalf_cycle = 980\nsplit = \"all\"\nval = 1000\nepochs = 12\nloss = \"ce\"\nbatch_norm = false\noptimizer = \"sgd\"\ndropout = 0.0",
    },
    Preset {
        name: "mlp-tanh",
        label: "MLP 50 tanh, Xavier, cyclic η",
        toml: "hidden = [50]\nactivation = \"tanh\"\ninit = \"xavier\"\nlambda = 0.005\nschedule = \"cyclic\"\neta_min = 1e-5\neta_max = 0.1\nhalf_cycle = 980\nsplit = \"all\"\nval = 1000\nepochs = 12\nloss = \"ce\"\nbatch_norm = false\noptimizer = \"sgd\"\ndropout = 0.0",
    },
    Preset {
        name: "mlp-sigmoid",
        label: "MLP 50 sigmoid, Xavier, cyclic η",
        toml: "hidden = [50]\nactivation = \"sigmoid\"\ninit = \"xavier\"\nlambda = 0.005\nschedule = \"cyclic\"\neta_min = 1e-5\neta_max = 0.1\nhalf_cycle = 980\nsplit = \"all\"\nval = 1000\nepochs = 12\nloss = \"ce\"\nbatch_norm = false\noptimizer = \"sgd\"\ndropout = 0.0",
    },
    Preset {
        name: "bn-3-layer",
        label: "3-layer 50,50 with batch norm, He, cyclic η, 20 epochs (~53 %)",
        toml: "hidden = [50, 50]\nactivation = \"relu\"\nbatch_norm = true\ninit = \"he\"\nlambda = 0.005\nschedule = \"cyclic\"\neta_min = 1e-5\neta_max = 0.1\nhalf_cycle = 2250\nsplit = \"all\"\nval = 5000\nepochs = 20\nloss = \"ce\"\noptimizer = \"sgd\"\ndropout = 0.0",
    },
    Preset {
        name: "bn-9-layer",
        label: "9-layer with batch norm (~51 %)",
        toml: "hidden = [50, 30, 20, 20, 10, 10, 10, 10]\nactivation = \"relu\"\nbatch_norm = true\ninit = \"he\"\nlambda = 0.005\nschedule = \"cyclic\"\neta_min = 1e-5\neta_max = 0.1\nhalf_cycle = 2250\nsplit = \"all\"\nval = 5000\nepochs = 20\nloss = \"ce\"\noptimizer = \"sgd\"\ndropout = 0.0",
    },
    Preset {
        name: "plain-9-layer",
        label: "9-layer without batch norm (~47 %)",
        toml: "hidden = [50, 30, 20, 20, 10, 10, 10, 10]\nactivation = \"relu\"\nbatch_norm = false\ninit = \"he\"\nlambda = 0.005\nschedule = \"cyclic\"\neta_min = 1e-5\neta_max = 0.1\nhalf_cycle = 2250\nsplit = \"all\"\nval = 5000\nepochs = 20\nloss = \"ce\"\noptimizer = \"sgd\"\ndropout = 0.0",
    },
    Preset {
        name: "tiny-init-bn",
        label: "σ = 1e-4 initialisation with batch norm: still learns (~52 %)",
        toml: "hidden = [50, 50]\nactivation = \"relu\"\nbatch_norm = true\ninit = \"gaussian\"\nsigma = 1e-4\nlambda = 0.005\nschedule = \"cyclic\"\neta_min = 1e-5\neta_max = 0.1\nhalf_cycle = 900\nsplit = \"all\"\nval = 5000\nepochs = 8\nloss = \"ce\"\noptimizer = \"sgd\"\ndropout = 0.0",
    },
    Preset {
        name: "tiny-init-plain",
        label: "σ = 1e-4 initialisation without batch norm: does not learn (10 %)",
        toml: "hidden = [50, 50]\nactivation = \"relu\"\nbatch_norm = false\ninit = \"gaussian\"\nsigma = 1e-4\nlambda = 0.005\nschedule = \"cyclic\"\neta_min = 1e-5\neta_max = 0.1\nhalf_cycle = 900\nsplit = \"all\"\nval = 5000\nepochs = 8\nloss = \"ce\"\noptimizer = \"sgd\"\ndropout = 0.0",
    },
    Preset {
        name: "adam-4x100",
        label: "4 × 100 ReLU, 4,000 images, Adam η=0.001 (the optimiser comparison)",
        toml: "hidden = [100, 100, 100, 100]\nactivation = \"relu\"\nbatch_norm = false\ninit = \"gaussian\"\nsigma = 0.05\nlambda = 0.0\nschedule = \"constant\"\neta = 0.001\nsplit = \"classic\"\ntrain_limit = 4000\nbatch = 100\nepochs = 5\nloss = \"ce\"\noptimizer = \"adam\"\ndropout = 0.0",
    },
    Preset {
        name: "dropout",
        label: "MLP 500 ReLU, dropout 0.5, Adam, 4,000 images (less overfitting)",
        toml: "hidden = [500]\nactivation = \"relu\"\nbatch_norm = false\ninit = \"he\"\nlambda = 0.0\nschedule = \"constant\"\neta = 0.0005\nsplit = \"classic\"\ntrain_limit = 4000\nbatch = 100\nepochs = 20\nloss = \"ce\"\noptimizer = \"adam\"\ndropout = 0.5",
    },
    Preset {
        name: "a3-f2",
        label: "ConvNet: patchify 2:3, ReLU, dense 50, ReLU; He, λ 0.003, cyclic η, 3 cycles of half-cycle 800 = 4,800 steps (assignment 3)",
        toml: "layers = \"patchify 2:3, relu, dense 50, relu\"\nhidden = []\ninit = \"he\"\nlambda = 0.003\nbatch = 100\nschedule = \"cyclic\"\neta_min = 1e-5\neta_max = 0.1\nhalf_cycle = 800\ncycles = 3\ncycle_growth = 1.0\nsplit = \"all\"\nval = 1000\nloss = \"ce\"\nbatch_norm = false\noptimizer = \"sgd\"\ndropout = 0.0",
    },
    Preset {
        name: "a3-f4",
        label: "ConvNet: patchify 4:10, ReLU, dense 50, ReLU; He, λ 0.003, cyclic η, 3 cycles of half-cycle 800 = 4,800 steps (assignment 3)",
        toml: "layers = \"patchify 4:10, relu, dense 50, relu\"\nhidden = []\ninit = \"he\"\nlambda = 0.003\nbatch = 100\nschedule = \"cyclic\"\neta_min = 1e-5\neta_max = 0.1\nhalf_cycle = 800\ncycles = 3\ncycle_growth = 1.0\nsplit = \"all\"\nval = 1000\nloss = \"ce\"\nbatch_norm = false\noptimizer = \"sgd\"\ndropout = 0.0",
    },
    Preset {
        name: "a3-f8",
        label: "ConvNet: patchify 8:40, ReLU, dense 50, ReLU; He, λ 0.003, cyclic η, 3 cycles of half-cycle 800 = 4,800 steps (assignment 3)",
        toml: "layers = \"patchify 8:40, relu, dense 50, relu\"\nhidden = []\ninit = \"he\"\nlambda = 0.003\nbatch = 100\nschedule = \"cyclic\"\neta_min = 1e-5\neta_max = 0.1\nhalf_cycle = 800\ncycles = 3\ncycle_growth = 1.0\nsplit = \"all\"\nval = 1000\nloss = \"ce\"\nbatch_norm = false\noptimizer = \"sgd\"\ndropout = 0.0",
    },
    Preset {
        name: "a3-f16",
        label: "ConvNet: patchify 16:160, ReLU, dense 50, ReLU; He, λ 0.003, cyclic η, 3 cycles of half-cycle 800 = 4,800 steps (assignment 3)",
        toml: "layers = \"patchify 16:160, relu, dense 50, relu\"\nhidden = []\ninit = \"he\"\nlambda = 0.003\nbatch = 100\nschedule = \"cyclic\"\neta_min = 1e-5\neta_max = 0.1\nhalf_cycle = 800\ncycles = 3\ncycle_growth = 1.0\nsplit = \"all\"\nval = 1000\nloss = \"ce\"\nbatch_norm = false\noptimizer = \"sgd\"\ndropout = 0.0",
    },
    Preset {
        name: "a3-long",
        label: "ConvNet patchify 4:10, dense 50: 3 cycles doubling from half-cycle 800 (11,200 steps), λ 0.003, curves every 400 steps (assignment 3)",
        toml: "eval_every = 400\nlayers = \"patchify 4:10, relu, dense 50, relu\"\nlambda = 0.003\ncycles = 3\ncycle_growth = 2.0\ninit = \"he\"\nbatch = 100\nschedule = \"cyclic\"\neta_min = 1e-5\neta_max = 0.1\nhalf_cycle = 800\nsplit = \"all\"\nval = 1000\nloss = \"ce\"\nbatch_norm = false\noptimizer = \"sgd\"\ndropout = 0.0\nhidden = []",
    },
    Preset {
        name: "a3-wide",
        label: "ConvNet patchify 4:40, dense 300: 4 doubling cycles (24,000 steps), λ 0.0025, curves every 800 steps (assignment 3)",
        toml: "eval_every = 800\nlayers = \"patchify 4:40, relu, dense 300, relu\"\nlambda = 0.0025\ncycles = 4\ncycle_growth = 2.0\ninit = \"he\"\nbatch = 100\nschedule = \"cyclic\"\neta_min = 1e-5\neta_max = 0.1\nhalf_cycle = 800\nsplit = \"all\"\nval = 1000\nloss = \"ce\"\nbatch_norm = false\noptimizer = \"sgd\"\ndropout = 0.0\nhidden = []",
    },
    Preset {
        name: "a3-wide-smooth",
        label: "ConvNet patchify 4:40, dense 300: 4 doubling cycles, λ 0.0015, label smoothing 0.1, curves every 800 steps (assignment 3)",
        toml: "eval_every = 800\nlayers = \"patchify 4:40, relu, dense 300, relu\"\nlambda = 0.0015\nlabel_smoothing = 0.1\ncycles = 4\ncycle_growth = 2.0\ninit = \"he\"\nbatch = 100\nschedule = \"cyclic\"\neta_min = 1e-5\neta_max = 0.1\nhalf_cycle = 800\nsplit = \"all\"\nval = 1000\nloss = \"ce\"\nbatch_norm = false\noptimizer = \"sgd\"\ndropout = 0.0\nhidden = []",
    },
    Preset {
        name: "a3-bonus",
        label: "ConvNet for the bonus: patchify 2:32, conv 3:64, pool, conv 3:128, pool, dense 256 (ReLU); momentum 0.9, flips, ±4 px shifts, one 8-epoch cycle to η 0.05 (77 % test in ~2.6 min on 2 AVX-512 cores)",
        toml: "layers = \"patchify 2:32, relu, conv 3:64, relu, pool 2, conv 3:128, relu, pool 2, dense 256, relu\"\nhidden = []\ninit = \"he\"\nlambda = 0.0005\nbatch = 100\nschedule = \"cyclic\"\neta_min = 1e-5\neta_max = 0.05\nhalf_cycle = 1960\ncycles = 1\ncycle_growth = 1.0\nflip = 0.5\ntranslate = 4\nsplit = \"all\"\nval = 1000\nloss = \"ce\"\nbatch_norm = false\noptimizer = \"momentum\"\nmomentum = 0.9\ndropout = 0.0",
    },
];

/// The preset called `name`.
pub fn find(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name)
}

/// The preset called `name`, or an error that lists the presets there are.
pub fn get(name: &str) -> Result<&'static Preset, PresetError> {
    find(name).ok_or_else(|| PresetError::Unknown {
        name: name.to_string(),
        known: names(),
    })
}

/// Names of every preset, for error messages.
pub fn names() -> String {
    PRESETS
        .iter()
        .map(|p| p.name)
        .collect::<Vec<_>>()
        .join(", ")
}

impl Preset {
    /// Whether this preset names its data set (the playground's do: their points are part
    /// of the experiment), so that no data set detected from the machine replaces it.
    pub fn names_dataset(&self) -> bool {
        toml::from_str::<toml::Table>(self.toml).is_ok_and(|t| t.contains_key("dataset"))
    }

    /// This preset's whole configuration, with the data location and thread count of
    /// `data_from`.
    pub fn config(&self, data_from: &TrainConfig) -> Result<TrainConfig, PresetError> {
        let base = TrainConfig {
            dataset: data_from.dataset,
            data: data_from.data.clone(),
            image_size: data_from.image_size,
            // How many threads train is the machine's business, not the preset's.
            threads: data_from.threads,
            ..TrainConfig::default()
        };
        let problem = |problem| PresetError::Settings {
            name: self.name,
            problem,
        };
        let table: toml::Table = toml::from_str(self.toml)
            .map_err(|e| problem(ConfigError::toml(&e, Some(self.toml))))?;
        base.with_overrides(&table).map_err(problem)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_applies_and_validates() {
        for p in PRESETS {
            let c = p
                .config(&TrainConfig::default())
                .unwrap_or_else(|e| panic!("{}: {e}", p.name));
            c.validate().unwrap_or_else(|e| panic!("{}: {e}", p.name));
        }
        let classic = find("classic")
            .unwrap()
            .config(&TrainConfig::default())
            .unwrap();
        assert_eq!(
            classic,
            TrainConfig::default(),
            "the classic preset is the default"
        );
        let mlp = find("mlp-tanh")
            .unwrap()
            .config(&TrainConfig::default())
            .unwrap();
        assert_eq!(mlp.hidden, vec![50]);
        // Whole settings: nothing of the preset before leaks into the next one.
        let linear = find("lambda0-eta0.1").unwrap().config(&mlp).unwrap();
        assert_eq!(linear.init, TrainConfig::default().init);
        assert_eq!(linear.activation, TrainConfig::default().activation);
        assert!(linear.hidden.is_empty());
        let deep = find("bn-9-layer")
            .unwrap()
            .config(&TrainConfig::default())
            .unwrap();
        assert!(deep.batch_norm && deep.hidden.len() == 8 && deep.val == 5000);
        // Choosing a plain preset after a batch-norm one turns batch norm off again.
        let plain = find("plain-9-layer").unwrap().config(&deep).unwrap();
        assert!(!plain.batch_norm);
        // The assignment's ConvNets, and a plain preset after one is an MLP again.
        let f4 = find("a3-f4")
            .unwrap()
            .config(&TrainConfig::default())
            .unwrap();
        assert!(f4.uses_stack() && f4.layers.starts_with("patchify 4:10"));
        assert!(!find("classic").unwrap().config(&f4).unwrap().uses_stack());
    }
}
