//! A built-in data set of generated 32×32 colour images, so the app and the tests run on a
//! machine without any downloaded data. Each class is a coloured blob at its own place on a
//! noisy background; the blob moves and changes size a little from image to image, so a
//! linear classifier learns it well but not perfectly, and its templates look like the blobs.

use rand::{Rng, SeedableRng, rngs::SmallRng};

use super::{ImageSet, ImageShape, Splits};

/// Sizes and seed of the generated set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SyntheticSpec {
    /// Seed; the same seed gives the same images.
    pub seed: u64,
    /// Training images.
    pub train: usize,
    /// Validation images.
    pub val: usize,
    /// Test images.
    pub test: usize,
}

impl Default for SyntheticSpec {
    fn default() -> Self {
        SyntheticSpec {
            seed: 0,
            train: 5000,
            val: 1000,
            test: 1000,
        }
    }
}

/// Per class: blob centre (row, col), colour (r, g, b) and name.
const CLASSES: [((f32, f32), [f32; 3], &str); 10] = [
    ((8.0, 8.0), [230.0, 40.0, 40.0], "red top-left"),
    ((8.0, 24.0), [40.0, 200.0, 60.0], "green top-right"),
    ((24.0, 8.0), [50.0, 80.0, 230.0], "blue bottom-left"),
    ((24.0, 24.0), [230.0, 210.0, 40.0], "yellow bottom-right"),
    ((16.0, 16.0), [230.0, 230.0, 230.0], "white centre"),
    ((16.0, 16.0), [200.0, 60.0, 200.0], "magenta centre"),
    ((6.0, 16.0), [40.0, 210.0, 210.0], "cyan top"),
    ((26.0, 16.0), [240.0, 140.0, 30.0], "orange bottom"),
    ((16.0, 6.0), [120.0, 230.0, 120.0], "lime left"),
    ((16.0, 26.0), [120.0, 120.0, 240.0], "violet right"),
];

/// Generates `n` images with labels cycling through the classes in random order.
fn generate_set(n: usize, rng: &mut SmallRng) -> ImageSet {
    let shape = ImageShape::CIFAR;
    let plane = shape.height * shape.width;
    let mut pixels = vec![0u8; n * shape.dim()];
    let mut labels = Vec::with_capacity(n);
    for img in pixels.chunks_exact_mut(shape.dim()) {
        let label = rng.random_range(0..CLASSES.len());
        labels.push(label as u8);
        let ((cr, cc), colour, _) = CLASSES[label];
        let cr = cr + rng.random_range(-5.0..5.0f32);
        let cc = cc + rng.random_range(-5.0..5.0f32);
        let radius = rng.random_range(3.0..7.0f32);
        let inv_two_r2 = 1.0 / (2.0 * radius * radius);
        let strength = rng.random_range(0.4..1.0f32);
        let background: [f32; 3] = std::array::from_fn(|_| rng.random_range(40.0..170.0f32));
        for r in 0..shape.height {
            for c in 0..shape.width {
                let d2 = (r as f32 - cr).powi(2) + (c as f32 - cc).powi(2);
                let w = strength * (-d2 * inv_two_r2).exp();
                for ch in 0..3 {
                    let noise = rng.random_range(-60.0..60.0f32);
                    let v = background[ch] * (1.0 - w) + colour[ch] * w + noise;
                    img[ch * plane + r * shape.width + c] = v.clamp(0.0, 255.0) as u8;
                }
            }
        }
    }
    ImageSet {
        pixels,
        labels,
        shape,
    }
}

/// Generates the whole synthetic data set.
pub fn generate(spec: &SyntheticSpec) -> Splits {
    let mut rng = SmallRng::seed_from_u64(spec.seed ^ 0x5EED_DA7A);
    let train = generate_set(spec.train, &mut rng);
    let val = generate_set(spec.val, &mut rng);
    let test = generate_set(spec.test, &mut rng);
    Splits {
        name: "synthetic".into(),
        class_names: CLASSES.iter().map(|c| c.2.to_string()).collect(),
        train,
        val,
        test,
        warnings: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_images_other_seed_other_images() {
        let spec = SyntheticSpec {
            seed: 3,
            train: 20,
            val: 5,
            test: 5,
        };
        let a = generate(&spec);
        let b = generate(&spec);
        assert_eq!(a.train, b.train);
        let c = generate(&SyntheticSpec { seed: 4, ..spec });
        assert_ne!(a.train.pixels, c.train.pixels);
        assert_eq!(a.train.len(), 20);
        assert!(a.train.labels.iter().all(|&l| l < 10));
    }
}
