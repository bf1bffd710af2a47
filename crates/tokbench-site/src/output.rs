//! Writing the site into the output directory, file by file: a file that
//! exists is replaced by writing a temporary name in its directory and
//! renaming it over the old one, so a reader (or a static web server) never
//! sees a good page turn into a half-written one; a file that does not
//! exist yet is created in place (one system call instead of three, which
//! is most of the cost of a first build of a large site). Files whose content did not change are left alone (rebuilding a
//! large site after one new record rewrites only what changed); files of an
//! earlier build that this build did not produce are removed at the end.
//!
//! Pages can also be skipped without rendering: the marker file keeps a
//! fingerprint of the inputs of each run page ([`Output::reuse`]), so a
//! rebuild re-renders only runs whose record, labels or sidecar files (or
//! tokbench's templates) changed.
//!
//! Every file is written at a path checked by [`crate::names::is_safe_rel`]
//! below the output directory, so no record value can place a file
//! elsewhere. An existing output directory is only used when it is empty or
//! carries the [`MARKER`] file of an earlier build.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::error::SiteError;
use crate::names::is_safe_rel;

/// Marker file in every built site.
pub const MARKER: &str = ".tokbench-site";

/// The output directory being (re)built.
#[derive(Debug)]
pub struct Output {
    dir: PathBuf,
    written: Mutex<HashSet<String>>,
    changed: AtomicUsize,
    reused: AtomicUsize,
    previous: HashMap<String, String>,
    fingerprints: Mutex<Vec<(String, String)>>,
    /// The directory was absent or empty at [`Output::open`]: nothing of an
    /// earlier build can be left to remove.
    fresh: bool,
}

const MARKER_HEADER: &str = "# built by tokbench site; files here are replaced on every build\n# fingerprint<TAB>page of the inputs of each run page\n";

/// What [`Output::finish`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutputStats {
    /// Files written (new or changed).
    pub changed: usize,
    /// Files left as they were (same content).
    pub unchanged: usize,
    /// Files of an earlier build removed.
    pub removed: usize,
    /// Pages (with their files) kept without rendering: same inputs.
    pub reused: usize,
}

impl Output {
    /// Checks that `dir` may be (re)built and marks it as a site.
    ///
    /// # Errors
    /// [`SiteError::UnsafeOutput`] when `dir` is a file, or a non-empty
    /// directory without the marker; [`SiteError::Io`].
    pub fn open(dir: &Path) -> Result<Self, SiteError> {
        check_replaceable(dir)?;
        std::fs::create_dir_all(dir).map_err(SiteError::io(dir))?;
        let marker = dir.join(MARKER);
        let read = std::fs::read_to_string(&marker);
        // Without a marker, `check_replaceable` has made sure that the
        // directory is empty.
        let fresh = read
            .as_ref()
            .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound);
        let previous = match read {
            Ok(text) => text
                .lines()
                .filter(|l| !l.starts_with('#'))
                .filter_map(|l| l.split_once('\t'))
                .map(|(fp, rel)| (rel.to_owned(), fp.to_owned()))
                .collect(),
            Err(_) => {
                std::fs::write(&marker, MARKER_HEADER).map_err(SiteError::io(marker))?;
                HashMap::new()
            }
        };
        Ok(Self {
            dir: dir.to_owned(),
            written: Mutex::new(HashSet::new()),
            changed: AtomicUsize::new(0),
            reused: AtomicUsize::new(0),
            previous,
            fingerprints: Mutex::new(Vec::new()),
            fresh,
        })
    }

    /// The output directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `bytes` at site path `rel` (`runs/x.html`) unless the file
    /// already holds exactly these bytes.
    ///
    /// # Errors
    /// [`SiteError::UnsafePath`] for a bad `rel`, [`SiteError::Io`].
    pub fn write(&self, rel: &str, bytes: &[u8]) -> Result<(), SiteError> {
        if !is_safe_rel(rel) {
            return Err(SiteError::UnsafePath(rel.to_owned()));
        }
        if let Ok(mut w) = self.written.lock() {
            w.insert(rel.to_owned());
        }
        let path = self.dir.join(rel);
        let parent = path.parent().unwrap_or(&self.dir);
        match write_new(&path, bytes) {
            Ok(()) => {
                self.changed.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(parent).map_err(SiteError::io(parent))?;
                if write_new(&path, bytes).is_ok() {
                    self.changed.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
            }
            Err(e) => return Err(SiteError::io(path)(e)),
        }
        let same = std::fs::metadata(&path)
            .is_ok_and(|m| m.is_file() && m.len() == bytes.len() as u64)
            && std::fs::read(&path).is_ok_and(|old| old == bytes);
        if same {
            return Ok(());
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
        let result = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, &path));
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        self.changed.fetch_add(1, Ordering::Relaxed);
        result.map_err(SiteError::io(path))
    }

    /// Keeps page `rel` and its `files` as they are when the earlier build
    /// rendered it from inputs with the same fingerprint `fp` and they all
    /// still exist; returns whether it did. Either way `fp` is remembered
    /// for the next build.
    pub fn reuse(&self, rel: &str, fp: &str, files: &[String]) -> bool {
        if let Ok(mut f) = self.fingerprints.lock() {
            f.push((rel.to_owned(), fp.to_owned()));
        }
        let all = || std::iter::once(rel).chain(files.iter().map(String::as_str));
        let same = self.previous.get(rel).is_some_and(|p| p == fp)
            && all().all(|r| is_safe_rel(r) && self.dir.join(r).is_file());
        if same {
            if let Ok(mut w) = self.written.lock() {
                w.extend(all().map(str::to_owned));
            }
            self.reused.fetch_add(1, Ordering::Relaxed);
        }
        same
    }

    /// Puts a copy of the regular file `src` at site path `rel`: a hard
    /// link when `rel` does not exist yet and both are on one file system
    /// (no data is copied; pages are always replaced by rename, never
    /// written in place, so the record itself is never modified), else a
    /// copy as [`Output::write`].
    ///
    /// # Errors
    /// As [`Output::write`]; [`SiteError::Io`] naming `src` when it cannot
    /// be read.
    pub fn copy(&self, rel: &str, src: &Path) -> Result<(), SiteError> {
        if !is_safe_rel(rel) {
            return Err(SiteError::UnsafePath(rel.to_owned()));
        }
        let path = self.dir.join(rel);
        // `link` never replaces: it fails when `rel` exists (then the
        // content is compared and replaced as by `write`), and when its
        // directory does not exist yet (created once, then linked again).
        let linked = match std::fs::hard_link(src, &path) {
            Ok(()) => true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let parent = path.parent().unwrap_or(&self.dir);
                std::fs::create_dir_all(parent).map_err(SiteError::io(parent))?;
                std::fs::hard_link(src, &path).is_ok()
            }
            Err(_) => false,
        };
        if linked {
            if let Ok(mut w) = self.written.lock() {
                w.insert(rel.to_owned());
            }
            self.changed.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        let bytes = std::fs::read(src).map_err(SiteError::io(src))?;
        self.write(rel, &bytes)
    }

    /// Removes every file of an earlier build that this build did not
    /// write, and directories left empty (nothing to do, and no directory
    /// walk, when the directory was new or empty at [`Output::open`]).
    ///
    /// # Errors
    /// [`SiteError::Io`] when the directory cannot be listed or a file
    /// cannot be removed.
    pub fn finish(self) -> Result<OutputStats, SiteError> {
        let written = self
            .written
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let changed = self.changed.into_inner();
        let mut removed = 0;
        if !self.fresh {
            remove_stale(&self.dir, &self.dir, &written, &mut removed)?;
        }
        let mut manifest = String::from(MARKER_HEADER);
        let mut fps = self
            .fingerprints
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        fps.sort();
        for (rel, fp) in fps.iter().filter(|(rel, _)| written.contains(rel)) {
            manifest.push_str(&format!("{fp}\t{rel}\n"));
        }
        let marker = self.dir.join(MARKER);
        std::fs::write(&marker, manifest).map_err(SiteError::io(marker))?;
        Ok(OutputStats {
            changed,
            unchanged: written.len().saturating_sub(changed),
            removed,
            reused: self.reused.into_inner(),
        })
    }
}

/// Creates `path`, which must not exist yet, with `bytes`; a file left
/// half-written by a failed write is removed. Nothing is replaced, so no
/// reader can see a good page turn into a partial one.
fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    file.write_all(bytes).inspect_err(|_| {
        let _ = std::fs::remove_file(path);
    })
}

/// Removes below `dir` what is not in `keep` (paths relative to `root`);
/// returns whether `dir` is now empty.
fn remove_stale(
    root: &Path,
    dir: &Path,
    keep: &HashSet<String>,
    removed: &mut usize,
) -> Result<bool, SiteError> {
    let mut empty = true;
    for entry in std::fs::read_dir(dir).map_err(SiteError::io(dir))? {
        let path = entry.map_err(SiteError::io(dir))?.path();
        let rel = path
            .strip_prefix(root)
            .map(|r| r.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        let meta = std::fs::symlink_metadata(&path).map_err(SiteError::io(&path))?;
        if meta.is_dir() {
            if remove_stale(root, &path, keep, removed)? {
                std::fs::remove_dir(&path).map_err(SiteError::io(&path))?;
            } else {
                empty = false;
            }
        } else if keep.contains(&rel) || rel == MARKER {
            empty = false;
        } else {
            std::fs::remove_file(&path).map_err(SiteError::io(&path))?;
            *removed += 1;
        }
    }
    Ok(empty)
}

/// `out` may be (re)built: absent, an empty directory, or an earlier site.
fn check_replaceable(out: &Path) -> Result<(), SiteError> {
    let unsafe_out = |reason: &str| SiteError::UnsafeOutput {
        path: out.to_owned(),
        reason: reason.into(),
    };
    let meta = match std::fs::symlink_metadata(out) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(SiteError::io(out)(e)),
    };
    if !meta.is_dir() {
        return Err(unsafe_out("it exists and is not a directory"));
    }
    if out.join(MARKER).is_file() {
        return Ok(());
    }
    let mut entries = std::fs::read_dir(out).map_err(SiteError::io(out))?;
    if entries.next().is_some() {
        return Err(unsafe_out(
            "it is not empty and was not built by tokbench site (no .tokbench-site marker)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_foreign_directories_and_bad_paths() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("site");
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("precious.txt"), "x").unwrap();
        let e = Output::open(&out).unwrap_err();
        assert!(matches!(e, SiteError::UnsafeOutput { .. }), "{e}");
        assert!(out.join("precious.txt").is_file());
        let file = tmp.path().join("file");
        std::fs::write(&file, "x").unwrap();
        assert!(matches!(
            Output::open(&file),
            Err(SiteError::UnsafeOutput { .. })
        ));

        let o = Output::open(&tmp.path().join("site2")).unwrap();
        for bad in ["../evil", "/abs", ".hidden", "a/../../b"] {
            assert!(
                matches!(o.write(bad, b"x"), Err(SiteError::UnsafePath(_))),
                "{bad}"
            );
        }
        let names: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 3, "{names:?}");
    }

    #[test]
    fn rebuilds_write_only_changes_and_remove_stale_files() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("site");
        let o = Output::open(&out).unwrap();
        o.write("a/b.html", b"one").unwrap();
        o.write("a/c.html", b"two").unwrap();
        o.write("d.html", b"three").unwrap();
        assert!(!o.reuse("d.html", "fp1", &[]), "no earlier build");
        let s = o.finish().unwrap();
        assert_eq!((s.changed, s.unchanged, s.removed), (3, 0, 0));

        // Same fingerprint and the files exist: kept without writing.
        let o = Output::open(&out).unwrap();
        assert!(o.reuse("d.html", "fp1", &["a/b.html".into()]));
        assert!(!o.reuse("a/c.html", "fp1", &[]), "no fingerprint for it");
        o.write("a/c.html", b"two").unwrap();
        let s = o.finish().unwrap();
        assert_eq!((s.changed, s.unchanged, s.removed, s.reused), (0, 3, 0, 1));
        let o = Output::open(&out).unwrap();
        assert!(!o.reuse("d.html", "fp2", &[]), "fingerprint changed");
        o.write("d.html", b"three").unwrap();
        o.write("a/b.html", b"one").unwrap();
        o.write("a/c.html", b"two").unwrap();
        o.finish().unwrap();

        let o = Output::open(&out).unwrap();
        o.write("a/b.html", b"one").unwrap();
        o.write("d.html", b"THREE").unwrap();
        let s = o.finish().unwrap();
        assert_eq!((s.changed, s.unchanged, s.removed), (1, 1, 1));
        assert_eq!(
            std::fs::read_to_string(out.join("d.html")).unwrap(),
            "THREE"
        );
        assert!(!out.join("a/c.html").exists());
        assert!(out.join(MARKER).is_file());

        let o = Output::open(&out).unwrap();
        o.write("d.html", b"THREE").unwrap();
        o.finish().unwrap();
        assert!(!out.join("a").exists(), "empty directories are removed");
        let left: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left.len(), 2, "{left:?}");
    }
}
