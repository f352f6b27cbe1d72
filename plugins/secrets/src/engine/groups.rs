//! Match groups. Their rule: a regex runs over a window with one reused set of capture slots, and reading a
//! match's groups costs at most the rule's `secret_max` + 1 KiB bytes of the regex crate's NFA, however long the
//! match (a 9 MB line of `password=password=…` took 10 s natively before that bound). Offsets handed on are
//! absolute in the scanned buffer.

use crate::rules::Rule;
use regex::bytes::{CaptureLocations, Regex};

/// A match's groups as offsets in the scanned buffer (`base`: where the searched haystack starts).
pub(crate) struct Groups<'a> {
    pub(crate) locs: &'a CaptureLocations,
    pub(crate) re: &'a Regex,
    pub(crate) base: usize,
}

impl Groups<'_> {
    pub(crate) fn get(&self, i: usize) -> Option<(usize, usize)> {
        self.locs.get(i).map(|(s, e)| (self.base + s, self.base + e))
    }

    pub(crate) fn name(&self, name: &str) -> Option<(usize, usize)> {
        self.re.capture_names().position(|n| n == Some(name)).and_then(|i| self.get(i))
    }

    /// The first non-empty group.
    pub(crate) fn first_group(&self) -> Option<(usize, usize)> {
        (1..self.locs.len()).filter_map(|i| self.get(i)).find(|g| g.0 < g.1)
    }
}

/// How far past a match's start its groups are worth resolving, or None (no bound): a rule with
/// `secret_max` cuts its secret in code, so its regex ends in an unbounded run, and what lies past
/// the key, operator and `secret_max` bytes of value is never used. The bound keeps the NFA the
/// regex crate runs for groups from walking the whole run (a 9 MB line of `password=password=…`
/// took 10 s natively, a window at most 64 KiB still 2 MB/s).
pub(super) fn capture_limit(rule: &Rule) -> Option<usize> {
    (rule.secret_max > 0).then(|| rule.secret_max + 1024)
}

/// `captures_iter` over `hay`, reusing one set of capture slots; `f` returns false to stop. With a
/// `limit`, a match longer than it is found by the DFA alone and its groups are resolved in its first
/// `limit` bytes (the search goes on after the whole match, as `captures_iter` would).
pub(super) fn for_each_match(re: &Regex, hay: &[u8], limit: Option<usize>, mut f: impl FnMut(&CaptureLocations) -> bool) {
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
