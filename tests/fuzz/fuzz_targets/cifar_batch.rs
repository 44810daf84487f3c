//! CIFAR-10 batch files: any bytes give images or an error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = trainviz::data::cifar::parse_batch(data, std::path::Path::new("fuzz.bin"));
});
