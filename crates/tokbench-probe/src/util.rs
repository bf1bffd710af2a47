//! Small file-reading helpers shared by the procfs and sysfs readers.

use std::path::{Path, PathBuf};

/// Joins an absolute kernel path (`/proc/stat`) onto an injectable root, so
/// tests can point the readers at a temporary directory tree.
pub(crate) fn under(root: &Path, abs: &str) -> PathBuf {
    root.join(abs.trim_start_matches('/'))
}

/// Reads a whole text file, or `None` when it is absent or unreadable.
pub(crate) fn read_opt(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// Reads a one-line sysfs file, trimmed; `None` when absent, unreadable or empty.
pub(crate) fn read_trimmed(path: &Path) -> Option<String> {
    let text = read_opt(path)?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// Reads a sysfs file holding one unsigned decimal integer.
pub(crate) fn read_u64(path: &Path) -> Option<u64> {
    read_trimmed(path)?.parse().ok()
}

/// Bytes to GiB (2^30), for messages.
pub(crate) fn gib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 30) as f64
}

/// File-tree builders shared by the readers' unit tests.
#[cfg(test)]
pub(crate) mod testing {
    #![allow(clippy::unwrap_used)]
    use std::path::Path;

    use super::under;

    /// Writes `text` to `path`, creating its parent directories.
    pub(crate) fn write_file(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// Writes `text` to the kernel path `abs` (e.g. `/proc/stat`) under `root`.
    pub(crate) fn write_under(root: &Path, abs: &str, text: &str) {
        write_file(&under(root, abs), text);
    }
}
