//! Every integration test in one binary, one module per subject, so the window's
//! dependencies are linked once instead of once per file. Modules that drive the window are
//! built only with the `window` feature (the default); the rest also run headless
//! (`cargo test --no-default-features`).

mod common;

mod cifar10;
mod cli;
mod deep;
mod download;
mod embed;
mod figures;
mod fuzz_parsers;
mod worker;

mod bad_input;
#[cfg(feature = "window")]
mod plane;
mod record;
mod runs;
#[cfg(feature = "window")]
mod saved_report;
mod tables;
mod threads;
#[cfg(feature = "window")]
mod typed_settings;
#[cfg(feature = "window")]
mod ui;
#[cfg(feature = "window")]
mod ui_convnet;
#[cfg(feature = "window")]
mod ui_deep;
#[cfg(feature = "window")]
mod ui_lr_range;
#[cfg(feature = "window")]
mod window;
