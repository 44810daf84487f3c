//! Image files of an image-folder data set (PNG/JPEG), decoded and resized.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = trainviz::data::folder::decode_image(data, 16, std::path::Path::new("fuzz.png"));
});
