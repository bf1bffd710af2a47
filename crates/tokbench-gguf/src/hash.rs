//! sha256 of model files, streamed, with a persistent cache.
//!
//! Hashing a 20 GB model takes about a minute; the cache
//! (`sha256-cache.json` in tokbench's cache root,
//! [`tokbench_dirs::cache_root`]: `$TOKBENCH_CACHE_DIR`, else
//! `${XDG_CACHE_HOME:-~/.cache}/tokbench`, the folder `scripts/setup`
//! uses) remembers the digest per canonical path, valid while the file's
//! size and modification time are unchanged.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{GgufError, Result};

/// Read size while hashing (4 MiB).
const HASH_BUFFER: usize = 4 << 20;

/// File name of the cache inside the cache directory.
pub const CACHE_FILE_NAME: &str = "sha256-cache.json";

/// The lowercase hex sha256 of the file at `path`, read in 4 MiB chunks.
///
/// # Errors
/// [`GgufError::Io`] if the file cannot be opened or read.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = File::open(path).map_err(|e| GgufError::io(path, "open", e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; HASH_BUFFER];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(GgufError::io(path, "read", e)),
        }
    }
    Ok(format!("{:x}", hasher.finalize()))
}

/// Whether a digest came from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStatus {
    /// Size and mtime matched a cached entry; the file was not read.
    Hit,
    /// The file was hashed (and the entry stored).
    Miss,
}

/// One cached digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    /// File size in bytes when hashed.
    size: u64,
    /// Modification time when hashed, nanoseconds since the Unix epoch.
    mtime_ns: u128,
    /// Lowercase hex sha256.
    sha256: String,
}

/// The on-disk form of the cache.
#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheFile {
    /// Format version of this file.
    version: u32,
    /// Entries by canonical path.
    entries: BTreeMap<String, Entry>,
}

/// A sha256 cache keyed by canonical path, size and mtime.
#[derive(Debug)]
pub struct Sha256Cache {
    path: PathBuf,
    entries: BTreeMap<String, Entry>,
    dirty: bool,
}

impl Sha256Cache {
    /// Loads the cache stored at `path`. A missing file, or one that does
    /// not parse (it is only a cache), gives an empty cache.
    ///
    /// # Errors
    /// [`GgufError::Io`] if the file exists but cannot be read.
    pub fn load(path: &Path) -> Result<Self> {
        Ok(Self {
            path: path.to_path_buf(),
            entries: read_entries(path)?,
            dirty: false,
        })
    }

    /// Loads the cache from `sha256-cache.json` in tokbench's cache root
    /// ([`tokbench_dirs::cache_dir`]).
    ///
    /// # Errors
    /// [`GgufError::Cache`] without a home directory, else as [`Sha256Cache::load`].
    pub fn load_default() -> Result<Self> {
        let path = tokbench_dirs::cache_dir(CACHE_FILE_NAME).ok_or_else(|| GgufError::Cache {
            path: PathBuf::from(CACHE_FILE_NAME),
            reason: "no cache directory (set TOKBENCH_CACHE_DIR or HOME)".to_owned(),
        })?;
        Self::load(&path)
    }

    /// Where the cache is stored.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The sha256 of `file`: cached when its canonical path, size and mtime
    /// match an entry, else computed with [`sha256_file`] and recorded.
    ///
    /// # Errors
    /// [`GgufError::Io`] if `file` cannot be resolved, stat'ed or read.
    pub fn sha256(&mut self, file: &Path) -> Result<(String, CacheStatus)> {
        let canonical =
            fs::canonicalize(file).map_err(|e| GgufError::io(file, "canonicalize", e))?;
        let (size, mtime_ns) = size_and_mtime(&canonical)?;
        let key = canonical.to_string_lossy().into_owned();
        if let Some(e) = self.entries.get(&key) {
            if e.size == size && e.mtime_ns == mtime_ns {
                return Ok((e.sha256.clone(), CacheStatus::Hit));
            }
        }
        let sha256 = sha256_file(&canonical)?;
        let entry = Entry {
            size,
            mtime_ns,
            sha256: sha256.clone(),
        };
        self.entries.insert(key, entry);
        self.dirty = true;
        Ok((sha256, CacheStatus::Miss))
    }

    /// Writes new entries, merged with what other processes stored
    /// meanwhile, dropping entries of files that no longer exist. Writes
    /// a temporary file and renames it over the cache. No-op when nothing
    /// was added.
    ///
    /// # Errors
    /// [`GgufError::Io`] if the directory or file cannot be written.
    pub fn save(&mut self) -> Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let mut merged = read_entries(&self.path)?;
        merged.append(&mut self.entries.clone());
        merged.retain(|p, _| Path::new(p).exists());
        let body = CacheFile {
            version: 1,
            entries: merged,
        };
        let json = serde_json::to_vec_pretty(&body).map_err(|e| GgufError::Cache {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        write_atomic(&self.path, &json)?;
        self.entries = body.entries;
        self.dirty = false;
        Ok(())
    }
}

fn read_entries(path: &Path) -> Result<BTreeMap<String, Entry>> {
    match fs::read(path) {
        Ok(bytes) => Ok(serde_json::from_slice::<CacheFile>(&bytes)
            .map(|c| c.entries)
            .unwrap_or_default()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(GgufError::io(path, "read", e)),
    }
}

fn size_and_mtime(path: &Path) -> Result<(u64, u128)> {
    let meta = fs::metadata(path).map_err(|e| GgufError::io(path, "stat", e))?;
    let mtime = meta
        .modified()
        .map_err(|e| GgufError::io(path, "mtime", e))?;
    let mtime_ns = mtime.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    Ok((meta.len(), mtime_ns))
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| GgufError::io(dir, "create directory", e))?;
    let tmp = path.with_extension(format!("json.tmp.{}", std::process::id()));
    let written =
        File::create(&tmp).and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(GgufError::io(&tmp, "write", e));
    }
    fs::rename(&tmp, path).map_err(|e| GgufError::io(path, "rename into place", e))
}
