//! The window's and `trainviz gradcheck`'s numerical gradient check for a layer stack (a
//! ConvNet): the settings' stack freshly initialised, in f64, on a few whole training images
//! (a convolution needs the whole image, so inputs are not cut as for the MLP), with a
//! sample of each parameter array's entries.

use ndarray::Array2;
use rand::SeedableRng;
use rand::rngs::SmallRng;

use crate::data::{Normalizer, Splits};
use crate::model::gradcheck::ParamCheck;
use crate::model::layers::LayerSpec;
use crate::model::loss::Loss;
use crate::model::stack_check;
use crate::train::config::{ConfigError, TrainConfig};

/// The check of `config`'s stack and loss (with its label smoothing and λ) on the first
/// `samples` training images, at most `per_array` entries of each parameter array; the
/// error when the stack does not fit the data.
pub fn stack_gradient_check(
    config: &TrainConfig,
    data: &Splits,
    norm: &Normalizer,
    samples: usize,
    per_array: usize,
) -> Result<Vec<ParamCheck>, ConfigError> {
    let mut rng = SmallRng::seed_from_u64(config.seed);
    let stack = crate::train::stack_trainer::build_stack(config, data, &mut rng)?.cast::<f64>();
    let n = samples
        .clamp(1, data.train.len().max(1))
        .min(data.train.len());
    let dim = data.shape().dim();
    let mut x = Array2::<f64>::zeros((n, dim));
    let mut row = vec![0f64; dim];
    for i in 0..n {
        norm.write_row_as(data.train.image(i), &mut row);
        x.row_mut(i).assign(&ndarray::ArrayView1::from(&row[..]));
    }
    let labels = &data.train.labels[..n];
    let loss = Loss {
        kind: config.loss,
        smoothing: config.label_smoothing,
    };
    // As for the MLP: batch norm divides by spreads as small as the weights, so the cost
    // bends on that scale and the step must be smaller (see `super::gradient_check`).
    let h = if stack.specs.contains(&LayerSpec::Bn) {
        3e-5
    } else {
        1e-4
    };
    let (grads, mut ws) = stack_check::analytic(&stack, x.view(), labels, loss, config.lambda, 7);
    Ok(stack_check::compare_some(
        &stack,
        x.view(),
        labels,
        loss,
        config.lambda,
        h,
        &grads,
        &mut ws,
        per_array.max(1),
    ))
}
