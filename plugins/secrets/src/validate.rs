//! Validators: every check that judges a match's secret after its regex matched. Their rule: a validator only
//! drops a match or sets its confidence, never widens it; and this file is the one place that knows them —
//! adding a validator is a variant of `Validator`, its name in `VALIDATORS` (what `validator = "…"` in a rule
//! names) and its arm in `Validator::check`, here, plus the rule data that names it. The engine calls
//! `Validator` methods and never names a variant.
//!
//! Also here: the shape checks every match passes first (placeholders such as `xxxx`, `${VAR}`, `changeme`;
//! regex literals such as `ghp_[A-Za-z0-9]{36}`). The generic-assignment heuristics are `generic.rs`.

pub mod generic;

pub use self::generic::{path_context, Ctx};
use crate::ac::Keywords;
use crate::engine::groups::Groups;
use crate::util::{base62_crc32_ok, base64_decode, contains, lower, shannon_entropy};
use once_cell::sync::Lazy;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validator {
    None,
    /// GitHub-style `prefix_` + 30 random + 6 base62 CRC32.
    Base62Crc32,
    Jwt,
    Pem,
    Generic,
    UrlPassword,
    BasicAuth,
    Bech32,
    AwsSecret,
}

/// The names a rule may give in `validator = "…"` (`""` and `"none"`: no validator).
const VALIDATORS: &[(&str, Validator)] = &[
    ("", Validator::None),
    ("none", Validator::None),
    ("base62-crc32", Validator::Base62Crc32),
    ("github-crc32", Validator::Base62Crc32),
    ("npm-crc32", Validator::Base62Crc32),
    ("jwt", Validator::Jwt),
    ("pem", Validator::Pem),
    ("generic", Validator::Generic),
    ("url-password", Validator::UrlPassword),
    ("basic-auth", Validator::BasicAuth),
    ("bech32", Validator::Bech32),
    ("aws-secret", Validator::AwsSecret),
];

/// A match as a validator sees it: offsets into `buf`, whose scanned region (a file, or a decoded value)
/// is `fs..fe`; `matched` already reaches back over the key (`key_prefix`), `secret` is cut to `secret_max`.
pub(crate) struct Found<'a> {
    pub(crate) buf: &'a [u8],
    pub(crate) fs: usize,
    pub(crate) fe: usize,
    pub(crate) secret: (usize, usize),
    pub(crate) matched: (usize, usize),
    /// The `key` group, widened by the rule's `key_prefix`.
    pub(crate) key: Option<(usize, usize)>,
    pub(crate) groups: &'a Groups<'a>,
    pub(crate) entropy: f64,
    /// The rule's `entropy`.
    pub(crate) min_entropy: Option<f64>,
    pub(crate) ctx: Ctx,
}

impl Found<'_> {
    /// A named group of the rule's regex (e.g. the generic rules' `q`, the quote before the value).
    pub(crate) fn group(&self, name: &str) -> Option<(usize, usize)> {
        self.groups.name(name)
    }
}

impl Validator {
    /// The validator a rule names, None if there is no such name.
    pub fn named(name: &str) -> Option<Validator> {
        VALIDATORS.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }

    /// The shape checks every match passes before its validator: not a placeholder (if the rule checks them),
    /// not a regex literal (`after`: up to 3 bytes following the secret). A PEM block is judged by its body
    /// alone (`pem_check`): its header lines and base64 trip these markers.
    pub fn plausible(self, placeholders: bool, secret: &[u8], after: &[u8]) -> bool {
        if self == Validator::Pem {
            return true;
        }
        !(placeholders && is_placeholder(secret)) && !looks_like_regex(secret, after)
    }

    /// Whether a built-in assignment rule's value is rejected before its regex runs. `value` is what the rule's
    /// regex would capture after the operator, found by the engine without the regex (None: it cannot tell);
    /// it is only looked for if this validator judges values alone. A necessary condition of `check`.
    pub fn rejects_value<'v>(self, value: impl FnOnce() -> Option<&'v [u8]>, min_entropy: Option<f64>) -> bool {
        match self {
            Validator::Generic => value().map(|v| generic::value_rejected(v, min_entropy)).unwrap_or(false),
            _ => false,
        }
    }

    /// The match's confidence (`conf`: the rule's) after this validator, or None to drop the match.
    pub(crate) fn check(self, f: &Found, conf: &'static str) -> Option<&'static str> {
        let secret = &f.buf[f.secret.0..f.secret.1];
        let keep = |ok: bool| if ok { Some(conf) } else { None };
        match self {
            Validator::None => Some(conf),
            Validator::Base62Crc32 => Some(match base62_checksum(secret) {
                Some(true) => "high",
                Some(false) => "low",
                None => conf,
            }),
            Validator::Jwt => keep(jwt_check(secret) == Some(true)),
            Validator::Pem => keep(pem_check(secret)),
            Validator::UrlPassword => keep(url_password_check(secret, &f.buf[f.matched.0..f.matched.1])),
            Validator::BasicAuth => keep(basic_auth_check(secret)),
            Validator::Bech32 => Some(if bech32_check(secret) { "high" } else { "low" }),
            Validator::AwsSecret => keep(aws_secret_ok(secret)),
            Validator::Generic => generic::check(f),
        }
    }
}

/// Markers of template syntax, variable references and filler: a value containing one is not a literal secret.
/// Lower-case: they are matched ASCII-case-insensitively (`PLACEHOLDER_SYNTAX_SET`).
const PLACEHOLDER_SYNTAX: &[&[u8]] = &[
    b"****", b"....", b"${", b"{{", b"}}", b"%(", b"$(", b"<%", b"%>", b"process.env", b"os.environ", b"getenv", b"<",
    b">",
];

/// Words of documentation placeholders. A value is a placeholder when such words make it up (`your-api-key-here`,
/// `changeme123`), not when a long random string merely contains one (`Xk9mP2vLexampleq8R4nWz7`): see
/// `words_make_up`.
const PLACEHOLDER_WORDS: &[&[u8]] = &[
    b"example", b"changeme", b"change_me", b"change-me", b"placeholder", b"your_", b"your-", b"yourtoken",
    b"yourkey", b"yourapikey", b"yoursecret", b"yourpassword", b"insert_", b"insert-", b"dummy", b"sample",
    b"redacted", b"notreal", b"not_real", b"not-real", b"fake_", b"_fake", b"fakekey", b"faketoken", b"deadbeef",
    b"replace_", b"replace-", b"replaceme", b"todo_", b"fixme", b"lorem", b"ipsum", b"_here", b"-here",
    // Fillers: `sk_live_xxxxxxxxxxxxxxxx` is one, a random 99-character key with `xXxx` inside is not (the bench's
    // planted Stripe key `…SfbxXxxa5XU` was missed by every build: 4 given letters in 62^4, 96 places).
    b"xxxx", b"0000000000", b"1234567890", b"abcdefghij",
];

/// The marker lists as automata: one pass over a candidate instead of a substring search per marker.
static PLACEHOLDER_SYNTAX_SET: Lazy<Keywords> = Lazy::new(|| Keywords::new(PLACEHOLDER_SYNTAX));
static PLACEHOLDER_WORD_SET: Lazy<Keywords> = Lazy::new(|| Keywords::new(PLACEHOLDER_WORDS));

pub fn is_placeholder(secret: &[u8]) -> bool {
    if PLACEHOLDER_SYNTAX_SET.any_in(secret) || words_make_up(secret, &PLACEHOLDER_WORD_SET) {
        return true;
    }
    let l = lower(secret);
    // AWS documentation keys end in EXAMPLE / EXAMPLEKEY (AKIAI44QH8DHBEXAMPLE) after a random-looking body; its
    // example session tokens and request tokens carry it inside (`…////wEXAMPLEtMSJH…`, `EXAMPLE1-90ab-…`). Upper
    // case only: 7 given letters in a random token are 1 in 62^7 per position.
    if l.ends_with(b"example") || l.ends_with(b"examplekey") || contains(secret, b"EXAMPLE") {
        return true;
    }
    if l.len() >= 6 && (has_run(&l, 6) || has_sequence(&l, 6)) {
        return true;
    }
    // Mostly one repeated character class like "aaaaaaaaaaaaaaaaXz".
    if l.len() >= 12 {
        let distinct = {
            let mut seen = [false; 256];
            let mut n = 0;
            for &b in &l {
                if !seen[b as usize] {
                    seen[b as usize] = true;
                    n += 1;
                }
            }
            n
        };
        if distinct <= 3 {
            return true;
        }
    }
    false
}

/// Whether words of `set` make up `v`: it contains one, and what is left without them is not a random string
/// (`random_rest`). `Xk9mP2vL8qPassw0rdR4nWz7` keeps 16 random characters around the word: a real password.
pub(crate) fn words_make_up(v: &[u8], set: &Keywords) -> bool {
    let mut covered: Vec<(usize, usize)> = Vec::new();
    set.for_each(v, |h| covered.push((h.start, h.end)));
    if covered.is_empty() {
        return false;
    }
    let mut rest = Vec::with_capacity(v.len());
    for (i, &b) in v.iter().enumerate() {
        if !covered.iter().any(|&(s, e)| i >= s && i < e) {
            rest.push(b);
        }
    }
    !random_rest(&rest)
}

/// Whether `rest` (a value with its placeholder words taken out) still looks like a random secret: at least 12
/// letters/digits, entropy >= 3.2 bits/byte, letters and digits interleaved (>= 2 letter-digit changes) and the
/// character class changing at least every third byte. A random base62 string changes class at ~60% of its bytes;
/// words (`ThisIsAnOfALongValue123`: 7 of 23, one letter-digit change) and names (`project-name-12345`) do not.
fn random_rest(rest: &[u8]) -> bool {
    if rest.iter().filter(|b| b.is_ascii_alphanumeric()).count() < 12 || shannon_entropy(rest) < 3.2 {
        return false;
    }
    let class = |b: u8| {
        if b.is_ascii_lowercase() {
            0
        } else if b.is_ascii_uppercase() {
            1
        } else if b.is_ascii_digit() {
            2
        } else {
            3
        }
    };
    let (mut changes, mut letter_digit) = (0, 0);
    for w in rest.windows(2) {
        let (a, b) = (class(w[0]), class(w[1]));
        if a != b {
            changes += 1;
            if (a == 2) != (b == 2) && a != 3 && b != 3 {
                letter_digit += 1;
            }
        }
    }
    letter_digit >= 2 && changes * 3 >= rest.len()
}

/// A run of `n` identical characters.
fn has_run(s: &[u8], n: usize) -> bool {
    let mut run = 1;
    for i in 1..s.len() {
        if s[i] == s[i - 1] && s[i].is_ascii_alphanumeric() {
            run += 1;
            if run >= n {
                return true;
            }
        } else {
            run = 1;
        }
    }
    false
}

/// An ascending (abcdef, 123456) or descending sequence of `n` alphanumerics.
fn has_sequence(s: &[u8], n: usize) -> bool {
    let (mut up, mut down) = (1, 1);
    for i in 1..s.len() {
        let (a, b) = (s[i - 1], s[i]);
        let alnum = a.is_ascii_alphanumeric() && b.is_ascii_alphanumeric();
        up = if alnum && b == a.wrapping_add(1) { up + 1 } else { 1 };
        down = if alnum && a == b.wrapping_add(1) { down + 1 } else { 1 };
        if up >= n || down >= n {
            return true;
        }
    }
    false
}

/// Whether the secret is part of a regular expression describing a token, e.g. `ghp_[A-Za-z0-9]{36}`.
pub fn looks_like_regex(secret: &[u8], after: &[u8]) -> bool {
    const MARKERS: &[&[u8]] = &[
        b"[a-z", b"[A-Z", b"[0-9", b"a-z]", b"A-Z]", b"0-9]", b"\\d", b"\\w", b"\\s", b"\\b", b"(?:", b"(?i", b".*",
        b".+", b"]{", b"]+", b"]*", b"\\.",
    ];
    if MARKERS.iter().any(|m| contains(secret, m)) {
        return true;
    }
    if let Some(&c) = after.first() {
        if c == b'[' || c == b'{' || c == b'(' || c == b'*' || c == b'+' || c == b'?' || c == b'|' {
            // e.g. /AKIA[0-9A-Z]{16}/ matched as a shorter token followed by regex syntax
            return after.len() >= 2 && (after[1] == b'0' || after[1] == b'a' || after[1] == b'A' || after[1].is_ascii_digit() || after[1] == b'^' || after[1] == b'\\' || after[1] == b'?' || c == b'*' || c == b'+');
        }
    }
    false
}

pub fn base62_checksum(secret: &[u8]) -> Option<bool> {
    // prefix_ + random + 6 checksum chars; the prefix ends at the last '_' within the first 12 bytes
    let us = secret.iter().take(12).rposition(|&b| b == b'_')?;
    let body = &secret[us + 1..];
    if body.len() < 7 {
        return None;
    }
    let (random, sum) = body.split_at(body.len() - 6);
    Some(base62_crc32_ok(random, sum))
}

fn b64url_json(part: &[u8]) -> Option<serde_json::Value> {
    let dec = base64_decode(part)?;
    let v: serde_json::Value = serde_json::from_slice(&dec).ok()?;
    if v.is_object() {
        Some(v)
    } else {
        None
    }
}

/// A JWT: header and payload are base64url JSON objects, the header names an algorithm.
/// Returns None when not a real JWT, Some(false) for documentation examples.
pub fn jwt_check(secret: &[u8]) -> Option<bool> {
    let mut parts = secret.split(|&b| b == b'.');
    let h = parts.next()?;
    let p = parts.next()?;
    let header = b64url_json(h)?;
    let payload = b64url_json(p)?;
    header.get("alg")?;
    let ps = payload.to_string().to_ascii_lowercase();
    if ps.contains("john doe") || ps.contains("\"1234567890\"") || ps.contains("example.com") || ps.contains("\"some\":\"payload\"") {
        return Some(false);
    }
    Some(true)
}

pub fn pem_check(secret: &[u8]) -> bool {
    // body between the BEGIN and END lines
    let body_start = match memchr::memmem::find(&secret[5..], b"-----") {
        Some(i) => i + 10,
        None => return false,
    };
    let body_end = match memchr::memmem::rfind(secret, b"-----END") {
        Some(i) => i,
        None => return false,
    };
    if body_end <= body_start {
        return false;
    }
    let body = &secret[body_start..body_end];
    let l = lower(body);
    if contains(&l, b"...") || contains(&l, b"xxxx") || contains(&l, b"<") || contains(&l, b"${") {
        return false;
    }
    let b64chars = body.iter().filter(|b| b.is_ascii_alphanumeric() || **b == b'+' || **b == b'/').count();
    b64chars >= 64
}

/// Words that make a URL/CLI password a documentation value (`postgres://user:password@`, `-u admin:admin123`).
const URL_PASSWORD_WORDS: &[&[u8]] = &[
    b"password", b"passwd", b"pass", b"pwd", b"secret", b"changeme", b"example", b"user", b"admin", b"root",
    b"test", b"guest", b"demo", b"foo", b"bar", b"token", b"dummy", b"sample", b"placeholder", b"redacted",
    b"opensesame", b"qwerty", b"letmein", b"123456", b"hunter2", b"postgres", b"mysql", b"changeit",
];
static URL_PASSWORD_WORD_SET: Lazy<Keywords> = Lazy::new(|| Keywords::new(URL_PASSWORD_WORDS));

/// Builds the validators' keyword sets now: the plugin's build-time pre-initialisation calls this, so they are in
/// its memory snapshot (low in memory, as `ac::Keywords` wants its tables) instead of built at an instance's first
/// finding.
pub fn preload() {
    for set in [&PLACEHOLDER_SYNTAX_SET, &PLACEHOLDER_WORD_SET, &URL_PASSWORD_WORD_SET] {
        Lazy::force(set);
    }
    generic::preload();
}

pub fn url_password_check(secret: &[u8], matched: &[u8]) -> bool {
    let l = lower(secret);
    // template syntax: anywhere (`${PW}`, `%s`), or leading (`$PW`, `{pw}`, `[pw]`, `%PW%`) — a `$` or `{` inside
    // a password is one of its characters; words only when they make up the password (`words_make_up`)
    const SYNTAX: &[&[u8]] = &[b"xxx", b"***", b"${", b"$(", b"{{", b"%s", b"<"];
    if SYNTAX.iter().any(|m| contains(&l, m))
        || matches!(secret.first(), Some(b'$' | b'{' | b'[' | b'%'))
        || words_make_up(secret, &URL_PASSWORD_WORD_SET)
    {
        return false;
    }
    if secret.len() < 4 || shannon_entropy(secret) < 1.5 {
        return false;
    }
    // user == password, e.g. postgres://postgres:postgres@
    if let Some(s) = memchr::memmem::find(matched, b"://") {
        let rest = &matched[s + 3..];
        if let Some(c) = memchr::memchr(b':', rest) {
            if &rest[..c] == secret {
                return false;
            }
        }
    }
    // the host part should not be a template/placeholder
    if let Some(at) = memchr::memrchr(b'@', matched) {
        let host = lower(&matched[at + 1..]);
        if host.starts_with(b"host") || host.starts_with(b"example") || contains(&host, b"${") {
            return false;
        }
        // documentation domains (RFC 2606 / 6761): the credential cannot log in anywhere
        let end = host.iter().position(|b| matches!(b, b':' | b'/' | b'?' | b'#')).unwrap_or(host.len());
        let name = host[..end].strip_suffix(b".").unwrap_or(&host[..end]);
        const DOCS: &[&[u8]] = &[b"example.com", b"example.org", b"example.net", b".example", b".test", b".invalid"];
        if DOCS.iter().any(|d| name.ends_with(d) && (d[0] == b'.' || name.len() == d.len() || name[name.len() - d.len() - 1] == b'.')) {
            return false;
        }
    }
    true
}

/// base64("user:password") with a real-looking password.
pub fn basic_auth_check(secret: &[u8]) -> bool {
    let dec = match base64_decode(secret) {
        Some(d) => d,
        None => return false,
    };
    if dec.iter().any(|&b| !(0x20..0x7f).contains(&b)) {
        return false;
    }
    let colon = match memchr::memchr(b':', &dec) {
        Some(c) => c,
        None => return false,
    };
    let (user, pass) = (&dec[..colon], &dec[colon + 1..]);
    if user.is_empty() || pass.len() < 4 {
        return false;
    }
    !is_placeholder(pass) && url_password_check(pass, b"")
}

const BECH32: &[u8] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/// Bech32 checksum (BIP-173), used by age secret keys.
pub fn bech32_check(s: &[u8]) -> bool {
    let l = lower(s);
    let pos = match l.iter().rposition(|&b| b == b'1') {
        Some(p) => p,
        None => return false,
    };
    let (hrp, data) = (&l[..pos], &l[pos + 1..]);
    if hrp.is_empty() || data.len() < 6 {
        return false;
    }
    let mut values = Vec::with_capacity(hrp.len() * 2 + 1 + data.len());
    for &c in hrp {
        values.push(c >> 5);
    }
    values.push(0);
    for &c in hrp {
        values.push(c & 31);
    }
    for &c in data {
        match BECH32.iter().position(|&x| x == c) {
            Some(v) => values.push(v as u8),
            None => return false,
        }
    }
    bech32_polymod(&values) == 1
}

pub fn bech32_checksum(hrp: &str, data: &[u8]) -> Vec<u8> {
    // used by tests to build valid examples: returns 6 checksum values
    let mut values = Vec::new();
    for &c in hrp.as_bytes() {
        values.push(c >> 5);
    }
    values.push(0);
    for &c in hrp.as_bytes() {
        values.push(c & 31);
    }
    values.extend_from_slice(data);
    values.extend_from_slice(&[0; 6]);
    let chk = bech32_polymod(&values);
    let m = chk ^ 1;
    (0..6).map(|i| BECH32[((m >> (5 * (5 - i))) & 31) as usize]).collect()
}

/// AWS secret access keys are 40 base64 characters; reject values that are all one case or hex.
pub fn aws_secret_ok(v: &[u8]) -> bool {
    if v.len() != 40 {
        return false;
    }
    let has_lower = v.iter().any(|b| b.is_ascii_lowercase());
    let has_upper = v.iter().any(|b| b.is_ascii_uppercase());
    let has_digit = v.iter().any(|b| b.is_ascii_digit());
    has_lower && has_upper && has_digit && !v.iter().all(|b| b.is_ascii_hexdigit())
}

/// BIP-173's checksum polynomial over 5-bit values (1 for a valid bech32 string).
fn bech32_polymod(values: &[u8]) -> u32 {
    const GEN: [u32; 5] = [0x3b6a_57b2, 0x2650_8e6d, 0x1ea1_19fa, 0x3d42_33dd, 0x2a14_62b3];
    let mut chk: u32 = 1;
    for &v in values {
        let top = chk >> 25;
        chk = ((chk & 0x1ff_ffff) << 5) ^ v as u32;
        for (i, g) in GEN.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::base64_encode;
    #[test]
    fn placeholders() {
        for p in ["xxxxxxxxxxxxxxxx", "${DB_PASSWORD}", "{{ .Values.pw }}", "AKIAIOSFODNN7EXAMPLE", "abcdef123456", "changeme123",
            "aaaaaaaaaaaaaaaaaaaa", "your-api-key-here"] {
            assert!(is_placeholder(p.as_bytes()), "{}", p);
        }
        for p in ["h7Fk2LqP9zXw3VbN", "Xk9#mP2$vL8qR4nW"] {
            assert!(!is_placeholder(p.as_bytes()), "{}", p);
        }
    }
    /// Issue 19 item 3: a placeholder word inside a long random value does not make the value a placeholder.
    #[test]
    fn placeholder_words_only_when_they_make_up_the_value() {
        for p in ["your-api-key-here", "changeme123", "example_password_2024", "AKIAI44QH8DHBEXAMPLE", "my-sample-token-1",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "ThisIsAnExampleOfALongValue123", "dummy-project-name-12345"] {
            assert!(is_placeholder(p.as_bytes()), "{}", p);
        }
        for p in ["Xk9mP2vL8qexampleR4nWz7hT", "h7Fk2LqP9zchangemeXw3VbN4s", "q8V2mZ7kLsampleT3xW9rB1n"] {
            assert!(!is_placeholder(p.as_bytes()), "{}", p);
        }
        // URL and CLI passwords: `Passw0rd`, `admin`, `test` inside a random password
        assert!(url_password_check(b"k8Vq2Passw0rdZt7Lm9Xw3Rb", b"postgres://app:k8Vq2Passw0rdZt7Lm9Xw3Rb@db.internal/app"));
        assert!(url_password_check(b"R7tq2admin9XkLw3Vb8Zp4", b""));
        assert!(url_password_check(b"Xk9#mP2$vL8qR4nW", b""), "a `$` inside a password is one of its characters");
        for p in ["$DB_PASSWORD", "${PW}", "{password}", "%DB_PW%", "[redacted]"] {
            assert!(!url_password_check(p.as_bytes(), b""), "{}", p);
        }
        for p in ["Passw0rd", "password123", "admin2024!", "test1234", "supersecret", "foobar99"] {
            assert!(!url_password_check(p.as_bytes(), b""), "{}", p);
        }
        assert!(basic_auth_check(base64_encode(b"ci-bot:Zt7Lm9rootXw3Rb8Kq2Vn4").as_bytes()));
        assert!(!basic_auth_check(base64_encode(b"ci-bot:rootroot1").as_bytes()));
    }
    #[test]
    fn validator_names() {
        use Validator::*;
        for (i, (n, _)) in VALIDATORS.iter().enumerate() {
            assert!(VALIDATORS[..i].iter().all(|(m, _)| m != n), "'{}' listed twice", n);
        }
        for v in [None, Base62Crc32, Jwt, Pem, Generic, UrlPassword, BasicAuth, Bech32, AwsSecret] {
            assert!(VALIDATORS.iter().any(|(_, w)| *w == v), "{:?} has no name a rule can give", v);
        }
        assert_eq!(Validator::named("npm-crc32"), Some(Base62Crc32));
        assert_eq!(Validator::named("Jwt"), Option::None, "names are exact");
        let spec = crate::rules::RuleSpec {
            id: "r".into(),
            regex: Some("x".into()),
            validator: Some("nope".into()),
            ..Default::default()
        };
        assert_eq!(crate::rules::compile_rule(&spec, false).unwrap_err(), "rule 'r': unknown validator 'nope'");
    }
    #[test]
    fn bech32() {
        assert!(bech32_check(b"a12uel5l"));
        assert!(!bech32_check(b"a12uel5m"));
    }
}
