//! Prompt-cache honesty on a real llama-server (docs/methodology.md#prompt-cache):
//! the server's own account (`timings.cache_n`, `prompt_tokens_details`)
//! flags a run that repeats a cached prompt, and passes a run whose prompts
//! are fresh, against one long-lived server as a user would attach to it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{records, serial, setup, tokbench, Served, Setup};
use tokbench_record::Record;

/// A llama-server on a free port, killed on drop.
fn start_server(s: &Setup, log: &Path) -> Served {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(&s.server)
        .arg("-m")
        .arg(&s.model)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--parallel", "1", "--ctx-size", "1024", "--threads", "2"])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(log).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let server = Served { child, url };
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        let ok = std::net::TcpStream::connect(("127.0.0.1", port))
            .and_then(|mut t| {
                use std::io::{Read, Write};
                t.write_all(b"GET /health HTTP/1.0\r\n\r\n")?;
                let mut body = String::new();
                t.read_to_string(&mut body)?;
                Ok(body.starts_with("HTTP/1.1 200") || body.starts_with("HTTP/1.0 200"))
            })
            .unwrap_or(false);
        if ok {
            return server;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("llama-server did not become healthy; see {}", log.display());
}

/// One attach-mode run of 3 measured requests of 48 prompt and 4 output
/// tokens; returns its record.
fn attach_run(s: &Setup, url: &str, dir: &Path, extra: &[&str]) -> Record {
    let before: Vec<_> = records(dir).into_iter().map(|r| r.run.id).collect();
    let out = tokbench(s)
        .args([
            "run",
            "--url",
            url,
            "--prompt-tokens",
            "48",
            "--output-tokens",
            "4",
        ])
        .args([
            "-c",
            "1",
            "-n",
            "3",
            "--warmup",
            "1",
            "--no-progress",
            "--format",
            "json",
        ])
        .arg("--runs-dir")
        .arg(dir)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    records(dir)
        .into_iter()
        .find(|r| !before.contains(&r.run.id))
        .unwrap()
}

#[test]
fn repeated_prompts_are_flagged_and_fresh_ones_are_not() {
    let _serial = serial();
    let Some(s) = setup() else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(&s, &dir.path().join("server.log"));

    // Same seed, cache allowed: the second run repeats the first's prompts
    // and the server says it evaluated almost none of them.
    let allow = ["--seed", "11", "--allow-prompt-cache"];
    let first = attach_run(&s, &server.url, dir.path(), &allow);
    let second = attach_run(&s, &server.url, dir.path(), &allow);
    let check = |r: &Record| r.cells[0].prompt_cache_check.clone().unwrap();
    let (a, b) = (check(&first), check(&second));
    assert!(!first.cells[0].prompt_cache, "first run: {a:?}");
    assert!(
        second.cells[0].prompt_cache && second.run.flags.prompt_cache,
        "{b:?}"
    );
    assert_eq!((b.requests_with_account, b.requests_over_threshold), (3, 3));
    assert!(b.cached_share.unwrap() > 0.8, "{b:?}");
    let prompts = second.run.prompts.as_ref().unwrap();
    assert_eq!(
        (prompts.seed, prompts.seed_given, prompts.cache_allowed),
        (11, true, true)
    );

    // Defaults: a fresh nonce per run and `cache_prompt: false`; the server
    // evaluates every prompt token of both runs.
    let fresh = [
        attach_run(&s, &server.url, dir.path(), &[]),
        attach_run(&s, &server.url, dir.path(), &[]),
    ];
    for r in &fresh {
        let c = check(r);
        assert!(
            !r.cells[0].prompt_cache && !r.run.flags.prompt_cache,
            "{c:?}"
        );
        assert_eq!((c.requests_with_account, c.cached_tokens), (3, 0), "{c:?}");
        let p = r.run.prompts.as_ref().unwrap();
        assert!(!p.seed_given && !p.cache_allowed);
        assert_eq!(p.cache_control.as_deref(), Some("cache_prompt: false"));
    }
    let seeds: Vec<u64> = fresh
        .iter()
        .map(|r| r.run.prompts.as_ref().unwrap().seed)
        .collect();
    assert_ne!(seeds[0], seeds[1], "a fresh nonce per run");
}
