//! Downloading CIFAR-10 from the window, and the manual steps when that fails.

use std::path::PathBuf;

use super::{Notice, TrainvizApp};
use crate::data::DatasetKind;
use crate::data::download::DownloadError;
use crate::ui::background::{Task, TaskError};
use crate::ui::controls::UiAction;

/// How to install CIFAR-10 without the app's download, step by step.
pub(super) fn manual_steps() -> String {
    use crate::data::download::{CIFAR10_FOLDER, CIFAR10_MD5, CIFAR10_URL};
    format!(
        "1. On a computer that is online, download {CIFAR10_URL} (162 MB).\n\
         2. Check that its MD5 is {CIFAR10_MD5}:\n   md5sum cifar-10-binary.tar.gz\n\
         3. Extract it into data/ in the folder trainviz starts in:\n   mkdir -p data && tar -xzf cifar-10-binary.tar.gz -C data\n\
         4. Start trainviz again: it finds data/{CIFAR10_FOLDER} by itself (or choose that folder under Data, Choose…)."
    )
}
impl TrainvizApp {
    /// Starts downloading CIFAR-10 into data/ (once: a second press while one runs does
    /// nothing).
    pub(super) fn start_download(&mut self) {
        if self.download.is_some() {
            return;
        }
        self.download_help = None;
        let spec = crate::data::download::DownloadSpec::cifar10(PathBuf::from("data"));
        self.download = Some(Task::spawn(
            "Downloading CIFAR-10",
            self.waker(),
            move |cx| {
                crate::data::download::download(&spec, cx.cancel_flag(), |got, total| {
                    cx.progress(got, total)
                })
            },
        ));
    }

    /// Picks up a finished download: on success the data is used for a new run.
    pub(super) fn poll_download(&mut self) {
        let Some(d) = &mut self.download else { return };
        match d.poll() {
            Some(Ok(dir)) => {
                self.download = None;
                self.notice = Some(Notice::Done(format!(
                    "CIFAR-10 is ready in {}",
                    dir.display()
                )));
                self.settings.config.dataset = DatasetKind::Cifar10;
                self.settings.config.data = Some(dir);
                self.apply(UiAction::Reset);
            }
            Some(Err(e)) => {
                self.download = None;
                self.download_failed(e);
            }
            None => {}
        }
    }

    /// Says why a download failed where it helps: when the server could not be reached, a
    /// short line in the status bar and the manual steps in their own window; otherwise
    /// (a corrupt file, a full disk, Cancel) the message in the status bar.
    pub(super) fn download_failed(&mut self, error: TaskError<DownloadError>) {
        match error {
            TaskError::Failed(e) if e.wants_manual_steps() => {
                self.notice = None;
                self.download_help = Some(e);
            }
            e => self.notice = Some(Notice::Problem(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::Settings;

    #[test]
    fn only_an_unreachable_server_opens_the_manual_steps() {
        let mut app = TrainvizApp::new(Settings::default(), None);
        let offline = DownloadError::Network {
            url: "https://example.invalid/c.tar.gz".into(),
            problem: "no route to host".into(),
            md5: "0".into(),
            dir: PathBuf::from("data"),
            folder: "cifar-10-batches-bin".into(),
        };
        app.download_failed(TaskError::Failed(offline));
        let help = app.download_help.as_ref().expect("the manual steps open");
        assert_eq!(
            help.headline(),
            "cannot download https://example.invalid/c.tar.gz: no route to host"
        );
        assert!(
            app.notice.is_none(),
            "the status bar has its own short line"
        );

        app.download_help = None;
        app.download_failed(TaskError::Failed(DownloadError::Cancelled));
        assert!(
            app.download_help.is_none(),
            "Cancel is no reason for the steps"
        );
        assert_eq!(
            app.notice,
            Some(Notice::Problem(
                "the download was stopped; the next try resumes".into()
            ))
        );

        app.download_failed(TaskError::Failed(DownloadError::Checksum {
            url: "u".into(),
            expected: "a".into(),
            actual: "b".into(),
        }));
        assert!(app.download_help.is_none());
        assert!(
            matches!(&app.notice, Some(Notice::Problem(m)) if m.contains("its MD5 is b, not a")),
            "{:?}",
            app.notice
        );
    }
}
