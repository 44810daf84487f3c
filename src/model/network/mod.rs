//! Dense layers stacked into a linear classifier (no hidden layer) or an MLP.
//!
//! `layer.rs` holds a layer's parameters, activation and initialisation, `workspace.rs` the
//! buffers a pass reuses, `forward.rs` the forward pass and the loss it gives, `backward.rs`
//! the backward pass and its gradient step, `dense.rs` the network itself, its construction
//! and what it reports about itself.

mod backward;
mod dense;
mod forward;
mod layer;
#[cfg(test)]
mod tests;
mod workspace;

pub use backward::GradientUse;
pub use dense::Network;
pub use forward::Pass;
pub use layer::{Activation, BN_AVERAGING, BN_EPS, BatchNorm, InitKind, Layer};
pub use workspace::Workspace;
