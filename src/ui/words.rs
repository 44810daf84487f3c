//! The window's words: the labels of every choice come from [`crate::words`], the one
//! place they are written; this module adds the few phrases only the window uses.

pub use crate::train::config::code_names;
pub use crate::words::Words;

/// The key settings in a few words, e.g. "Linear, Softmax cross-entropy, λ=0.1, η=0.001,
/// batch 100".
pub fn short_settings(c: &crate::train::TrainConfig) -> String {
    let arch = if c.hidden.is_empty() {
        "Linear".to_string()
    } else {
        let widths: Vec<String> = c.hidden.iter().map(usize::to_string).collect();
        format!("MLP {} {}", widths.join("-"), Words::label(c.activation))
    };
    format!(
        "{arch}, {}, λ={}, η={}, batch {}",
        Words::label(c.loss),
        c.lambda,
        c.eta,
        c.batch
    )
}

/// Where a live edit goes while the run can take no step (`ended` is how it ended), in the
/// few words shown beside the live controls; `None` while steps can follow.
pub fn held_note(ended: Option<crate::train::RunStatus>) -> Option<&'static str> {
    use crate::train::RunStatus;
    match ended? {
        RunStatus::Finished => Some(
            "The run has ended; its record stays as trained. Changes here apply to “+10 epochs” \
             (recorded when it starts) or to the next run (Reset).",
        ),
        RunStatus::Diverged => Some(
            "The run diverged; its record stays as trained. Changes here apply when you Start \
             again from the last good weights (recorded then), to “+10 epochs”, or to the next \
             run (Reset).",
        ),
        RunStatus::Running | RunStatus::Stopped => None,
    }
}
