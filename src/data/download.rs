//! Downloading CIFAR-10: resumable (HTTP range requests onto a `.part` file), checked against
//! the published MD5, and extracted so that nothing half-written is ever taken for a data
//! set (the archive is unpacked into a temporary folder, checked, then renamed into place).

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use md5::{Digest, Md5};
use thiserror::Error;

/// Where CIFAR-10's binary version is published.
pub const CIFAR10_URL: &str = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";
/// Its published MD5.
pub const CIFAR10_MD5: &str = "c32a1d4ab5d03f1284b67883e8d87530";
/// The folder the archive unpacks to.
pub const CIFAR10_FOLDER: &str = "cifar-10-batches-bin";

/// What can go wrong while downloading.
#[derive(Debug, Clone, Error)]
pub enum DownloadError {
    /// The server could not be reached or the connection broke.
    #[error(
        "cannot download {url}: {problem}. What was received is kept and the next try resumes. \
         To install by hand: download {url}, check that its MD5 is {md5}, and extract it into \
         {dir} (it unpacks to {folder}/)."
    )]
    Network {
        /// The address.
        url: String,
        /// What happened.
        problem: String,
        /// The expected checksum.
        md5: String,
        /// Where the data goes.
        dir: PathBuf,
        /// The folder inside the archive.
        folder: String,
    },
    /// The file arrived whole but is not the published one.
    #[error(
        "the download of {url} is corrupt: its MD5 is {actual}, not {expected}; it was deleted, try again"
    )]
    Checksum {
        /// The address.
        url: String,
        /// Published MD5.
        expected: String,
        /// MD5 of what arrived.
        actual: String,
    },
    /// Writing or unpacking failed.
    #[error("{path}: {problem}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What happened.
        problem: String,
    },
    /// The user stopped it.
    #[error("the download was stopped; the next try resumes")]
    Cancelled,
}

impl DownloadError {
    /// True when the manual steps help: the server could not be reached (offline, a
    /// firewall), as opposed to a corrupt file, a full disk or the user's Cancel.
    pub fn wants_manual_steps(&self) -> bool {
        matches!(self, DownloadError::Network { .. })
    }

    /// What went wrong in one sentence, without the advice the full message adds (for a
    /// place that shows the manual steps beside it).
    pub fn headline(&self) -> String {
        match self {
            DownloadError::Network { url, problem, .. } => {
                format!("cannot download {url}: {problem}")
            }
            other => other.to_string(),
        }
    }
}

/// What to download and where.
#[derive(Debug, Clone)]
pub struct DownloadSpec {
    /// Address of the `.tar.gz`.
    pub url: String,
    /// Its MD5, lowercase hex.
    pub md5: String,
    /// Folder the archive holds (checked after unpacking).
    pub folder: String,
    /// Where the data set goes (`data/`).
    pub dir: PathBuf,
}

impl DownloadSpec {
    /// CIFAR-10 from its official address into `dir`.
    pub fn cifar10(dir: PathBuf) -> Self {
        DownloadSpec {
            url: CIFAR10_URL.into(),
            md5: CIFAR10_MD5.into(),
            folder: CIFAR10_FOLDER.into(),
            dir,
        }
    }
    fn part_path(&self) -> PathBuf {
        self.dir.join(format!("{}.tar.gz.part", self.folder))
    }
    fn network_error(&self, problem: impl std::fmt::Display) -> DownloadError {
        DownloadError::Network {
            url: self.url.clone(),
            problem: problem.to_string(),
            md5: self.md5.clone(),
            dir: self.dir.clone(),
            folder: self.folder.clone(),
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> DownloadError + '_ {
    move |e| DownloadError::Io {
        path: path.to_path_buf(),
        problem: e.to_string(),
    }
}

/// MD5 of a file, hex.
fn file_md5(path: &Path) -> Result<String, DownloadError> {
    let mut f = File::open(path).map_err(io_err(path))?;
    let mut hasher = Md5::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(io_err(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Downloads (resuming a `.part` file if one is there), checks and unpacks the archive;
/// returns the data set's folder. `progress(received, total)` is called as bytes arrive
/// (total 0 when unknown); `cancel` stops it (the part file stays for resuming).
pub fn download(
    spec: &DownloadSpec,
    cancel: &AtomicBool,
    mut progress: impl FnMut(u64, u64),
) -> Result<PathBuf, DownloadError> {
    let target = spec.dir.join(&spec.folder);
    if target.join("data_batch_1.bin").is_file() {
        return Ok(target);
    }
    let dir_existed = spec.dir.is_dir();
    std::fs::create_dir_all(&spec.dir).map_err(io_err(&spec.dir))?;
    let part = spec.part_path();
    if let Err(e) = fetch(spec, &part, cancel, &mut progress) {
        // Offline or refused before a byte arrived: leave no empty file or folder behind
        // (a part file with bytes in it stays, for resuming).
        if std::fs::metadata(&part).is_ok_and(|m| m.len() == 0) {
            tidy(std::fs::remove_file(&part), &part);
        }
        if !dir_existed {
            // Only removes the folder when it is empty.
            tidy(std::fs::remove_dir(&spec.dir), &spec.dir);
        }
        return Err(e);
    }
    let actual = file_md5(&part)?;
    if actual != spec.md5.to_lowercase() {
        tidy(std::fs::remove_file(&part), &part);
        return Err(DownloadError::Checksum {
            url: spec.url.clone(),
            expected: spec.md5.clone(),
            actual,
        });
    }
    unpack(spec, &part, &target)?;
    tidy(std::fs::remove_file(&part), &part);
    Ok(target)
}

/// Gets the whole file into `part`, continuing from its current length.
fn fetch(
    spec: &DownloadSpec,
    part: &Path,
    cancel: &AtomicBool,
    progress: &mut impl FnMut(u64, u64),
) -> Result<(), DownloadError> {
    let have = std::fs::metadata(part).map_or(0, |m| m.len());
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(15))
        .timeout_read(Duration::from_secs(30))
        .build();
    let mut request = agent.get(&spec.url);
    if have > 0 {
        request = request.set("Range", &format!("bytes={have}-"));
    }
    let response = match request.call() {
        Ok(r) => r,
        // The part file already holds everything.
        Err(ureq::Error::Status(416, _)) if have > 0 => return Ok(()),
        Err(ureq::Error::Status(code, _)) => {
            return Err(spec.network_error(format!("the server answered HTTP {code}")));
        }
        Err(e) => return Err(spec.network_error(e)),
    };
    let resumed = response.status() == 206;
    let length: u64 = response
        .header("Content-Length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let (start, total) = if resumed {
        (have, have + length)
    } else {
        (0, length)
    };
    let mut file = if resumed {
        OpenOptions::new().append(true).open(part)
    } else {
        File::create(part)
    }
    .map_err(io_err(part))?;
    let mut reader = response.into_reader();
    let mut received = start;
    let mut buf = vec![0u8; 1 << 16];
    progress(received, total);
    loop {
        if cancel.load(Ordering::Relaxed) {
            tidy(file.sync_all(), part);
            return Err(DownloadError::Cancelled);
        }
        let n = match reader.read(&mut buf) {
            Ok(n) => n,
            Err(e) => {
                tidy(file.sync_all(), part);
                return Err(spec.network_error(format!(
                    "the connection broke after {received} of {total} bytes ({e})"
                )));
            }
        };
        if n == 0 {
            break;
        }
        file.write_all(&buf[..n]).map_err(io_err(part))?;
        received += n as u64;
        progress(received, total);
    }
    file.sync_all().map_err(io_err(part))?;
    if total > 0 && received < total {
        return Err(spec.network_error(format!(
            "the connection closed after {received} of {total} bytes"
        )));
    }
    Ok(())
}

/// Unpacks `archive` into a temporary folder beside `target`, checks that it holds the
/// data set, and renames it into place.
fn unpack(spec: &DownloadSpec, archive: &Path, target: &Path) -> Result<(), DownloadError> {
    let tmp = spec.dir.join(format!(".{}.unpacking", spec.folder));
    tidy(std::fs::remove_dir_all(&tmp), &tmp);
    std::fs::create_dir_all(&tmp).map_err(io_err(&tmp))?;
    let result = (|| {
        let f = File::open(archive).map_err(io_err(archive))?;
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(f));
        tar.unpack(&tmp).map_err(|e| DownloadError::Io {
            path: archive.to_path_buf(),
            problem: format!("cannot unpack: {e}"),
        })?;
        let unpacked = tmp.join(&spec.folder);
        if !super::cifar::looks_like_cifar(&unpacked) {
            return Err(DownloadError::Io {
                path: archive.to_path_buf(),
                problem: format!(
                    "the archive does not hold {}/ with CIFAR-10 batches",
                    spec.folder
                ),
            });
        }
        tidy(std::fs::remove_dir_all(target), target);
        std::fs::rename(&unpacked, target).map_err(io_err(target))
    })();
    tidy(std::fs::remove_dir_all(&tmp), &tmp);
    result
}

/// The end of a best-effort tidying step (removing a partial file, syncing one that is kept
/// for resuming): what it failed at goes to the log; a file that is not there is no failure.
/// The download's own result is what the user sees.
fn tidy(result: std::io::Result<()>, path: &Path) {
    if let Err(e) = result
        && e.kind() != std::io::ErrorKind::NotFound
    {
        log::warn!("{}: {e}", path.display());
    }
}
