//! Models: a linear classifier and multi-layer perceptrons, their losses, analytic gradients
//! and a numerical gradient check. Generic over `f32` (training) and `f64` (checking).

pub mod gradcheck;
pub mod kernels;
pub mod l1;
pub mod layers;
pub mod loss;
pub mod network;
pub mod stack;
pub mod stack_check;
pub mod stack_views;
pub mod templates;

pub use loss::LossKind;
pub use network::{Activation, BatchNorm, InitKind, Layer, Network, Pass, Workspace};

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
    /// A faster `out = x · wᵀ` for this type, if there is one: `Some(true)` when it ran.
    fn fast_xwt(
        _x: &ndarray::ArrayView2<Self>,
        _w: &ndarray::ArrayView2<Self>,
        _out: &mut ndarray::ArrayViewMut2<Self>,
    ) -> Option<bool> {
        None
    }
    /// A faster `out = a · b (+ bias)` for this type, for a row-major `a` with many rows and a
    /// small `b` (a convolution's products), its rows split into `parts` on the rayon pool,
    /// if there is one: `Some(true)` when it ran.
    fn fast_rows_times_small(
        _a: &ndarray::ArrayView2<Self>,
        _b: &ndarray::ArrayView2<Self>,
        _bias: Option<&[Self]>,
        _out: &mut ndarray::ArrayViewMut2<Self>,
        _parts: usize,
    ) -> Option<bool> {
        None
    }
    /// Runs one pass of a stride-1 convolution from its zero-padded input on this type's
    /// kernels, if it has them for `g`: `Some(true)` when it ran. Whether it runs depends
    /// on `g` and the CPU alone (see [`kernels::SameConv::fits`]), so a forward pass and
    /// its backward pass take the same path.
    fn fast_same_conv(
        _g: &kernels::SameConv,
        _pass: kernels::ConvPass<'_, Self>,
        _parts: usize,
    ) -> Option<bool> {
        None
    }
    /// Whether [`Self::fast_same_conv`] runs for `g`.
    fn same_conv_fits(_g: &kernels::SameConv) -> bool {
        false
    }
    /// A faster fused SGD update for this type, if there is one: `Some(true)` when it ran.
    fn fast_update(
        _w: &mut ndarray::ArrayViewMut2<Self>,
        _delta: &ndarray::ArrayView2<Self>,
        _a: &ndarray::ArrayView2<Self>,
        _keep: Self,
        _eta: Self,
    ) -> Option<bool> {
        None
    }
}
impl Real for f32 {
    fn fast_xwt(
        x: &ndarray::ArrayView2<f32>,
        w: &ndarray::ArrayView2<f32>,
        out: &mut ndarray::ArrayViewMut2<f32>,
    ) -> Option<bool> {
        kernels::xwt_f32(x, w, out)
    }
    fn fast_rows_times_small(
        a: &ndarray::ArrayView2<f32>,
        b: &ndarray::ArrayView2<f32>,
        bias: Option<&[f32]>,
        out: &mut ndarray::ArrayViewMut2<f32>,
        parts: usize,
    ) -> Option<bool> {
        kernels::rows_times_small_f32(a, b, bias, out, parts)
    }
    fn fast_same_conv(
        g: &kernels::SameConv,
        pass: kernels::ConvPass<'_, f32>,
        parts: usize,
    ) -> Option<bool> {
        kernels::same_conv_f32(g, pass, parts)
    }
    fn same_conv_fits(g: &kernels::SameConv) -> bool {
        g.fits()
    }
    fn fast_update(
        w: &mut ndarray::ArrayViewMut2<f32>,
        delta: &ndarray::ArrayView2<f32>,
        a: &ndarray::ArrayView2<f32>,
        keep: f32,
        eta: f32,
    ) -> Option<bool> {
        kernels::update_f32(w, delta, a, keep, eta)
    }
}
impl Real for f64 {}
