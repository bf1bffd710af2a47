//! Building the non-measured parts of a record: ids, times, the redacted
//! command line, the system section, provenance.

use std::ffi::OsString;
use std::time::{SystemTime, UNIX_EPOCH};

use tokbench_probe::Rig;
use tokbench_record::{record_id, Flags, Provenance, RunInfo, SystemSection};

use crate::convert;

/// The invocation a record describes.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The command line as given (secrets are redacted by the runner before
    /// anything is recorded).
    pub command_line: Vec<String>,
    /// tokbench version (`CARGO_PKG_VERSION` of the binary).
    pub tokbench_version: String,
    /// Git commit tokbench was built from, when known.
    pub tokbench_commit: Option<String>,
    /// Free-form mode label shown on the site (`baseline`).
    pub mode: String,
}

impl Invocation {
    /// The command line of this process from [`std::env::args_os`]: an
    /// argument that is not valid UTF-8 is kept with U+FFFD in place of
    /// the bad bytes instead of panicking, as `std::env::args` would.
    pub fn process_args() -> Vec<String> {
        std::env::args_os().map(lossy).collect()
    }
}

fn lossy(arg: OsString) -> String {
    arg.to_string_lossy().into_owned()
}

/// Current UTC time, RFC 3339 to the second.
pub fn now_utc() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// A short hex id unique enough per invocation and target.
pub fn short_id(salt: u64) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mixed =
        (nanos ^ (u64::from(std::process::id()) << 20) ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15))
            .wrapping_mul(0xff51_afd7_ed55_8ccd);
    format!("{:06x}", mixed >> 40)
}

/// A shell-quoted command from argv.
pub fn shell_join(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@+".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The run section at the start of a run (flags set as the run goes); the
/// command line is redacted here.
pub fn run_info(model_name: &str, backend: &str, inv: &Invocation, salt: u64) -> RunInfo {
    let started = now_utc();
    let id = record_id(
        &started[..10.min(started.len())],
        model_name,
        backend,
        &short_id(salt),
    );
    RunInfo {
        samples_file: Some(format!("{id}.samples.jsonl")),
        id,
        started_utc: started,
        ended_utc: None,
        tokbench_version: inv.tokbench_version.clone(),
        tokbench_commit: inv.tokbench_commit.clone(),
        command_line: tokbench_backend::redact::redact_args(&inv.command_line),
        mode: inv.mode.clone(),
        flags: Flags::default(),
        incomplete_reason: None,
        host_load: None,
        server_log_file: None,
        notes: Vec::new(),
        prompts: None,
        slo: None,
        reasoning: None,
    }
}

/// The system section from a probe.
pub fn system_section(rig: &Rig) -> SystemSection {
    let rig_name = rig
        .rig_notes
        .as_ref()
        .map(|n| n.name.clone())
        .or_else(|| rig.system.hostname.clone())
        .or_else(|| rig.system.cpu.model_name.clone())
        .unwrap_or_else(|| "unknown-rig".into());
    SystemSection {
        rig_name,
        host: convert::system_info(rig.system.clone()),
        gpus: rig.gpus.iter().cloned().map(convert::gpu_info).collect(),
        gpu_notes: rig.gpu_notes.clone(),
        rig: rig.rig_notes.clone().map(convert::rig_notes),
    }
}

/// Provenance: the redacted command line as one reproducible command, with
/// `--seed <seed>` appended when the seed was drawn fresh (so that it sends
/// the same prompts).
pub fn provenance(
    command_line: &[String],
    drawn_seed: Option<u64>,
    llama_cpp_version: Option<&str>,
) -> Provenance {
    let mut details = std::collections::BTreeMap::new();
    if let Some(v) = llama_cpp_version {
        details.insert("backend_version".to_owned(), v.to_owned());
    }
    let mut argv = command_line.to_vec();
    if let Some(first) = argv.first_mut() {
        *first = "tokbench".into();
    }
    if let Some(seed) = drawn_seed {
        argv.extend(["--seed".to_owned(), seed.to_string()]);
    }
    Provenance {
        reproduce: shell_join(&argv),
        details,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting() {
        let args = vec![
            "tokbench".into(),
            "run".into(),
            "my model.gguf".into(),
            "--extra-body={\"a\":1}".into(),
        ];
        assert_eq!(
            shell_join(&args),
            "tokbench run 'my model.gguf' '--extra-body={\"a\":1}'"
        );
    }

    fn invocation(args: &[&str]) -> Invocation {
        Invocation {
            command_line: args.iter().map(|s| s.to_string()).collect(),
            tokbench_version: "0.1.0".into(),
            tokbench_commit: None,
            mode: "baseline".into(),
        }
    }

    #[test]
    fn command_lines_are_redacted_and_reproducible() {
        let inv = invocation(&[
            "/usr/bin/tokbench",
            "run",
            "--api-key",
            "sk-secret",
            "m.gguf",
        ]);
        let r = run_info("m", "llama.cpp", &inv, 1);
        assert!(!r.command_line.join(" ").contains("sk-secret"));
        let p = provenance(&r.command_line, Some(42), None);
        assert!(p.reproduce.starts_with("tokbench run "), "{}", p.reproduce);
        assert!(p.reproduce.ends_with("m.gguf --seed 42"), "{}", p.reproduce);
        assert!(!provenance(&r.command_line, None, None)
            .reproduce
            .contains("--seed"));
    }

    #[test]
    fn non_utf8_arguments_are_kept_lossily() {
        use std::os::unix::ffi::OsStringExt;
        let arg = OsString::from_vec(vec![b'a', 0xff, b'b']);
        assert_eq!(lossy(arg), "a\u{fffd}b");
    }

    #[test]
    fn ids_are_dated_and_slugged() {
        let r = run_info("SmolLM2 135M", "llama.cpp", &invocation(&["tokbench"]), 1);
        assert!(r.id.contains("-smollm2-135m-llama.cpp-"), "{}", r.id);
        assert_eq!(&r.id[..4], &r.started_utc[..4]);
        assert_eq!(
            r.samples_file.as_deref(),
            Some(format!("{}.samples.jsonl", r.id).as_str())
        );
        assert_ne!(short_id(1), short_id(2));
    }
}
