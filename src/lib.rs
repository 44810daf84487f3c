//! trainviz: watch a classifier learn.
//!
//! The library holds everything that runs without a window: data loading ([`data`]), models
//! and their gradients ([`model`]), the training engine and its worker thread ([`train`]),
//! figures and reports for print ([`report`]), saved runs, presets and sweeps ([`runs`]), and
//! the command-line interface ([`cli`]). The window ([`ui`]) only consumes the worker's
//! events and sends it commands.

pub mod cli;
pub mod data;
pub mod model;
pub mod report;
pub mod runs;
pub mod train;
pub mod ui;
pub mod words;
