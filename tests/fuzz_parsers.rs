//! A short, deterministic mutation-fuzzing run of every parser on stable Rust (the
//! cargo-fuzz targets in tests/fuzz/ run the same parsers for longer, on nightly): valid
//! inputs are truncated, bit-flipped, spliced and given absurd length fields; no input may
//! panic, hang or allocate without bound.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use rand::{Rng, SeedableRng, rngs::SmallRng};

/// Mutations tried per seed input.
const ROUNDS: usize = 5000;

/// A random mutation of `seed`.
fn mutate(seed: &[u8], rng: &mut SmallRng) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..rng.random_range(1..4) {
        match rng.random_range(0..6) {
            0 if !v.is_empty() => {
                let cut = rng.random_range(0..v.len());
                v.truncate(cut);
            }
            1 if !v.is_empty() => {
                let i = rng.random_range(0..v.len());
                v[i] ^= 1 << rng.random_range(0..8);
            }
            2 if !v.is_empty() => {
                let i = rng.random_range(0..v.len());
                v[i] = [0, 0xff, 0x7f, 0x80][rng.random_range(0..4)];
            }
            3 => {
                let i = rng.random_range(0..=v.len());
                let extra: Vec<u8> = (0..rng.random_range(1..64)).map(|_| rng.random()).collect();
                v.splice(i..i, extra);
            }
            4 if v.len() >= 8 => {
                // A length or dimension field set to something huge.
                let i = rng.random_range(0..v.len() - 4);
                v[i..i + 4].copy_from_slice(&[0xff, 0xff, 0xff, rng.random()]);
            }
            _ => {
                let n = rng.random_range(0..256);
                v = (0..n).map(|_| rng.random()).collect();
            }
        }
    }
    v
}

/// Runs `parse` on every mutation of every seed; fails on the first panic.
fn fuzz(name: &str, seeds: &[Vec<u8>], parse: impl Fn(&[u8])) {
    let mut rng = SmallRng::seed_from_u64(0x7472_6169);
    for seed in seeds {
        parse(seed);
        for round in 0..ROUNDS {
            let input = mutate(seed, &mut rng);
            let outcome = catch_unwind(AssertUnwindSafe(|| parse(&input)));
            assert!(
                outcome.is_ok(),
                "{name}: round {round} panicked on {} bytes: {:?}",
                input.len(),
                &input[..input.len().min(64)]
            );
        }
    }
}

fn cifar_records(n: usize) -> Vec<u8> {
    (0..n)
        .flat_map(|i| std::iter::once((i % 10) as u8).chain((0..3072).map(move |p| (p + i) as u8)))
        .collect()
}

fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 8, dims.len() as u8];
    for d in dims {
        v.extend(d.to_be_bytes());
    }
    v.extend_from_slice(data);
    v
}

#[test]
fn cifar_batches() {
    fuzz("cifar", &[cifar_records(2)], |b| {
        let _ = trainviz::data::cifar::parse_batch(b, Path::new("f.bin"));
    });
}

#[test]
fn idx_files() {
    let images = idx(&[2, 28, 28], &[7u8; 2 * 784]);
    let labels = idx(&[2], &[3, 4]);
    fuzz("idx", &[images, labels], |b| {
        let _ = trainviz::data::fashion::parse_idx(b, 3, Path::new("f.idx"));
        let _ = trainviz::data::fashion::parse_idx(b, 1, Path::new("f.idx"));
    });
}

#[test]
fn image_files() {
    let mut png = Vec::new();
    image::RgbImage::from_fn(9, 7, |x, y| image::Rgb([x as u8 * 20, y as u8 * 30, 99]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let mut jpg = Vec::new();
    image::RgbImage::from_fn(9, 7, |x, y| image::Rgb([x as u8 * 20, y as u8 * 30, 99]))
        .write_to(
            &mut std::io::Cursor::new(&mut jpg),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    fuzz("image", &[png, jpg], |b| {
        let _ = trainviz::data::folder::decode_image(b, 8, Path::new("f.png"));
    });
}

#[test]
fn weight_files() {
    let mut rng = SmallRng::seed_from_u64(1);
    let net = trainviz::model::Network::<f32>::new(
        6,
        &[4],
        3,
        trainviz::model::Activation::Relu,
        trainviz::model::InitKind::He,
        0.01,
        &mut rng,
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.bin");
    trainviz::runs::save_weights(&path, &net).unwrap();
    let seed = std::fs::read(&path).unwrap();
    fuzz("weights", &[seed], |b| {
        let _ = trainviz::runs::parse_weights(b, Path::new("w.bin"));
    });
}

#[test]
fn sweep_and_config_files() {
    let sweep = b"name = \"s\"\nmode = \"grid\"\n[base]\nepochs = 2\n[params]\nlambda = [0, 0.1]\neta = { min = 0.001, max = 0.1, steps = 3, log = true }\n".to_vec();
    let config = trainviz::train::TrainConfig::default()
        .to_toml()
        .into_bytes();
    fuzz("toml", &[sweep, config], |b| {
        if let Ok(text) = std::str::from_utf8(b) {
            let _ = trainviz::train::TrainConfig::from_toml(text);
            if let Ok(spec) = trainviz::runs::sweep::SweepSpec::from_toml(text) {
                let _ = spec.points(&trainviz::train::TrainConfig::default());
            }
        }
    });
}
