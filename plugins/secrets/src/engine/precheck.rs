//! Prechecks. Their rule: a precheck is a necessary condition of its rule producing a candidate, cheaper than
//! the regex: it may only refuse a keyword hit whose window could not yield a finding (an assignment rule with
//! no operator after the key, a URL with no `user:pass@`, a vendor prefix followed by too few token bytes).
//! Most keyword hits end here: `password` occurs tens of thousands of times in bundled code without a value.

use super::is_token_byte;
use crate::ac::Hit;
use crate::rules::{Precheck, Rule};

/// Whether the keyword hit `h` may open a window for `rule` in the region ending at `fe`.
#[inline]
pub(super) fn admits(rule: &Rule, buf: &[u8], h: &Hit, fe: usize) -> bool {
    match rule.precheck {
        Precheck::None => {}
        Precheck::Assignment => match assignment_op(buf, h.end, fe) {
            None => return false,
            // built-in assignment rules share one value syntax: the rule's validator may decide on the value itself
            Some(op) => {
                if rule.builtin && rule.validator.rejects_value(|| generic_value_at(buf, op, fe), rule.entropy) {
                    return false;
                }
            }
        },
        Precheck::Userinfo => {
            if !precheck_userinfo(buf, h.end, fe) {
                return false;
            }
        }
        Precheck::KeyAssignment => {
            if !precheck_key_assignment(buf, h.end, fe) {
                return false;
            }
        }
        Precheck::ServiceKey => {
            if !precheck_service_key(buf, h.start, h.end, fe) {
                return false;
            }
        }
    }
    if !rule.keywords_exact.is_empty() && !rule.keywords_exact.iter().any(|k| &buf[h.start..h.end] == k.as_slice()) {
        return false;
    }
    if rule.min_run > 0 && (h.end + rule.min_run > fe || !buf[h.end..h.end + rule.min_run].iter().all(|&b| is_token_byte(b))) {
        return false;
    }
    true
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

/// `key`, `token` or `secret` (any case) on the keyword's line, within 64 bytes of it. The regex allows 24 name
/// characters after the whole service name, which a keyword may only begin (`rev` of `rev_ai`); a keyword that is
/// the token's prefix (`luma-`) comes at most 26 bytes after the word: 64 covers both.
fn precheck_service_key(buf: &[u8], s: usize, e: usize, fe: usize) -> bool {
    let mut lo = s;
    while lo > 0 && lo + 64 > s && buf[lo - 1] != b'\n' {
        lo -= 1;
    }
    let word = |j: usize, w: &[u8]| j + w.len() <= fe && buf[j..j + w.len()].eq_ignore_ascii_case(w);
    for j in lo..(e + 64).min(fe) {
        if buf[j] == b'\n' {
            return false;
        }
        match buf[j] | 0x20 {
            b'k' if word(j, b"key") => return true,
            b't' if word(j, b"token") => return true,
            b's' if word(j, b"secret") => return true,
            _ => {}
        }
    }
    false
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

#[cfg(test)]
mod tests {
    use super::precheck_service_key;

    fn at(text: &str, kw: &str) -> bool {
        let s = text.to_ascii_lowercase().find(kw).unwrap();
        precheck_service_key(text.as_bytes(), s, s + kw.len(), text.len())
    }

    #[test]
    fn service_key_wants_key_token_or_secret_on_the_keywords_line() {
        assert!(at("XANO_API_TOKEN=eyJ...", "xano"));
        assert!(at("const xanoMetadataSecret = \"...\"", "xano"));
        assert!(at("[DEBUG] using lumaai api key luma-9d3e", "luma-"));
        assert!(!at("// xano is a backend\nconst token = x", "xano"));
        assert!(!at("token\nxano = 1", "xano"));
        assert!(!at("streams together with others", "together"));
        assert!(!at(&format!("xano{}key", " ".repeat(70)), "xano"));
    }
}
