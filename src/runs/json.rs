//! The run folder's JSON files: written with the failure named (never an empty file in
//! place of a record), and read so that a file that is there but does not read says so in
//! the log instead of passing for a missing one.

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::RunError;

/// `value` as JSON for the file `path` (indented when `pretty`, for files people open), or
/// why it cannot be, naming the file.
pub(super) fn to_json<T: Serialize + ?Sized>(
    path: &Path,
    value: &T,
    pretty: bool,
) -> Result<String, RunError> {
    let text = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    };
    text.map_err(|e| RunError::Corrupt {
        path: path.to_path_buf(),
        problem: format!("cannot be written as JSON: {e}"),
    })
}

/// `values` as JSON lines for the file `path`.
pub(super) fn to_json_lines<T: Serialize>(path: &Path, values: &[T]) -> Result<String, RunError> {
    let mut text = String::new();
    for v in values {
        text.push_str(&to_json(path, v, false)?);
        text.push('\n');
    }
    Ok(text)
}

/// The JSON file `path`, when it is there and reads as a `T`. Absent is `None` in silence
/// (an optional file); there but unreadable or damaged is `None` with a warning in the log
/// that names the file and the reason.
pub(super) fn read_optional<T: DeserializeOwned>(path: &Path) -> Option<T> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            log::warn!("{}: cannot be read ({e}); taken as missing", path.display());
            return None;
        }
    };
    match serde_json::from_str(&text) {
        Ok(v) => Some(v),
        Err(e) => {
            log::warn!(
                "{}: not readable as JSON ({e}); taken as missing",
                path.display()
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_json_cannot_hold_is_an_error_naming_the_file() {
        // JSON object keys must be strings: a map keyed by pairs cannot be written.
        let map: std::collections::BTreeMap<(u8, u8), u8> = [((1, 2), 3)].into();
        let e = to_json(Path::new("runs/x/meta.json"), &map, true).unwrap_err();
        assert!(
            matches!(&e, RunError::Corrupt { path, problem }
                if path == Path::new("runs/x/meta.json") && problem.contains("JSON")),
            "{e:?}"
        );
        assert_eq!(
            to_json_lines(Path::new("a.jsonl"), &[1, 2]).unwrap(),
            "1\n2\n"
        );
    }

    #[test]
    fn a_damaged_optional_file_is_none_and_an_absent_one_too() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("test.json");
        assert_eq!(read_optional::<u32>(&path), None);
        std::fs::write(&path, "{ torn").unwrap();
        assert_eq!(read_optional::<u32>(&path), None);
        std::fs::write(&path, "7").unwrap();
        assert_eq!(read_optional::<u32>(&path), Some(7));
    }
}
