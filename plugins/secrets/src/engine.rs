//! The scanning engine: keyword pre-filter, per-rule windows, regex matching, validation,
//! base64 decoding, de-duplication and line/column computation.

use crate::ac::{Hit, Keywords};
use crate::rules::{Allow, Precheck, Rule, Target, Validator};
use crate::util::{base64_decode, char_count, shannon_entropy};
use crate::validate::{self, Ctx};
use regex::bytes::{CaptureLocations, Regex};
use serde::Serialize;

/// Files whose content triggers base64 decoding of `key: value` pairs.
const DECODE_KEYWORDS: &[&str] = &[
    "kind: secret",
    "kind: \"secret\"",
    "kind: 'secret'",
    "\"kind\": \"secret\"",
    "\"kind\":\"secret\"",
    ".dockerconfigjson",
    ".dockercfg",
];
const MAX_DECODE_DEPTH: u8 = 2;
const MAX_GENERIC_MATCHES: usize = 500;
const MAX_RULE_MATCHES: usize = 20_000;
/// Overlapping windows of one rule are searched as one, up to this size: a line dense with keyword hits
/// (`password=password=…`) is searched in pieces, not as one window the size of the file (see also
/// `capture_limit`). Split windows may overlap; `dedupe` merges what both find.
const MAX_MERGED_WINDOW: usize = 64 * 1024;
/// Cap on bytes decoded per file (bounded work on hostile input).
const MAX_DECODE_BYTES: usize = 1 << 20;

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
    kw: Keywords,
    kw_rules: Vec<Vec<u32>>,
    nokw_rules: Vec<u32>,
    path_rules: Vec<u32>,
    decode_base: usize,
    decode_re: Regex,
}

struct Scratch {
    last_win: Vec<u32>,
    windows: Vec<(u32, usize, usize)>,
    path_ok: Vec<u8>, // 0 unknown, 1 yes, 2 no
    runs: TokenRuns,
    /// Per-rule (windows, window bytes, nanoseconds) when profiling (benchmark example only).
    prof: Option<Vec<(usize, usize, u128)>>,
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
        let mut ids: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
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
                let pid = *ids.entry(k.as_str()).or_insert_with(|| {
                    patterns.push(k.clone());
                    kw_rules.push(Vec::new());
                    patterns.len() - 1
                });
                if !kw_rules[pid].contains(&(i as u32)) {
                    kw_rules[pid].push(i as u32);
                }
            }
        }
        let decode_base = patterns.len();
        for k in DECODE_KEYWORDS {
            patterns.push(k.to_string());
            kw_rules.push(Vec::new());
        }
        let kw = Keywords::new(&patterns);
        let decode_re = Regex::new(
            r#"(?-u)["']?([A-Za-z0-9_.\-]{1,128})["']?[ \t]*[:=][ \t]*["']?([A-Za-z0-9+/]{12,}={0,2})(?:["']|[ \t]*(?:\r?\n|,|\}|$))"#,
        )
        .expect("decode regex");
        Engine { rules, allow, kw, kw_rules, nokw_rules, path_rules, decode_base, decode_re }
    }

    fn scratch(&self) -> Scratch {
        Scratch {
            last_win: vec![0; self.rules.len()],
            windows: Vec::new(),
            path_ok: vec![0; self.rules.len()],
            runs: TokenRuns::default(),
            prof: None,
        }
    }

    /// Scans a batch buffer holding the given files back to back.
    pub fn scan(&self, buf: &[u8], files: &[FileRef]) -> Vec<Finding> {
        let mut out = Vec::new();
        if files.is_empty() {
            return out;
        }
        let mut scratch = self.scratch();
        let mut hits: Vec<Hit> = Vec::new();
        // A keyword that overlaps itself (twitter's 21 `A`s) hit at every byte of a long run: a 10 MB file
        // of `a`s held 10 M hits and the plugin ran out of memory at 256 MiB.
        let mut overlaps = crate::ac::Overlaps::default();
        let mut cur = 0usize;
        // skip leading empty files lazily in the flush loop
        let first_start = files[0].start;
        let last_end = files.iter().map(|f| f.end).max().unwrap_or(0).min(buf.len());
        let region = &buf[first_start.min(last_end)..last_end];
        let base = first_start.min(last_end);
        self.kw.for_each(region, |mut h| {
            h.start += base;
            h.end += base;
            while cur < files.len() && h.start >= files[cur].end {
                self.flush_file(buf, &files[cur], &hits, &mut scratch, &mut out);
                hits.clear();
                cur += 1;
            }
            if cur < files.len() && h.start >= files[cur].start && h.end <= files[cur].end {
                if overlaps.keep(&h) {
                    hits.push(h);
                }
            }
        });
        while cur < files.len() {
            self.flush_file(buf, &files[cur], &hits, &mut scratch, &mut out);
            hits.clear();
            cur += 1;
        }
        out
    }

    /// Benchmark helper: number of keyword hits (pre-filter only) and hits per keyword.
    pub fn prefilter_dims(&self) -> (usize, usize) {
        self.kw.dims()
    }

    pub fn prefilter_stats(&self, buf: &[u8]) -> (usize, Vec<(String, usize)>) {
        let mut counts = vec![0usize; self.kw.pattern_count()];
        let mut n = 0;
        self.kw.for_each(buf, |h| {
            n += 1;
            counts[h.pattern] += 1;
        });
        let mut names: Vec<(String, usize)> = Vec::new();
        for (i, c) in counts.into_iter().enumerate() {
            if c > 0 {
                let kw = if i < self.decode_base {
                    self.rules[self.kw_rules[i][0] as usize].keywords.iter().find(|_| true).cloned().unwrap_or_default()
                } else {
                    String::new()
                };
                names.push((format!("{}#{}", kw, i), c));
            }
        }
        names.sort_by_key(|x| std::cmp::Reverse(x.1));
        (n, names)
    }

    /// Benchmark helper: per-rule regex work on one file as (rule id, windows, window bytes, ns), costliest first.
    pub fn profile_file(&self, path: &str, data: &[u8]) -> Vec<(String, usize, usize, u128)> {
        let hits = self.kw.find_all(data);
        let mut scratch = self.scratch();
        scratch.prof = Some(vec![(0, 0, 0); self.rules.len()]);
        let mut cands = Vec::new();
        self.scan_region(data, 0, data.len(), path, validate::path_context(path), &hits, &mut scratch, 0, &mut cands);
        let mut out: Vec<_> = scratch.prof.unwrap().into_iter().enumerate().filter(|(_, p)| p.0 > 0)
            .map(|(i, p)| (self.rules[i].id.clone(), p.0, p.1, p.2)).collect();
        out.sort_by_key(|x| std::cmp::Reverse(x.3));
        out
    }

    /// Scans a single file's content.
    pub fn scan_file(&self, path: &str, data: &[u8]) -> Vec<Finding> {
        self.scan(data, &[FileRef { path, commit: None, start: 0, end: data.len() }])
    }

    #[inline(never)]
    fn flush_file(&self, buf: &[u8], f: &FileRef, hits: &[Hit], scratch: &mut Scratch, out: &mut Vec<Finding>) {
        if f.end > buf.len() || f.start > f.end {
            return;
        }
        let ctx = validate::path_context(f.path);
        let mut cands = Vec::new();
        self.scan_region(buf, f.start, f.end, f.path, ctx, hits, scratch, 0, &mut cands);
        for &r in &self.path_rules {
            let rule = &self.rules[r as usize];
            if let Some(p) = &rule.path {
                if p.is_match(f.path.as_bytes()) && !self.allowed(rule, f.path, b"", b"", b"", f.commit) {
                    cands.push(Cand {
                        rule: r,
                        loc: (f.start, f.start),
                        secret: Vec::new(),
                        matched: f.path.as_bytes().to_vec(),
                        entropy: 0.0,
                        conf: rule.confidence,
                        priority: rule.priority,
                        decoded: false,
                    });
                }
            }
        }
        if cands.is_empty() {
            return;
        }
        if let Some(c) = f.commit {
            cands.retain(|cd| !self.rules[cd.rule as usize].allow.iter().any(|a| a.commits.iter().any(|x| x == c)));
        }
        let kept = dedupe(cands);
        self.emit(buf, f, kept, out);
    }

    #[allow(clippy::too_many_arguments)]
    fn scan_region(
        &self,
        buf: &[u8],
        fs: usize,
        fe: usize,
        path: &str,
        ctx: Ctx,
        hits: &[Hit],
        scratch: &mut Scratch,
        depth: u8,
        cands: &mut Vec<Cand>,
    ) {
        let mut decode = false;
        scratch.windows.clear();
        for x in scratch.last_win.iter_mut() {
            *x = 0;
        }
        for x in scratch.path_ok.iter_mut() {
            *x = 0;
        }
        scratch.runs = TokenRuns::default();
        for h in hits {
            if h.pattern >= self.decode_base {
                decode = true;
                continue;
            }
            for &r in &self.kw_rules[h.pattern] {
                let rule = &self.rules[r as usize];
                match rule.precheck {
                    Precheck::None => {}
                    Precheck::Assignment => match assignment_op(buf, h.end, fe) {
                        None => continue,
                        Some(op) => {
                            // built-in generic rules share one value syntax: decide on the value itself
                            if rule.builtin && rule.validator == Validator::Generic {
                                if let Some(v) = generic_value_at(buf, op, fe) {
                                    if validate::generic_value_rejected(v)
                                        || rule.entropy.map(|m| shannon_entropy(v) < m).unwrap_or(false)
                                    {
                                        continue;
                                    }
                                }
                            }
                        }
                    },
                    Precheck::Userinfo => {
                        if !precheck_userinfo(buf, h.end, fe) {
                            continue;
                        }
                    }
                    Precheck::KeyAssignment => {
                        if !precheck_key_assignment(buf, h.end, fe) {
                            continue;
                        }
                    }
                }
                if !rule.keywords_exact.is_empty() && !rule.keywords_exact.iter().any(|k| &buf[h.start..h.end] == k.as_slice()) {
                    continue;
                }
                if rule.min_run > 0 && (h.end + rule.min_run > fe || !buf[h.end..h.end + rule.min_run].iter().all(|&b| is_token_byte(b))) {
                    continue;
                }
                if let Some(p) = &rule.path {
                    let st = &mut scratch.path_ok[r as usize];
                    if *st == 0 {
                        *st = if p.is_match(path.as_bytes()) { 1 } else { 2 };
                    }
                    if *st == 2 {
                        continue;
                    }
                }
                let (ws, we) = window(rule, buf, fs, fe, h.start, h.end, &mut scratch.runs);
                let lw = scratch.last_win[r as usize];
                if lw > 0 {
                    let w = &mut scratch.windows[lw as usize - 1];
                    if ws <= w.2 && we.max(w.2) - w.1.min(ws) <= MAX_MERGED_WINDOW {
                        w.1 = w.1.min(ws);
                        w.2 = w.2.max(we);
                        continue;
                    }
                }
                scratch.windows.push((r, ws, we));
                scratch.last_win[r as usize] = scratch.windows.len() as u32;
            }
        }
        let windows = std::mem::take(&mut scratch.windows);
        for &(r, ws, we) in &windows {
            let rule = &self.rules[r as usize];
            if let Some(re) = rule.regex.as_ref().and_then(|r| r.get()) {
                // Bounded work per file and rule: a file with thousands of matches of one
                // rule is generated/junk data (pathological inputs stay fast).
                let mut budget = if rule.generic { MAX_GENERIC_MATCHES } else { MAX_RULE_MATCHES };
                let counted = &mut scratch.path_ok[r as usize];
                if *counted >= 3 {
                    continue;
                }
                let t0 = scratch.prof.as_ref().map(|_| std::time::Instant::now());
                for_each_match(re, &buf[ws..we], capture_limit(rule), |caps| {
                    budget -= 1;
                    if budget == 0 {
                        *counted = 3;
                        return false;
                    }
                    let g = Groups { locs: caps, re, base: ws };
                    if let Some(c) = self.candidate(r, buf, fs, fe, ws, we, &g, path, ctx) {
                        cands.push(c);
                    }
                    true
                });
                if let (Some(p), Some(t0)) = (scratch.prof.as_mut(), t0) {
                    let e = &mut p[r as usize];
                    e.0 += 1;
                    e.1 += we - ws;
                    e.2 += t0.elapsed().as_nanos();
                }
            }
        }
        scratch.windows = windows;
        for &r in &self.nokw_rules {
            let rule = &self.rules[r as usize];
            if let Some(p) = &rule.path {
                if !p.is_match(path.as_bytes()) {
                    continue;
                }
            }
            if let Some(re) = rule.regex.as_ref().and_then(|r| r.get()) {
                for_each_match(re, &buf[fs..fe], capture_limit(rule), |caps| {
                    let g = Groups { locs: caps, re, base: fs };
                    if let Some(c) = self.candidate(r, buf, fs, fe, fs, fe, &g, path, ctx) {
                        cands.push(c);
                    }
                    true
                });
            }
        }
        if decode && depth < MAX_DECODE_DEPTH {
            self.decode_pass(buf, fs, fe, path, depth, cands);
        }
    }

    fn decode_pass(&self, buf: &[u8], fs: usize, fe: usize, path: &str, depth: u8, cands: &mut Vec<Cand>) {
        let mut budget = MAX_DECODE_BYTES;
        let region = &buf[fs..fe];
        for caps in self.decode_re.captures_iter(region) {
            let (k, v) = match (caps.get(1), caps.get(2)) {
                (Some(k), Some(v)) => (k, v),
                _ => continue,
            };
            if v.end() - v.start() > budget {
                break;
            }
            budget -= v.end() - v.start();
            let dec = match base64_decode(v.as_bytes()) {
                Some(d) if !d.is_empty() => d,
                _ => continue,
            };
            if std::str::from_utf8(&dec).is_err()
                || dec.iter().any(|&b| b < 0x20 && b != b'\n' && b != b'\r' && b != b'\t')
            {
                continue;
            }
            // Give the decoded value its key as context: "password: <decoded>".
            let mut virt = Vec::with_capacity(k.as_bytes().len() + dec.len() + 3);
            virt.extend_from_slice(k.as_bytes());
            virt.extend_from_slice(b": ");
            let value_at = virt.len();
            virt.extend_from_slice(&dec);
            virt.push(b'\n');
            let hits = self.kw.find_all(&virt);
            let mut sub = Vec::new();
            let mut scratch = self.scratch();
            self.scan_region(&virt, 0, virt.len(), path, Ctx::Config, &hits, &mut scratch, depth + 1, &mut sub);
            let loc = (fs + v.start(), fs + v.end());
            for mut c in sub {
                // findings must touch the decoded value, not only the synthesized key
                if c.matched.len() < virt.len() - value_at && c.secret.is_empty() {
                    continue;
                }
                c.loc = loc;
                c.decoded = true;
                c.priority += 1;
                cands.push(c);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn candidate(
        &self,
        r: u32,
        buf: &[u8],
        fs: usize,
        fe: usize,
        ws: usize,
        we: usize,
        caps: &Groups,
        path: &str,
        ctx: Ctx,
    ) -> Option<Cand> {
        let rule = &self.rules[r as usize];
        let m = caps.get(0)?;
        let (mut ms, mut me) = m;
        let g = match rule.secret_group {
            Some(0) => Some(m),
            Some(n) => caps.get(n).or_else(|| caps.first_group()),
            None => caps.name("secret").or_else(|| caps.first_group()),
        }
        .unwrap_or(m);
        if g.0 == g.1 {
            return None;
        }
        let (s, mut e) = g;
        if rule.secret_max > 0 && e - s > rule.secret_max {
            let cut = s + rule.secret_max;
            if me == e {
                me = cut;
            }
            e = cut;
        }
        let key_span = caps.name("key").map(|k| {
            let (mut ks, ke) = k;
            let lim = ks.saturating_sub(rule.key_prefix).max(ws);
            while ks > lim && is_key_byte(buf[ks - 1]) {
                ks -= 1;
            }
            ms = ms.min(ks);
            (ks, ke)
        });
        // A match cut by the window edge (inside a longer token) is not trustworthy.
        if !rule.anchored && ms == ws && ws > fs && buf[ws - 1] != b'\n' && is_token_byte(buf[ws - 1]) && is_token_byte(buf[ws]) {
            return None;
        }
        if me == we && we < fe && buf[we] != b'\n' && is_token_byte(buf[we]) && me > ms && is_token_byte(buf[me - 1]) {
            return None;
        }
        if rule.trail > 0 && e < fe {
            let b = buf[e];
            let bad = b.is_ascii_alphanumeric() || b == b'_' || (rule.trail == 2 && matches!(b, b'-' | b'+' | b'/' | b'='));
            if bad {
                return None;
            }
        }
        let secret = &buf[s..e];
        let matched = &buf[ms..me];
        let entropy = shannon_entropy(secret);
        if let Some(min) = rule.entropy {
            if entropy < min {
                return None;
            }
        }
        if rule.placeholders && rule.validator != Validator::Pem && validate::is_placeholder(secret) {
            return None;
        }
        if rule.validator != Validator::Pem && validate::looks_like_regex(secret, &buf[e..(e + 3).min(fe)]) {
            return None;
        }
        let line = || {
            let ls = memchr::memrchr(b'\n', &buf[fs..s]).map(|i| fs + i + 1).unwrap_or(fs);
            let le = memchr::memchr(b'\n', &buf[e..fe]).map(|i| e + i).unwrap_or(fe);
            &buf[ls..le]
        };
        if self.allowed_with(rule, path, secret, matched, &line, None) {
            return None;
        }
        let mut conf = rule.confidence;
        match rule.validator {
            Validator::None => {}
            Validator::Base62Crc32 => match validate::base62_checksum(secret) {
                Some(true) => conf = "high",
                Some(false) => conf = "low",
                None => {}
            },
            Validator::Jwt => match validate::jwt_check(secret) {
                Some(true) => {}
                _ => return None,
            },
            Validator::Pem => {
                if !validate::pem_check(secret) {
                    return None;
                }
            }
            Validator::UrlPassword => {
                if !validate::url_password_check(secret, matched) {
                    return None;
                }
            }
            Validator::BasicAuth => {
                if !validate::basic_auth_check(secret) {
                    return None;
                }
            }
            Validator::Bech32 => {
                conf = if validate::bech32_check(secret) { "high" } else { "low" };
            }
            Validator::AwsSecret => {
                if !validate::aws_secret_ok(secret) {
                    return None;
                }
            }
            Validator::Generic => {
                let key = key_span.map(|(ks, ke)| &buf[ks..ke]).unwrap_or(b"");
                if !key.is_empty() && !validate::secret_key_name(key) {
                    return None;
                }
                let quote = caps.name("q").map(|(qs, qe)| &buf[qs..qe]).unwrap_or(b"");
                let quoted = !quote.is_empty();
                if quoted {
                    // the value must be the whole quoted string
                    if e >= fe || buf[e] != quote[0] {
                        return None;
                    }
                } else if e < fe && matches!(buf[e], b'(' | b'[' | b'.' | b'{') {
                    return None;
                }
                let env_style = {
                    // from the key back to the line start without scanning a whole minified line
                    let ks = key_span.map(|(ks, _)| ks).unwrap_or(ms);
                    // `arn:aws:secretsmanager:...:secret:name`: the key is a resource type inside an ARN
                    if ks > fs && buf[ks - 1] == b':' && crate::util::contains(&buf[ks.saturating_sub(200).max(fs)..ks], b"arn:") {
                        return None;
                    }
                    let blank_back = |mut i: usize| {
                        while i > fs && (buf[i - 1] == b' ' || buf[i - 1] == b'\t') {
                            i -= 1;
                        }
                        i
                    };
                    let at_line_start = |i: usize| i == fs || buf[i - 1] == b'\n';
                    let pre_ok = at_line_start(blank_back(ks)) || {
                        // `export KEY=` / `exportKEY=` (at most one space after `export`)
                        let k = if ks > fs && buf[ks - 1] == b' ' { ks - 1 } else { ks };
                        k >= fs + 6 && &buf[k - 6..k] == b"export" && at_line_start(blank_back(k - 6))
                    };
                    pre_ok && (ctx != Ctx::Code || key.iter().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_'))
                };
                if !validate::generic_value_ok(secret, quoted, ctx, env_style) {
                    return None;
                }
                if let Some(min) = rule.entropy {
                    if entropy < min {
                        return None;
                    }
                }
                conf = if entropy >= 4.0 && secret.len() >= 20 { "medium" } else { "low" };
            }
        }
        Some(Cand {
            rule: r,
            loc: (s, e),
            secret: secret.to_vec(),
            matched: matched.to_vec(),
            entropy,
            conf,
            priority: rule.priority,
            decoded: false,
        })
    }

    fn allowed(&self, rule: &Rule, path: &str, secret: &[u8], matched: &[u8], line: &[u8], commit: Option<&str>) -> bool {
        self.allowed_with(rule, path, secret, matched, &|| line, commit)
    }

    fn allowed_with<'b>(
        &self,
        rule: &Rule,
        path: &str,
        secret: &[u8],
        matched: &[u8],
        line: &dyn Fn() -> &'b [u8],
        commit: Option<&str>,
    ) -> bool {
        rule.allow.iter().chain(self.allow.iter()).any(|a| allow_matches(a, path, secret, matched, line, commit))
    }

    fn emit(&self, buf: &[u8], f: &FileRef, mut kept: Vec<Cand>, out: &mut Vec<Finding>) {
        kept.sort_by_key(|c| (c.loc.0, c.loc.1));
        // incremental line/column tracking
        let mut line = 1usize;
        let mut line_start = f.start;
        let mut pos = f.start;
        // column cache for repeated findings on one (long) line: (offset, column at offset)
        let mut col_cache: (usize, usize) = (f.start, 1);
        for c in kept {
            let rule = &self.rules[c.rule as usize];
            let (s, e) = c.loc;
            // advance to s
            let seg = &buf[pos..s];
            let n = memchr::memchr_iter(b'\n', seg).count();
            if n > 0 {
                line += n;
                line_start = pos + memchr::memrchr(b'\n', seg).unwrap() + 1;
                col_cache = (line_start, 1);
            }
            pos = s;
            let start_col = if col_cache.0 <= s && col_cache.0 >= line_start {
                col_cache.1 + char_count(&buf[col_cache.0..s])
            } else {
                char_count(&buf[line_start..s]) + 1
            };
            col_cache = (s, start_col);
            // end: column of the last character of the secret
            let (end_line, end_col) = if e <= s {
                (line, start_col)
            } else {
                let mut last = e - 1;
                while last > s && (buf[last] & 0xC0) == 0x80 {
                    last -= 1;
                }
                let inner = &buf[s..last];
                let n2 = memchr::memchr_iter(b'\n', inner).count();
                if n2 == 0 {
                    (line, start_col + char_count(inner))
                } else {
                    let ls2 = s + memchr::memrchr(b'\n', inner).unwrap() + 1;
                    (line + n2, char_count(&buf[ls2..last]) + 1)
                }
            };
            let mut tags = rule.tags.clone();
            if c.decoded {
                tags.push("decoded:base64".to_string());
            }
            out.push(Finding {
                rule_id: rule.id.clone(),
                description: rule.description.clone(),
                severity: rule.severity.clone(),
                path: f.path.to_string(),
                start_line: line,
                end_line,
                start_column: start_col,
                end_column: end_col,
                secret: String::from_utf8_lossy(&c.secret).into_owned(),
                matched: String::from_utf8_lossy(&c.matched).into_owned(),
                entropy: if c.secret.is_empty() { None } else { Some((c.entropy * 1000.0).round() / 1000.0) },
                tags,
                confidence: Some(c.conf.to_string()),
                commit: f.commit.map(|s| s.to_string()),
            });
        }
    }
}

trait TrimCompat {
    fn trim_ascii_start_compat(&self) -> &[u8];
}
impl TrimCompat for [u8] {
    fn trim_ascii_start_compat(&self) -> &[u8] {
        let mut i = 0;
        while i < self.len() && (self[i] == b' ' || self[i] == b'\t') {
            i += 1;
        }
        &self[i..]
    }
}

/// A match's groups as offsets in the scanned buffer (`base`: where the searched haystack starts).
struct Groups<'a> {
    locs: &'a CaptureLocations,
    re: &'a Regex,
    base: usize,
}

impl Groups<'_> {
    fn get(&self, i: usize) -> Option<(usize, usize)> {
        self.locs.get(i).map(|(s, e)| (self.base + s, self.base + e))
    }

    fn name(&self, name: &str) -> Option<(usize, usize)> {
        self.re.capture_names().position(|n| n == Some(name)).and_then(|i| self.get(i))
    }

    /// The first non-empty group.
    fn first_group(&self) -> Option<(usize, usize)> {
        (1..self.locs.len()).filter_map(|i| self.get(i)).find(|g| g.0 < g.1)
    }
}

/// How far past a match's start its groups are worth resolving, or None (no bound): a rule with
/// `secret_max` cuts its secret in code, so its regex ends in an unbounded run, and what lies past
/// the key, operator and `secret_max` bytes of value is never used. The bound keeps the NFA the
/// regex crate runs for groups from walking the whole run (a 9 MB line of `password=password=…`
/// took 10 s natively, a window at most 64 KiB still 2 MB/s).
fn capture_limit(rule: &Rule) -> Option<usize> {
    (rule.secret_max > 0).then(|| rule.secret_max + 1024)
}

/// `captures_iter` over `hay`, reusing one set of capture slots; `f` returns false to stop. With a
/// `limit`, a match longer than it is found by the DFA alone and its groups are resolved in its first
/// `limit` bytes (the search goes on after the whole match, as `captures_iter` would).
fn for_each_match(re: &Regex, hay: &[u8], limit: Option<usize>, mut f: impl FnMut(&CaptureLocations) -> bool) {
    let mut locs = re.capture_locations();
    let mut at = 0;
    let mut last_match: Option<usize> = None;
    while at <= hay.len() {
        let (s, e) = match limit {
            Some(lim) => match re.find_at(hay, at) {
                None => return,
                Some(m) => {
                    let end = m.end().min(m.start() + lim);
                    match re.captures_read_at(&mut locs, &hay[..end], m.start()) {
                        // at the match's own start (a run cut at `end` still matches there)
                        Some(t) if t.start() == m.start() => (m.start(), m.end()),
                        _ => {
                            at = m.end().max(at + 1);
                            continue;
                        }
                    }
                }
            },
            None => match re.captures_read_at(&mut locs, hay, at) {
                None => return,
                Some(m) => (m.start(), m.end()),
            },
        };
        if s == e {
            at = e + 1;
            if last_match == Some(e) {
                continue;
            }
        } else {
            at = e;
        }
        last_match = Some(e);
        if !f(&locs) {
            return;
        }
    }
}

fn allow_matches<'b>(
    a: &Allow,
    path: &str,
    secret: &[u8],
    matched: &[u8],
    line: &dyn Fn() -> &'b [u8],
    commit: Option<&str>,
) -> bool {
    let target_match = |re: &Regex| match a.target {
        Target::Secret => re.is_match(secret),
        Target::Match => re.is_match(matched),
        Target::Line => re.is_match(line()),
    };
    let checks: [Option<bool>; 4] = [
        if a.commits.is_empty() { None } else { Some(commit.map(|c| a.commits.iter().any(|x| x == c)).unwrap_or(false)) },
        if a.paths.is_empty() { None } else { Some(a.paths.iter().any(|p| p.is_match(path.as_bytes()))) },
        if a.regexes.is_empty() { None } else { Some(a.regexes.iter().any(|r| target_match(r))) },
        if a.stopwords.is_empty() {
            None
        } else {
            let l = secret.to_ascii_lowercase();
            Some(a.stopwords.iter().any(|w| crate::util::contains(&l, w)))
        },
    ];
    let present: Vec<bool> = checks.iter().filter_map(|c| *c).collect();
    if present.is_empty() {
        return false;
    }
    if a.and {
        present.iter().all(|x| *x)
    } else {
        present.iter().any(|x| *x)
    }
}

/// The token runs a file's windows were last extended over: `(a, b)` with every byte of `buf[a..b]` a
/// token byte, `fwd.1` followed by a non-token byte (or the region's end) and `bwd.0` preceded by one
/// (or the region's start). Keyword hits come in order, so on a long run dense with hits (a minified
/// line, `password=password=…`) each byte is looked at about once instead of 512 times per hit.
#[derive(Default)]
struct TokenRuns {
    fwd: Option<(usize, usize)>,
    bwd: Option<(usize, usize)>,
}

impl TokenRuns {
    /// The first non-token position at or after `p` (or `fe`), capped at `lim`.
    fn end_from(&mut self, buf: &[u8], p: usize, lim: usize, fe: usize) -> usize {
        let mut q = p;
        match self.fwd {
            Some((a, b)) if a <= p && p <= b => return b.min(lim),
            Some((a, b)) if p < a => {
                while q < a && is_token_byte(buf[q]) {
                    q += 1;
                }
                if q == a {
                    self.fwd = Some((p, b));
                    return b.min(lim);
                }
            }
            _ => {
                while q < fe && is_token_byte(buf[q]) {
                    q += 1;
                }
            }
        }
        self.fwd = Some((p, q));
        q.min(lim)
    }

    /// The start of the token run that ends at `p` (or `fs`), capped at `lim`.
    fn start_before(&mut self, buf: &[u8], p: usize, lim: usize, fs: usize) -> usize {
        let mut q = p;
        match self.bwd {
            Some((a, b)) if a <= p && p <= b => return a.max(lim),
            Some((a, b)) if p > b => {
                while q > b && is_token_byte(buf[q - 1]) {
                    q -= 1;
                }
                if q == b {
                    self.bwd = Some((a, p));
                    return a.max(lim);
                }
            }
            _ => {
                while q > fs && is_token_byte(buf[q - 1]) {
                    q -= 1;
                }
            }
        }
        self.bwd = Some((q, p));
        q.max(lim)
    }
}

fn window(rule: &Rule, buf: &[u8], fs: usize, fe: usize, s: usize, e: usize, runs: &mut TokenRuns) -> (usize, usize) {
    if rule.anchored {
        // the keyword is the token's prefix: one byte of left context for the boundary
        let ws = s.saturating_sub(1).max(fs);
        let mut we = (e + rule.after).min(fe);
        if !rule.multiline {
            if let Some(i) = memchr::memchr(b'\n', &buf[e..we]) {
                we = e + i;
            }
        }
        return (ws, we);
    }
    let mut ws = s.saturating_sub(rule.before).max(fs);
    let mut we = (e + rule.after).min(fe);
    if !rule.multiline {
        if let Some(i) = memchr::memrchr(b'\n', &buf[ws..s]) {
            ws += i + 1;
        }
        if let Some(i) = memchr::memchr(b'\n', &buf[e..we]) {
            we = e + i;
        }
    }
    // extend to token boundaries so a regex does not start/end inside a token (by at most 256 bytes)
    let ws = runs.start_before(buf, ws, ws.saturating_sub(256).max(fs), fs);
    let we = runs.end_from(buf, we, (we + 256).min(fe), fe);
    (ws, we)
}

/// `password` followed by an optional closing quote/bracket, spaces and an assignment operator.
fn precheck_assignment(buf: &[u8], e: usize, fe: usize) -> bool {
    assignment_op(buf, e, fe).is_some()
}

/// The offset of the assignment operator after a key ending at `e`, if there is one.
fn assignment_op(buf: &[u8], e: usize, fe: usize) -> Option<usize> {
    let mut j = e;
    let mut n = 0;
    while j < fe && n < 3 && matches!(buf[j], b'"' | b'\'' | b'`' | b']' | b'\\') {
        j += 1;
        n += 1;
    }
    let mut sp = 0;
    while j < fe && sp < 4 && (buf[j] == b' ' || buf[j] == b'\t') {
        j += 1;
        sp += 1;
    }
    if j >= fe {
        return None;
    }
    let next = if j + 1 < fe { buf[j + 1] } else { 0 };
    let ok = match buf[j] {
        b'=' => next != b'=' && next != b'~',
        b':' => next != b':',
        b'?' | b'<' => next == b'=' || next == b'-',
        _ => false,
    };
    if ok {
        Some(j)
    } else {
        None
    }
}

/// The value the built-in generic regexes would capture after the operator at `op`
/// (`(?:=|:=|:|=>|\?=|<-)[ \t]{0,4}(?:\\?["'`])?` then a run of value bytes), or None when it
/// cannot be decided cheaply (non-ASCII bytes, a run longer than the regex's 200 bytes).
fn generic_value_at(buf: &[u8], op: usize, fe: usize) -> Option<&[u8]> {
    let two = if op + 1 < fe { &buf[op..op + 2] } else { &buf[op..op + 1] };
    let mut j = op + if matches!(two, b":=" | b"=>" | b"?=" | b"<-") { 2 } else { 1 };
    let mut sp = 0;
    while j < fe && sp < 4 && (buf[j] == b' ' || buf[j] == b'\t') {
        j += 1;
        sp += 1;
    }
    if j < fe && buf[j] == b'\\' && j + 1 < fe && matches!(buf[j + 1], b'"' | b'\'' | b'`') {
        j += 2;
    } else if j < fe && matches!(buf[j], b'"' | b'\'' | b'`') {
        j += 1;
    }
    let s = j;
    let lim = (s + 201).min(fe);
    while j < lim {
        let b = buf[j];
        if b >= 0x80 {
            return None;
        }
        if b.is_ascii_whitespace() || b == 0x0b || matches!(b, b'"' | b'\'' | b'`' | b';' | b',' | b'<' | b'>' | b'(' | b')' | b'{' | b'}' | b'[' | b']' | b'\\') {
            break;
        }
        j += 1;
    }
    if j - s > 200 {
        return None;
    }
    if s < fe && buf[s] == b'=' {
        return Some(&buf[s..s]); // the regex refuses a value starting with `=`
    }
    Some(&buf[s..j])
}

/// `<keyword><key chars>["']? <op>`: the keyword begins a key name that is assigned a value.
fn precheck_key_assignment(buf: &[u8], e: usize, fe: usize) -> bool {
    let mut j = e;
    let lim = (e + 33).min(fe);
    while j < lim && (buf[j].is_ascii_alphanumeric() || matches!(buf[j], b'_' | b'.' | b'-')) {
        j += 1;
    }
    precheck_assignment(buf, j, fe)
}

/// `://user:pass@`: an `@` after a `:` within the authority.
fn precheck_userinfo(buf: &[u8], e: usize, fe: usize) -> bool {
    let end = (e + 256).min(fe);
    let mut colon = false;
    for &b in &buf[e..end] {
        match b {
            b':' => colon = true,
            b'@' => return colon,
            b'/' | b' ' | b'\t' | b'\n' | b'\r' | b'"' | b'\'' | b'<' | b'>' | b'`' => return false,
            _ => {}
        }
    }
    false
}

fn better(a: &Cand, b: &Cand) -> bool {
    // true if a should be kept over b
    (a.priority, a.secret.len(), std::cmp::Reverse(a.rule)) > (b.priority, b.secret.len(), std::cmp::Reverse(b.rule))
}

fn dedupe(mut cands: Vec<Cand>) -> Vec<Cand> {
    cands.sort_by_key(|c| (c.loc.0, c.loc.1));
    let mut kept: Vec<Cand> = Vec::with_capacity(cands.len());
    'outer: for c in cands {
        let mut j = kept.len();
        let mut replace: Vec<usize> = Vec::new();
        while j > 0 {
            j -= 1;
            let k = &kept[j];
            let overlap = if k.loc.0 == k.loc.1 || c.loc.0 == c.loc.1 {
                k.loc == c.loc && k.rule == c.rule
            } else {
                k.loc.0 < c.loc.1 && c.loc.0 < k.loc.1
            };
            if overlap {
                if better(k, &c) || (k.rule == c.rule && k.loc == c.loc && k.priority >= c.priority) {
                    continue 'outer;
                }
                replace.push(j);
            }
            if kept.len() - j > 32 {
                break;
            }
        }
        for j in replace {
            kept.remove(j); // indices are in descending order
        }
        kept.push(c);
    }
    kept
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
