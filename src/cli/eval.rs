//! `trainviz eval`: evaluates a saved run on its test set.

use std::path::Path;

use anyhow::{Result, bail};

use crate::data;

pub(super) fn eval_cmd(dir: &Path) -> Result<()> {
    let saved = crate::runs::SavedRun::load(dir)?;
    let net = saved.weights()?;
    let data = std::sync::Arc::new(data::load(&saved.settings.start.data_request())?);
    let mut t = crate::train::Trainer::new(saved.settings.start.clone(), data, None)?;
    if net.input_dim() != t.network().input_dim() || net.classes() != t.network().classes() {
        bail!("the saved weights do not fit the run's data");
    }
    let epochs = saved.history.len();
    let name = saved.name();
    t.restore(net, saved.history, saved.settings.changes);
    let test = t.evaluate(crate::train::Subset::Test);
    println!(
        "{} ({} epochs): test cost {:.4}, loss {:.4}, accuracy {:.2} % of {} images",
        name,
        epochs,
        test.cost,
        test.loss,
        100.0 * test.accuracy,
        test.count
    );
    Ok(())
}
