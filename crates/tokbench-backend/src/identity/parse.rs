//! Pure parsers over server output: `llama-server --version`, `/props`
//! `build_info`, and device detection from logs.

/// What `llama-server --version` says about the build.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LlamaVersion {
    /// The build number (`"7100"`, as in release tag `b7100`) when known
    /// and non-zero, else the release string (`"0.6.0-dev"`).
    pub version: Option<String>,
    /// Release string of newer builds (`"0.6.0-dev"`).
    pub release: Option<String>,
    /// Build number; `None` when absent or 0 (built outside git).
    pub build_number: Option<u64>,
    /// Commit, e.g. `"a1b2c3d"` (`None` for `"unknown"`).
    pub commit: Option<String>,
    /// Compiler and target from the `built with …` line, e.g.
    /// `"GNU 12.2.0 for Linux x86_64"`.
    pub build: Option<String>,
}

/// Parses the output of `llama-server --version` (stdout and stderr, in
/// any order, possibly mixed with backend-loading lines).
///
/// Two `version:` line formats are recognised:
/// - older builds: `version: 4821 (7ab36439)` — build number, commit;
/// - newer builds: `version: 0.6.0-dev (build 7100, commit a1b2c3d)`.
///
/// plus a `built with TEXT` line. Missing parts are `None`.
pub fn parse_llama_version(text: &str) -> LlamaVersion {
    let mut out = LlamaVersion::default();
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("version:") {
            parse_version_line(rest.trim(), &mut out);
        } else if let Some(rest) = line.strip_prefix("built with") {
            out.build = non_empty(rest.trim());
        }
    }
    out.version = out
        .build_number
        .map(|n| n.to_string())
        .or_else(|| out.release.clone());
    out
}

fn parse_version_line(rest: &str, out: &mut LlamaVersion) {
    let (head, inside) = match rest.split_once('(') {
        Some((h, i)) => (h.trim(), i.rsplit_once(')').map_or(i, |(a, _)| a).trim()),
        None => (rest, ""),
    };
    if inside.contains("build ") || inside.contains("commit ") {
        out.release = non_empty(head);
        for part in inside.split(',').map(str::trim) {
            if let Some(n) = part.strip_prefix("build ") {
                out.build_number = n.trim().parse().ok().filter(|&n| n > 0);
            } else if let Some(c) = part.strip_prefix("commit ") {
                out.commit = known(c);
            }
        }
    } else {
        out.build_number = head.parse().ok().filter(|&n| n > 0);
        if out.build_number.is_none() {
            out.release = non_empty(head).filter(|h| h != "0");
        }
        out.commit = known(inside);
    }
}

/// Splits llama.cpp's `/props` `build_info` (`"b7100-a1b2c3d"`) into
/// `(version, commit)`; either may be `None`. A build number of 0 (built
/// outside git) gives `None`, as does a commit of `"unknown"`.
pub fn parse_build_info(build_info: &str) -> (Option<String>, Option<String>) {
    let s = build_info.trim();
    let (num, commit) = s.split_once('-').unwrap_or((s, ""));
    let num = num.strip_prefix('b').unwrap_or(num);
    let version = num
        .parse::<u64>()
        .ok()
        .filter(|&n| n > 0)
        .map(|n| n.to_string());
    (version, known(commit))
}

/// The compute device a server runs on, from its log: `"cuda"`, `"rocm"`,
/// `"vulkan"`, `"metal"` or `"cpu"`; `None` when the log does not tell.
///
/// Recognises llama.cpp (`ggml_cuda_init: found N CUDA|ROCm devices`,
/// `ggml_vulkan: Found N Vulkan devices`, `ggml_metal_init`,
/// `using device CUDA0|ROCm0|Vulkan0|MTL0`, `offloaded 0/N layers to GPU`,
/// CPU model buffers), vLLM (`detected platform X`) and Ollama
/// (`inference compute … library=X`). A GPU build that offloads no layers
/// counts as `"cpu"`: the device is where the model runs, not what was
/// compiled in.
pub fn infer_device(log: &str) -> Option<&'static str> {
    if log.contains("offloaded 0/") {
        return Some("cpu");
    }
    let mut cpu_evidence = false;
    for line in log.lines() {
        if let Some(device) = gpu_from_line(line) {
            return Some(device);
        }
        cpu_evidence |= line.contains("CPU_Mapped model buffer size")
            || line.contains("CPU model buffer size")
            || line.contains("no usable GPU found")
            || line.contains("detected platform cpu")
            || (line.contains("inference compute") && line.contains("library=cpu"));
    }
    cpu_evidence.then_some("cpu")
}

/// The device from `llama-server --list-devices` output: the first GPU
/// listed (`CUDA0: …` → `"cuda"`, `ROCm0`, `Vulkan0`, `MTL0`), `"cpu"` for
/// `(none)` or only CPU-side accelerators (`BLAS`, `AMX`), `None` for an
/// unrecognised device (SYCL, OpenCL, …) or output without the list.
///
/// Newer llama-server builds log too little at the default verbosity for
/// [`infer_device`]; this is the fallback.
pub fn parse_device_list(text: &str) -> Option<&'static str> {
    let (_, list) = text.split_once("Available devices:")?;
    let mut unknown = false;
    let lines = list
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with(' ') || l.starts_with('\t'));
    for line in lines.map(str::trim).filter(|l| !l.is_empty()) {
        if line == "(none)" {
            break;
        }
        let name = line.split(':').next().unwrap_or_default();
        match device_name_kind(name) {
            Some(kind) if kind != "cpu" => return Some(kind),
            _ if name.starts_with("BLAS") || name.starts_with("AMX") => {}
            _ => unknown = true,
        }
    }
    (!unknown).then_some("cpu")
}

fn gpu_from_line(line: &str) -> Option<&'static str> {
    if let Some(rest) = after(line, "ggml_cuda_init: found ") {
        return (leading_number(rest) > 0).then(|| {
            if rest.contains("ROCm") {
                "rocm"
            } else {
                "cuda"
            }
        });
    }
    if let Some(rest) = after(line, "ggml_vulkan: Found ") {
        return (leading_number(rest) > 0).then_some("vulkan");
    }
    if line.contains("ggml_metal_init: found device") || line.contains("ggml_metal_device_init") {
        return Some("metal");
    }
    if let Some(rest) = after(line, "using device ") {
        return device_name_kind(rest);
    }
    if let Some(rest) = after(line, "detected platform ") {
        return device_name_kind(rest).filter(|d| *d != "cpu");
    }
    if line.contains("inference compute") {
        let lib = after(line, "library=")?;
        return device_name_kind(lib).filter(|d| *d != "cpu");
    }
    None
}

fn device_name_kind(name: &str) -> Option<&'static str> {
    let n = name.trim_start().to_ascii_lowercase();
    let kinds = [
        ("cuda", "cuda"),
        ("rocm", "rocm"),
        ("hip", "rocm"),
        ("vulkan", "vulkan"),
        ("mtl", "metal"),
        ("metal", "metal"),
        ("cpu", "cpu"),
    ];
    kinds
        .iter()
        .find(|(prefix, _)| n.starts_with(prefix))
        .map(|(_, k)| *k)
}

fn after<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    line.find(marker).map(|i| &line[i + marker.len()..])
}

fn leading_number(s: &str) -> u64 {
    let digits: String = s
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap_or(0)
}

/// `s` trimmed, unless empty or `"unknown"`.
fn known(s: &str) -> Option<String> {
    non_empty(s).filter(|s| s != "unknown")
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

#[cfg(test)]
mod tests;
