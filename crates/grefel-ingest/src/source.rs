//! The dataset root: one walk of its files, their fingerprint, and path resolution that refuses
//! to leave the root.

use std::path::{Component, Path, PathBuf};
use std::time::UNIX_EPOCH;

use grefel_shards::hash::Fingerprint;

use crate::IngestError;
use crate::skip::SkipReason;

/// One file under the root.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// Path relative to the root, `/` separators.
    pub rel: String,
    /// Size in bytes (of the link target for symbolic links).
    pub len: u64,
    /// Modification time in nanoseconds since the epoch (0 when unknown).
    pub mtime_ns: u128,
    /// Set when the file is a symbolic link whose target lies outside the root.
    pub escapes_root: bool,
}

/// A dataset root, canonicalised, with its files listed once.
#[derive(Debug)]
pub struct DatasetRoot {
    /// Dataset name (for error messages).
    pub dataset: String,
    /// The root as given.
    pub given: PathBuf,
    /// The canonical root.
    pub path: PathBuf,
    /// Every file under the root, sorted by relative path.
    pub files: Vec<SourceFile>,
}

impl DatasetRoot {
    /// Opens and lists `root`; `expected` says what the root should contain, for the error when
    /// it does not exist.
    pub fn open(dataset: &str, root: &Path, expected: &'static str) -> Result<DatasetRoot, IngestError> {
        let missing = || IngestError::MissingRoot { dataset: dataset.into(), root: root.into(), expected };
        let path = root.canonicalize().map_err(|_| missing())?;
        if !path.is_dir() {
            return Err(missing());
        }
        let io = |p: &Path, source| IngestError::Io { dataset: dataset.into(), path: p.into(), source };
        let mut files = Vec::new();
        for entry in walkdir::WalkDir::new(&path).follow_links(false).sort_by_file_name() {
            let entry = entry.map_err(|e| {
                let p = e.path().map(Path::to_path_buf).unwrap_or_else(|| path.clone());
                io(&p, std::io::Error::other(e.to_string()))
            })?;
            let ft = entry.file_type();
            if ft.is_dir() {
                continue;
            }
            let rel = relative(&path, entry.path());
            let mut escapes_root = false;
            if ft.is_symlink() {
                match entry.path().canonicalize() {
                    Ok(target) if target.starts_with(&path) && target.is_file() => {}
                    Ok(target) if target.is_dir() => continue, // not followed: directory links are layout, not samples
                    _ => escapes_root = true,
                }
            }
            let meta = std::fs::metadata(entry.path()).ok();
            let len = meta.as_ref().map_or(0, |m| m.len());
            let mtime_ns = meta
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            files.push(SourceFile { rel, len, mtime_ns, escapes_root });
        }
        files.sort_by(|a, b| a.rel.cmp(&b.rel));
        Ok(DatasetRoot { dataset: dataset.into(), given: root.into(), path, files })
    }

    /// SHA-256 over every file's relative path, size and modification time.
    pub fn fingerprint(&self) -> String {
        let mut fp = Fingerprint::new();
        for f in &self.files {
            fp.part(&f.rel).part(f.len.to_le_bytes()).part(f.mtime_ns.to_le_bytes());
        }
        fp.finish()
    }

    /// Resolves a path taken from a label file: relative, inside the root after resolving
    /// `..` and links, or [`SkipReason::PathEscapesRoot`].
    pub fn resolve(&self, rel: &str) -> Result<PathBuf, SkipReason> {
        let rel = rel.replace('\\', "/");
        let candidate = Path::new(&rel);
        let mut depth = 0usize;
        for c in candidate.components() {
            match c {
                Component::Normal(_) => depth += 1,
                Component::CurDir => {}
                Component::ParentDir => depth = depth.checked_sub(1).ok_or(SkipReason::PathEscapesRoot)?,
                Component::RootDir | Component::Prefix(_) => return Err(SkipReason::PathEscapesRoot),
            }
        }
        let full = self.path.join(candidate);
        match full.canonicalize() {
            Ok(real) if !real.starts_with(&self.path) => Err(SkipReason::PathEscapesRoot),
            _ => Ok(full),
        }
    }

    /// The absolute path of a listed file.
    pub fn file_path(&self, file: &SourceFile) -> PathBuf {
        self.path.join(&file.rel)
    }
}

fn relative(root: &Path, p: &Path) -> String {
    let rel = p.strip_prefix(root).unwrap_or(p);
    rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_fingerprints_and_refuses_escapes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("a/b")).expect("mkdir");
        std::fs::write(root.join("a/b/x.png"), b"x").expect("write");
        std::fs::write(root.join("top.txt"), b"").expect("write");
        std::fs::write(dir.path().join("outside.png"), b"o").expect("write");
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir.path().join("outside.png"), root.join("a/link.png")).expect("symlink");
        let r = DatasetRoot::open("t", &root, "files").expect("open");
        let rels: Vec<&str> = r.files.iter().map(|f| f.rel.as_str()).collect();
        #[cfg(unix)]
        {
            assert_eq!(rels, ["a/b/x.png", "a/link.png", "top.txt"]);
            assert!(r.files[1].escapes_root);
            assert_eq!(r.resolve("a/link.png"), Err(SkipReason::PathEscapesRoot));
        }
        assert!(!r.files[0].escapes_root);
        assert_eq!(r.resolve("../outside.png"), Err(SkipReason::PathEscapesRoot));
        assert_eq!(r.resolve("a/../../outside.png"), Err(SkipReason::PathEscapesRoot));
        assert_eq!(r.resolve("/etc/passwd"), Err(SkipReason::PathEscapesRoot));
        assert_eq!(r.resolve("a/b/../b/x.png"), Ok(r.path.join("a/b/../b/x.png")));
        assert!(r.resolve("a/missing.png").is_ok(), "missing files are the caller's skip");
        let fp = r.fingerprint();
        assert_eq!(fp, DatasetRoot::open("t", &root, "files").expect("open").fingerprint());
        std::fs::write(root.join("a/b/x.png"), b"xy").expect("write");
        assert_ne!(fp, DatasetRoot::open("t", &root, "files").expect("open").fingerprint());
        let err = DatasetRoot::open("t", &dir.path().join("nope"), "the FERG-DB tree").expect_err("missing");
        assert!(err.to_string().contains("nope") && err.to_string().contains("FERG-DB"), "{err}");
    }
}
