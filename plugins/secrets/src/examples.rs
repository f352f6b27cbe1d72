//! Expands the synthetic example templates of the rule file (used by tests and by the example
//! generator for the runner's tests). Every token is random; nothing is a real credential.
//!
//! Syntax: `%{name:arg}`; `arg` may itself contain templates (`%{b64of:user:%{an:12}}`).
//!   an lan uan hex HEX b64 b64u d l u al : N random characters of that alphabet
//!   set:CHARS:N        N random characters from CHARS
//!   ghcrc:PREFIX       PREFIX + 30 random base62 + 6-char base62 CRC32 (GitHub/npm format)
//!   uuid / UUID        random v4 UUID (lower/upper case)
//!   jwt                a structurally valid JWT (HS256)
//!   pem:TYPE           a PEM block "-----BEGIN TYPE-----" with random base64 lines
//!   pemjson:TYPE       the same with literal "\n" separators (as inside a JSON string)
//!   b64of:TEXT         base64 of the expanded TEXT
//!   age                an age X25519 secret key with a valid bech32 checksum
//!   nl                 a newline

use crate::util::{base62_encode, base64_encode, crc32, Rng, BASE62};

const AN: &[u8] = BASE62;
const LAN: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
const UAN: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const HEX: &[u8] = b"0123456789abcdef";
const HEXU: &[u8] = b"0123456789ABCDEF";
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64U: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
const D: &[u8] = b"0123456789";
const L: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
const U: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const AL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn random_from(rng: &mut Rng, alphabet: &[u8], n: usize) -> String {
    // avoid accidental placeholder-like runs/sequences in generated examples
    loop {
        let s: Vec<u8> = (0..n).map(|_| alphabet[rng.below(alphabet.len())]).collect();
        let probe = s.to_ascii_lowercase();
        let bad = probe.windows(4).any(|w| {
            (w[0] == w[1] && w[1] == w[2] && w[2] == w[3])
                || (w[1] == w[0].wrapping_add(1) && w[2] == w[1].wrapping_add(1) && w[3] == w[2].wrapping_add(1))
                || (w[1].wrapping_add(1) == w[0] && w[2].wrapping_add(1) == w[1] && w[3].wrapping_add(1) == w[2])
        }) || [&b"test"[..], b"xxx", b"exam", b"fake", b"demo", b"your", b"dummy", b"temp", b"fixme", b"todo",
            b"admin", b"pass", b"secret", b"token", b"key", b"null", b"true", b"mock", b"stub", b"foo", b"bar", b"abc",
            b"sample", b"123", b"000", b"guest", b"none", b"lorem", b"value", b"empty", b"hash", b"sha", b"md5",
            b"str", b"new", b"env", b"var", b"def", b"default", b"basic", b"bearer", b"func", b"return", b"this",
            b"self", b"data", b"user", b"ctx", b"req", b"args", b"opt", b"prop", b"param", b"vars", b"input", b"local",
            b"config", b"setting", b"module", b"secrets", b"context", b"request", b"mask", b"hidden", b"required",
            b"optional", b"string", b"undefined", b"false", b"redact", b"chang", b"place", b"insert", b"replace"]
            .iter()
            .any(|w| probe.windows(w.len()).any(|x| x == *w));
        if !bad || n < 4 {
            return String::from_utf8(s).unwrap_or_default();
        }
    }
}

fn find_close(t: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0;
    let mut i = open;
    while i < t.len() {
        if t[i] == b'%' && i + 1 < t.len() && t[i + 1] == b'{' {
            depth += 1;
            i += 2;
            continue;
        }
        if t[i] == b'}' {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
        i += 1;
    }
    None
}

pub fn expand(template: &str, rng: &mut Rng) -> String {
    let t = template.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < t.len() {
        if t[i] == b'%' && i + 1 < t.len() && t[i + 1] == b'{' {
            if let Some(close) = find_close(t, i) {
                let inner = &template[i + 2..close];
                out.push_str(&expand_one(inner, rng));
                i = close + 1;
                continue;
            }
        }
        let ch = template[i..].chars().next().unwrap();
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

fn pem(kind: &str, rng: &mut Rng, sep: &str) -> String {
    let mut s = format!("-----BEGIN {}-----{}", kind, sep);
    for _ in 0..12 {
        s.push_str(&random_from(rng, B64, 64));
        s.push_str(sep);
    }
    s.push_str(&random_from(rng, B64, 40));
    s.push_str("==");
    s.push_str(sep);
    s.push_str(&format!("-----END {}-----", kind));
    s
}

fn uuid(rng: &mut Rng) -> String {
    let h = random_from(rng, HEX, 32);
    format!("{}-{}-4{}-a{}-{}", &h[0..8], &h[8..12], &h[13..16], &h[17..20], &h[20..32])
}

fn expand_one(inner: &str, rng: &mut Rng) -> String {
    let (name, arg) = match inner.find(':') {
        Some(p) => (&inner[..p], &inner[p + 1..]),
        None => (inner, ""),
    };
    let n = || arg.parse::<usize>().unwrap_or(16);
    match name {
        "an" => random_from(rng, AN, n()),
        "lan" => random_from(rng, LAN, n()),
        "uan" => random_from(rng, UAN, n()),
        "hex" => random_from(rng, HEX, n()),
        "HEX" => random_from(rng, HEXU, n()),
        "b64" => random_from(rng, B64, n()),
        "b64u" => random_from(rng, B64U, n()),
        "d" => random_from(rng, D, n()),
        "l" => random_from(rng, L, n()),
        "u" => random_from(rng, U, n()),
        "al" => random_from(rng, AL, n()),
        "set" => {
            let p = arg.rfind(':').unwrap_or(0);
            let chars = &arg[..p];
            let k = arg[p + 1..].parse::<usize>().unwrap_or(16);
            random_from(rng, chars.as_bytes(), k)
        }
        "ghcrc" => {
            let r = random_from(rng, AN, 30);
            format!("{}{}{}", arg, r, base62_encode(crc32(r.as_bytes()) as u64, 6))
        }
        "uuid" => uuid(rng),
        "UUID" => uuid(rng).to_ascii_uppercase(),
        "jwt" => {
            let header = base64_encode(br#"{"alg":"HS256","typ":"JWT"}"#);
            let payload = format!(
                r#"{{"sub":"{}","iss":"https://auth.{}.io","iat":1716239022,"exp":1916239022}}"#,
                random_from(rng, LAN, 12),
                random_from(rng, L, 8)
            );
            let p = base64_encode(payload.as_bytes());
            let clean = |s: String| s.trim_end_matches('=').replace('+', "-").replace('/', "_");
            format!("{}.{}.{}", clean(header), clean(p), random_from(rng, B64U, 43))
        }
        "pem" => pem(arg, rng, "\n"),
        "pemjson" => pem(arg, rng, "\\n"),
        "b64of" => base64_encode(expand(arg, rng).as_bytes()),
        "age" => {
            const B32: &[u8] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
            let data: Vec<u8> = (0..52).map(|_| rng.below(32) as u8).collect();
            let chk = crate::validate::bech32_checksum("age-secret-key-", &data);
            let mut s = String::from("age-secret-key-1");
            for d in &data {
                s.push(B32[*d as usize] as char);
            }
            s.push_str(std::str::from_utf8(&chk).unwrap_or(""));
            s.to_ascii_uppercase()
        }
        "nl" => "\n".to_string(),
        _ => format!("%{{{}}}", inner),
    }
}

/// Splits an optional `file:NAME|` prefix off an example: (path, content template).
pub fn split_path(example: &str) -> (&str, &str) {
    if let Some(rest) = example.strip_prefix("file:") {
        if let Some(p) = rest.find('|') {
            return (&rest[..p], &rest[p + 1..]);
        }
    }
    ("example.txt", example)
}

/// Deterministic seed for a rule's example.
pub fn seed_for(rule_id: &str, index: usize) -> u64 {
    crc32(rule_id.as_bytes()) as u64 * 1_000_003 + index as u64 + 17
}
