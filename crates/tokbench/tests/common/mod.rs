//! Shared set-up of the real llama-server tests: where scripts/setup put
//! llama-server and the SmolLM2 model, one-at-a-time locking, and record
//! reading. Missing set-up follows `tokbench_testenv::require`: SKIP
//! locally, a failure naming what is missing under CI.

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

/// llama-server and SmolLM2 as set-up placed them (see
/// `tokbench_testenv`): `None` after a SKIP line locally, a failure naming
/// what is missing under CI.
pub fn setup() -> Option<Setup> {
    let server = tokbench_testenv::llama_server();
    let model = tokbench_testenv::demo_model(tokbench_testenv::SMOLLM2);
    Some(Setup {
        server: server?,
        model: model?,
    })
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
