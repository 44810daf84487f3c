//! Every `TRAINVIZ_*` environment variable the library reads, read here and nowhere else in
//! the library (README, "Environment variables", lists them with what they do).

use std::ffi::OsString;

/// Where CIFAR-10 is looked for first when no `--data` is given.
pub const CIFAR10: &str = "TRAINVIZ_CIFAR10";
/// Where Fashion-MNIST is looked for first when no `--data` is given.
pub const FASHION_MNIST: &str = "TRAINVIZ_FASHION_MNIST";
/// The runs folder (default `runs/` in the working directory).
pub const RUNS: &str = "TRAINVIZ_RUNS";
/// Set: train on one thread unless a thread count is given (for comparisons, and for
/// machines whose other cores are busy).
pub const ONE_THREAD: &str = "TRAINVIZ_ONE_THREAD";
/// Set: the kernels use AVX2 even where AVX-512 is there (for `model::kernels`).
pub const NO_AVX512: &str = "TRAINVIZ_NO_AVX512";

/// The value of `$TRAINVIZ_CIFAR10`, if set.
pub fn cifar10_dir() -> Option<OsString> {
    std::env::var_os(CIFAR10)
}

/// The value of `$TRAINVIZ_FASHION_MNIST`, if set.
pub fn fashion_mnist_dir() -> Option<OsString> {
    std::env::var_os(FASHION_MNIST)
}

/// The value of `$TRAINVIZ_RUNS`, if set.
pub fn runs_dir() -> Option<OsString> {
    std::env::var_os(RUNS)
}

/// Whether `$TRAINVIZ_ONE_THREAD` is set (to anything).
pub fn one_thread() -> bool {
    std::env::var_os(ONE_THREAD).is_some()
}

/// Whether `$TRAINVIZ_NO_AVX512` is set (to anything): the kernels then use AVX2 on an
/// AVX-512 CPU, to compare the two.
pub fn no_avx512() -> bool {
    std::env::var_os(NO_AVX512).is_some()
}
