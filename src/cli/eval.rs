//! `trainviz eval`: evaluates a saved run (an MLP or a layer stack) on its test set.

use std::path::Path;

use anyhow::{Result, bail};

use crate::data;

pub(super) fn eval_cmd(dir: &Path) -> Result<()> {
    let saved = crate::runs::SavedRun::load(dir)?;
    let model = saved.model()?;
    let data = std::sync::Arc::new(data::load(&saved.settings.start.data_request())?);
    let mut learner = crate::train::Learner::new(saved.settings.start.clone(), data, None)?;
    let epochs = saved.history.len();
    let name = saved.name();
    if !model.same_shape(&learner.model())
        || !learner.restore(model, saved.history, saved.settings.changes)
    {
        bail!("the saved weights do not fit the run's data");
    }
    let test = learner.evaluate(crate::train::Subset::Test);
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
