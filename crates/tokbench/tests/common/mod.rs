//! Shared set-up of the real llama-server tests: where scripts/setup put
//! llama-server and the SmolLM2 model, one-at-a-time locking, and record
//! reading. Missing set-up follows `tokbench_testenv::require`: SKIP
//! locally, a failure naming what is missing under CI.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

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

/// A TCP proxy in front of a server that keeps every byte the clients
/// sent: the requests exactly as they reached the server, headers
/// included. Its threads live until the test process ends.
pub struct Recorder {
    /// The proxy's base URL, `http://127.0.0.1:PORT`.
    pub url: String,
    sent: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
}

impl Recorder {
    /// A proxy forwarding to `target` (`http://HOST:PORT`).
    pub fn start(target: &str) -> Recorder {
        use std::io::{Read, Write};
        use std::net::{Shutdown, TcpListener, TcpStream};
        let upstream = target.trim_start_matches("http://").to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let sent = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = sent.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let (mut from_client, mut to_server) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (mut from_server, mut to_client) = (server, client);
                let log = log.clone();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 8192];
                    while let Ok(n @ 1..) = from_client.read(&mut buf) {
                        log.lock().unwrap().extend_from_slice(&buf[..n]);
                        if to_server.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = to_server.shutdown(Shutdown::Write);
                });
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from_server, &mut to_client);
                    let _ = to_client.shutdown(Shutdown::Write);
                });
            }
        });
        Recorder { url, sent }
    }

    /// Everything sent so far, as text.
    pub fn sent(&self) -> String {
        String::from_utf8_lossy(&self.sent.lock().unwrap()).into_owned()
    }
}

/// A `tokbench emulate` child process on a free port, killed on drop.
pub fn emulate(args: &[&str]) -> Served {
    let mut child = Command::cargo_bin("tokbench")
        .unwrap()
        .args(["emulate", "--port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_owned();
    Served { child, url }
}
