//! The worker's data: loaded once, with its normaliser, and kept so that a reset with the
//! same data is instant.

use crate::data::{self, DataRequest, Normalizer, Preprocess, Splits};
use crate::train::messages::{Event, EventKind};
use crate::words::Words;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::Worker;

/// Loaded data with its normaliser, kept so that a reset with the same data is instant.
pub(super) struct DataCache {
    pub(super) request: DataRequest,
    pub(super) splits: Arc<Splits>,
    pub(super) preprocess: Preprocess,
    pub(super) normalizer: Arc<Normalizer>,
}

impl Worker {
    /// Data for `request` (loaded, or from the cache when unchanged), with progress events.
    pub(super) fn data(
        &mut self,
        request: DataRequest,
        preprocess: Preprocess,
    ) -> Option<(Arc<Splits>, Arc<Normalizer>)> {
        let cached = self
            .data_cache
            .as_ref()
            .is_some_and(|c| c.request == request && c.preprocess == preprocess);
        if !cached {
            self.data_cache = None;
            self.tell(EventKind::Loading {
                what: format!("{} data", request.kind.label()),
            });
            let (events, waker, run) = (self.events.clone(), self.waker.clone(), self.run);
            let last_percent = std::sync::atomic::AtomicUsize::new(usize::MAX);
            let progress = move |done: usize, total: usize| {
                let percent = done * 100 / total.max(1);
                if last_percent.swap(percent, Ordering::Relaxed) != percent {
                    let event = Event {
                        run,
                        kind: EventKind::Loading {
                            what: format!("images: decoded {done} of {total}"),
                        },
                    };
                    // Nobody left to tell (the handle is gone).
                    if events.send(event).is_err() {
                        return;
                    }
                    if let Some(w) = &waker {
                        w();
                    }
                }
            };
            let splits = match data::load_with_progress(&request, &progress) {
                Ok(s) => Arc::new(s),
                Err(e) => {
                    self.error(e.to_string());
                    return None;
                }
            };
            let normalizer = Arc::new(Normalizer::fit(&splits.train, preprocess));
            self.data_cache = Some(DataCache {
                request,
                splits,
                preprocess,
                normalizer,
            });
        }
        self.data_cache
            .as_ref()
            .map(|c| (c.splits.clone(), c.normalizer.clone()))
    }
}
