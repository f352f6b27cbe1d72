//! The scan loop. Its rule: the keyword automaton passes over a batch once, and each keyword hit is looked at
//! once, in order: a hit that passes its rule's prechecks opens a window, overlapping windows of one rule are
//! merged (up to 64 KiB), and the rule's regex runs on its windows only (rules without keywords: on the whole
//! file), on those that hold a run of what its secret is made of (`rules::SecretGate`). A rule that matches
//! 20 000 times in one window (500 for generic rules) stops for the rest of the file: such a file is generated
//! data, and pathological input stays fast.

use super::groups::{capture_limit, for_each_match, Groups};
use super::precheck::admits;
use super::windows::{window, TokenRuns};
use super::{dedupe::dedupe, Cand, Engine, FileRef, Finding};
use crate::ac::Hit;
use crate::validate::{self, Ctx};

const MAX_GENERIC_MATCHES: usize = 500;
const MAX_RULE_MATCHES: usize = 20_000;
/// Overlapping windows of one rule are searched as one, up to this size: a line dense with keyword hits
/// (`password=password=…`) is searched in pieces, not as one window the size of the file (see also
/// `capture_limit`). Split windows may overlap; `dedupe` merges what both find.
const MAX_MERGED_WINDOW: usize = 64 * 1024;

/// Per-scan state reused from file to file (allocated once per batch).
pub(super) struct Scratch {
    /// Per rule: 1 + the index in `windows` of its last window (0: none yet in this region).
    last_win: Vec<u32>,
    windows: Vec<(u32, usize, usize)>,
    /// Per rule: 0 path not checked yet, 1 path matches, 2 it does not, 3 match budget spent.
    path_ok: Vec<u8>,
    /// Rules whose `last_win` or `path_ok` this region set: the next region resets only those (clearing both
    /// tables for 1 103 rules at every file was 5.5 KB of stores per file).
    touched: Vec<u32>,
    runs: TokenRuns,
    /// Per-rule (windows, window bytes, nanoseconds) when profiling (benchmark example only).
    #[cfg(feature = "bench")]
    pub(super) prof: Option<Vec<(usize, usize, u128)>>,
}

impl Engine {
    pub(super) fn scratch(&self) -> Scratch {
        Scratch {
            last_win: vec![0; self.rules.len()],
            windows: Vec::new(),
            path_ok: vec![0; self.rules.len()],
            touched: Vec::new(),
            runs: TokenRuns::default(),
            #[cfg(feature = "bench")]
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

    #[inline(never)]
    fn flush_file(&self, buf: &[u8], f: &FileRef, hits: &[Hit], scratch: &mut Scratch, out: &mut Vec<Finding>) {
        if f.end > buf.len() || f.start > f.end {
            return;
        }
        let ctx = validate::path_context(f.path);
        let mut cands = Vec::new();
        let with_start;
        let hits = match self.value_start_hits(buf, f, hits) {
            Some(h) => {
                with_start = h;
                &with_start[..]
            }
            None => hits,
        };
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

    /// The file's hits with the value-start keywords it begins with (`lead_kw`), when the automaton could not
    /// report them there (no lead byte before the file's first byte in the batch); None when nothing is added.
    fn value_start_hits(&self, buf: &[u8], f: &FileRef, hits: &[Hit]) -> Option<Vec<Hit>> {
        if self.lead_kw.is_empty() {
            return None;
        }
        let text = &buf[f.start..f.end];
        let mut add: Vec<Hit> = Vec::new();
        for (pid, k) in &self.lead_kw {
            let (p, end) = (*pid as usize, f.start + k.len());
            if text.len() >= k.len()
                && text[..k.len()].eq_ignore_ascii_case(k)
                && !hits.iter().any(|h| h.pattern == p && h.start == f.start)
            {
                add.push(Hit { pattern: p, start: f.start, end });
            }
        }
        if add.is_empty() {
            return None;
        }
        // Hits are in order of their end: the added ones end within the file's first keyword's length.
        add.extend_from_slice(hits);
        add.sort_by_key(|h| h.end);
        Some(add)
    }

    /// Scans `buf[fs..fe]` (a file, or a decoded value at `depth` > 0) given its keyword hits.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn scan_region(
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
        for r in scratch.touched.drain(..) {
            scratch.last_win[r as usize] = 0;
            scratch.path_ok[r as usize] = 0;
        }
        scratch.runs = TokenRuns::default();
        for h in hits {
            if h.pattern >= self.decode_base {
                decode = true;
                continue;
            }
            for &r in &self.kw_rules[h.pattern] {
                let rule = &self.rules[r as usize];
                if !admits(rule, buf, h, fe) {
                    continue;
                }
                if let Some(p) = &rule.path {
                    let st = &mut scratch.path_ok[r as usize];
                    if *st == 0 {
                        *st = if p.is_match(path.as_bytes()) { 1 } else { 2 };
                        scratch.touched.push(r);
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
                scratch.touched.push(r);
            }
        }
        let windows = std::mem::take(&mut scratch.windows);
        for &(r, ws, we) in &windows {
            let rule = &self.rules[r as usize];
            // No run of the secret's bytes, no finding: neither run nor compile the regex (half the windows and
            // two thirds of the regexes a scan of the bench corpus compiled, 220 -> 77).
            if rule.gate.map_or(false, |g| !g.admits(&buf[ws..we])) {
                continue;
            }
            if let Some(re) = rule.regex.as_ref().and_then(|r| r.get()) {
                // Bounded work per file and rule: a file with thousands of matches of one
                // rule is generated/junk data (pathological inputs stay fast).
                let mut budget = if rule.generic { MAX_GENERIC_MATCHES } else { MAX_RULE_MATCHES };
                let counted = &mut scratch.path_ok[r as usize];
                if *counted >= 3 {
                    continue;
                }
                #[cfg(feature = "bench")]
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
                #[cfg(feature = "bench")]
                super::probes::record(scratch, r, we - ws, t0);
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
        if decode && depth < super::decode::MAX_DECODE_DEPTH {
            self.decode_pass(buf, fs, fe, path, depth, cands);
        }
    }
}
