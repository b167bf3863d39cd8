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
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(ShardError::io("create directory", dir))?;
    let tmp = temp_path(path);
    let result = (|| {
        let mut file = File::create(&tmp).map_err(ShardError::io("create", &tmp))?;
        let value = fill(&mut file)?;
        file.flush().map_err(ShardError::io("flush", &tmp))?;
        file.sync_all().map_err(ShardError::io("sync", &tmp))?;
        drop(file);
        std::fs::rename(&tmp, path).map_err(ShardError::io("rename into place", path))?;
        Ok(value)
    })();
    if result.is_err() {
        // Best effort: the temporary is garbage either way, and the original error matters more.
        let _ = std::fs::remove_file(&tmp);
    } else if let Ok(d) = File::open(dir) {
        // Persist the rename itself; failure to sync a directory is not fatal on every platform.
        let _ = d.sync_all();
    }
    result
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
}
