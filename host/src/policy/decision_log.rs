//! Decision logs: per bucket, opt-in (`coffer admin policy log BUCKET`), the input of every
//! `authorize` decision and what was decided, one JSON line each, in the format `coffer
//! policy eval` and `coffer policy replay` read (`request_json`). Replaying a log against
//! a candidate module says which decisions it would change, before it decides anything.
//!
//! Credentials are never in it: a module's input holds no `authorization` header, cookie,
//! security token or presigned-URL query parameter (see `s3::authz::policy_headers`).
//!
//! The log is bounded and rotates: `decisions.jsonl` grows to `max_bytes`, then becomes
//! `decisions.jsonl.1` (the older files shift up to `.{files-1}`, the oldest is removed),
//! so a bucket's log never holds more than `files × max_bytes`. Lines are appended with
//! one `write` each, on the request's thread (a page-cache write); a failing disk loses
//! log lines (counted, warned about once a minute), never requests.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::request_json::{self, Recorded};
use super::{Error, types};

/// The current file's name; rotated ones get `.1`, `.2`, ...
pub const FILE_NAME: &str = "decisions.jsonl";

/// One bucket's decision log.
#[derive(Debug)]
pub struct DecisionLog {
    dir: PathBuf,
    max_bytes: u64,
    files: u32,
    writer: Mutex<Writer>,
    /// Lines that could not be written.
    lost: AtomicU64,
}

#[derive(Debug, Default)]
struct Writer {
    file: Option<File>,
    /// Bytes in the current file.
    written: u64,
    /// When a write failure was last warned about.
    warned: Option<Instant>,
}

impl DecisionLog {
    /// A log in `dir`, at most `files` files of `max_bytes` each (opened at the first
    /// line).
    pub fn new(dir: PathBuf, max_bytes: u64, files: u32) -> Self {
        DecisionLog {
            dir,
            max_bytes,
            files: files.max(1),
            writer: Mutex::new(Writer::default()),
            lost: AtomicU64::new(0),
        }
    }

    /// Whether this log has these settings (a refresh keeps an unchanged log open).
    pub fn is(&self, dir: &Path, max_bytes: u64, files: u32) -> bool {
        self.dir == dir && self.max_bytes == max_bytes && self.files == files.max(1)
    }

    /// The directory holding the files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends `request` and what `module` decided for request `request_id`.
    pub fn record(
        &self,
        request_id: &str,
        module: &str,
        request: &types::Request,
        decision: &Result<types::Decision, Error>,
    ) {
        let mut line = request_json::to_line(request, recorded(request_id, module, decision));
        line.push('\n');
        let mut w = self
            .writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Err(e) = self.append(&mut w, line.as_bytes()) {
            w.file = None;
            self.lost.fetch_add(1, Ordering::Relaxed);
            let now = Instant::now();
            if w.warned.is_none_or(|t| now - t > Duration::from_secs(60)) {
                w.warned = Some(now);
                tracing::warn!(
                    dir = %self.dir.display(),
                    error = %e,
                    lost = self.lost.load(Ordering::Relaxed),
                    "cannot write the decision log; its lines are lost"
                );
            }
        }
    }

    fn append(&self, w: &mut Writer, line: &[u8]) -> std::io::Result<()> {
        if w.file.is_none() {
            std::fs::create_dir_all(&self.dir)?;
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.dir.join(FILE_NAME))?;
            w.written = file.metadata()?.len();
            w.file = Some(file);
        }
        if w.written > 0 && w.written + line.len() as u64 > self.max_bytes {
            w.file = None;
            self.rotate()?;
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.dir.join(FILE_NAME))?;
            w.written = 0;
            w.file = Some(file);
        }
        if let Some(file) = w.file.as_mut() {
            file.write_all(line)?;
            w.written += line.len() as u64;
        }
        Ok(())
    }

    /// Shifts `decisions.jsonl.N` to `.N+1` (dropping the oldest) and the current file
    /// to `.1`.
    fn rotate(&self) -> std::io::Result<()> {
        let name = |n: u32| self.dir.join(format!("{FILE_NAME}.{n}"));
        let current = self.dir.join(FILE_NAME);
        if self.files == 1 {
            return std::fs::remove_file(current);
        }
        match std::fs::remove_file(name(self.files - 1)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        for n in (1..self.files - 1).rev() {
            match std::fs::rename(name(n), name(n + 1)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        std::fs::rename(current, name(1))
    }
}

/// What a decision log line records of a decision.
pub fn recorded(
    request_id: &str,
    module: &str,
    decision: &Result<types::Decision, Error>,
) -> Recorded {
    let (decision, error, reason) = match decision {
        Ok(types::Decision::Allow(r)) => ("allow", None, r.clone()),
        Ok(types::Decision::Deny(r)) => ("deny", Some("AccessDenied"), r.clone()),
        Ok(types::Decision::Refuse(r)) => ("refuse", Some(error_name(r.code)), r.reason.clone()),
        Err(e) => ("failure", Some("AccessDenied"), e.to_string()),
    };
    Recorded {
        request_id: request_id.to_owned(),
        module: module.to_owned(),
        decision: decision.to_owned(),
        error: error.map(str::to_owned),
        reason,
    }
}

/// S3's name of a refusal's error.
pub fn error_name(code: types::ErrorCode) -> &'static str {
    match code {
        types::ErrorCode::AccessControlListNotSupported => "AccessControlListNotSupported",
        types::ErrorCode::InvalidBucketAclWithObjectOwnership => {
            "InvalidBucketAclWithObjectOwnership"
        }
    }
}

/// The files of the log in `dir`, oldest first (`decisions.jsonl.N` ... `.1`, then the
/// current one).
pub fn files_in(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut rotated: Vec<(u32, PathBuf)> = Vec::new();
    let mut current = None;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name == FILE_NAME {
            current = Some(path);
        } else if let Some(n) = name
            .strip_prefix(FILE_NAME)
            .and_then(|rest| rest.strip_prefix('.'))
            .and_then(|n| n.parse().ok())
        {
            rotated.push((n, path));
        }
    }
    rotated.sort_by_key(|r| std::cmp::Reverse(r.0));
    Ok(rotated.into_iter().map(|(_, p)| p).chain(current).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_rotates_within_its_bound() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = DecisionLog::new(dir.path().join("b"), 4096, 3);
        let req = crate::policy::sample::typical_get_request();
        let allow = Ok(types::Decision::Allow("ok".into()));
        for i in 0..100 {
            log.record(&format!("R{i}"), "default", &req, &allow);
        }
        let files = files_in(&dir.path().join("b")).expect("listing");
        assert_eq!(files.len(), 3, "{files:?}");
        let total: u64 = files
            .iter()
            .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
            .sum();
        assert!(total <= 3 * 4096, "{total}");
        // Oldest first, the newest line last, every line readable.
        let last = std::fs::read_to_string(files.last().expect("current")).expect("read");
        let line = last.lines().last().expect("a line");
        let captured = request_json::parse(line, None).expect("parses");
        assert_eq!(
            captured.recorded.map(|r| r.request_id),
            Some("R99".to_owned())
        );
    }
}
