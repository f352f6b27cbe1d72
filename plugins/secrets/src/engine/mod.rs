//! The scanning engine. Its rule: every stage after the keyword pass only narrows (drops a window, a match or a
//! candidate), and work is bounded (windows of at most 64 KiB; a rule that matches 20 000 times in one window,
//! 500 for generic rules, stops for the rest of the file; 1 MiB of decoded base64 per region, 2 levels deep), so
//! hostile input cannot make the work explode. One concern per file, in the order a byte meets them:
//!
//! | file | concern |
//! |---|---|
//! | `scan.rs` | the scan loop: one keyword pass over the batch; per file, its hits open windows, rules' regexes run on those their `SecretGate` admits |
//! | `precheck.rs` | cheap necessary conditions a keyword hit must meet before it opens a window |
//! | `windows.rs` | where a hit lets its rule's regex look: the line, a width, token boundaries |
//! | `groups.rs` | running a regex over a window and reading a match's groups with bounded work |
//! | `candidate.rs` | a match becomes a candidate: secret group, edge and shape checks, allowlists, the validator |
//! | `allow.rs` | allowlists (the rule's and the global ones) |
//! | `decode.rs` | base64 values of Kubernetes Secrets and docker configs, scanned again with their key |
//! | `dedupe.rs` | overlapping candidates: the more specific rule wins |
//! | `emit.rs` | candidates become findings with 1-based lines and character columns |
//! | `probes.rs` | benchmark probes, only with the cargo feature `bench` (not in the plugin) |
//!
//! Validators live in `crate::validate` alone: the engine calls `Validator` methods and never names a variant, so a
//! new validator touches `validate.rs` and the rule data that names it.

mod allow;
mod candidate;
mod decode;
mod dedupe;
mod emit;
pub(crate) mod groups;
mod precheck;
#[cfg(feature = "bench")]
mod probes;
mod scan;
mod windows;

use crate::ac::Keywords;
use crate::rules::{Allow, Rule};
use regex::bytes::Regex;
use serde::Serialize;

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Finding {
    pub rule_id: String,
    pub description: String,
    pub severity: String,
    pub path: String,
    pub start_line: usize,
    pub end_line: usize,
    pub start_column: usize,
    pub end_column: usize,
    pub secret: String,
    #[serde(rename = "match")]
    pub matched: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entropy: Option<f64>,
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// A match that passed its rule's checks, before de-duplication.
#[derive(Debug, Clone)]
struct Cand {
    rule: u32,
    /// Location (absolute offsets in the top-level buffer) reported for the finding.
    loc: (usize, usize),
    secret: Vec<u8>,
    matched: Vec<u8>,
    entropy: f64,
    conf: &'static str,
    priority: i32,
    decoded: bool,
}

pub struct FileRef<'a> {
    pub path: &'a str,
    pub commit: Option<&'a str>,
    pub start: usize,
    pub end: usize,
}

pub struct Engine {
    pub rules: Vec<Rule>,
    pub allow: Vec<Allow>,
    /// Every rule keyword, then `decode::DECODE_KEYWORDS` (pattern ids from `decode_base` on).
    kw: Keywords,
    /// Per keyword pattern: the rules it opens windows for.
    kw_rules: Vec<Vec<u32>>,
    /// Rules with a regex and no keyword: their regex runs over every whole file.
    nokw_rules: Vec<u32>,
    /// Rules with a path and no regex: the file's path is the finding.
    path_rules: Vec<u32>,
    decode_base: usize,
    decode_re: Regex,
    /// Value-start keywords (RuleSpec::keywords_start_value): (pattern id, keyword). The automaton reports them
    /// after a lead byte only, so `scan` looks for them at the start of each file itself.
    lead_kw: Vec<(u32, Box<[u8]>)>,
}

const fn byte_table(extra: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        t[extra[i] as usize] = true;
        i += 1;
    }
    t
}

static KEY_BYTES: [bool; 256] = byte_table(b"_.-");
static TOKEN_BYTES: [bool; 256] = byte_table(b"_-+/=.~%");

/// A byte of a key name (what the generic rules' `key` group is made of).
#[inline(always)]
fn is_key_byte(b: u8) -> bool {
    KEY_BYTES[b as usize]
}

/// A table, inlined: built for size, the plugin called a function for every byte of every window edge (~4% of
/// a worker's time on the bench corpus).
#[inline(always)]
fn is_token_byte(b: u8) -> bool {
    TOKEN_BYTES[b as usize]
}

impl Engine {
    pub fn new(rules: Vec<Rule>, allow: Vec<Allow>) -> Engine {
        let mut patterns: Vec<String> = Vec::new();
        let mut kw_rules: Vec<Vec<u32>> = Vec::new();
        let mut nokw_rules = Vec::new();
        let mut path_rules = Vec::new();
        let mut ids: std::collections::HashMap<(&str, bool), usize> = std::collections::HashMap::new();
        let mut leads: Vec<bool> = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            if r.regex.is_none() {
                path_rules.push(i as u32);
                continue;
            }
            if r.keywords.is_empty() {
                nokw_rules.push(i as u32);
                continue;
            }
            for k in &r.keywords {
                let pid = *ids.entry((k.as_str(), r.keywords_lead)).or_insert_with(|| {
                    patterns.push(k.clone());
                    leads.push(r.keywords_lead);
                    kw_rules.push(Vec::new());
                    patterns.len() - 1
                });
                if !kw_rules[pid].contains(&(i as u32)) {
                    kw_rules[pid].push(i as u32);
                }
            }
        }
        let decode_base = patterns.len();
        for k in decode::DECODE_KEYWORDS {
            patterns.push(k.to_string());
            kw_rules.push(Vec::new());
        }
        let kw = Keywords::new_with_leads(&patterns, &leads);
        let lead_kw = (0..leads.len()).filter(|&i| leads[i]).map(|i| (i as u32, patterns[i].as_bytes().into())).collect();
        let decode_re = decode::decode_regex();
        Engine { rules, allow, kw, kw_rules, nokw_rules, path_rules, decode_base, decode_re, lead_kw }
    }

    /// Scans a single file's content.
    pub fn scan_file(&self, path: &str, data: &[u8]) -> Vec<Finding> {
        self.scan(data, &[FileRef { path, commit: None, start: 0, end: data.len() }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_tables_are_the_byte_classes() {
        for b in 0..=255u8 {
            let key = b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-');
            let token = b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+' | b'/' | b'=' | b'.' | b'~' | b'%');
            assert_eq!(is_key_byte(b), key, "key byte {}", b);
            assert_eq!(is_token_byte(b), token, "token byte {}", b);
        }
    }
}
