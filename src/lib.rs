//! trainviz: watch a classifier learn.
//!
//! The engine runs without a window and knows nothing of one: data loading ([`data`]), models
//! and their gradients ([`model`]), the training engine and its worker thread ([`train`]),
//! figures and reports for print ([`report`]), saved runs, presets and sweeps ([`runs`]), and
//! the words shown to users ([`words`]). Two front ends sit on it and do not import each
//! other: the command line ([`cli`], clap) and, with the default `window` feature, the window
//! (`ui`, egui/eframe), which only consumes the worker's events and sends it commands.
//! `cargo build --no-default-features` builds the command line alone.

pub mod cli;
pub mod data;
pub mod env;
pub mod format;
pub mod model;
pub mod report;
pub mod runs;
pub mod train;
#[cfg(feature = "window")]
pub mod ui;
pub mod words;
