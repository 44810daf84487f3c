//! Downloading CIFAR-10 from the window, and the manual steps when that fails.

use std::path::PathBuf;

use super::TrainvizApp;
use crate::data::DatasetKind;
use crate::ui::background::Task;
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
                .map_err(|e| e.to_string())
            },
        ));
    }

    /// Picks up a finished download: on success the data is used for a new run.
    pub(super) fn poll_download(&mut self) {
        let Some(d) = &mut self.download else { return };
        match d.poll() {
            Some(Ok(dir)) => {
                self.download = None;
                self.notice = Some(Ok(format!("CIFAR-10 is ready in {}", dir.display())));
                self.settings.config.dataset = DatasetKind::Cifar10;
                self.settings.config.data = Some(dir);
                self.apply(UiAction::Reset);
            }
            Some(Err(e)) => {
                self.download = None;
                if e.contains("To install by hand") {
                    // The short line goes in the status bar; the steps in their own window.
                    self.notice = None;
                    self.download_help = Some(e);
                } else {
                    self.notice = Some(Err(e));
                }
            }
            None => {}
        }
    }
}
