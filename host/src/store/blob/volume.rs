//! One volume directory on disk: its layout, its identity and what `statvfs` says of it.
//!
//! ```text
//! VOLUME/volume.id            uuid naming the volume (it survives a change of mount point)
//! VOLUME/tmp/<uuid>.tmp       chunk copies being written
//! VOLUME/chunks/<xx>/<uuid>   complete chunk copies; xx = first two hex digits of the id
//! ```
//!
//! A directory becomes a volume only through [`VolumeDir::create`] (the first start of a
//! fresh data directory, or `coffer admin volume add`). Opening an existing volume never
//! creates its `volume.id`: a missing or different id means the directory is not the disk
//! it should be (an unmounted mount point, a swapped disk), and writing there would put
//! copies on the wrong disk. Garage refuses to start in that case for the same reason
//! (`check_markers`, src/block/layout.rs).

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// The file naming a volume.
pub const ID_FILE: &str = "volume.id";

/// Why an existing directory is not the volume it should be.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// No `volume.id`: an empty mount point, or not a volume at all.
    #[error("{0} has no volume.id (is the disk mounted?)")]
    Missing(PathBuf),
    /// Another volume's id.
    #[error("{path} holds volume {found}, not {expected} (another disk mounted here?)")]
    Mismatch {
        /// The directory.
        path: PathBuf,
        /// The id expected.
        expected: Uuid,
        /// The id found.
        found: Uuid,
    },
    /// `volume.id` could not be read or parsed.
    #[error("{path}: {reason}")]
    Unreadable {
        /// The directory.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

/// Size and free space of the filesystem a volume lives on, as `df` reckons them: the
/// capacity is the space in use plus the space available, so blocks reserved for root
/// (or otherwise not available) count neither as capacity nor as free, and
/// [`Space::used_percent`] is `df`'s `Use%`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Space {
    /// Bytes in use plus bytes available.
    pub capacity: u64,
    /// Bytes still available to an unprivileged writer.
    pub free: u64,
}

impl Space {
    /// Percentage of the capacity in use (100 when the capacity is unknown).
    pub fn used_percent(&self) -> f64 {
        if self.capacity == 0 {
            return 100.0;
        }
        100.0 * (self.capacity.saturating_sub(self.free)) as f64 / self.capacity as f64
    }
}

/// The directory of one volume.
#[derive(Debug, Clone)]
pub struct VolumeDir {
    root: PathBuf,
}

impl VolumeDir {
    /// The directory at `root`, without touching the disk.
    pub fn at(root: impl Into<PathBuf>) -> Self {
        VolumeDir { root: root.into() }
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Makes `root` a new volume: creates the directory, `tmp/`, the 256 fan-out
    /// directories and a fresh `volume.id`, all durably. Refuses a directory that already
    /// has a `volume.id` (it is a volume already) or holds anything else.
    pub fn create(root: &Path) -> std::io::Result<(VolumeDir, Uuid)> {
        std::fs::create_dir_all(root)?;
        if root.join(ID_FILE).exists() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!("{} is already a volume", root.display()),
            ));
        }
        let foreign = std::fs::read_dir(root)?.filter_map(Result::ok).any(|e| {
            !matches!(
                e.file_name().to_str(),
                Some("tmp" | "chunks" | "lost+found")
            )
        });
        if foreign {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!("{} is not empty", root.display()),
            ));
        }
        let dir = VolumeDir::at(root);
        dir.create_layout()?;
        let id = Uuid::new_v4();
        write_durably(&root.join(ID_FILE), id.to_string().as_bytes())?;
        Ok((dir, id))
    }

    /// Checks that the directory is volume `expected` and that its layout is complete
    /// (recreating missing fan-out directories, which is safe once the id is proven).
    pub fn open(root: &Path, expected: Uuid) -> Result<VolumeDir, IdentityError> {
        let dir = VolumeDir::at(root);
        let found = dir.read_id()?;
        if found != expected {
            return Err(IdentityError::Mismatch {
                path: root.to_path_buf(),
                expected,
                found,
            });
        }
        dir.create_layout().map_err(|e| IdentityError::Unreadable {
            path: root.to_path_buf(),
            reason: format!("completing the layout: {e}"),
        })?;
        Ok(dir)
    }

    /// The id in `volume.id`.
    pub fn read_id(&self) -> Result<Uuid, IdentityError> {
        let path = self.root.join(ID_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Uuid::parse_str(text.trim()).map_err(|e| IdentityError::Unreadable {
                path: path.clone(),
                reason: format!("not a volume id: {e}"),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(IdentityError::Missing(self.root.clone()))
            }
            Err(e) => Err(IdentityError::Unreadable {
                path,
                reason: e.to_string(),
            }),
        }
    }

    fn create_layout(&self) -> std::io::Result<()> {
        std::fs::create_dir_all(self.root.join("tmp"))?;
        let chunks = self.root.join("chunks");
        for i in 0..=255u8 {
            std::fs::create_dir_all(chunks.join(format!("{i:02x}")))?;
        }
        sync_dir(&chunks)?;
        sync_dir(&self.root)
    }

    /// Where the copy of chunk `id` lives on this volume.
    pub fn chunk_path(&self, id: Uuid) -> PathBuf {
        let name = id.simple().to_string();
        self.root.join("chunks").join(&name[..2]).join(name)
    }

    /// Where the copy of chunk `id` is written before it is renamed into place.
    pub fn tmp_path(&self, id: Uuid) -> PathBuf {
        self.root.join("tmp").join(format!("{}.tmp", id.simple()))
    }

    /// The fan-out directory for chunk ids starting with the byte `prefix`.
    pub fn fan_dir(&self, prefix: u8) -> PathBuf {
        self.root.join("chunks").join(format!("{prefix:02x}"))
    }

    /// The directory of copies being written.
    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// Capacity and free space of the filesystem (`statvfs`).
    pub fn space(&self) -> std::io::Result<Space> {
        let st = rustix::fs::statvfs(&self.root)?;
        let used = st.f_blocks.saturating_sub(st.f_bfree);
        Ok(Space {
            capacity: used.saturating_add(st.f_bavail).saturating_mul(st.f_frsize),
            free: st.f_bavail.saturating_mul(st.f_frsize),
        })
    }

    /// The block device the directory lives on, `major:minor`.
    pub fn device(&self) -> std::io::Result<String> {
        let dev = std::fs::metadata(&self.root)?.dev();
        Ok(format!(
            "{}:{}",
            rustix::fs::major(dev),
            rustix::fs::minor(dev)
        ))
    }
}

/// Writes `data` to `path` via a temporary file, fsync and rename, then fsyncs the
/// directory.
fn write_durably(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(data)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(parent) = path.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

/// Fsyncs a directory, making renames and creations inside it durable.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_volume_is_created_once_and_opened_by_its_id() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("v");
        let (dir, id) = VolumeDir::create(&root).unwrap();
        assert!(dir.fan_dir(0xab).is_dir());
        assert!(VolumeDir::create(&root).is_err(), "never made twice");
        assert!(VolumeDir::open(&root, id).is_ok());
        let other = Uuid::new_v4();
        assert!(matches!(
            VolumeDir::open(&root, other),
            Err(IdentityError::Mismatch { .. })
        ));
    }

    #[test]
    fn an_empty_mount_point_is_not_a_volume_and_stays_empty() {
        let tmp = tempfile::tempdir().unwrap();
        let err = VolumeDir::open(tmp.path(), Uuid::new_v4()).unwrap_err();
        assert!(matches!(err, IdentityError::Missing(_)));
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_directory_holding_other_files_is_not_made_a_volume() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("photo.jpg"), b"x").unwrap();
        assert!(VolumeDir::create(tmp.path()).is_err());
    }

    #[test]
    fn space_and_device_are_read() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = VolumeDir::at(tmp.path());
        let space = dir.space().unwrap();
        assert!(space.capacity > 0 && space.free <= space.capacity);
        assert!(dir.device().unwrap().contains(':'));
    }
}
