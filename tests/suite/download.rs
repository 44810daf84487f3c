//! The CIFAR-10 downloader against an HTTP server on 127.0.0.1 serving a generated archive:
//! success, a broken connection then a resume, a wrong checksum, and no server at all.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::common::trainviz;
use md5::{Digest, Md5};

/// A small archive in CIFAR-10's layout: 5 training batches and a test batch of 30 images
/// each, and the class names.
fn cifar_archive() -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    let mut add = |name: &str, bytes: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, format!("cifar-10-batches-bin/{name}"), bytes)
            .unwrap();
    };
    let batch = |seed: u8| -> Vec<u8> {
        (0..30u8)
            .flat_map(|i| {
                std::iter::once(i % 10).chain((0..3072u32).map(move |p| (p as u8) ^ i ^ seed))
            })
            .collect()
    };
    for b in 1..=5u8 {
        add(&format!("data_batch_{b}.bin"), &batch(b));
    }
    add("test_batch.bin", &batch(9));
    add(
        "batches.meta.txt",
        b"airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n",
    );
    let tar = tar.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Serves `body` at any path; honours `Range: bytes=N-`; the first `break_first` responses
/// stop after half the body. Logs each request's range start.
fn serve(body: Vec<u8>, break_first: usize) -> (String, Arc<Mutex<Vec<Option<u64>>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/cifar-10-binary.tar.gz",
        listener.local_addr().unwrap()
    );
    let log = Arc::new(Mutex::new(Vec::new()));
    let log2 = log.clone();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut range = None;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(r) = lower.strip_prefix("range: bytes=") {
                    range = r.trim().trim_end_matches('-').parse::<u64>().ok();
                }
            }
            log2.lock().unwrap().push(range);
            let start = range.unwrap_or(0) as usize;
            let rest = &body[start.min(body.len())..];
            let head = if range.is_some() {
                format!(
                    "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {start}-{}/{}\r\nConnection: close\r\n\r\n",
                    rest.len(),
                    body.len() - 1,
                    body.len()
                )
            } else {
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    rest.len()
                )
            };
            // The client may hang up early (the tests that break the connection).
            stream.write_all(head.as_bytes()).ok();
            let send = if n < break_first {
                &rest[..rest.len() / 2]
            } else {
                rest
            };
            stream.write_all(send).ok();
            stream.flush().ok();
            // Dropping the stream closes the connection (early, when breaking).
        }
    });
    (url, log)
}

fn download(dir: &Path, url: &str, md5: &str) -> (bool, String) {
    let out = trainviz()
        .args([
            "download",
            "cifar10",
            "--dir",
            dir.to_str().unwrap(),
            "--url",
            url,
            "--md5",
            md5,
        ])
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn downloads_checks_and_unpacks_then_the_data_trains() {
    let body = cifar_archive();
    let (url, _) = serve(body.clone(), 0);
    let dir = tempfile::tempdir().unwrap();
    let (ok, out) = download(dir.path(), &url, &md5_hex(&body));
    assert!(ok, "{out}");
    assert!(out.contains("100 %"), "progress is shown: {out}");
    let data = dir.path().join("cifar-10-batches-bin");
    assert!(data.join("data_batch_5.bin").is_file());
    // Nothing else is left behind: no part file, no unpacking folder.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["cifar-10-batches-bin".to_string()]);
    let train = trainviz()
        .args([
            "train",
            "--no-save",
            "--epochs",
            "1",
            "--data",
            data.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        train.status.success(),
        "{}",
        String::from_utf8_lossy(&train.stderr)
    );
}

#[test]
fn a_broken_connection_resumes_where_it_stopped() {
    let body = cifar_archive();
    let (url, log) = serve(body.clone(), 1);
    let dir = tempfile::tempdir().unwrap();
    let (ok, out) = download(dir.path(), &url, &md5_hex(&body));
    assert!(!ok);
    assert!(out.contains("connection"), "{out}");
    assert!(out.contains("resumes"), "{out}");
    let part = dir.path().join("cifar-10-batches-bin.tar.gz.part");
    let kept = std::fs::metadata(&part).unwrap().len();
    assert_eq!(kept, body.len() as u64 / 2);
    assert!(
        !dir.path().join("cifar-10-batches-bin").exists(),
        "half a download is no data set"
    );

    let (ok, out) = download(dir.path(), &url, &md5_hex(&body));
    assert!(ok, "{out}");
    assert_eq!(
        *log.lock().unwrap(),
        vec![None, Some(kept)],
        "the second request resumes"
    );
    assert!(
        dir.path()
            .join("cifar-10-batches-bin/test_batch.bin")
            .is_file()
    );
    assert!(!part.exists());
}

#[test]
fn a_wrong_checksum_is_refused_and_nothing_is_installed() {
    let body = cifar_archive();
    let (url, _) = serve(body.clone(), 0);
    let dir = tempfile::tempdir().unwrap();
    let (ok, out) = download(dir.path(), &url, "00000000000000000000000000000000");
    assert!(!ok);
    assert!(
        out.contains("corrupt") && out.contains(&md5_hex(&body)),
        "{out}"
    );
    assert!(!dir.path().join("cifar-10-batches-bin").exists());
    assert!(!dir.path().join("cifar-10-batches-bin.tar.gz.part").exists());
}

#[test]
fn no_server_gives_the_manual_steps() {
    // A port that was just free: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("data");
    let url = format!("http://127.0.0.1:{port}/cifar-10-binary.tar.gz");
    let (ok, out) = download(&data, &url, "c32a1d4ab5d03f1284b67883e8d87530");
    assert!(!ok);
    assert!(
        !data.exists(),
        "offline, no empty data folder is left behind"
    );
    assert!(out.contains("To install by hand"), "{out}");
    assert!(out.contains("c32a1d4ab5d03f1284b67883e8d87530"), "{out}");
}
