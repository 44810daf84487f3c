//! The worker thread through its channels: live hyperparameter changes take effect without a
//! restart, divergence pauses and restores, and a shutdown is clean.

use std::time::Duration;

use trainviz::data::DatasetKind;
use trainviz::train::{Command, EpochMetrics, Event, EventKind, TrainConfig, WorkerHandle};

fn config() -> TrainConfig {
    TrainConfig {
        dataset: DatasetKind::Synthetic,
        epochs: 100,
        eta: 1e-6,
        lambda: 0.0,
        ..Default::default()
    }
}

/// Waits for the next epoch event (skipping everything else).
fn next_epoch(w: &WorkerHandle) -> EpochMetrics {
    loop {
        match w
            .events()
            .recv_timeout(Duration::from_secs(60))
            .expect("an event")
        {
            Event {
                kind: EventKind::Epoch { metrics, .. },
                ..
            } => return *metrics,
            Event {
                kind: EventKind::Error { message, .. },
                ..
            } => panic!("{message}"),
            _ => {}
        }
    }
}

#[test]
fn changing_eta_and_lambda_live_changes_the_course() {
    let w = WorkerHandle::spawn(None);
    w.send(Command::Reset(Box::new(config())));
    w.send(Command::StepEpoch);
    let e1 = next_epoch(&w);
    w.send(Command::StepEpoch);
    let e2 = next_epoch(&w);
    // With η = 1e-6 the model barely moves.
    assert!(
        (e1.train.loss - e2.train.loss).abs() < 0.01,
        "{} {}",
        e1.train.loss,
        e2.train.loss
    );

    let mut live = config().live();
    live.eta = 0.01;
    w.send(Command::SetLive(live));
    w.send(Command::StepEpoch);
    let e3 = next_epoch(&w);
    assert!(e3.eta == 0.01, "the new η is used: {}", e3.eta);
    assert!(
        e3.train.loss < e2.train.loss - 0.2,
        "learning sped up: {} → {}",
        e2.train.loss,
        e3.train.loss
    );

    // λ: the cost now carries the penalty, and the weights shrink epoch after epoch.
    live.lambda = 1.0;
    w.send(Command::SetLive(live));
    w.send(Command::StepEpoch);
    let e4 = next_epoch(&w);
    w.send(Command::StepEpoch);
    let e5 = next_epoch(&w);
    assert_eq!(e3.train.cost, e3.train.loss, "λ = 0: cost = loss");
    let norm4 = e4.train.cost - e4.train.loss;
    let norm5 = e5.train.cost - e5.train.loss;
    assert!(norm4 > 0.0 && norm5 < norm4, "penalty {norm4} → {norm5}");
    assert_eq!(e5.lambda, 1.0);
}

#[test]
fn divergence_pauses_and_keeps_the_last_good_weights() {
    let w = WorkerHandle::spawn(None);
    w.send(Command::Reset(Box::new(TrainConfig {
        eta: 0.001,
        ..config()
    })));
    w.send(Command::StepEpoch);
    let good = next_epoch(&w);
    // With weight decay, η·λ > 1 makes W ← (1 − 2ηλ)W blow up: the cost overflows.
    let mut live = config().live();
    live.eta = 10.0;
    live.lambda = 1.0;
    w.send(Command::SetLive(live));
    w.send(Command::Start);
    let message = loop {
        match w
            .events()
            .recv_timeout(Duration::from_secs(60))
            .expect("an event")
        {
            Event {
                kind: EventKind::Diverged { message, .. },
                ..
            } => break message,
            Event {
                kind: EventKind::Finished { .. },
                ..
            } => panic!("η = 10, λ = 1 should diverge"),
            _ => {}
        }
    };
    assert!(message.contains("smaller η"), "{message}");
    // Paused: evaluating again gives the good epoch's numbers back.
    let mut live = config().live();
    live.eta = 0.001;
    w.send(Command::SetLive(live));
    w.send(Command::StepEpoch);
    let next = next_epoch(&w);
    assert!(next.train.cost.is_finite());
    assert!(
        next.train.loss <= good.train.loss + 0.05,
        "{} vs {}",
        next.train.loss,
        good.train.loss
    );
}

#[test]
fn shutdown_is_prompt_while_training() {
    let mut w = WorkerHandle::spawn(None);
    w.send(Command::Reset(Box::new(TrainConfig {
        epochs: 100_000,
        ..config()
    })));
    w.send(Command::Start);
    std::thread::sleep(Duration::from_millis(200));
    let started = std::time::Instant::now();
    w.shutdown();
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn a_cancelled_tsne_says_so_and_sends_no_layout() {
    use trainviz::train::analysis::Projection;
    use trainviz::train::{AnalysisRequest, AnalysisResult};
    let w = WorkerHandle::spawn(None);
    w.send(Command::Reset(Box::new(TrainConfig {
        hidden: vec![8],
        ..config()
    })));
    w.send(Command::StepEpoch);
    next_epoch(&w);
    w.send(Command::Analyse(AnalysisRequest::Embedding {
        layer: 0,
        projection: Projection::Tsne,
        count: 1000,
    }));
    // The worker reads commands in order: the cancel arrives while the t-SNE thread is in
    // its first stage.
    w.send(Command::Analyse(AnalysisRequest::CancelEmbedding));
    loop {
        match w
            .events()
            .recv_timeout(Duration::from_secs(60))
            .expect("an event")
        {
            Event {
                kind: EventKind::Analysis { result, .. },
                ..
            } => match *result {
                AnalysisResult::EmbeddingCancelled => break,
                AnalysisResult::Embedding { .. } => panic!("a cancelled t-SNE sent its layout"),
                _ => {}
            },
            Event {
                kind: EventKind::Error { message, .. },
                ..
            } => panic!("{message}"),
            _ => {}
        }
    }
    w.send(Command::Shutdown);
}
