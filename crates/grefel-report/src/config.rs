//! What a report tabulates: which split and which output head of every cell.

/// The evaluation split whose metrics fill the tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// The `test` block of `metrics.json` (the paper's numbers).
    Test,
    /// The `val` block of `metrics.json`.
    Val,
}

impl Split {
    /// The key of this split in `metrics.json`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Test => "test",
            Self::Val => "val",
        }
    }
}

/// The model output whose metrics fill the tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Head {
    /// The `primary` output (the classifier's own prediction).
    Primary,
    /// The `corrected` output (after reliability-based label correction).
    Corrected,
}

impl Head {
    /// The key of this head in `metrics.json`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Primary => "primary",
            Self::Corrected => "corrected",
        }
    }
}

/// Options of [`crate::render`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportConfig {
    /// Which split of every cell is tabulated and plotted.
    pub split: Split,
    /// Which output head of every cell is tabulated and plotted.
    pub head: Head,
}

impl ReportConfig {
    /// The paper's report: test split, primary output.
    pub const PAPER: Self = Self { split: Split::Test, head: Head::Primary };
}
