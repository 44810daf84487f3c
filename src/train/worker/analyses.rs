//! The worker's analyses of either model (an MLP or a layer stack): predictions,
//! embeddings (PCA or t-SNE) and the gradient check, each on its own thread with a copy of
//! the weights, so training goes on meanwhile; answered as events.

use crate::data::{Normalizer, Splits};
use crate::train::analysis::{self, Projection, TsneSettings};
use crate::train::learner::Model;
use crate::train::messages::{AnalysisRequest, AnalysisResult, Event, EventKind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::Worker;

/// Share of an embedding's progress bar given to the forward passes before a t-SNE (a
/// ConvNet's take seconds on 10,000 images); a PCA takes the rest of the bar at once.
const PASSES_SHARE_TSNE: f32 = 0.2;

/// What an embedding is computed from: the weights, the data and the request.
struct EmbeddingJob {
    model: Model,
    norm: Arc<Normalizer>,
    data: Arc<Splits>,
    layer: usize,
    projection: Projection,
    count: usize,
}

impl Worker {
    pub(super) fn analyse(&mut self, request: AnalysisRequest) {
        if matches!(request, AnalysisRequest::CancelEmbedding) {
            self.embedding_cancel.store(true, Ordering::Relaxed);
            return;
        }
        let Some(session) = &self.session else {
            self.error("Nothing to analyse yet: wait until the run is ready.".into());
            return;
        };
        let learner = session.learner();
        let run = self.run;
        let (model, norm, data) = (
            learner.model(),
            learner.normalizer().clone(),
            learner.data().clone(),
        );
        let send = self.sender(run);
        let what = request.what();
        let spawned = match request {
            AnalysisRequest::Predictions { set, max } => {
                let loss = learner.live().loss;
                std::thread::Builder::new()
                    .name("trainviz-predictions".into())
                    .spawn(move || {
                        let images = set.of(&data);
                        let predictions =
                            analysis::predictions(model.view(), &norm, images, loss, max);
                        send(AnalysisResult::Predictions {
                            set,
                            data: data.clone(),
                            predictions: Arc::new(predictions),
                        });
                    })
            }
            AnalysisRequest::GradientCheck { samples, dims } => {
                // Seconds of f64 work.
                let config = learner.settings().in_force();
                let tell = self.teller(run);
                std::thread::Builder::new()
                    .name("trainviz-gradcheck".into())
                    .spawn(move || {
                        match analysis::check_gradients(&config, &data, &norm, samples, dims) {
                            Ok(report) => send(AnalysisResult::GradientCheck(report)),
                            Err(e) => tell(EventKind::Error {
                                message: format!("Gradient check: {e}"),
                            }),
                        }
                    })
            }
            AnalysisRequest::Embedding {
                layer,
                projection,
                count,
            } => {
                let job = EmbeddingJob {
                    model,
                    norm,
                    data,
                    layer,
                    projection,
                    count,
                };
                self.spawn_embedding(send, job)
            }
            AnalysisRequest::CancelEmbedding => return,
        };
        if spawned.is_err() {
            self.error(format!("{what}: could not start a thread to compute them."));
        }
    }

    /// A function that sends an analysis result of run `run` from another thread.
    pub(super) fn sender(&self, run: u64) -> impl Fn(AnalysisResult) + Send + Sync + 'static {
        let tell = self.teller(run);
        move |result: AnalysisResult| {
            tell(EventKind::Analysis {
                result: Box::new(result),
            })
        }
    }

    /// A function that sends an event of run `run` from another thread and wakes the window.
    fn teller(&self, run: u64) -> impl Fn(EventKind) + Send + Sync + 'static {
        let events = self.events.clone();
        let waker = self.waker.clone();
        move |kind: EventKind| {
            // Nobody left to tell (the handle is gone).
            if events.send(Event { run, kind }).is_err() {
                return;
            }
            if let Some(w) = &waker {
                w();
            }
        }
    }

    /// Computes an embedding on its own thread: the layer's outputs (cut to
    /// [`analysis::embedding_points`] images for a wide layer), then PCA or t-SNE (seconds
    /// for 10,000 points), reporting progress; a newer request, a reset or
    /// [`AnalysisRequest::CancelEmbedding`] cancels it.
    fn spawn_embedding(
        &mut self,
        send: impl Fn(AnalysisResult) + Send + Sync + 'static,
        job: EmbeddingJob,
    ) -> std::io::Result<std::thread::JoinHandle<()>> {
        self.embedding_cancel.store(true, Ordering::Relaxed);
        let cancel = Arc::new(AtomicBool::new(false));
        self.embedding_cancel = cancel.clone();
        std::thread::Builder::new()
            .name("trainviz-embedding".into())
            .spawn(move || {
                let result = embed(&job, &cancel, &send);
                match result {
                    Some(r) if !cancel.load(Ordering::Relaxed) => send(r),
                    _ => send(AnalysisResult::EmbeddingCancelled),
                }
            })
    }
}

/// The embedding `job` asks for, or `None` once `cancel` is set.
fn embed(
    job: &EmbeddingJob,
    cancel: &AtomicBool,
    send: &(impl Fn(AnalysisResult) + Sync),
) -> Option<AnalysisResult> {
    let width = analysis::layer_width(job.model.view(), job.layer);
    let wanted = job.count.min(analysis::MAX_EMBEDDING_POINTS);
    let (count, note) = analysis::embedding_points(width, wanted);
    let share = match job.projection {
        Projection::Pca => 0.95,
        Projection::Tsne => PASSES_SHARE_TSNE,
    };
    // Below 0, so the first report (0 %) shows the bar at once.
    let mut last = -1.0;
    let mut report = |fraction: f32| {
        let go_on = !cancel.load(Ordering::Relaxed);
        if go_on && fraction - last >= 0.02 {
            last = fraction;
            send(AnalysisResult::EmbeddingProgress(fraction));
        }
        go_on
    };
    report(0.0);
    let (acts, labels) = analysis::layer_activations_with(
        job.model.view(),
        &job.norm,
        &job.data.val,
        job.layer,
        count,
        |f| report(share * f),
    )?;
    let (points, axes) = match job.projection {
        Projection::Pca => {
            let pca = analysis::pca2_with_variance(&acts);
            let axes = analysis::axis_names(Projection::Pca, Some(pca.variance_share));
            (pca.points, axes)
        }
        Projection::Tsne => {
            let points = analysis::tsne2(&acts, TsneSettings::default(), |f| {
                report(share + (1.0 - share) * f)
            });
            (points, analysis::axis_names(Projection::Tsne, None))
        }
    };
    (!cancel.load(Ordering::Relaxed)).then_some(AnalysisResult::Embedding {
        layer: job.layer,
        projection: job.projection,
        axes,
        points,
        labels,
        note,
    })
}
