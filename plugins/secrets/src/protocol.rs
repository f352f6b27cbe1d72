//! The wasmci scan protocol: batch input parsing, mounted-file input, JSON output, `describe`.

use crate::engine::{Engine, FileRef, Finding};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Header {
    files: Vec<FileEntry>,
    #[serde(default)]
    #[allow(dead_code)]
    options: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct FileEntry {
    path: String,
    size: u64,
    #[serde(default)]
    commit: Option<String>,
}

#[derive(Serialize)]
pub struct FileError {
    pub path: String,
    pub message: String,
}

#[derive(Serialize)]
pub struct ScanOutput {
    pub findings: Vec<Finding>,
    pub errors: Vec<FileError>,
}

/// Files that look binary (a NUL byte near the start) are skipped, like git and gitleaks do.
fn is_binary(data: &[u8]) -> bool {
    memchr::memchr(0, &data[..data.len().min(8000)]).is_some()
}

/// Scans a batch: a JSON header line, `\n`, then the files' bytes back to back.
pub fn scan_batch(engine: &Engine, input: &[u8]) -> Result<ScanOutput, String> {
    let nl = memchr::memchr(b'\n', input).unwrap_or(input.len());
    let header: Header = serde_json::from_slice(&input[..nl]).map_err(|e| format!("invalid batch header: {}", e))?;
    let body_start = (nl + 1).min(input.len());
    let mut errors = Vec::new();
    let mut files = Vec::with_capacity(header.files.len());
    let mut off = body_start;
    for f in &header.files {
        let size = f.size as usize;
        let end = off.saturating_add(size);
        if end > input.len() {
            errors.push(FileError {
                path: f.path.clone(),
                message: format!(
                    "truncated batch: expected {} bytes, only {} available",
                    size,
                    input.len().saturating_sub(off)
                ),
            });
            off = input.len();
            continue;
        }
        if !is_binary(&input[off..end]) {
            files.push(FileRef { path: &f.path, commit: f.commit.as_deref(), start: off, end });
        }
        off = end;
    }
    let findings = engine.scan(input, &files);
    Ok(ScanOutput { findings, errors })
}

pub fn scan_named(engine: &Engine, name: &str, data: &[u8]) -> ScanOutput {
    let findings = if is_binary(data) { Vec::new() } else { engine.scan_file(name, data) };
    ScanOutput { findings, errors: Vec::new() }
}

/// Resolves the mounted-file form's path: absolute as given, otherwise under the mount directory.
pub fn resolve_mounted(name: &str, mount: Option<&str>) -> String {
    if name.starts_with('/') {
        return name.to_string();
    }
    let m = mount.filter(|m| !m.is_empty()).unwrap_or("/mnt");
    let rel = name.trim_start_matches("./");
    format!("{}/{}", m.trim_end_matches('/'), rel)
}

#[derive(Serialize)]
struct RuleInfo<'a> {
    id: &'a str,
    description: &'a str,
    severity: &'a str,
    /// The rule's tags and `secret`: every rule of this plugin finds a credential (reports mark such rules as
    /// security rules: SARIF security-severity and CWE-798, the Code Quality Security category).
    tags: Vec<&'a str>,
    #[serde(skip_serializing_if = "str::is_empty")]
    remediation: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    docs: &'a str,
    /// The corresponding rule of gitleaks' default config (GitLab report identifiers).
    #[serde(skip_serializing_if = "Option::is_none")]
    gitleaks: Option<&'a str>,
    /// A config rule (custom rules, gitleaks config) in the place of the built-in rule of this id.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    replaces_builtin: bool,
}

#[derive(Serialize)]
struct Describe<'a> {
    name: &'a str,
    version: &'a str,
    kind: &'a str,
    protocol: u32,
    rules: Vec<RuleInfo<'a>>,
    /// The hosts the `verify` export may reach (the runner grants exactly these, and only with --verify).
    verify_hosts: Vec<String>,
}

pub fn describe(engine: &Engine) -> String {
    let d = Describe {
        name: "secrets",
        version: env!("CARGO_PKG_VERSION"),
        kind: "scan",
        protocol: 1,
        rules: engine
            .rules
            .iter()
            .map(|r| RuleInfo {
                id: &r.id,
                description: &r.description,
                severity: &r.severity,
                tags: r.tags.iter().map(|t| t.as_str()).chain(Some("secret").filter(|_| !r.tags.iter().any(|t| t == "secret"))).collect(),
                remediation: &r.remediation,
                docs: &r.docs,
                gitleaks: crate::gitleaks::gitleaks_id(&r.id),
                replaces_builtin: r.replaces_builtin,
            })
            .collect(),
        verify_hosts: crate::verify::providers::hosts(),
    };
    serde_json::to_string(&d).unwrap_or_else(|_| "{}".to_string())
}

/// Entry point shared by the wasm export and native tests: input bytes -> output JSON.
pub fn run_scan(engine: &Engine, input: &[u8], mount: Option<&str>) -> Result<String, String> {
    let first = input.iter().position(|b| !b.is_ascii_whitespace());
    let out = match first {
        Some(i) if input[i] == b'{' => scan_batch(engine, &input[i..])?,
        Some(_) => {
            let name = std::str::from_utf8(input).map_err(|_| "scan: input file name is not valid UTF-8".to_string())?.trim();
            let path = resolve_mounted(name, mount);
            let data = std::fs::read(&path).map_err(|e| {
                format!(
                    "scan: cannot read '{}' (resolved to '{}'): {}. Mount its directory, e.g. --allow-paths '{{\"<dir>\":\"/mnt\"}}'",
                    name, path, e
                )
            })?;
            scan_named(engine, name, &data)
        }
        None => return Err("scan: empty input (expected a batch or a file name)".to_string()),
    };
    serde_json::to_string(&out).map_err(|e| format!("scan: cannot encode output: {}", e))
}
