//! Base64 decoding. Its rule: only files that name a Kubernetes `Secret` or a docker config (`DECODE_KEYWORDS`)
//! have their `key: <base64>` values decoded; a decoded value is scanned again as `key: <decoded>` (a config
//! line, so generic rules see its key), at most 2 levels deep and 1 MiB of encoded values per region; a
//! finding there points at the encoded value, ranks one priority above the same finding in plain text, and
//! must touch the decoded value, not only the key put in front of it.

use super::{Cand, Engine};
use crate::util::base64_decode;
use crate::validate::Ctx;
use regex::bytes::Regex;

/// Files whose content triggers base64 decoding of `key: value` pairs.
pub(super) const DECODE_KEYWORDS: &[&str] = &[
    "kind: secret",
    "kind: \"secret\"",
    "kind: 'secret'",
    "\"kind\": \"secret\"",
    "\"kind\":\"secret\"",
    ".dockerconfigjson",
    ".dockercfg",
];
pub(super) const MAX_DECODE_DEPTH: u8 = 2;
/// Cap on bytes decoded per file (bounded work on hostile input).
const MAX_DECODE_BYTES: usize = 1 << 20;

/// `key: value` / `"key": "value"` with a base64 value of at least 12 characters.
pub(super) fn decode_regex() -> Regex {
    Regex::new(
        r#"(?-u)["']?([A-Za-z0-9_.\-]{1,128})["']?[ \t]*[:=][ \t]*["']?([A-Za-z0-9+/]{12,}={0,2})(?:["']|[ \t]*(?:\r?\n|,|\}|$))"#,
    )
    .expect("decode regex")
}

impl Engine {
    pub(super) fn decode_pass(&self, buf: &[u8], fs: usize, fe: usize, path: &str, depth: u8, cands: &mut Vec<Cand>) {
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
}
