//! Shared set-up of the real llama-server tests: where scripts/setup put
//! llama-server and the SmolLM2 model, one-at-a-time locking, and record
//! reading. Without the set-up a test prints SKIP locally; under CI
//! (`CI=true`) a missing set-up is a failure.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use assert_cmd::cargo::CommandCargoExt;
use tokbench_record::{read_record, Record};

/// Where set-up put the server and the model.
pub struct Setup {
    /// llama-server.
    pub server: PathBuf,
    /// SmolLM2 135M Q4_1.
    pub model: PathBuf,
}

/// Real-server tests share two cores: run them one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub fn setup() -> Option<Setup> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?
        .join("tokbench");
    let server = std::env::var_os("TOKBENCH_LLAMA_SERVER")
        .map(PathBuf::from)
        .or_else(|| {
            std::fs::read_dir(cache.join("llama.cpp"))
                .ok()?
                .flatten()
                .map(|e| e.path().join("bin/llama-server"))
                .find(|p| p.is_file())
        });
    let models = std::env::var_os("TOKBENCH_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache.join("models"));
    let model = models.join("smollm2-135m-instruct-q4_1.gguf");
    match server {
        Some(server) if server.is_file() && model.is_file() => Some(Setup { server, model }),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must run scripts/setup first: llama-server or the SmolLM2 model is missing"
            );
            eprintln!("SKIP: llama-server or SmolLM2 missing (run scripts/setup)");
            None
        }
    }
}

pub fn tokbench(s: &Setup) -> Command {
    let mut c = Command::cargo_bin("tokbench").unwrap();
    c.env("TOKBENCH_LLAMA_SERVER", &s.server)
        .env_remove("OPENAI_API_KEY");
    c
}

pub fn records(dir: &Path) -> Vec<Record> {
    let mut out: Vec<Record> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| read_record(&p).unwrap())
        .collect();
    out.sort_by(|a, b| a.run.id.cmp(&b.run.id));
    out
}

/// A server child process (`tokbench emulate`, llama-server) and its base
/// URL; killed and reaped on drop.
pub struct Served {
    /// The process.
    pub child: Child,
    /// Its base URL, `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
