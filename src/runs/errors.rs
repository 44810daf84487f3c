//! What can go wrong with presets, sweeps and races: one enum each, with the wrong value,
//! key or file in its variant, so a caller can decide by variant and a person reads a
//! sentence that names what to fix. (The inner errors are fields shown in the message, not
//! `source`s, so that a printed chain does not say the same thing twice.)

use std::path::PathBuf;

use thiserror::Error;

use crate::data::DataError;
use crate::train::config::ConfigError;

/// A preset that cannot be used.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum PresetError {
    /// No preset has this name.
    #[error("unknown preset {name:?}; presets: {known}")]
    Unknown {
        /// The name asked for.
        name: String,
        /// The presets there are, comma-separated.
        known: String,
    },
    /// The preset's settings do not apply on the given base (or its TOML is wrong).
    #[error("preset {name}: {problem}")]
    Settings {
        /// The preset.
        name: &'static str,
        /// Which setting is wrong.
        problem: ConfigError,
    },
}

/// A sweep file that cannot be laid out into points.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SweepError {
    /// The sweep file could not be read.
    #[error("{}: {problem}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The system's reason.
        problem: String,
    },
    /// Something in the sweep file `path` is wrong.
    #[error("{}: {problem}", path.display())]
    In {
        /// The file.
        path: PathBuf,
        /// What is wrong in it.
        problem: Box<SweepError>,
    },
    /// The text is not TOML of a sweep (bad syntax, unknown key, wrong type).
    #[error("{}{message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
    Toml {
        /// The line it was found on (1-based), when known.
        line: Option<usize>,
        /// The TOML reader's words.
        message: String,
    },
    /// The sweep's `preset` cannot be used.
    #[error(transparent)]
    Preset(#[from] PresetError),
    /// The sweep's `[base]` settings are wrong.
    #[error("base: {0}")]
    Base(ConfigError),
    /// A `[params]` entry is neither a list of values nor a range.
    #[error("params.{key}: {message}")]
    Param {
        /// The setting.
        key: String,
        /// The TOML reader's words.
        message: String,
    },
    /// `[params]` names no setting.
    #[error("params: name at least one setting to vary")]
    NoParams,
    /// More points than a sweep may have.
    #[error("the sweep has {count} points; at most {max}")]
    TooMany {
        /// How many the sweep would have.
        count: u128,
        /// The most it may have (`sweep::MAX_POINTS`).
        max: usize,
    },
    /// A grid over a range without `steps`.
    #[error("params.{key}: a grid over a range needs `steps`")]
    NoSteps {
        /// The setting.
        key: String,
    },
    /// An empty list of values.
    #[error("params.{key}: no values")]
    NoValues {
        /// The setting.
        key: String,
    },
    /// A range whose ends are not finite or in order (or not positive on a log scale).
    #[error(
        "params.{key}: the range {min}..{max} is not valid{}",
        if *log { " on a log scale (needs 0 < min ≤ max)" } else { "" }
    )]
    Range {
        /// The setting.
        key: String,
        /// The lower end.
        min: f64,
        /// The upper end.
        max: f64,
        /// Whether the range is on a log scale.
        log: bool,
    },
    /// A point's settings are out of range.
    #[error("point {number}: {problem}")]
    Point {
        /// The point, counted from 1.
        number: usize,
        /// Which setting is wrong.
        problem: ConfigError,
    },
}

/// A race that cannot be set up from the values typed (or from a ready-made race).
#[derive(Debug, Clone, PartialEq, Error)]
pub enum RaceError {
    /// Not one of the optimisers.
    #[error("{value:?} is not an optimiser (sgd, momentum, nesterov, rmsprop, adam)")]
    NotOptimizer {
        /// As typed.
        value: String,
    },
    /// Not one of the activations.
    #[error("{value:?} is not an activation (sigmoid, tanh, relu)")]
    NotActivation {
        /// As typed.
        value: String,
    },
    /// Batch norm given as something other than on or off.
    #[error("batch norm is on or off, not {value:?}")]
    NotOnOff {
        /// As typed.
        value: String,
    },
    /// A layer stack that does not read (stacks are separated by semicolons).
    #[error("layers {value:?}: {reason} (separate the stacks with semicolons)")]
    NotLayers {
        /// As typed.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A numeric setting's value that is not a number.
    #[error("{setting}: {value:?} is not a number")]
    NotANumber {
        /// The setting's name as people read it.
        setting: String,
        /// As typed.
        value: String,
    },
    /// A number outside the setting's range.
    #[error("{setting} = {value} is out of range: allowed {allowed}")]
    OutOfRange {
        /// The setting's name as people read it.
        setting: String,
        /// As typed.
        value: String,
        /// The allowed range in words.
        allowed: String,
    },
    /// No values were typed for a setting.
    #[error("no values for {setting}")]
    NoValues {
        /// The setting's name as people read it.
        setting: String,
    },
    /// The same setting chosen twice to vary.
    #[error("vary two different settings ({setting} is chosen twice)")]
    SameSettingTwice {
        /// The setting's name as people read it.
        setting: String,
    },
    /// Too few or too many variants.
    #[error("a race needs 2 to {max} variants; these settings give {count}")]
    VariantCount {
        /// How many the settings give.
        count: usize,
        /// The most a race may have (`race::MAX_VARIANTS`).
        max: usize,
    },
    /// A variant's settings are out of range.
    #[error(transparent)]
    Settings(#[from] ConfigError),
    /// The race's base preset cannot be used.
    #[error(transparent)]
    Preset(#[from] PresetError),
}

/// Why a sweep point or a race variant stopped before its end.
#[derive(Debug, Error)]
pub enum TrainingError {
    /// Its data could not be loaded.
    #[error(transparent)]
    Data(#[from] DataError),
    /// Its settings do not make a run.
    #[error(transparent)]
    Settings(#[from] ConfigError),
    /// Its run folder could not be written (in the session's words, which name the file).
    #[error("{0}")]
    Save(String),
}
