//! The whole rig: [`SystemInfo`], GPUs, and optional hand-written notes from
//! a YAML rig file (`rigs/NAME.yaml`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::gpu::{GpuInfo, GpuProbe};
use crate::system::{probe_system, ProbeOptions, SystemInfo};
use crate::ProbeError;

/// Hand-written facts a probe cannot see. Unknown keys are rejected (typos
/// would otherwise vanish silently); free-form facts go under `extra`.
///
/// ```yaml
/// name: garage-3090
/// chassis: Fractal Meshify 2, open side panel
/// cooling: 3 × 140 mm intake, stock GPU cooler
/// psu: 1000 W Platinum
/// notes: GPU power-limited to 300 W with nvidia-smi -pl
/// tags: [consumer, cuda]
/// extra:
///   riser: PCIe 4.0 x16
/// memory_bandwidth_gb_s: 256
/// memory_bandwidth_source: vendor spec sheet (LPDDR5X-8000, 256-bit)
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RigNotes {
    /// Short name of the rig, used in reports.
    pub name: String,
    /// Case / form factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chassis: Option<String>,
    /// Cooling setup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cooling: Option<String>,
    /// Power supply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psu: Option<String>,
    /// Anything else worth knowing (BIOS settings, power limits, location).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Labels for grouping results.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Free-form key/value facts.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, String>,
    /// Memory bandwidth of the device that runs the model, GB/s (10⁹
    /// bytes/s), for what the probe cannot read: APUs and unified memory,
    /// AMD GPUs (no bus width in sysfs), anything else. Finite and > 0;
    /// needs [`RigNotes::memory_bandwidth_source`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bandwidth_gb_s: Option<f64>,
    /// Where [`RigNotes::memory_bandwidth_gb_s`] comes from, e.g. "vendor
    /// spec sheet" or "STREAM triad, 16 threads".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bandwidth_source: Option<String>,
}

/// Parses rig-file text; `path` is only used in the error.
///
/// # Errors
/// [`ProbeError::RigFile`] naming `path`, with line and column when the YAML
/// parser gives them, for invalid YAML, a missing `name`, an unknown key or a
/// value of the wrong type; without a location for a
/// `memory_bandwidth_gb_s` that is not finite and > 0 or has no
/// `memory_bandwidth_source`.
pub fn parse_rig_notes(text: &str, path: &Path) -> Result<RigNotes, ProbeError> {
    let notes = serde_saphyr::from_str::<RigNotes>(text).map_err(|e| {
        let loc = e.location();
        ProbeError::RigFile {
            path: path.to_path_buf(),
            line: loc.as_ref().map(|l| l.line()),
            column: loc.as_ref().map(|l| l.column()),
            message: plain_message(&e),
        }
    })?;
    check_bandwidth(&notes).map_err(|message| ProbeError::RigFile {
        path: path.to_path_buf(),
        line: None,
        column: None,
        message,
    })?;
    Ok(notes)
}

/// The bandwidth override is a positive finite number with a source.
fn check_bandwidth(notes: &RigNotes) -> Result<(), String> {
    let Some(gb_s) = notes.memory_bandwidth_gb_s else {
        return Ok(());
    };
    if !(gb_s.is_finite() && gb_s > 0.0) {
        return Err(format!(
            "memory_bandwidth_gb_s must be a finite number > 0, got {gb_s}"
        ));
    }
    match notes.memory_bandwidth_source.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => Ok(()),
        _ => Err("memory_bandwidth_gb_s needs a memory_bandwidth_source \
(where the figure comes from, e.g. \"vendor spec sheet\")"
            .into()),
    }
}

/// The parser's user-facing message, without location or source snippet
/// (the error adds `path:line:column` itself), control characters blanked
/// as serde-saphyr asks of direct `format_message` callers.
fn plain_message(e: &serde_saphyr::Error) -> String {
    use serde_saphyr::MessageFormatter;
    serde_saphyr::UserMessageFormatter
        .format_message(e)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Reads and parses a rig file.
///
/// # Errors
/// [`ProbeError::Io`] when the file cannot be read, otherwise as
/// [`parse_rig_notes`].
pub fn load_rig_notes(path: &Path) -> Result<RigNotes, ProbeError> {
    let text = std::fs::read_to_string(path).map_err(|e| ProbeError::io(path, e))?;
    parse_rig_notes(&text, path)
}

/// Everything `tokbench probe` knows about a machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rig {
    /// Hand-written notes, when a rig file was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rig_notes: Option<RigNotes>,
    /// Host facts.
    pub system: SystemInfo,
    /// GPUs (empty on CPU-only machines and without drivers).
    pub gpus: Vec<GpuInfo>,
    /// Why GPUs or GPU facts are missing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gpu_notes: Vec<String>,
}

impl Rig {
    /// Attaches hand-written notes.
    pub fn with_notes(mut self, notes: RigNotes) -> Self {
        self.rig_notes = Some(notes);
        self
    }
}

/// Probes the host and the GPUs `gpu` sees. Never fails: a GPU probe error
/// becomes a note and an empty GPU list.
pub fn probe_rig(opts: &ProbeOptions, gpu: &dyn GpuProbe) -> Rig {
    let mut gpu_notes = gpu.notes();
    let gpus = gpu.gpus().unwrap_or_else(|e| {
        gpu_notes.push(e.to_string());
        Vec::new()
    });
    Rig {
        rig_notes: None,
        system: probe_system(opts),
        gpus,
        gpu_notes,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::gpu::{FakeGpuProbe, GpuSource};

    const FULL: &str = "name: garage-3090\nchassis: open frame\ncooling: stock\n\
psu: 1000 W\nnotes: |\n  power-limited to 300 W\ntags: [consumer, cuda]\nextra:\n  riser: x16\n";

    #[test]
    fn full_rig_file_parses() {
        let n = parse_rig_notes(FULL, Path::new("rigs/g.yaml")).unwrap();
        assert_eq!(n.name, "garage-3090");
        assert_eq!(n.psu.as_deref(), Some("1000 W"));
        assert_eq!(n.notes.as_deref(), Some("power-limited to 300 W\n"));
        assert_eq!(n.tags, ["consumer", "cuda"]);
        assert_eq!(n.extra.get("riser").map(String::as_str), Some("x16"));
        let minimal = parse_rig_notes("name: x\n", Path::new("m.yaml")).unwrap();
        assert_eq!(
            minimal,
            RigNotes {
                name: "x".into(),
                ..RigNotes::default()
            }
        );
    }

    fn rig_err(text: &str) -> (String, Option<u64>) {
        match parse_rig_notes(text, Path::new("rigs/bad.yaml")) {
            Err(e @ ProbeError::RigFile { line, .. }) => (e.to_string(), line),
            other => panic!("expected a rig-file error, got {other:?}"),
        }
    }

    #[test]
    fn unknown_key_error_names_file_and_line() {
        let (msg, line) = rig_err("name: x\nchasis: typo\n");
        assert!(
            msg.starts_with("invalid rig file rigs/bad.yaml:2:"),
            "{msg}"
        );
        assert!(msg.contains("chasis"), "{msg}");
        assert_eq!(line, Some(2));
    }

    #[test]
    fn missing_name_wrong_type_and_bad_yaml_are_errors() {
        let (msg, _) = rig_err("chassis: x\n");
        assert!(
            msg.contains("rigs/bad.yaml") && msg.contains("name"),
            "{msg}"
        );
        let (msg, line) = rig_err("name: x\ntags: just-a-string\n");
        assert!(msg.contains("rigs/bad.yaml"), "{msg}");
        assert_eq!(line, Some(2), "{msg}");
        let (msg, line) = rig_err("name: [unclosed\n");
        assert!(msg.contains("rigs/bad.yaml"), "{msg}");
        assert!(line.is_some(), "{msg}");
    }

    #[test]
    fn bandwidth_override_parses_with_its_source() {
        let text = "name: apu\nmemory_bandwidth_gb_s: 256.5\n\
memory_bandwidth_source: vendor spec sheet\n";
        let n = parse_rig_notes(text, Path::new("rigs/apu.yaml")).unwrap();
        assert_eq!(n.memory_bandwidth_gb_s, Some(256.5));
        assert_eq!(
            n.memory_bandwidth_source.as_deref(),
            Some("vendor spec sheet")
        );
        let yaml = serde_saphyr::to_string(&n).unwrap();
        assert!(yaml.contains("memory_bandwidth_gb_s: 256.5"), "{yaml}");
        let bare = serde_saphyr::to_string(&parse_rig_notes("name: x\n", Path::new("x")).unwrap());
        assert!(!bare.unwrap().contains("memory_bandwidth"));
    }

    #[test]
    fn bad_bandwidth_overrides_are_rig_file_errors() {
        for (text, expect) in [
            (
                "name: x\nmemory_bandwidth_gb_s: 0\nmemory_bandwidth_source: s\n",
                "> 0, got 0",
            ),
            (
                "name: x\nmemory_bandwidth_gb_s: -5\nmemory_bandwidth_source: s\n",
                "got -5",
            ),
            (
                "name: x\nmemory_bandwidth_gb_s: .inf\nmemory_bandwidth_source: s\n",
                "got inf",
            ),
            (
                "name: x\nmemory_bandwidth_gb_s: .nan\nmemory_bandwidth_source: s\n",
                "got NaN",
            ),
            (
                "name: x\nmemory_bandwidth_gb_s: 100\n",
                "needs a memory_bandwidth_source",
            ),
            (
                "name: x\nmemory_bandwidth_gb_s: 100\nmemory_bandwidth_source: ' '\n",
                "needs a",
            ),
        ] {
            let (msg, line) = rig_err(text);
            assert!(msg.starts_with("invalid rig file rigs/bad.yaml: "), "{msg}");
            assert!(msg.contains(expect), "{text}: {msg}");
            assert_eq!(line, None);
        }
        // A source alone is harmless.
        let n = parse_rig_notes("name: x\nmemory_bandwidth_source: s\n", Path::new("x")).unwrap();
        assert_eq!(n.memory_bandwidth_gb_s, None);
    }

    #[test]
    fn missing_file_is_an_io_error_naming_it() {
        let e = load_rig_notes(Path::new("/nonexistent/rig.yaml")).unwrap_err();
        assert!(matches!(e, ProbeError::Io { .. }));
        assert!(e.to_string().contains("/nonexistent/rig.yaml"));
    }

    #[test]
    fn rig_merges_notes_and_turns_a_gpu_error_into_a_note() {
        let dir = tempfile::tempdir().unwrap();
        let opts = ProbeOptions {
            root: dir.path().to_path_buf(),
            include_hostname: false,
        };
        let rig = probe_rig(&opts, &FakeGpuProbe::failing("boom"));
        assert!(rig.gpus.is_empty());
        assert_eq!(rig.gpu_notes, ["GPU probe failed: boom"]);
        let fake = FakeGpuProbe::new(vec![GpuInfo::named(0, GpuSource::Fake, "F")]);
        let rig = probe_rig(&opts, &fake).with_notes(RigNotes {
            name: "r".into(),
            ..RigNotes::default()
        });
        assert_eq!(rig.gpus.len(), 1);
        let yaml = serde_saphyr::to_string(&rig).unwrap();
        assert!(yaml.starts_with("rig_notes:\n  name: r\n"), "{yaml}");
        let back: Rig = serde_saphyr::from_str(&yaml).unwrap();
        assert_eq!(back, rig);
    }
}
