//! A small ASCII-case-insensitive Aho-Corasick automaton compiled to a full DFA.
//!
//! Written here (rather than using the `aho-corasick` crate) so the plugin builds unchanged
//! against the different crate versions Debian releases ship, and so the inner loop is a single
//! table lookup per byte, which V8/wasm executes quickly.

const MATCH_FLAG: u32 = 0x8000_0000;

pub struct Keywords {
    /// Number of byte classes (columns of `table`).
    nclasses: usize,
    /// Byte -> class (ASCII letters folded to lower case).
    classes: [u16; 256],
    /// Transition table, premultiplied: next state index * nclasses.
    table: Vec<u32>,
    /// For each state (by premultiplied id / nclasses): (start, end) into `outputs`.
    out_ranges: Vec<(u32, u32)>,
    /// Per state: 1 if the state has outputs.
    #[allow(dead_code)]
    is_match: Vec<u8>,
    outputs: Vec<(u32, u32)>, // (pattern id, pattern length)
    npatterns: usize,
    max_len: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hit {
    pub pattern: usize,
    pub start: usize,
    pub end: usize,
}

impl Keywords {
    pub fn new<P: AsRef<[u8]>>(patterns: &[P]) -> Keywords {
        // Byte classes: every distinct (lower-cased) byte appearing in a pattern gets a class;
        // everything else shares class 0.
        let mut classes = [0u16; 256];
        let mut n: u16 = 1;
        let mut seen = [0u16; 256];
        for p in patterns {
            for &b in p.as_ref() {
                let l = b.to_ascii_lowercase();
                if seen[l as usize] == 0 {
                    seen[l as usize] = n;
                    n += 1;
                }
            }
        }
        for b in 0..256usize {
            let l = (b as u8).to_ascii_lowercase();
            classes[b] = seen[l as usize];
        }
        let nclasses = n as usize;

        // Trie.
        let mut goto: Vec<Vec<u32>> = vec![vec![u32::MAX; nclasses]];
        let mut outs: Vec<Vec<(u32, u32)>> = vec![Vec::new()];
        for (pid, p) in patterns.iter().enumerate() {
            let p = p.as_ref();
            if p.is_empty() {
                continue;
            }
            let mut s = 0usize;
            for &b in p {
                let c = classes[b as usize] as usize;
                if goto[s][c] == u32::MAX {
                    goto.push(vec![u32::MAX; nclasses]);
                    outs.push(Vec::new());
                    goto[s][c] = (goto.len() - 1) as u32;
                }
                s = goto[s][c] as usize;
            }
            outs[s].push((pid as u32, p.len() as u32));
        }
        // BFS for failure links, completing the DFA.
        let nstates = goto.len();
        let mut fail = vec![0u32; nstates];
        let mut queue = std::collections::VecDeque::new();
        for c in 0..nclasses {
            let t = goto[0][c];
            if t == u32::MAX {
                goto[0][c] = 0;
            } else {
                fail[t as usize] = 0;
                queue.push_back(t as usize);
            }
        }
        // class 0 (bytes in no pattern) always goes back to the root
        while let Some(s) = queue.pop_front() {
            let f = fail[s] as usize;
            let inherited = outs[f].clone();
            outs[s].extend(inherited);
            for c in 0..nclasses {
                let t = goto[s][c];
                if t == u32::MAX {
                    goto[s][c] = goto[f][c];
                } else {
                    fail[t as usize] = goto[f][c];
                    queue.push_back(t as usize);
                }
            }
        }
        let mut table = Vec::with_capacity(nstates * nclasses);
        for row in &goto {
            for &t in row {
                let flag = if outs[t as usize].is_empty() { 0 } else { MATCH_FLAG };
                table.push((t * nclasses as u32) | flag);
            }
        }
        let mut outputs = Vec::new();
        let mut out_ranges = Vec::with_capacity(nstates);
        let mut is_match = Vec::with_capacity(nstates);
        for o in &outs {
            let start = outputs.len() as u32;
            outputs.extend(o.iter().cloned());
            out_ranges.push((start, outputs.len() as u32));
            is_match.push(if o.is_empty() { 0 } else { 1 });
        }
        let max_len = patterns.iter().map(|p| p.as_ref().len()).max().unwrap_or(0);
        Keywords { nclasses, classes, table, out_ranges, is_match, outputs, npatterns: patterns.len(), max_len }
    }

    pub fn pattern_count(&self) -> usize {
        self.npatterns
    }

    /// Calls `f` for every (overlapping) occurrence, in order of end position.
    #[inline(always)]
    fn step(&self, s: usize, b: u8) -> u32 {
        // SAFETY: `s` is always a premultiplied state id produced by the table (< nstates * nclasses)
        // and every class is < nclasses, so the index is in bounds.
        unsafe { *self.table.get_unchecked(s + *self.classes.get_unchecked(b as usize) as usize) }
    }

    #[inline(always)]
    fn emit<F: FnMut(Hit)>(&self, s: usize, end: usize, f: &mut F) {
        let (a, z) = self.out_ranges[s / self.nclasses];
        for &(pid, len) in &self.outputs[a as usize..z as usize] {
            f(Hit { pattern: pid as usize, start: end - len as usize, end });
        }
    }

    /// Calls `f` for every (overlapping) occurrence, ordered by start position of the
    /// region they belong to (within a region: by end position).
    #[inline(never)]
    pub fn for_each<F: FnMut(Hit)>(&self, hay: &[u8], mut f: F) {
        if hay.len() < (1 << 16) || self.max_len == 0 {
            self.run(hay, 0, hay.len(), usize::MAX, &mut f);
            return;
        }
        // Two interleaved streams: independent DFA walks over the two halves of the input
        // overlap in the CPU (a DFA walk is latency-bound: one dependent load per byte).
        let mid = hay.len() / 2;
        let a_end = (mid + self.max_len - 1).min(hay.len());
        let mut second: Vec<Hit> = Vec::new();
        let (mut sa, mut sb) = (0usize, 0usize);
        let (mut i, mut j) = (0usize, mid);
        let n = mid.min(hay.len() - mid);
        let mut k = 0;
        while k < n {
            let ta = self.step(sa, unsafe { *hay.get_unchecked(i) });
            let tb = self.step(sb, unsafe { *hay.get_unchecked(j) });
            sa = (ta & !MATCH_FLAG) as usize;
            sb = (tb & !MATCH_FLAG) as usize;
            i += 1;
            j += 1;
            if (ta | tb) & MATCH_FLAG != 0 {
                if ta & MATCH_FLAG != 0 {
                    self.emit(sa, i, &mut f);
                }
                if tb & MATCH_FLAG != 0 {
                    self.emit(sb, j, &mut |h: Hit| second.push(h));
                }
            }
            k += 1;
        }
        // finish stream A into the overlap (only matches that start before `mid`)
        while i < a_end {
            let t = self.step(sa, hay[i]);
            sa = (t & !MATCH_FLAG) as usize;
            i += 1;
            if t & MATCH_FLAG != 0 {
                self.emit(sa, i, &mut |h: Hit| {
                    if h.start < mid {
                        f(h)
                    }
                });
            }
        }
        while j < hay.len() {
            let t = self.step(sb, hay[j]);
            sb = (t & !MATCH_FLAG) as usize;
            j += 1;
            if t & MATCH_FLAG != 0 {
                self.emit(sb, j, &mut |h: Hit| second.push(h));
            }
        }
        for h in second {
            if h.start >= mid {
                f(h);
            }
        }
    }

    fn run<F: FnMut(Hit)>(&self, hay: &[u8], from: usize, to: usize, start_limit: usize, f: &mut F) {
        let mut s: usize = 0;
        for i in from..to {
            let t = self.step(s, hay[i]);
            s = (t & !MATCH_FLAG) as usize;
            if t & MATCH_FLAG != 0 {
                self.emit(s, i + 1, &mut |h: Hit| {
                    if h.start < start_limit {
                        f(h)
                    }
                });
            }
        }
    }

    pub fn find_all(&self, hay: &[u8]) -> Vec<Hit> {
        let mut v = Vec::new();
        self.for_each(hay, |h| v.push(h));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn finds_overlapping_case_insensitive() {
        let k = Keywords::new(&["sk_", "sk_live", "live", "AKIA"]);
        let hits = k.find_all(b"xx SK_LIVE_abc akia");
        let got: Vec<(usize, usize)> = hits.iter().map(|h| (h.pattern, h.start)).collect();
        assert_eq!(got, vec![(0, 3), (1, 3), (2, 6), (3, 15)]);
    }
    #[test]
    fn two_streams_match_single_stream() {
        let pats = ["ghp_", "sk_live", "live", "password", "x"];
        let k = Keywords::new(&pats);
        let mut hay = Vec::new();
        let mut r = crate::util::Rng::new(7);
        for _ in 0..200_000 {
            let c = b"ghp_sklivepasswordx \n"[r.below(20)];
            hay.push(c);
        }
        let mut a = Vec::new();
        k.for_each(&hay, |h| a.push(h));
        let mut b = Vec::new();
        k.run(&hay, 0, hay.len(), usize::MAX, &mut |h| b.push(h));
        a.sort_by_key(|h| (h.start, h.end, h.pattern));
        b.sort_by_key(|h| (h.start, h.end, h.pattern));
        assert_eq!(a, b);
        for p in &pats {
            for (i, w) in hay.windows(p.len()).enumerate() {
                if w.eq_ignore_ascii_case(p.as_bytes()) {
                    assert!(b.iter().any(|h| h.start == i && h.end == i + p.len()));
                }
            }
        }
    }
    #[test]
    fn empty() {
        let k = Keywords::new::<&str>(&[]);
        assert!(k.find_all(b"abc").is_empty());
    }
}
impl Keywords {
    /// (states, classes) — for diagnostics.
    pub fn dims(&self) -> (usize, usize) {
        (self.table.len() / self.nclasses, self.nclasses)
    }
}
