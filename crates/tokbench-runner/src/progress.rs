//! How a caller watches cells run. The runner never draws anything itself:
//! the binary implements [`ProgressSink`] with a progress bar, tests and
//! other callers pass [`NoProgress`].

use std::sync::Arc;

use tokbench_client::Progress;

/// Told when each cell starts; the engine updates the [`Progress`]
/// counters (atomics, once per finished request) while the cell runs.
pub trait ProgressSink: Send + Sync {
    /// A cell labelled `label` (`chat c=4`) starts, with `total` requests
    /// (warm-up included) when the total is known. The returned handle is
    /// finished when the cell ends.
    fn cell_started(
        &self,
        label: String,
        total: Option<u64>,
        progress: Arc<Progress>,
    ) -> Box<dyn CellProgress>;
}

/// One cell's progress display.
pub trait CellProgress: Send {
    /// The cell ended: stop and clear the display.
    fn finish(self: Box<Self>);
}

/// Shows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl ProgressSink for NoProgress {
    fn cell_started(&self, _: String, _: Option<u64>, _: Arc<Progress>) -> Box<dyn CellProgress> {
        Box::new(NoProgress)
    }
}

impl CellProgress for NoProgress {
    fn finish(self: Box<Self>) {}
}
