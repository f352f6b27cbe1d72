//! Benchmark probes (`examples/bench.rs`), compiled only with the cargo feature `bench`. Their rule: they read
//! the engine and time it, and never change what a scan finds; the plugin is built without them, so the
//! shipped wasm carries no timer calls in its scan loop.

use super::scan::Scratch;
use super::Engine;
use crate::validate;
use std::time::Instant;

/// Adds one window's regex work to the profile, when profiling (`t0` is Some).
pub(super) fn record(scratch: &mut Scratch, r: u32, bytes: usize, t0: Option<Instant>) {
    if let (Some(p), Some(t0)) = (scratch.prof.as_mut(), t0) {
        let e = &mut p[r as usize];
        e.0 += 1;
        e.1 += bytes;
        e.2 += t0.elapsed().as_nanos();
    }
}

impl Engine {
    /// The keyword automaton's dimensions (see `Keywords::dims`).
    pub fn prefilter_dims(&self) -> (usize, usize) {
        self.kw.dims()
    }

    /// The number of keyword hits (pre-filter only) in `buf`, and hits per keyword, most first.
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

    /// Per-rule regex work on one file as (rule id, windows, window bytes, ns), costliest first.
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
}
