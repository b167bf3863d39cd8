//! Atomic file writes: temporary file in the destination folder, sync, rename, sync folder.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::ShardError;

/// Suffix of temporary files; a killed writer may leave one behind, and
/// [`remove_stale_temporaries`] clears them.
pub const TEMP_SUFFIX: &str = ".grefel-tmp";

/// The temporary path used while writing `path`.
pub fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".{}{TEMP_SUFFIX}", std::process::id()));
    path.with_file_name(name)
}

/// Writes `path` atomically through `fill`, which receives the open temporary file.
///
/// On success the file appears at `path` complete; on any error (or a kill) `path` is untouched.
pub fn write_with<T>(
    path: &Path,
    fill: impl FnOnce(&mut File) -> Result<T, ShardError>,
) -> Result<T, ShardError> {
    let (value, pending) = write_pending(path, fill)?;
    pending.commit()?;
    Ok(value)
}

/// The first half of [`write_with`]: fills the temporary file and flushes it, but neither syncs
/// nor renames it. [`Pending::commit`] does that, possibly on another thread, so that a compute
/// thread does not wait for the disk. Until then `path` is untouched; a kill leaves a temporary
/// that [`remove_stale_temporaries`] clears.
pub fn write_pending<T>(
    path: &Path,
    fill: impl FnOnce(&mut File) -> Result<T, ShardError>,
) -> Result<(T, Pending), ShardError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(ShardError::io("create directory", dir))?;
    let tmp = temp_path(path);
    let result = (|| {
        let mut file = File::create(&tmp).map_err(ShardError::io("create", &tmp))?;
        let value = fill(&mut file)?;
        file.flush().map_err(ShardError::io("flush", &tmp))?;
        Ok((value, file))
    })();
    match result {
        Ok((value, file)) => Ok((value, Pending { file: Some(file), tmp, path: path.to_path_buf() })),
        Err(e) => {
            // Best effort: the temporary is garbage either way, and the original error matters more.
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// A file written completely to its temporary path, waiting to be synced and renamed into place.
/// Dropping it without [`Pending::commit`] removes the temporary.
#[derive(Debug)]
pub struct Pending {
    /// The open temporary; `None` once committed.
    file: Option<File>,
    tmp: PathBuf,
    path: PathBuf,
}

impl Pending {
    /// The path the file will have once committed.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Syncs the temporary, renames it to its path and syncs the folder: the file appears
    /// complete or not at all.
    pub fn commit(mut self) -> Result<(), ShardError> {
        let file = self.file.take();
        let result = (|| {
            if let Some(file) = file {
                file.sync_all().map_err(ShardError::io("sync", &self.tmp))?;
            }
            std::fs::rename(&self.tmp, &self.path).map_err(ShardError::io("rename into place", &self.path))
        })();
        if result.is_ok() {
            if let Ok(d) = File::open(self.path.parent().unwrap_or(Path::new("."))) {
                // Persist the rename itself; failure to sync a directory is not fatal on every
                // platform.
                let _ = d.sync_all();
            }
            // Renamed: nothing left for `drop` to remove.
            self.tmp = PathBuf::new();
        }
        result
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        // Best effort: an uncommitted temporary is garbage.
        if !self.tmp.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Writes bytes to `path` atomically.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<(), ShardError> {
    write_with(path, |f| f.write_all(bytes).map_err(ShardError::io("write", path)))
}

/// Removes temporaries left by killed writers in `dir` (not recursive); returns how many.
pub fn remove_stale_temporaries(dir: &Path) -> Result<usize, ShardError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(ShardError::Io { op: "list", path: dir.into(), source: e }),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry.map_err(ShardError::io("list", dir))?;
        if entry.file_name().to_string_lossy().ends_with(TEMP_SUFFIX) {
            std::fs::remove_file(entry.path()).map_err(ShardError::io("remove", entry.path()))?;
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_write_leaves_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.bin");
        write_bytes(&path, b"one").expect("write");
        let err = write_with(&path, |f| {
            f.write_all(b"partial").map_err(ShardError::io("write", "x"))?;
            Err::<(), _>(ShardError::Invalid { path: "x".into(), table: "t", detail: "boom".into() })
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read(&path).expect("read"), b"one");
        assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 1, "no temporary left");
        std::fs::write(temp_path(&path), b"stale").expect("stale");
        assert_eq!(remove_stale_temporaries(dir.path()).expect("clean"), 1);
        assert_eq!(remove_stale_temporaries(&dir.path().join("missing")).expect("clean"), 0);
    }

    #[test]
    fn pending_files_appear_only_when_committed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.bin");
        write_bytes(&path, b"old").expect("write");
        let names = || {
            let mut v: Vec<String> = std::fs::read_dir(dir.path())
                .expect("ls")
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        // Written but not committed: the old file stays; dropping removes the temporary.
        let ((), pending) =
            write_pending(&path, |f| f.write_all(b"new").map_err(ShardError::io("write", "x")))
                .expect("write");
        assert_eq!(pending.path(), path);
        assert_eq!(std::fs::read(&path).expect("read"), b"old");
        assert_eq!(names().len(), 2, "the temporary exists while pending");
        drop(pending);
        assert_eq!(names(), ["x.bin"]);
        assert_eq!(std::fs::read(&path).expect("read"), b"old");
        // Committed, possibly on another thread: the new bytes are in place, nothing else left.
        let (n, pending) = write_pending(&path, |f| {
            f.write_all(b"newer").map_err(ShardError::io("write", "x"))?;
            Ok(5)
        })
        .expect("write");
        std::thread::spawn(move || pending.commit()).join().expect("thread").expect("commit");
        assert_eq!(n, 5);
        assert_eq!(std::fs::read(&path).expect("read"), b"newer");
        assert_eq!(names(), ["x.bin"]);
    }
}
