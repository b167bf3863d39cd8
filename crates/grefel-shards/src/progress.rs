//! Progress hooks shared by every long-running stage (ingest, landmarks, training): the command
//! line draws a bar, tests pass [`NoProgress`].

/// Progress reporting hooks.
pub trait Progress: Sync {
    /// A phase of `total` units starts (`label`: the stage, such as `prepare`, or `epoch 3/10`).
    fn begin(&self, label: &str, total: u64);
    /// `n` more units are done.
    fn advance(&self, n: u64);
    /// The phase is over.
    fn end(&self);
}

/// Progress that reports nothing.
#[derive(Debug, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn begin(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
    fn end(&self) {}
}
