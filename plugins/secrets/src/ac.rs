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
    is_match: Vec<u8>,
    outputs: Vec<(u32, u32)>, // (pattern id, pattern length)
    npatterns: usize,
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
        Keywords { nclasses, classes, table, out_ranges, is_match, outputs, npatterns: patterns.len() }
    }

    pub fn pattern_count(&self) -> usize {
        self.npatterns
    }

    /// Calls `f` for every (overlapping) occurrence, in order of end position.
    pub fn for_each<F: FnMut(Hit)>(&self, hay: &[u8], mut f: F) {
        let nc = self.nclasses;
        let table = &self.table[..];
        let classes = &self.classes;
        let is_match = &self.is_match[..];
        let _ = is_match;
        let mut s: usize = 0; // premultiplied
        for (i, &b) in hay.iter().enumerate() {
            let t = table[s + classes[b as usize] as usize];
            s = (t & !MATCH_FLAG) as usize;
            if t & MATCH_FLAG != 0 {
                let st = s / nc;
                let (a, z) = self.out_ranges[st];
                for &(pid, len) in &self.outputs[a as usize..z as usize] {
                    f(Hit { pattern: pid as usize, start: i + 1 - len as usize, end: i + 1 });
                }
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
    fn empty() {
        let k = Keywords::new::<&str>(&[]);
        assert!(k.find_all(b"abc").is_empty());
    }
}
