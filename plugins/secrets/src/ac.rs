//! A small ASCII-case-insensitive Aho-Corasick automaton compiled to a full DFA.
//!
//! Written here (rather than using the `aho-corasick` crate) so the plugin builds unchanged
//! against the different crate versions Debian releases ship, and so the inner loop is a single
//! table lookup per byte, which V8/wasm executes quickly.
//!
//! The automaton is exact for letters and common punctuation and coarse for the rest: the ten digits are one byte
//! class and the rarer punctuation another (`class_byte`), so a row of the table has 35 columns instead of 51 (the
//! built-in keywords: 2.7 -> 1.85 MB). A keyword with a coarse byte is compared with the text when the automaton
//! reports it, so what `for_each` reports is exactly what a per-byte automaton would.

const MATCH_FLAG: u32 = 0x8000_0000;

/// The byte a keyword byte (or a text byte) stands for in the automaton. Letters are folded to lower case; letters
/// and the punctuation that keywords use most keep their own class (`_ - space .` are in 695, 315, 238 and 120 of
/// the 2 685 built-in keywords; `:` and `/` make `://`, the fifth most frequent keyword hit in the bench corpus);
/// digits share `0`, and every other byte shares `"`. Measured in wasm over 105 MB of the bench corpus, the
/// four-stream walk: 87 -> 81-82 ms (51 -> 35 classes), with 1.2% more steps reporting a state with keywords (those
/// that fail the comparison); the pre-initialised plugin 5.88 -> 5.34 MB.
/// `,` is a class of its own so that a keyword that must start a value (`new_with_leads`) is not reported after one
/// (no keyword has a `,`, so the class is the root's: no column is added).
#[inline]
fn class_byte(b: u8) -> u8 {
    match b.to_ascii_lowercase() {
        l @ (b'a'..=b'z' | b' ' | b'-' | b'_' | b'.' | b':' | b'/' | b',') => l,
        b'0'..=b'9' => b'0',
        _ => b'"',
    }
}

/// Whether keyword byte `b` shares its class with other bytes (then a hit is compared with the text).
#[inline]
fn coarse(b: u8) -> bool {
    let c = class_byte(b);
    c == b'0' || c == b'"'
}

pub struct Keywords {
    /// Number of byte classes (columns of `table`).
    nclasses: usize,
    /// Byte -> class byte offset (class * 4; see `class_byte`).
    classes: [u16; 256],
    /// Transition table; entries are the next state, `origin` + its row's byte offset (state * nclasses * 4), |
    /// MATCH_FLAG when that state has keywords.
    table: Vec<u32>,
    /// What a state adds to its row's byte offset: the table's address in a 32-bit build (wasm), so a step is one
    /// add (the byte's class) and a load, 0 in a 64-bit one (native tests), where a u32 cannot hold an address.
    /// Measured in wasm, with `matched` out of line (`scan --jobs 2` of the bench corpus, 4 rounds taking turns):
    /// time in the walk 635-808 -> 534-686 ms over two workers.
    origin: usize,
    /// For each state (by row offset / (nclasses * 4)): (start, end) into `outputs`.
    out_ranges: Vec<(u32, u32)>,
    outputs: Vec<(u32, u32)>, // (pattern id, pattern length)
    /// Per pattern: its bytes when it has a coarse byte (see `class_byte`), to compare with the text at a hit.
    verify: Vec<Option<Box<[u8]>>>,
    npatterns: usize,
    max_len: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hit {
    pub pattern: usize,
    pub start: usize,
    pub end: usize,
}

/// The bytes a value-start keyword (`Keywords::new_with_leads`) may follow, one of each class: every byte but a
/// letter, a digit, `_`, `-` and `,` (`"` stands for the rest of the punctuation, controls and non-ASCII bytes).
const LEADS: [u8; 5] = [b' ', b'.', b':', b'/', b'"'];

/// Whether a keyword that must start a value may follow byte `b` (see `LEADS`).
#[inline]
pub fn is_lead(b: u8) -> bool {
    !(b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b','))
}

impl Keywords {
    pub fn new<P: AsRef<[u8]>>(patterns: &[P]) -> Keywords {
        Keywords::new_with_leads(patterns, &[])
    }

    /// Like `new`, but a pattern whose `leads` entry is true is reported only where it follows a byte `is_lead`
    /// accepts: in the automaton it is one keyword per class of `LEADS` (the lead byte, then the pattern), and a
    /// hit covers the pattern alone. A pattern at the very start of the text has no lead byte and is not reported
    /// (the caller looks there itself). Why: Facebook's `EAA` prefix came after a `,` 519 000 times in the
    /// base64-VLQ `mappings` of the bench corpus's source maps (36% of all keyword hits), never before a value.
    pub fn new_with_leads<P: AsRef<[u8]>>(patterns: &[P], leads: &[bool]) -> Keywords {
        // What the automaton walks: (bytes, pattern id, length reported).
        let mut paths: Vec<(Vec<u8>, u32, u32)> = Vec::with_capacity(patterns.len());
        for (i, p) in patterns.iter().enumerate() {
            let p = p.as_ref();
            if p.is_empty() {
                continue;
            }
            if leads.get(i).copied().unwrap_or(false) {
                for &l in &LEADS {
                    paths.push(([&[l][..], p].concat(), i as u32, p.len() as u32));
                }
            } else {
                paths.push((p.to_vec(), i as u32, p.len() as u32));
            }
        }
        let mut k = Keywords::build(&paths);
        k.npatterns = patterns.len();
        k.verify = patterns.iter().map(|p| p.as_ref().iter().any(|&b| coarse(b)).then(|| p.as_ref().into())).collect();
        k
    }

    fn build(paths: &[(Vec<u8>, u32, u32)]) -> Keywords {
        // Byte classes: every distinct `class_byte` of a pattern byte gets a class; bytes whose class byte is in no
        // pattern share class 0.
        let mut classes = [0u16; 256];
        let mut n: u16 = 1;
        let mut seen = [0u16; 256];
        for (p, _, _) in paths {
            for &b in p {
                let l = class_byte(b);
                if seen[l as usize] == 0 {
                    seen[l as usize] = n;
                    n += 1;
                }
            }
        }
        for b in 0..256usize {
            classes[b] = seen[class_byte(b as u8) as usize];
        }
        let nclasses = n as usize;
        // The walk adds byte offsets (class * 4, state * nclasses * 4) so each step is add + load, no scaling.
        let mut step_classes = [0u16; 256];
        for b in 0..256usize {
            step_classes[b] = classes[b] * 4;
        }

        // Trie, in one flat table (row = state): a plugin instance builds this at start-up, in wasm code that V8
        // has not optimised yet, so it allocates the table once, sized to the trie (13 188 states x 35 classes for
        // the built-in rules), and keeps each state's own keywords as a list threaded through one vector.
        // 0 marks a missing child (no transition of the trie goes back to the root), so the table is a zeroed
        // allocation (wasi-libc's memset): filling it with u32::MAX was a loop of 676 000 stores in unoptimised
        // wasm, 8.5 ms per `scan --jobs 2` in the CPU profile.
        let nstates = trie_size(paths);
        let mut goto: Vec<u32> = vec![0; nstates * nclasses];
        let mut next_state = 1usize;
        const NONE: u32 = u32::MAX;
        let mut own_head = vec![NONE; nstates];
        let mut own: Vec<((u32, u32), u32)> = Vec::with_capacity(paths.len()); // ((pattern, length), next)
        // States numbered level by level (breadth first): the shallow states, where the walk spends nearly all its
        // steps, are the first rows of the table, packed together.
        // Measured natively on 200 MB of the bench corpus: walk 252 -> 236 ms (insertion order before).
        let mut live: Vec<(usize, u32)> = (0..paths.len()).map(|i| (i, 0u32)).collect();
        let mut depth = 0usize;
        while !live.is_empty() {
            for (path, s) in live.iter_mut() {
                let (p, pid, len) = &paths[*path];
                let at = *s as usize * nclasses + classes[p[depth] as usize] as usize;
                if goto[at] == 0 {
                    goto[at] = next_state as u32;
                    next_state += 1;
                }
                *s = goto[at];
                if p.len() == depth + 1 {
                    own.push(((*pid, *len), own_head[*s as usize]));
                    own_head[*s as usize] = (own.len() - 1) as u32;
                }
            }
            depth += 1;
            live.retain(|(path, _)| paths[*path].0.len() > depth);
        }
        debug_assert_eq!(next_state, nstates);
        // Failure links in state order (= breadth first), completing the DFA (class 0, bytes in no pattern, always
        // goes back to the root). A state's outputs are its own keywords and its failure state's outputs, which
        // come earlier.
        let mut fail = vec![0u32; nstates];
        let mut outputs: Vec<(u32, u32)> = Vec::new();
        let mut out_ranges = vec![(0u32, 0u32); nstates];
        for s in 1..nstates {
            let f = fail[s] as usize;
            let start = outputs.len();
            let mut o = own_head[s];
            while o != NONE {
                outputs.push(own[o as usize].0);
                o = own[o as usize].1;
            }
            let (fa, fz) = out_ranges[f];
            outputs.extend_from_within(fa as usize..fz as usize);
            out_ranges[s] = (start as u32, outputs.len() as u32);
            // f < s: a failure link points to a shallower state, numbered earlier, whose row is complete.
            let (a, b) = goto.split_at_mut(s * nclasses);
            complete_row(&mut b[..nclasses], &a[f * nclasses..(f + 1) * nclasses], &mut fail);
        }
        // The table in place of the trie (no second 1.8 MB allocation).
        let mut table = goto;
        let origin = origin_of(&table);
        for t in table.iter_mut() {
            let (a, z) = out_ranges[*t as usize];
            *t = (origin as u32 + *t * nclasses as u32 * 4) | if a < z { MATCH_FLAG } else { 0 };
        }
        let max_len = paths.iter().map(|p| p.0.len()).max().unwrap_or(0);
        Keywords { nclasses, classes: step_classes, table, origin, out_ranges, outputs, verify: Vec::new(), npatterns: 0, max_len }
    }

    pub fn pattern_count(&self) -> usize {
        self.npatterns
    }

    /// Calls `f` for every (overlapping) occurrence, in order of end position.
    #[inline(always)]
    fn step(&self, s: usize, b: u8) -> u32 {
        // SAFETY: `s` is a state the table produced (`origin` + a row start: < nstates * nclasses * 4, a multiple
        // of 4) and every class offset is < nclasses * 4 and a multiple of 4, so the u32 read is in bounds and
        // aligned.
        unsafe {
            let at = s + *self.classes.get_unchecked(b as usize) as usize;
            #[cfg(target_pointer_width = "32")]
            return *(at as *const u32);
            #[cfg(not(target_pointer_width = "32"))]
            return *((self.table.as_ptr() as *const u8).add(at) as *const u32);
        }
    }

    /// Reports the keywords of state `s` that end at `end` in `hay` (a keyword with a coarse byte only if the
    /// text is that keyword).
    #[inline(always)]
    fn emit<F: FnMut(Hit)>(&self, hay: &[u8], s: usize, end: usize, f: &mut F) {
        let (a, z) = self.out_ranges[(s - self.origin) / (self.nclasses * 4)];
        for &(pid, len) in &self.outputs[a as usize..z as usize] {
            let start = end - len as usize;
            if let Some(p) = &self.verify[pid as usize] {
                if !hay[start..end].eq_ignore_ascii_case(p) {
                    continue;
                }
            }
            f(Hit { pattern: pid as usize, start, end });
        }
    }

    /// Calls `f` for every (overlapping) occurrence, ordered by start position of the
    /// region they belong to (within a region: by end position). Past the first 64 KiB an
    /// occurrence inside an earlier one of the same keyword may be left out (`Overlaps`).
    #[inline(never)]
    pub fn for_each<F: FnMut(Hit)>(&self, hay: &[u8], mut f: F) {
        if hay.len() < (1 << 16) || self.max_len == 0 {
            self.run(hay, 0, hay.len(), usize::MAX, &mut f);
            return;
        }
        // STREAMS independent DFA walks over consecutive parts of the input, interleaved: a DFA
        // walk is latency-bound (each step's load depends on the previous one), so the walks
        // overlap in the CPU. This loop is most of the plugin's time: 2 -> 4 streams took it
        // from 826 to 878 MB/s natively and one instance from ~265 to ~280 MB/s in wasm.
        const STREAMS: usize = 4;
        let part = hay.len() / STREAMS;
        let bounds: [usize; STREAMS + 1] = [0, part, 2 * part, 3 * part, hay.len()];
        let mut state = [self.origin; STREAMS];
        let mut later: [Vec<Hit>; STREAMS] = Default::default();
        // What the streams after the first keep until their turn: not a hit inside an earlier hit of the
        // same keyword (see `Overlaps`), or a long run of one byte would buffer a hit per byte.
        let mut overlaps: [Overlaps; STREAMS] = Default::default();
        // Unrolled by hand: the plugin is built for size (opt-level "s"), which does not unroll.
        let o = self.origin;
        // Streams 1-3 start one byte early, so a value-start keyword (`new_with_leads`) right at the start of their
        // part has its lead byte; whatever ends on that byte belongs to the stream before.
        let prime = |at: usize| (self.step(o, hay[at - 1]) & !MATCH_FLAG) as usize;
        let (mut s0, mut s1, mut s2, mut s3) = (o, prime(bounds[1]), prime(bounds[2]), prime(bounds[3]));
        for k in 0..part {
            // SAFETY: bounds[i] + k < bounds[i + 1] <= hay.len() since k < part.
            let (t0, t1, t2, t3) = unsafe {
                (
                    self.step(s0, *hay.get_unchecked(k)),
                    self.step(s1, *hay.get_unchecked(bounds[1] + k)),
                    self.step(s2, *hay.get_unchecked(bounds[2] + k)),
                    self.step(s3, *hay.get_unchecked(bounds[3] + k)),
                )
            };
            s0 = (t0 & !MATCH_FLAG) as usize;
            s1 = (t1 & !MATCH_FLAG) as usize;
            s2 = (t2 & !MATCH_FLAG) as usize;
            s3 = (t3 & !MATCH_FLAG) as usize;
            if (t0 | t1 | t2 | t3) & MATCH_FLAG != 0 {
                self.matched([t0, t1, t2, t3], hay, &bounds, k, &mut f, &mut later, &mut overlaps);
            }
        }
        state[0] = s0;
        state[1] = s1;
        state[2] = s2;
        state[3] = s3;
        // Each stream finishes its part, then runs on into the next part far enough to see
        // the matches that start in its own part; those (and only those) are its hits.
        for i in 0..STREAMS {
            let (from, own_end) = (bounds[i] + part, bounds[i + 1]);
            let to = if i + 1 < STREAMS { (own_end + self.max_len - 1).min(hay.len()) } else { own_end };
            let mut s = state[i];
            let (sink, o) = (&mut later[i], &mut overlaps[i]);
            for j in from..to {
                let t = self.step(s, hay[j]);
                s = (t & !MATCH_FLAG) as usize;
                if t & MATCH_FLAG != 0 {
                    self.emit(hay, s, j + 1, &mut |h: Hit| {
                        // (a hit before the part, seen from the byte the stream was primed with, is not its own)
                        if i > 0 && (h.start < bounds[i] || !o.keep(&h)) {
                            return;
                        }
                        sink.push(h)
                    });
                }
            }
        }
        for i in 0..STREAMS {
            let (lo, hi) = (bounds[i], bounds[i + 1]);
            for h in later[i].drain(..) {
                if h.start >= lo && h.start < hi {
                    f(h);
                }
            }
        }
    }

    /// The four streams' step results at offset `k` of their parts, one of them (at least) a state with keywords:
    /// reports stream 0's hits, keeps the others' for their turn. Out of line, so the walk's loop keeps its
    /// registers to itself.
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn matched<F: FnMut(Hit)>(
        &self,
        t: [u32; 4],
        hay: &[u8],
        bounds: &[usize; 5],
        k: usize,
        f: &mut F,
        later: &mut [Vec<Hit>; 4],
        overlaps: &mut [Overlaps; 4],
    ) {
        if t[0] & MATCH_FLAG != 0 {
            self.emit(hay, (t[0] & !MATCH_FLAG) as usize, k + 1, f);
        }
        for i in 1..4 {
            if t[i] & MATCH_FLAG != 0 {
                let (v, o, lo) = (&mut later[i], &mut overlaps[i], bounds[i]);
                self.emit(hay, (t[i] & !MATCH_FLAG) as usize, bounds[i] + k + 1, &mut |h: Hit| {
                    if h.start >= lo && o.keep(&h) {
                        v.push(h)
                    }
                });
            }
        }
    }

    fn run<F: FnMut(Hit)>(&self, hay: &[u8], from: usize, to: usize, start_limit: usize, f: &mut F) {
        let mut s: usize = self.origin;
        for i in from..to {
            let t = self.step(s, hay[i]);
            s = (t & !MATCH_FLAG) as usize;
            if t & MATCH_FLAG != 0 {
                self.emit(hay, s, i + 1, &mut |h: Hit| {
                    if h.start < start_limit {
                        f(h)
                    }
                });
            }
        }
    }

    /// Whether any pattern occurs in `hay` (stops at the first).
    pub fn any_in(&self, hay: &[u8]) -> bool {
        let mut s = self.origin;
        for (i, &b) in hay.iter().enumerate() {
            let t = self.step(s, b);
            s = (t & !MATCH_FLAG) as usize;
            if t & MATCH_FLAG != 0 {
                let mut found = false;
                self.emit(hay, s, i + 1, &mut |_| found = true);
                if found {
                    return true;
                }
            }
        }
        false
    }

    pub fn find_all(&self, hay: &[u8]) -> Vec<Hit> {
        let mut v = Vec::new();
        self.for_each(hay, |h| v.push(h));
        v
    }
}

/// The table's address where a u32 entry holds one (wasm32), else 0. Entries keep their top bit for
/// `MATCH_FLAG`, so the table must end below 2 GiB: the plugin builds its tables first (the default engine and the
/// validators' sets in its memory snapshot, a configured engine at an instance's first call), long before its
/// memory could grow that far (256 MiB by default).
fn origin_of(table: &[u32]) -> usize {
    if cfg!(target_pointer_width = "32") {
        let at = table.as_ptr() as usize;
        assert!(
            at + table.len() * 4 <= MATCH_FLAG as usize,
            "keyword table at {:#x} (+{} bytes) ends above 2 GiB of linear memory (entries keep bit 31 for matches)",
            at,
            table.len() * 4
        );
        at
    } else {
        0
    }
}

/// States of the trie of `patterns` (bytes as their `class_byte`), the root included: the sum over the sorted
/// patterns of what each adds past its common prefix with the one before.
fn trie_size(paths: &[(Vec<u8>, u32, u32)]) -> usize {
    let mut sorted: Vec<&[u8]> = paths.iter().map(|p| p.0.as_slice()).collect();
    sorted.sort_unstable_by(|a, b| a.iter().map(|&x| class_byte(x)).cmp(b.iter().map(|&x| class_byte(x))));
    let mut n = 1;
    let mut prev: &[u8] = &[];
    for p in sorted {
        let common = p.iter().zip(prev).take_while(|(a, b)| class_byte(**a) == class_byte(**b)).count();
        n += p.len() - common;
        prev = p;
    }
    n
}

/// Completes one state's row from its failure state's row `frow`: a missing transition goes where the failure
/// state's does, and a present one gets its failure link from it. Its own function, called once per state, so V8
/// optimises it after the first few thousand calls (a loop inside `new` would run unoptimised to the end).
#[inline(never)]
fn complete_row(row: &mut [u32], frow: &[u32], fail: &mut [u32]) {
    for (t, &ft) in row.iter_mut().zip(frow) {
        if *t == 0 {
            *t = ft;
        } else {
            fail[*t as usize] = ft;
        }
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
    fn interleaved_streams_match_single_stream() {
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
    fn a_run_of_one_letter_keeps_one_hit_per_keyword_length() {
        let k = Keywords::new(&["aaaa", "b"]);
        let hay = vec![b'A'; 1 << 20];
        let mut starts = Vec::new();
        k.for_each(&hay, |h| starts.push(h.start));
        let mut o = Overlaps::default();
        let mut kept = Vec::new();
        k.for_each(&hay, |h| {
            if o.keep(&h) {
                kept.push(h.start)
            }
        });
        assert_eq!(kept, (0..1 << 18).map(|i| i * 4).collect::<Vec<_>>());
        // the streams after the first buffer only non-overlapping hits
        assert!(starts.len() < (1 << 18) + (1 << 20) / 4 + 16, "{} hits", starts.len());
    }
    #[test]
    fn the_table_is_sized_to_the_trie() {
        let pats = ["sk_", "sk_live", "live", "AKIA", "akia", ""];
        // root, s sk sk_ sk_l sk_li sk_liv sk_live, l li liv live, a ak aki akia
        let paths: Vec<(Vec<u8>, u32, u32)> =
            pats.iter().filter(|p| !p.is_empty()).map(|p| (p.as_bytes().to_vec(), 0, p.len() as u32)).collect();
        assert_eq!(trie_size(&paths), 16);
        assert_eq!(Keywords::new(&pats).dims().0, 16);
    }
    #[test]
    fn the_lead_classes_are_the_lead_bytes() {
        // A byte reaches a value-start keyword's path exactly when `is_lead` accepts it.
        let leads: Vec<u8> = LEADS.iter().map(|&b| class_byte(b)).collect();
        for b in 0..=255u8 {
            assert_eq!(leads.contains(&class_byte(b)), is_lead(b), "byte {}", b);
        }
    }
    #[test]
    fn value_start_keywords_follow_a_lead_byte() {
        // pattern 1 must start a value; pattern 0 is the same text, anywhere
        let k = Keywords::new_with_leads(&["eaa", "EAA", "sk_"], &[false, true, true]);
        let got = |hay: &[u8]| {
            let mut v = k.find_all(hay).iter().map(|h| (h.pattern, h.start, h.end)).collect::<Vec<_>>();
            v.sort();
            v
        };
        // after = " ' space . : / ; newline and non-ASCII: reported, the hit covering the keyword alone
        for lead in [b'=', b'"', b'\'', b' ', b'.', b':', b'/', b';', b'\n', b'(', 0xc3] {
            assert_eq!(got(&[lead, b'E', b'A', b'A', b'x']), vec![(0, 1, 4), (1, 1, 4)], "lead {}", lead);
        }
        // after a letter, digit, `_`, `-` or `,` (base64-VLQ source maps: `AAAA,EAAE`), and at the very start: not
        for lead in [b'x', b'X', b'7', b'_', b'-', b','] {
            assert_eq!(got(&[lead, b'E', b'A', b'A', b'x']), vec![(0, 1, 4)], "lead {}", lead);
        }
        assert_eq!(got(b"EAAx"), vec![(0, 0, 3)]);
        assert_eq!(got(b"AAAA,EAAE,sk_x;sk_"), vec![(0, 5, 8), (2, 15, 18)]);
        // through the four streams, with a lead byte on the last byte of a part (parts of 1 << 16 bytes)
        for at in [(1 << 16) - 1, (1 << 16) - 2, 1 << 16, 2 << 16] {
            let mut hay = b"AAAA,EAAE,".repeat(30_000);
            hay.truncate(4 << 16);
            hay[at] = b'=';
            hay[at + 1..at + 4].copy_from_slice(b"sk_");
            let hits: Vec<_> = k.find_all(&hay).into_iter().filter(|h| h.pattern == 2).map(|h| h.start).collect();
            assert_eq!(hits, vec![at + 1], "lead at {}", at);
            assert!(!k.find_all(&hay).iter().any(|h| h.pattern == 1));
        }
    }
    #[test]
    fn coarse_classes_report_only_the_keyword_itself() {
        // Digits share a class, and so do `=`, `"`, `$` and `#`: the automaton reaches the same state for
        // `s3_`/`s7_` and `a=b`/`a#b`, and the comparison keeps only the keyword that is in the text.
        let pats = ["s3_", "S7_", "a=b", "x$y", "live"];
        let k = Keywords::new(&pats);
        let got = |hay: &[u8]| k.find_all(hay).iter().map(|h| (h.pattern, h.start)).collect::<Vec<_>>();
        assert_eq!(got(b"s3_ s7_ s9_ S3_"), vec![(0, 0), (1, 4), (0, 12)]);
        assert_eq!(got(b"a#b a=b a\"b x=y X$Y"), vec![(2, 4), (3, 16)]);
        assert!(!k.any_in(b"s5_ a#b x=y"));
        assert!(k.any_in(b"s5_ a#b x$y"));
        // the same through the four interleaved streams (inputs of 64 KiB and more)
        let mut hay = b"s9_ a#b ".repeat(20_000);
        hay.extend_from_slice(b"s7_ LIVE");
        let hits = k.find_all(&hay);
        assert_eq!(hits.iter().map(|h| h.pattern).collect::<Vec<_>>(), vec![1, 4]);
        // fewer columns than one per distinct byte (class 0 included)
        assert!(k.dims().1 < 1 + "s3_7a=bx$ylive".len());
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

/// Drops a hit that starts inside the previous kept hit of the same keyword (hits arrive by end
/// position). Only a keyword that overlaps itself (a run of one letter) has such hits; they add
/// nothing for the engine, whose window around the kept hit covers them.
#[derive(Default)]
pub struct Overlaps {
    end: Vec<usize>,
}

impl Overlaps {
    #[inline]
    pub fn keep(&mut self, h: &Hit) -> bool {
        if self.end.len() <= h.pattern {
            self.end.resize(h.pattern + 1, 0);
        }
        if h.start < self.end[h.pattern] {
            return false;
        }
        self.end[h.pattern] = h.end;
        true
    }
}
