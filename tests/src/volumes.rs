//! What the server's volumes hold on disk: chunk files and temporary files, for tests that
//! check copies, collection and repair, and inject faults into them.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The volume directories of a server started on its defaults: `DATA_DIR/volumes/<n>`.
pub fn default_volumes(data_dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(data_dir.join("volumes"))
        .map(|entries| entries.filter_map(|e| Some(e.ok()?.path())).collect())
        .unwrap_or_default();
    out.sort();
    out
}

/// Every file under `dir` (recursively), sorted.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The chunk files (`chunks/xx/<id>`) of one volume.
pub fn chunk_files(volume: &Path) -> Vec<PathBuf> {
    files_under(&volume.join("chunks"))
}

/// The temporary files (`tmp/`) of one volume.
pub fn temp_files(volume: &Path) -> Vec<PathBuf> {
    files_under(&volume.join("tmp"))
}

/// The chunk files of every default volume of a server.
pub fn all_chunk_files(data_dir: &Path) -> Vec<PathBuf> {
    default_volumes(data_dir)
        .iter()
        .flat_map(|v| chunk_files(v))
        .collect()
}

/// The chunk id a chunk file is named by.
pub fn chunk_id(path: &Path) -> String {
    path.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string()
}

/// Where chunk `id` (32 hex digits) lives on `volume`.
pub fn chunk_path(volume: &Path, id: &str) -> PathBuf {
    volume.join("chunks").join(&id[..2]).join(id)
}

/// Flips one bit of the byte at `offset` of a file.
pub fn flip_byte(path: &Path, offset: u64) {
    use std::os::unix::fs::FileExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap_or_else(|e| panic!("opening {}: {e}", path.display()));
    let mut b = [0u8; 1];
    f.read_exact_at(&mut b, offset).expect("reading the byte");
    b[0] ^= 0x20;
    f.write_all_at(&b, offset).expect("writing the byte");
    f.sync_all().expect("fsync");
}

/// Polls `check` every 100 ms until it holds; panics with `what` after `timeout`.
pub async fn eventually(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let began = Instant::now();
    while !check() {
        assert!(
            began.elapsed() < timeout,
            "{what}: not so after {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
