//! Data sets in the plane (the playground): points of 2–5 classes on a spiral, rings, a
//! checkerboard ("xor"), Gaussian blobs or interleaved moons, and the input features the
//! network sees (x₁, x₂, x₁², x₂², x₁x₂, sin x₁, sin x₂).
//!
//! The engine reads every input as bytes (one `u8` per dimension, normalised on the fly and
//! folded into the first layer's weights), so a point becomes a one-pixel "image" with one
//! channel per feature: each feature's value is mapped linearly from its range over the
//! plane ([`Feature::range`]) onto 0–255. The network therefore sees each feature to 1/255 of
//! its range (x₁ and x₂ to 0.047 on the plane's [−6, 6]); the plane's pictures evaluate the
//! network through the same encoding, so what they show is what it computes on its inputs.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng, rngs::SmallRng};
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};

use super::{ImageSet, ImageShape, Splits};

/// Half the side of the square of the plane that is shown and encoded: [−6, 6]².
pub const EXTENT: f32 = 6.0;
/// Most classes a plane data set can have.
pub const MAX_CLASSES: usize = 5;

/// The shapes the points of a plane data set can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlaneKind {
    /// One arm per class winding out from the centre (1.75 turns).
    Spiral,
    /// Concentric rings, class 1 the inner disc.
    Circle,
    /// A K × K checkerboard, cell (i, j) of class (i + j) mod K: XOR for two classes.
    Xor,
    /// One Gaussian blob per class on a circle around the centre.
    Gauss,
    /// Interleaved half-moons, one per class.
    Moons,
}

impl PlaneKind {
    /// All kinds, in menu order.
    pub const ALL: [PlaneKind; 5] = [
        PlaneKind::Spiral,
        PlaneKind::Circle,
        PlaneKind::Xor,
        PlaneKind::Gauss,
        PlaneKind::Moons,
    ];
    /// The lower-case name used in files and on the command line.
    pub fn key(self) -> &'static str {
        match self {
            PlaneKind::Spiral => "spiral",
            PlaneKind::Circle => "circle",
            PlaneKind::Xor => "xor",
            PlaneKind::Gauss => "gauss",
            PlaneKind::Moons => "moons",
        }
    }
    /// What one class is called, e.g. "arm" for the spiral.
    fn class_word(self) -> &'static str {
        match self {
            PlaneKind::Spiral => "arm",
            PlaneKind::Circle => "ring",
            PlaneKind::Xor => "squares",
            PlaneKind::Gauss => "blob",
            PlaneKind::Moons => "moon",
        }
    }
}

/// One input feature computed from a point (x₁, x₂).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Feature {
    /// x₁.
    #[serde(rename = "x1")]
    X1,
    /// x₂.
    #[serde(rename = "x2")]
    X2,
    /// x₁².
    #[serde(rename = "x1sq")]
    X1Sq,
    /// x₂².
    #[serde(rename = "x2sq")]
    X2Sq,
    /// x₁·x₂.
    #[serde(rename = "x1x2")]
    X1X2,
    /// sin x₁.
    #[serde(rename = "sinx1")]
    SinX1,
    /// sin x₂.
    #[serde(rename = "sinx2")]
    SinX2,
}

impl Feature {
    /// All features, in the order the network's inputs take them.
    pub const ALL: [Feature; 7] = [
        Feature::X1,
        Feature::X2,
        Feature::X1Sq,
        Feature::X2Sq,
        Feature::X1X2,
        Feature::SinX1,
        Feature::SinX2,
    ];
    /// The name used in files and on the command line (`x1`, `x1sq`, `sinx2`, …).
    pub fn key(self) -> &'static str {
        match self {
            Feature::X1 => "x1",
            Feature::X2 => "x2",
            Feature::X1Sq => "x1sq",
            Feature::X2Sq => "x2sq",
            Feature::X1X2 => "x1x2",
            Feature::SinX1 => "sinx1",
            Feature::SinX2 => "sinx2",
        }
    }
    /// The name people read (x₁², sin x₂, …).
    pub fn label(self) -> &'static str {
        match self {
            Feature::X1 => "x₁",
            Feature::X2 => "x₂",
            Feature::X1Sq => "x₁²",
            Feature::X2Sq => "x₂²",
            Feature::X1X2 => "x₁x₂",
            Feature::SinX1 => "sin x₁",
            Feature::SinX2 => "sin x₂",
        }
    }
    /// The feature's value at `p`.
    pub fn value(self, p: [f32; 2]) -> f32 {
        let [a, b] = p;
        match self {
            Feature::X1 => a,
            Feature::X2 => b,
            Feature::X1Sq => a * a,
            Feature::X2Sq => b * b,
            Feature::X1X2 => a * b,
            Feature::SinX1 => a.sin(),
            Feature::SinX2 => b.sin(),
        }
    }
    /// The values the feature takes over the plane [−6, 6]², mapped onto 0–255 when encoded.
    pub fn range(self) -> (f32, f32) {
        let e = EXTENT;
        match self {
            Feature::X1 | Feature::X2 => (-e, e),
            Feature::X1Sq | Feature::X2Sq => (0.0, e * e),
            Feature::X1X2 => (-e * e, e * e),
            Feature::SinX1 | Feature::SinX2 => (-1.0, 1.0),
        }
    }
    /// The byte the engine reads for this feature at `p` (values outside the range are
    /// clamped to its ends).
    pub fn encode(self, p: [f32; 2]) -> u8 {
        let (lo, hi) = self.range();
        let t = (self.value(p) - lo) / (hi - lo);
        (t.clamp(0.0, 1.0) * 255.0).round() as u8
    }
}

/// Writes the bytes of point `p` for `features` into `out` (one per feature).
pub fn encode_point(p: [f32; 2], features: &[Feature], out: &mut [u8]) {
    for (o, f) in out.iter_mut().zip(features) {
        *o = f.encode(p);
    }
}

/// The shape of a plane "image": one pixel with one channel per feature.
pub fn shape(features: &[Feature]) -> ImageShape {
    ImageShape {
        channels: features.len(),
        height: 1,
        width: 1,
    }
}

/// A labelled point in the plane.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PlanePoint {
    /// (x₁, x₂).
    pub x: [f32; 2],
    /// Class index.
    pub label: u8,
}

/// Everything that decides which points a plane data set has.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaneSpec {
    /// The shape.
    pub kind: PlaneKind,
    /// Points in all (training, validation and test), split evenly between the classes.
    pub points: usize,
    /// σ of the Gaussian jitter added to every point, in plane units.
    pub noise: f64,
    /// Share of each class's points held out: half for validation, half for testing.
    pub test_share: f64,
    /// Number of classes, 2 to 5.
    pub classes: usize,
    /// Seed; the same seed gives the same points.
    pub seed: u64,
}

/// What can be wrong with a plane data set's settings.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlaneError {
    /// The number of classes is outside 2–5.
    #[error("classes = {0} is out of range: 2 to 5 for data in the plane")]
    Classes(usize),
    /// Too few points for every class to have some in each set.
    #[error("points = {points} is too few for {classes} classes: at least {least}")]
    TooFew {
        /// Points asked for.
        points: usize,
        /// Classes asked for.
        classes: usize,
        /// The fewest that works.
        least: usize,
    },
    /// No input feature is switched on.
    #[error("features is empty: switch on at least one of x1, x2, x1sq, x2sq, x1x2, sinx1, sinx2")]
    NoFeatures,
    /// A feature is named twice.
    #[error("features names {0} twice")]
    Duplicate(&'static str),
}

/// A plane data set's points, divided into training, validation and test sets.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanePoints {
    /// Points the model learns from.
    pub train: Vec<PlanePoint>,
    /// Points evaluated after every epoch.
    pub val: Vec<PlanePoint>,
    /// Points evaluated at the end.
    pub test: Vec<PlanePoint>,
    /// Class names, index = label.
    pub class_names: Vec<String>,
    /// Name shown to the user, e.g. "spiral, 2 arms (600 points, noise 0.1)".
    pub name: String,
}

/// Checks the feature list: not empty, no feature twice.
pub fn check_features(features: &[Feature]) -> Result<(), PlaneError> {
    if features.is_empty() {
        return Err(PlaneError::NoFeatures);
    }
    for (i, f) in features.iter().enumerate() {
        if features[..i].contains(f) {
            return Err(PlaneError::Duplicate(f.key()));
        }
    }
    Ok(())
}

/// The fewest points `classes` classes need so that each has two held out at a share of 0.1
/// (one for validation, one for testing) and some to train on.
pub fn least_points(classes: usize) -> usize {
    20 * classes
}

/// Generates the points: `spec.points / spec.classes` per class (the remainder is dropped
/// so the classes stay balanced), each class split into training and held-out points by
/// `test_share`.
pub fn generate(spec: &PlaneSpec) -> Result<PlanePoints, PlaneError> {
    let k = spec.classes;
    if !(2..=MAX_CLASSES).contains(&k) {
        return Err(PlaneError::Classes(k));
    }
    if spec.points < least_points(k) {
        return Err(PlaneError::TooFew {
            points: spec.points,
            classes: k,
            least: least_points(k),
        });
    }
    let per_class = spec.points / k;
    let mut rng = SmallRng::seed_from_u64(spec.seed ^ 0x91A4_E5EE_D000_0001);
    // σ ≥ 0 is checked by the settings; a NaN would make Normal fail, so fall back to none.
    let jitter = Normal::new(0.0f32, spec.noise.max(0.0) as f32)
        .unwrap_or_else(|_| Normal::new(0.0, 0.0).expect("σ = 0 is a valid normal"));
    let (mut train, mut val, mut test) = (Vec::new(), Vec::new(), Vec::new());
    for class in 0..k {
        let mut pts: Vec<PlanePoint> = (0..per_class)
            .map(|i| {
                let [a, b] = base_point(spec.kind, class, k, i, per_class, &mut rng);
                PlanePoint {
                    x: [a + jitter.sample(&mut rng), b + jitter.sample(&mut rng)],
                    label: class as u8,
                }
            })
            .collect();
        pts.shuffle(&mut rng);
        let held = ((per_class as f64 * spec.test_share).round() as usize).clamp(2, per_class - 1);
        let val_n = held.div_ceil(2);
        test.extend(pts.drain(per_class - (held - val_n)..));
        val.extend(pts.drain(per_class - held..));
        train.extend(pts);
    }
    train.shuffle(&mut rng);
    val.shuffle(&mut rng);
    test.shuffle(&mut rng);
    let word = spec.kind.class_word();
    Ok(PlanePoints {
        train,
        val,
        test,
        class_names: (1..=k).map(|c| format!("{word} {c}")).collect(),
        name: format!(
            "{}, {k} classes ({} points, noise {})",
            spec.kind.key(),
            per_class * k,
            spec.noise
        ),
    })
}

/// Point `i` of `n` of class `class` (of `k`) before the jitter.
fn base_point(
    kind: PlaneKind,
    class: usize,
    k: usize,
    i: usize,
    n: usize,
    rng: &mut SmallRng,
) -> [f32; 2] {
    use std::f32::consts::{PI, TAU};
    let radius = 5.0f32;
    match kind {
        PlaneKind::Spiral => {
            // TensorFlow Playground's spiral: radius grows with the position along the arm,
            // but from a tenth of the radius rather than 0, so the arms never start at the
            // same point (there no network can tell them apart and 100 % is out of reach).
            let t = i as f32 / n as f32;
            let r = (0.1 + 0.9 * t) * radius;
            let angle = 1.75 * t * TAU + class as f32 * TAU / k as f32;
            [r * angle.sin(), r * angle.cos()]
        }
        PlaneKind::Circle => {
            // Ring `class` spans [class, class + 1)·R/K, with a gap before all but the disc.
            let band = radius / k as f32;
            let gap = if class == 0 { 0.0 } else { 0.25 * band };
            let r = class as f32 * band + gap + rng.random::<f32>() * (band - gap);
            let angle = rng.random::<f32>() * TAU;
            [r * angle.cos(), r * angle.sin()]
        }
        PlaneKind::Xor => {
            // The K cells of this class are (i, (class − i) mod K); pick one, then a place in
            // it away from its edges.
            let col = rng.random_range(0..k);
            let row = (class + k - col) % k;
            let cell = 2.0 * radius / k as f32;
            let margin = 0.08 * cell;
            let u = margin + rng.random::<f32>() * (cell - 2.0 * margin);
            let v = margin + rng.random::<f32>() * (cell - 2.0 * margin);
            [
                -radius + col as f32 * cell + u,
                -radius + row as f32 * cell + v,
            ]
        }
        PlaneKind::Gauss => {
            let angle = PI / 4.0 + class as f32 * TAU / k as f32;
            let spread = Normal::new(0.0f32, 0.8).expect("a positive σ is valid");
            [
                3.0 * angle.cos() + spread.sample(rng),
                3.0 * angle.sin() + spread.sample(rng),
            ]
        }
        PlaneKind::Moons => {
            // scikit-learn's two moons, chained: moon c is shifted right by c, every other one
            // upside down; then centred and scaled to fill the plane.
            let t = rng.random::<f32>() * PI;
            let c = class as f32;
            let (x, y) = if class.is_multiple_of(2) {
                (c + t.cos(), t.sin())
            } else {
                (c - t.cos(), 0.5 - t.sin())
            };
            let scale = 9.0 / (k as f32 + 1.0);
            [(x - (k as f32 - 1.0) / 2.0) * scale, (y - 0.25) * scale]
        }
    }
}

/// Turns points into an image set the engine trains on: one byte per feature.
pub fn to_image_set(points: &[PlanePoint], features: &[Feature]) -> ImageSet {
    let d = features.len();
    let mut pixels = vec![0u8; points.len() * d];
    for (p, row) in points.iter().zip(pixels.chunks_exact_mut(d.max(1))) {
        encode_point(p.x, features, row);
    }
    ImageSet {
        pixels,
        labels: points.iter().map(|p| p.label).collect(),
        shape: shape(features),
    }
}

impl PlanePoints {
    /// The three sets as the engine's splits, with `features` as the inputs.
    pub fn to_splits(&self, features: &[Feature]) -> Splits {
        Splits {
            name: self.name.clone(),
            class_names: self.class_names.clone(),
            train: to_image_set(&self.train, features),
            val: to_image_set(&self.val, features),
            test: to_image_set(&self.test, features),
            warnings: Vec::new(),
        }
    }
}

/// The centres of a `side` × `side` grid of cells over the plane, row by row from the top
/// (largest x₂) so that they read as a picture.
pub fn grid(side: usize) -> Vec<[f32; 2]> {
    let cell = 2.0 * EXTENT / side as f32;
    (0..side)
        .flat_map(|r| {
            (0..side).map(move |c| {
                [
                    -EXTENT + (c as f32 + 0.5) * cell,
                    EXTENT - (r as f32 + 0.5) * cell,
                ]
            })
        })
        .collect()
}

/// The network inputs for `points`: encoded as for training, then normalised by `norm`;
/// one row of `features.len()` values per point.
pub fn inputs(points: &[[f32; 2]], features: &[Feature], norm: &super::Normalizer) -> Vec<f32> {
    let d = features.len();
    let mut bytes = vec![0u8; d];
    let mut out = vec![0f32; points.len() * d];
    for (p, row) in points.iter().zip(out.chunks_exact_mut(d.max(1))) {
        encode_point(*p, features, &mut bytes);
        norm.write_row(&bytes, None, row);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: PlaneKind, classes: usize, seed: u64) -> PlaneSpec {
        PlaneSpec {
            kind,
            points: 300,
            noise: 0.1,
            test_share: 0.3,
            classes,
            seed,
        }
    }

    fn counts(points: &[PlanePoint], k: usize) -> Vec<usize> {
        let mut c = vec![0; k];
        for p in points {
            c[usize::from(p.label)] += 1;
        }
        c
    }

    #[test]
    fn every_generator_is_balanced_seeded_and_in_the_plane() {
        for kind in PlaneKind::ALL {
            for k in 2..=MAX_CLASSES {
                let a = generate(&spec(kind, k, 7)).expect("valid spec");
                let b = generate(&spec(kind, k, 7)).expect("valid spec");
                assert_eq!(a, b, "{kind:?} with {k} classes: same seed, same points");
                let c = generate(&spec(kind, k, 8)).expect("valid spec");
                assert_ne!(a.train, c.train, "{kind:?}: another seed, other points");
                let per = 300 / k;
                for set in [&a.train, &a.val, &a.test] {
                    let n = counts(set, k);
                    assert!(
                        n.iter().all(|&c| c == n[0] && c > 0),
                        "{kind:?} {k}: unbalanced {n:?}"
                    );
                }
                assert_eq!(a.train.len() + a.val.len() + a.test.len(), per * k);
                let held = a.val.len() + a.test.len();
                let share = held as f64 / (per * k) as f64;
                assert!((share - 0.3).abs() < 0.05, "{kind:?}: held out {share}");
                // Without noise every point lies inside the plane that is drawn.
                let clean = generate(&PlaneSpec {
                    noise: 0.0,
                    ..spec(kind, k, 7)
                })
                .expect("valid spec");
                assert!(
                    clean
                        .train
                        .iter()
                        .all(|p| p.x.iter().all(|v| v.abs() <= EXTENT)),
                    "{kind:?} {k}: a point outside the plane"
                );
            }
        }
    }

    #[test]
    fn classes_are_apart_where_they_should_be() {
        // XOR with two classes: class 0 where x₁ and x₂ have the same sign.
        let xor = generate(&PlaneSpec {
            noise: 0.0,
            ..spec(PlaneKind::Xor, 2, 1)
        })
        .expect("valid spec");
        for p in &xor.train {
            let same = (p.x[0] > 0.0) == (p.x[1] > 0.0);
            assert_eq!(same, p.label == 0, "{p:?}");
        }
        // Circle: the inner class is nearer the centre than the outer.
        let circle = generate(&PlaneSpec {
            noise: 0.0,
            ..spec(PlaneKind::Circle, 2, 1)
        })
        .expect("valid spec");
        for p in &circle.train {
            let r = p.x[0].hypot(p.x[1]);
            assert!(if p.label == 0 { r <= 2.5 } else { r > 2.5 }, "{p:?}");
        }
    }

    #[test]
    fn bad_specs_are_refused_with_the_value() {
        let e = generate(&spec(PlaneKind::Spiral, 6, 0)).unwrap_err();
        assert!(e.to_string().contains("classes = 6"), "{e}");
        let e = generate(&PlaneSpec {
            points: 10,
            ..spec(PlaneKind::Spiral, 2, 0)
        })
        .unwrap_err();
        assert!(e.to_string().contains("points = 10"), "{e}");
        assert!(check_features(&[]).is_err());
        assert!(check_features(&[Feature::X1, Feature::X1]).is_err());
    }

    #[test]
    fn feature_toggles_change_the_input_width() {
        let pts = generate(&spec(PlaneKind::Circle, 2, 0)).expect("valid spec");
        let two = pts.to_splits(&[Feature::X1, Feature::X2]);
        assert_eq!(two.shape().dim(), 2);
        let five = pts.to_splits(&[
            Feature::X1,
            Feature::X2,
            Feature::X1Sq,
            Feature::X2Sq,
            Feature::X1X2,
        ]);
        assert_eq!(five.shape().dim(), 5);
        assert_eq!(five.train.pixels.len(), 5 * pts.train.len());
        // The bytes are the features' values on their ranges: x₁² of (3, −2) is 9 of 0–36.
        let mut b = [0u8; 3];
        encode_point(
            [3.0, -2.0],
            &[Feature::X1Sq, Feature::X1X2, Feature::X2],
            &mut b,
        );
        assert_eq!(b[0], (9.0f32 / 36.0 * 255.0).round() as u8);
        assert_eq!(b[1], ((-6.0f32 + 36.0) / 72.0 * 255.0).round() as u8);
        assert_eq!(b[2], ((-2.0f32 + 6.0) / 12.0 * 255.0).round() as u8);
    }

    #[test]
    fn grid_reads_as_a_picture() {
        let g = grid(4);
        assert_eq!(g.len(), 16);
        assert!(g[0][0] < 0.0 && g[0][1] > 0.0, "top left first");
        assert!(g[15][0] > 0.0 && g[15][1] < 0.0, "bottom right last");
    }
}
