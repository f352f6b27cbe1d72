//! Windows. Their rule: a keyword hit lets its rule's regex see only a window around it — the hit's line (a
//! byte range for multi-line rules such as PEM keys), at most `before`/`after` bytes (96/320 for built-in
//! rules), then widened to token boundaries by at most 256 bytes each side so a regex never starts or ends
//! inside a token. Vendor-prefix (anchored) rules look from the keyword on. The token runs walked are
//! remembered, so a long run dense with hits is walked about once, not 512 bytes per hit.

use super::is_token_byte;
use crate::rules::Rule;

/// The token runs a file's windows were last extended over: `(a, b)` with every byte of `buf[a..b]` a
/// token byte, `fwd.1` followed by a non-token byte (or the region's end) and `bwd.0` preceded by one
/// (or the region's start). Keyword hits come in order, so on a long run dense with hits (a minified
/// line, `password=password=…`) each byte is looked at about once instead of 512 times per hit.
#[derive(Default)]
pub(super) struct TokenRuns {
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

/// The window `rule`'s regex searches for a keyword hit at `s..e` in the region `fs..fe`.
pub(super) fn window(rule: &Rule, buf: &[u8], fs: usize, fe: usize, s: usize, e: usize, runs: &mut TokenRuns) -> (usize, usize) {
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
