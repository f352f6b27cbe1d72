//! Candidates. Their rule: a regex match becomes a candidate only if its secret group is non-empty, it is not
//! cut by the window's edge inside a token, its secret is not directly followed by more of the token (rules
//! built from `secret`), it has the rule's entropy, it is not a placeholder or a regex literal, no allowlist
//! covers it and the rule's validator accepts it (the validator may also set the confidence). Each check only
//! drops; none widens a match beyond its key (`key_prefix`) or its secret beyond `secret_max`.

use super::groups::Groups;
use super::{is_key_byte, is_token_byte, Cand, Engine};
use crate::util::shannon_entropy;
use crate::validate::{Ctx, Found};

impl Engine {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn candidate(
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
        if !rule.validator.plausible(rule.placeholders, secret, &buf[e..(e + 3).min(fe)]) {
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
        let found = Found {
            buf,
            fs,
            fe,
            secret: (s, e),
            matched: (ms, me),
            key: key_span,
            groups: caps,
            entropy,
            min_entropy: rule.entropy,
            ctx,
        };
        let conf = rule.validator.check(&found, rule.confidence)?;
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
}
