//! Training: settings, schedules, the engine, metrics, and the worker thread that runs the
//! engine and talks to the app or the CLI through messages.

pub mod analysis;
pub mod config;
pub mod divergence;
mod eval_parts;
pub mod layer_health;
pub mod learner;
pub mod lr_range;
pub mod messages;
pub mod metrics;
pub mod optimizer;
pub mod plane;
pub mod record;
mod run_progress;
pub mod schedule;
pub mod session;
pub mod stack_eval;
pub mod stack_health;
pub mod stack_trainer;
pub mod steps;
pub mod store;
mod team;
pub mod trainer;
pub mod worker;

pub use config::{ConfigError, LiveParams, ScheduleKind, TrainConfig};
pub use learner::{Learner, Model};
pub use messages::{AnalysisRequest, AnalysisResult, Command, Event, EventKind, RunInfo};
pub use metrics::{EpochMetrics, Evaluation, Histogram, RunStatus, Summary};
pub use optimizer::{Optimizer, OptimizerKind, OptimizerSettings};
pub use record::{RunSettings, SettingChange};
pub use session::{Advance, LiveEdit, RunEnd, Session};
pub use steps::StepRecord;
pub use store::{RunFolders, RunRecorder, SaveTo, SavedRecord, Saving};
pub use trainer::{StepOutcome, Subset, Trainer, cores, default_threads};
pub use worker::WorkerHandle;
