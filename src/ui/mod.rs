//! The window.

use crate::cli::TrainArgs;

/// Opens the window and trains with the given settings.
pub fn run_app(args: &TrainArgs) -> anyhow::Result<()> {
    let config = args.resolve()?;
    crate::cli::train(config, None, true).map(|_| ())
}
