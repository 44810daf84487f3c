//! IDX headers (Fashion-MNIST), with 1 and 3 dimensions.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::path::Path::new("fuzz.idx");
    let _ = trainviz::data::fashion::parse_idx(data, 1, path);
    let _ = trainviz::data::fashion::parse_idx(data, 3, path);
});
