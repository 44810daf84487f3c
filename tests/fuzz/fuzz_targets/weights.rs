//! Saved weights (`weights.bin` of a run).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = trainviz::runs::parse_weights(data, std::path::Path::new("weights.bin"));
});
