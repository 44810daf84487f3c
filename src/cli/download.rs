//! `trainviz download`: fetches and checks CIFAR-10.

use std::path::PathBuf;

use anyhow::Result;

use crate::data;

pub(super) fn download_cmd(dir: PathBuf, url: Option<String>, md5: Option<String>) -> Result<()> {
    let mut spec = data::download::DownloadSpec::cifar10(dir);
    if let Some(u) = url {
        spec.url = u;
    }
    if let Some(m) = md5 {
        spec.md5 = m;
    }
    println!("downloading {} into {}", spec.url, spec.dir.display());
    let cancel = std::sync::atomic::AtomicBool::new(false);
    let mut shown = u64::MAX;
    let result = data::download::download(&spec, &cancel, |got, total| {
        // One update per percent (or per MB when the size is unknown).
        let step = (got * 100).checked_div(total).unwrap_or(got >> 20);
        if step != shown {
            shown = step;
            if total > 0 {
                eprint!(
                    "\r  {:>6.1} / {:.1} MB ({step:>3} %)",
                    got as f64 / 1e6,
                    total as f64 / 1e6
                );
            } else {
                eprint!("\r  {:>6.1} MB", got as f64 / 1e6);
            }
        }
    });
    eprintln!();
    let dir = result?;
    println!("CIFAR-10 is ready in {}", dir.display());
    Ok(())
}
