//! Sweep files and config files (TOML).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = trainviz::train::TrainConfig::from_toml(text);
        if let Ok(spec) = trainviz::runs::sweep::SweepSpec::from_toml(text) {
            let _ = spec.points(&trainviz::train::TrainConfig::default());
        }
    }
});
