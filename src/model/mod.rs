//! Models: a linear classifier and multi-layer perceptrons, their losses, analytic gradients
//! and a numerical gradient check. Generic over `f32` (training) and `f64` (checking).

pub mod gradcheck;
pub mod loss;
pub mod network;

pub use loss::LossKind;
pub use network::{Activation, InitKind, Layer, Network, Workspace};

use std::fmt::Debug;
use std::iter::Sum;

use ndarray::{LinalgScalar, ScalarOperand};
use num_traits::{Float, FromPrimitive};

/// The floating-point types the maths runs in.
pub trait Real:
    Float + LinalgScalar + ScalarOperand + FromPrimitive + Sum + Debug + Send + Sync + 'static
{
    /// Converts from `f64`, for constants and hyperparameters.
    fn of(v: f64) -> Self {
        Self::from_f64(v).unwrap_or_else(Self::nan)
    }
}
impl Real for f32 {}
impl Real for f64 {}
