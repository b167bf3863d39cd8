//! Where a prepared dataset's files live under the data folder, in one place:
//!
//! ```text
//! <data>/<dataset>/manifest.json          the samples manifest (ingest)
//! <data>/<dataset>/<split>/part-*.parquet the samples shards
//! <data>/<dataset>/landmarks/             the landmark stage's shards and manifest
//! <data>/<dataset>/noise/                 the label-noise draws and their manifests
//! ```

use std::path::{Path, PathBuf};

use crate::manifest::MANIFEST_FILE;

/// Folder of the landmark stage inside a dataset folder.
pub const LANDMARKS_DIR: &str = "landmarks";
/// Folder of the label-noise draws inside a dataset folder.
pub const NOISE_DIR: &str = "noise";

/// The data folder: one folder per prepared dataset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataLayout {
    root: PathBuf,
}

impl DataLayout {
    /// The layout under `root` (`data/` by default).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The data folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folders of dataset `name`.
    pub fn dataset(&self, name: impl AsRef<str>) -> DatasetLayout {
        DatasetLayout { dir: self.root.join(name.as_ref()) }
    }
}

/// The folders of one prepared dataset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatasetLayout {
    dir: PathBuf,
}

impl DatasetLayout {
    /// The layout of the dataset in `dir` (`<data>/<dataset>`).
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// `<data>/<dataset>`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `<data>/<dataset>/manifest.json`.
    pub fn manifest(&self) -> PathBuf {
        self.dir.join(MANIFEST_FILE)
    }

    /// Whether the dataset has been prepared (its manifest exists).
    pub fn is_prepared(&self) -> bool {
        self.manifest().is_file()
    }

    /// `<data>/<dataset>/landmarks`.
    pub fn landmarks(&self) -> PathBuf {
        self.dir.join(LANDMARKS_DIR)
    }

    /// `<data>/<dataset>/noise`.
    pub fn noise(&self) -> PathBuf {
        self.dir.join(NOISE_DIR)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_layout() {
        let d = DataLayout::new("/data").dataset("rafdb");
        assert_eq!(d.dir(), Path::new("/data/rafdb"));
        assert_eq!(d.manifest(), Path::new("/data/rafdb/manifest.json"));
        assert_eq!(d.landmarks(), Path::new("/data/rafdb/landmarks"));
        assert_eq!(d.noise(), Path::new("/data/rafdb/noise"));
        assert_eq!(DatasetLayout::at("/data/rafdb"), d);
        assert!(!d.is_prepared());
    }
}
