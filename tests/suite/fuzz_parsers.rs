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

/// What a parser made of one input: `Err` with its message when it refused it.
type Outcome = Result<(), String>;

/// Runs `parse` on every mutation of every seed; fails on the first panic, and when a seed
/// itself (a valid input) is refused, so that a parser that refused everything fails too.
fn fuzz(name: &str, seeds: &[Vec<u8>], parse: impl Fn(&[u8]) -> Outcome) {
    let mut rng = SmallRng::seed_from_u64(0x7472_6169);
    for (i, seed) in seeds.iter().enumerate() {
        if let Err(e) = parse(seed) {
            panic!(
                "{name}: valid seed {i} ({} bytes) was refused: {e}",
                seed.len()
            );
        }
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

/// `Ok` when `r` is, else its message.
fn outcome<T, E: std::fmt::Display>(r: Result<T, E>) -> Outcome {
    r.map(|_| ()).map_err(|e| e.to_string())
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
    let seed = cifar_records(2);
    let set = trainviz::data::cifar::parse_batch(&seed, Path::new("f.bin")).unwrap();
    assert_eq!((set.len(), set.labels[1], set.image(1)[0]), (2, 1, 1));
    fuzz("cifar", &[seed], |b| {
        outcome(trainviz::data::cifar::parse_batch(b, Path::new("f.bin")))
    });
}

#[test]
fn idx_files() {
    let images = idx(&[2, 28, 28], &[7u8; 2 * 784]);
    let labels = idx(&[2], &[3, 4]);
    // Every input goes through both readings; each seed must pass its own.
    let both = |b: &[u8]| {
        (
            outcome(trainviz::data::fashion::parse_idx(b, 3, Path::new("f.idx"))),
            outcome(trainviz::data::fashion::parse_idx(b, 1, Path::new("f.idx"))),
        )
    };
    fuzz("idx images", &[images], |b| both(b).0);
    fuzz("idx labels", &[labels], |b| both(b).1);
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
        outcome(trainviz::data::folder::decode_image(
            b,
            8,
            Path::new("f.png"),
        ))
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
    assert_eq!(
        trainviz::runs::parse_weights(&seed, Path::new("w.bin")).unwrap(),
        net,
        "the saved weights read back different"
    );
    fuzz("weights", &[seed], |b| {
        outcome(trainviz::runs::parse_weights(b, Path::new("w.bin")))
    });
}

#[test]
fn sweep_and_config_files() {
    let sweep = b"name = \"s\"\nmode = \"grid\"\n[base]\nepochs = 2\n[params]\nlambda = [0, 0.1]\neta = { min = 0.001, max = 0.1, steps = 3, log = true }\n".to_vec();
    let config = trainviz::train::TrainConfig::default()
        .to_toml()
        .into_bytes();
    // Every input goes through both parsers; each seed must pass its own.
    let both = |b: &[u8]| -> (Outcome, Outcome) {
        let text = match std::str::from_utf8(b) {
            Ok(t) => t,
            Err(e) => return (Err(e.to_string()), Err(e.to_string())),
        };
        let config = outcome(trainviz::train::TrainConfig::from_toml(text));
        let sweep = trainviz::runs::sweep::SweepSpec::from_toml(text)
            .and_then(|spec| spec.points(&trainviz::train::TrainConfig::default()))
            .map_err(|e| e.to_string())
            .and_then(|points| {
                if points.is_empty() {
                    Err("no sweep points".into())
                } else {
                    Ok(())
                }
            });
        (config, sweep)
    };
    fuzz("sweep", &[sweep], |b| both(b).1);
    fuzz("config", &[config], |b| both(b).0);
}
