//! The worker's analyses: predictions, embeddings (PCA at once, t-SNE on its own thread)
//! and the gradient check, answered as events.

use crate::train::analysis::{self, Projection, TsneSettings};
use crate::train::messages::{AnalysisRequest, AnalysisResult, Event, EventKind};
use crate::train::trainer::Subset;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::Worker;

impl Worker {
    pub(super) fn analyse(&mut self, request: AnalysisRequest) {
        let Some(session) = &self.session else {
            self.error("Nothing to analyse yet: wait until the run is ready.".into());
            return;
        };
        let Some(t) = session.learner().trainer() else {
            if matches!(request, AnalysisRequest::CancelEmbedding) {
                self.embedding_cancel.store(true, Ordering::Relaxed);
                return;
            }
            // Predictions, embeddings and the gradient check read an MLP's layers.
            self.error(format!(
                "{} are shown for linear and MLP runs; ConvNet views come with the next issue.",
                request.what()
            ));
            return;
        };
        let run = self.run;
        let net = t.network();
        let loss = t.live().loss;
        let result = match request {
            AnalysisRequest::Predictions { set, max } => {
                let data = t.data().clone();
                let images = match set {
                    Subset::Train => &data.train,
                    Subset::Val => &data.val,
                    Subset::Test => &data.test,
                };
                let predictions = analysis::predictions(net, t.normalizer(), images, loss, max);
                AnalysisResult::Predictions {
                    set,
                    data: data.clone(),
                    predictions: Arc::new(predictions),
                }
            }
            AnalysisRequest::GradientCheck { samples, dims } => {
                // Seconds of f64 work: on its own thread, so training goes on meanwhile.
                let (config, data, norm) = (t.config(), t.data().clone(), t.normalizer().clone());
                let send = self.sender(run);
                let spawned = std::thread::Builder::new()
                    .name("trainviz-gradcheck".into())
                    .spawn(move || {
                        send(AnalysisResult::GradientCheck(analysis::gradient_check(
                            &config, &data, &norm, samples, dims,
                        )));
                    });
                if spawned.is_err() {
                    self.error("Could not start a thread for the gradient check.".into());
                }
                return;
            }
            AnalysisRequest::CancelEmbedding => {
                self.embedding_cancel.store(true, Ordering::Relaxed);
                return;
            }
            AnalysisRequest::Embedding {
                layer,
                projection,
                count,
            } => {
                let count = count.min(analysis::MAX_EMBEDDING_POINTS);
                let (acts, labels) =
                    analysis::layer_activations(net, t.normalizer(), &t.data().val, layer, count);
                match projection {
                    Projection::Pca => {
                        let pca = analysis::pca2_with_variance(&acts);
                        AnalysisResult::Embedding {
                            layer,
                            projection,
                            axes: analysis::axis_names(projection, Some(pca.variance_share)),
                            points: pca.points,
                            labels,
                        }
                    }
                    Projection::Tsne => {
                        self.spawn_tsne(run, layer, acts, labels);
                        return;
                    }
                }
            }
        };
        self.emit(Event {
            run,
            kind: EventKind::Analysis {
                result: Box::new(result),
            },
        });
    }

    /// A function that sends an analysis result of run `run` from another thread.
    pub(super) fn sender(&self, run: u64) -> impl Fn(AnalysisResult) + Send + 'static {
        let events = self.events.clone();
        let waker = self.waker.clone();
        move |result: AnalysisResult| {
            let event = Event {
                run,
                kind: EventKind::Analysis {
                    result: Box::new(result),
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
    }

    /// Runs a t-SNE on its own thread (seconds for 10,000 points), reporting progress; a
    /// newer request, a reset or [`AnalysisRequest::CancelEmbedding`] cancels it.
    pub(super) fn spawn_tsne(
        &mut self,
        run: u64,
        layer: usize,
        acts: ndarray::Array2<f32>,
        labels: Vec<u8>,
    ) {
        self.embedding_cancel.store(true, Ordering::Relaxed);
        let cancel = Arc::new(AtomicBool::new(false));
        self.embedding_cancel = cancel.clone();
        let send = self.sender(run);
        let spawned = std::thread::Builder::new()
            .name("trainviz-tsne".into())
            .spawn(move || {
                let mut last = 0.0;
                let points = analysis::tsne2(&acts, TsneSettings::default(), |fraction| {
                    let go_on = !cancel.load(Ordering::Relaxed);
                    if go_on && fraction - last >= 0.02 {
                        last = fraction;
                        send(AnalysisResult::EmbeddingProgress(fraction));
                    }
                    go_on
                });
                if cancel.load(Ordering::Relaxed) {
                    send(AnalysisResult::EmbeddingCancelled);
                } else {
                    send(AnalysisResult::Embedding {
                        layer,
                        projection: Projection::Tsne,
                        axes: analysis::axis_names(Projection::Tsne, None),
                        points,
                        labels,
                    });
                }
            });
        if spawned.is_err() {
            self.error("Could not start a thread for the t-SNE.".into());
        }
    }
}
