//! Progress bars (indicatif) and a log writer that does not tear them.

use std::io::Write;
use std::sync::{Mutex, OnceLock};

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

fn bars() -> &'static MultiProgress {
    static BARS: OnceLock<MultiProgress> = OnceLock::new();
    BARS.get_or_init(MultiProgress::new)
}

/// A progress bar for one stage; hidden when stderr is not a terminal.
pub struct Bar {
    label: &'static str,
    bar: Mutex<Option<ProgressBar>>,
}

impl Bar {
    /// A bar that will show `label` once work begins.
    pub fn new(label: &'static str) -> Self {
        Self { label, bar: Mutex::new(None) }
    }
}

/// The bar keeps its own label: a stage's phase label (`epoch 3/10`) does not replace it.
impl grefel_shards::Progress for Bar {
    fn begin(&self, _phase: &str, total: u64) {
        let bar = bars().add(ProgressBar::new(total));
        let style = ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_message(self.label);
        if let Ok(mut slot) = self.bar.lock() {
            *slot = Some(bar);
        }
    }

    fn advance(&self, n: u64) {
        if let Ok(slot) = self.bar.lock()
            && let Some(bar) = slot.as_ref()
        {
            bar.inc(n);
        }
    }

    fn end(&self) {
        if let Ok(mut slot) = self.bar.lock()
            && let Some(bar) = slot.take()
        {
            bar.finish_and_clear();
        }
    }
}

/// A `tracing` writer that prints log lines above the progress bars.
#[derive(Default)]
pub struct LogWriter {
    buf: Vec<u8>,
}

impl Write for LogWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.buf);
        let text = text.trim_end_matches('\n').to_string();
        bars().suspend(|| eprintln!("{text}"));
    }
}
