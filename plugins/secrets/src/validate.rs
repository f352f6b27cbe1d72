//! Post-match checks: placeholders, regex literals, checksums, JWT/PEM structure and the
//! heuristics that keep the generic rules precise.

use crate::ac::Keywords;
use crate::util::{base62_crc32_ok, base64_decode, contains, lower, shannon_entropy};
use once_cell::sync::Lazy;

/// Markers that make a value a template, variable reference or documentation placeholder.
/// Lower-case: they are matched ASCII-case-insensitively (`PLACEHOLDER_SET`).
const PLACEHOLDER_MARKERS: &[&[u8]] = &[
    b"xxxx", b"****", b"....", b"${", b"{{", b"}}", b"%(", b"$(", b"<%", b"%>", b"process.env", b"os.environ",
    b"getenv", b"example", b"changeme", b"change_me", b"change-me", b"placeholder", b"your_", b"your-",
    b"yourtoken", b"yourkey", b"yourapikey", b"yoursecret", b"yourpassword", b"insert_", b"insert-", b"dummy",
    b"sample", b"redacted", b"notreal", b"not_real", b"not-real", b"fake_", b"_fake", b"fakekey", b"faketoken",
    b"0000000000", b"1234567890", b"abcdefghij", b"deadbeef", b"replace_", b"replace-", b"replaceme",
    b"todo_", b"fixme", b"lorem", b"ipsum", b"<", b">", b"_here", b"-here",
];

/// Stricter list applied to the values of generic (context-based) rules.
const GENERIC_WORDS: &[&[u8]] = &[
    b"password", b"passwd", b"secret", b"qwerty", b"letmein", b"foobar", b"123456", b"admin", b"test", b"demo",
    b"guest", b"default", b"mypass", b"your", b"token", b"apikey", b"api_key", b"api-key", b"undefined", b"null",
    b"true", b"false", b"none", b"string", b"required", b"optional", b"hidden", b"masked", b"empty", b"value",
    b"bearer", b"basic", b"function", b"return", b"new ", b"this.", b"self.", b"config.", b"env.", b"settings.",
    b"options.", b"props.", b"params.", b"args.", b"context.", b"ctx.", b"req.", b"request.", b"data.", b"user.",
    b"secrets.", b"vars.", b"inputs.", b"var.", b"local.", b"module.", b"values.", b"mock", b"stub", b"fixture",
    b"encrypted", b"hashed", b"<", b">", b"localhost", b"abc123", b"xyz", b"?.", b"=>", b"...",
];

/// The marker lists as one automaton each: one pass over a candidate instead of a substring search per word
/// (these run for every keyword hit of the generic rules: ~400k times on 288 MB of npm packages).
static PLACEHOLDER_SET: Lazy<Keywords> = Lazy::new(|| Keywords::new(PLACEHOLDER_MARKERS));
static GENERIC_SET: Lazy<Keywords> = Lazy::new(|| Keywords::new(GENERIC_WORDS));

pub fn is_placeholder(secret: &[u8]) -> bool {
    if PLACEHOLDER_SET.any_in(secret) {
        return true;
    }
    let l = lower(secret);
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

pub fn url_password_check(secret: &[u8], matched: &[u8]) -> bool {
    let l = lower(secret);
    const BAD: &[&[u8]] = &[
        b"password", b"passwd", b"pass", b"pwd", b"secret", b"changeme", b"example", b"xxx", b"***", b"${", b"{{",
        b"%s", b"<", b"[", b"$", b"user", b"admin", b"root", b"test", b"guest", b"demo", b"foo", b"bar", b"token",
        b"dummy", b"sample", b"placeholder", b"redacted", b"opensesame", b"{", b"qwerty", b"letmein", b"123456", b"hunter2",
    ];
    if BAD.iter().any(|m| contains(&l, m)) {
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

/// Splits an identifier into lower-case words on separators and camelCase boundaries.
pub fn key_words(key: &[u8]) -> Vec<Vec<u8>> {
    let mut words: Vec<Vec<u8>> = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    let mut prev: u8 = 0;
    for &b in key {
        if !b.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
        } else {
            if b.is_ascii_uppercase() && (prev.is_ascii_lowercase() || prev.is_ascii_digit()) && !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            cur.push(b.to_ascii_lowercase());
        }
        prev = b;
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    // split compound words commonly written without separators
    let mut out = Vec::new();
    for w in words {
        let mut rest: &[u8] = &w;
        let mut parts = Vec::new();
        for suffix in [&b"password"[..], b"passwd", b"secret", b"token", b"key", b"passphrase", b"pwd"] {
            if rest.len() > suffix.len() && rest.ends_with(suffix) {
                let head = &rest[..rest.len() - suffix.len()];
                if [&b"api"[..], b"access", b"secret", b"private", b"auth", b"client", b"db", b"admin", b"user",
                    b"root", b"master", b"app", b"bot", b"refresh", b"session", b"signing", b"encryption", b"bearer",
                    b"oauth", b"account", b"service", b"consumer", b"webhook", b"deploy", b"personal", b"id", b"npm",
                    b"registry", b"smtp", b"mail", b"sql", b"mysql", b"redis", b"ftp", b"ssh", b"jwt", b"hmac",
                    b"license", b"subscription", b"storage", b"shared", b"sas", b"crypt", b"cipher", b"mongo",
                    b"postgres", b"pg", b"ldap", b"keystore", b"truststore", b"store", b"wifi", b"vnc", b"proxy",
                    b"authtoken", b"x"]
                .iter()
                .any(|h| *h == head)
                {
                    parts.push(head.to_vec());
                    rest = suffix;
                }
                break;
            }
        }
        out.extend(parts);
        out.push(rest.to_vec());
    }
    out
}

/// Whether the name of an assignment designates a secret value.
pub fn secret_key_name(key: &[u8]) -> bool {
    let words = key_words(key);
    let n = words.len();
    if n == 0 {
        return false;
    }
    const DENY: &[&[u8]] = &[
        b"hash", b"hashed", b"digest", b"checksum", b"integrity", b"public", b"publishable", b"pub", b"fingerprint",
        b"example", b"sample", b"dummy", b"fake", b"mock", b"placeholder", b"format", b"pattern", b"regex", b"test",
        b"csrf", b"xsrf", b"nonce", b"cache", b"sort", b"primary", b"foreign", b"partition", b"idempotency",
        b"i18n", b"translation", b"label", b"next", b"page", b"cursor", b"continuation", b"sync", b"max", b"min",
        b"num", b"count", b"old", b"new", b"confirm", b"current", b"reset", b"forgot", b"expected", b"invalid",
        b"wrong", b"bad", b"empty", b"default", b"mask", b"masked", b"show", b"toggle", b"input", b"field",
        b"form", b"prompt", b"lexer", b"parser", b"csrftoken", b"cancellation", b"cancel", b"abort", b"stop",
        b"injection", b"di", b"provider", b"type", b"types", b"encoded", b"verify", b"verification", b"policy",
        b"strength", b"rules", b"rule", b"validator", b"length", b"keyboard", b"hot", b"shortcut", b"react",
        b"vue", b"map", b"lookup", b"index", b"local", b"redux", b"state",
    ];
    if words.iter().any(|w| DENY.contains(&w.as_slice())) {
        return false;
    }
    let last = words[n - 1].as_slice();
    let prev: &[u8] = if n >= 2 { &words[n - 2] } else { b"" };
    match last {
        b"password" | b"passwd" | b"passwort" | b"pwd" | b"passphrase" | b"secret" | b"apikey" | b"credential"
        | b"credentials" | b"authtoken" | b"accesstoken" | b"privatekey" | b"secretkey" => true,
        b"token" => true,
        b"pass" => n >= 2,
        b"key" => matches!(
            prev,
            b"api" | b"access" | b"secret" | b"private" | b"auth" | b"client" | b"signing" | b"encryption" | b"master"
                | b"app" | b"account" | b"service" | b"consumer" | b"webhook" | b"session" | b"jwt" | b"hmac"
                | b"license" | b"subscription" | b"shared" | b"sas" | b"crypt" | b"cipher" | b"admin" | b"x"
                | b"developer" | b"dev" | b"prod" | b"live" | b"server" | b"write" | b"read" | b"ingest"
                | b"ingestion" | b"management" | b"master_" | b"root" | b"sign" | b"encrypt" | b"decrypt" | b"aes"
        ),
        b"auth" => n == 1 && key.first() == Some(&b'_'),
        b"base" => words.iter().any(|w| w == b"secret") && prev == b"key",
        _ => false,
    }
}

pub fn is_uuid(v: &[u8]) -> bool {
    v.len() == 36
        && v.iter().enumerate().all(|(i, &b)| {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                b == b'-'
            } else {
                b.is_ascii_hexdigit()
            }
        })
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Ctx {
    /// A configuration file (.env, YAML, properties, INI, TOML): unquoted values are literals.
    Config,
    /// Source code: unquoted values are usually identifiers/expressions.
    Code,
    Unknown,
}

pub fn path_context(path: &str) -> Ctx {
    let p = path.to_ascii_lowercase();
    let name = p.rsplit('/').next().unwrap_or(&p);
    const CONFIG_EXT: &[&str] = &[
        ".env", ".yml", ".yaml", ".properties", ".ini", ".toml", ".conf", ".cfg", ".cnf", ".config", ".npmrc",
        ".pypirc", ".netrc", ".pgpass", ".txt", ".tfvars", ".hcl", ".sh", ".bash", ".zsh", ".ps1", ".envrc",
        ".service", ".dockerfile", ".md", ".rst", ".gradle", ".xml", ".plist", ".json",
    ];
    if name.starts_with(".env") || name.ends_with(".env") || name == "dockerfile" || name.starts_with("dockerfile.")
        || name == ".netrc" || name == "credentials" || name.ends_with(".env.local") || name.ends_with(".env.example")
    {
        return Ctx::Config;
    }
    if CONFIG_EXT.iter().any(|e| name.ends_with(e)) {
        return Ctx::Config;
    }
    if name.contains('.') {
        Ctx::Code
    } else {
        Ctx::Unknown
    }
}

/// Value checks for the generic assignment rules. `quoted`: the value was in quotes.
/// `env_style`: KEY=value at the start of a line.
/// The generic-assignment rejections that depend on the value alone: the engine runs them on the
/// value after a keyword's operator before opening a regex window (keys such as `input_token":"NextToken"`
/// occur tens of thousands of times in bundled API models).
pub fn generic_value_rejected(v: &[u8]) -> bool {
    if v.len() < 8 || v.len() > 200 {
        return true;
    }
    if GENERIC_SET.any_in(v) {
        return true;
    }
    // `$DB_PASSWORD`, `$ANSIBLE_VAULT;1.1;AES256 ...`: a variable reference or a vault header
    if v[0] == b'$' && v[1..].iter().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_') {
        return true;
    }
    if v.len() >= 14 && v[..14].eq_ignore_ascii_case(b"$ansible_vault") {
        return true;
    }
    let has_digit = v.iter().any(|b| b.is_ascii_digit());
    let has_lower = v.iter().any(|b| b.is_ascii_lowercase());
    let has_upper = v.iter().any(|b| b.is_ascii_uppercase());
    let has_symbol = v.iter().any(|b| !b.is_ascii_alphanumeric());
    // camelCase / PascalCase words with no digits or symbols
    if !has_digit && !has_symbol {
        if !(has_upper && has_lower && v.len() >= 16 && shannon_entropy(v) >= 3.8) {
            return true;
        }
        // several capitalised words: FooBarBaz
        let caps = v.iter().filter(|b| b.is_ascii_uppercase()).count();
        let transitions = v.windows(2).filter(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase()).count();
        if caps <= 4 || transitions * 4 >= v.len() / 2 {
            return true;
        }
    }
    let classes = has_digit as u8 + has_lower as u8 + has_upper as u8 + has_symbol as u8;
    classes < 2 || shannon_entropy(v) < 3.0
}

pub fn generic_value_ok(v: &[u8], quoted: bool, ctx: Ctx, env_style: bool) -> bool {
    if generic_value_rejected(v) {
        return false;
    }
    let l = lower(v);
    if is_uuid(v) {
        return false;
    }
    if contains(v, b"&") && contains(v, b"=") {
        return false; // a query string, not one value
    }
    if l.starts_with(b"sha1-") || l.starts_with(b"sha256-") || l.starts_with(b"sha384-") || l.starts_with(b"sha512-")
        || l.starts_with(b"$2a$") || l.starts_with(b"$2b$") || l.starts_with(b"$2y$") || l.starts_with(b"$argon2")
        || l.starts_with(b"$6$") || l.starts_with(b"$5$") || l.starts_with(b"$1$") || l.starts_with(b"pbkdf2")
        || l.starts_with(b"md5") || l.starts_with(b"{ssha}") || l.starts_with(b"{sha}") || l.starts_with(b"enc(")
        || l.starts_with(b"vault:") || l.starts_with(b"arn:") || l.starts_with(b"ref+") || l.starts_with(b"op://")
        || l.starts_with(b"projects/") || l.starts_with(b"!vault") || l.starts_with(b"akv:")
    {
        return false;
    }
    if v[0] == b'/' || v.starts_with(b"./") || v.starts_with(b"../") || v.starts_with(b"~/") || contains(v, b"://")
        || (v.len() > 2 && v[1] == b':' && v[2] == b'\\')
    {
        return false;
    }
    if v.iter().all(|b| b.is_ascii_digit() || *b == b'.' || *b == b'-') {
        return false;
    }
    // file names and dotted identifiers
    const EXT: &[&[u8]] = &[b".json", b".pem", b".key", b".txt", b".yml", b".yaml", b".js", b".ts", b".env", b".p12",
        b".pfx", b".crt", b".jks", b".html", b".xml", b".png", b".conf", b".py"];
    if EXT.iter().any(|e| l.ends_with(e)) {
        return false;
    }
    if !v.is_ascii() {
        return false; // natural-language text (translations), not a credential
    }
    // the value without surrounding punctuation, e.g. "?InterpolationInTemplate"
    let core = {
        let a = v.iter().position(|b| b.is_ascii_alphanumeric()).unwrap_or(v.len());
        let z = v.iter().rposition(|b| b.is_ascii_alphanumeric()).map(|i| i + 1).unwrap_or(a);
        &v[a..z.max(a)]
    };
    if core.len() < 8 {
        return false;
    }
    if core.iter().all(|b| b.is_ascii_alphabetic()) && core.len() < v.len() {
        return false;
    }
    let has_digit = v.iter().any(|b| b.is_ascii_digit());
    let identifier = (v[0].is_ascii_alphabetic() || v[0] == b'_' || v[0] == b'$')
        && v.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'$' || *b == b'.');
    if !quoted && !env_style && ctx != Ctx::Config {
        // code: an unquoted value is an identifier or an expression
        if identifier && (contains(v, b".") || !has_digit) {
            return false;
        }
        if ctx == Ctx::Code && identifier {
            return false;
        }
        // `a=b` inside an unquoted value is a chained assignment (`x.Token=e.retryable=!0`), not base64 padding
        if let Some(i) = v.iter().position(|b| *b == b'=') {
            if v[i..].iter().any(|b| *b != b'=') {
                return false;
            }
        }
    }
    if identifier && contains(v, b".") && !has_digit {
        return false; // member access like config.db.password
    }
    // word-like: parts separated by . _ - / : that are all letters
    let parts: Vec<&[u8]> = v.split(|b| matches!(b, b'.' | b'_' | b'-' | b'/' | b':' | b' ')).filter(|p| !p.is_empty()).collect();
    if parts.len() >= 2 && parts.iter().all(|p| p.iter().all(|b| b.is_ascii_alphabetic())) {
        return false;
    }
    // dotted names with `$1`/`@name` references: syntax-highlighter token classes such as
    // `keyword.$0`, `comment.keyword.$2`, `@brackets.directive`
    let parts: Vec<&[u8]> =
        v.split(|b| matches!(b, b'.' | b'_' | b'-' | b'/' | b':' | b' ' | b'$' | b'@')).filter(|p| !p.is_empty()).collect();
    let alpha = |p: &&[u8]| p.iter().all(|b| b.is_ascii_alphabetic());
    if (contains(v, b".$") || contains(v, b"-$") || v[0] == b'@')
        && parts.iter().all(|p| alpha(p) || p.len() <= 2)
        && parts.iter().any(|p| alpha(p) && p.len() >= 4)
    {
        return false;
    }
    if is_placeholder(v) {
        return false;
    }
    true
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

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn key_names() {
        for k in ["password", "DB_PASSWORD", "dbPassword", "client_secret", "apiKey", "api_key", "X-API-KEY", "accessToken",
            "GITHUB_TOKEN", "secret_key", "SECRET_KEY_BASE", "_auth", "_authToken", "db_pass", "mysqlPwd", "passphrase",
            "aws_secret_access_key", "AUTH_TOKEN", "privateKey", "apikey", "ADMIN_PASSWORD"] {
            assert!(secret_key_name(k.as_bytes()), "{}", k);
        }
        for k in ["password_hash", "passwordHash", "tokenType", "token_url", "secretName", "key", "publicKey", "bypass",
            "keyboard", "sortKey", "public_key", "primaryKey", "compass", "hashed_password", "nextToken", "csrfToken",
            "auth", "cacheKey", "passwordLength", "i18nKey", "confirmPassword", "tokens", "max_tokens"] {
            assert!(!secret_key_name(k.as_bytes()), "{}", k);
        }
    }
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
    #[test]
    fn generic_values() {
        assert!(generic_value_ok(b"Xk9#mP2$vL8qR4nW", true, Ctx::Code, false));
        assert!(generic_value_ok(b"h7Fk2LqP9zXw3VbN", false, Ctx::Config, false));
        assert!(!generic_value_ok(b"getPassword", false, Ctx::Code, false));
        assert!(!generic_value_ok(b"this.password", false, Ctx::Code, false));
        assert!(!generic_value_ok(b"550e8400-e29b-41d4-a716-446655440000", true, Ctx::Code, false));
        assert!(!generic_value_ok(b"sha512-abcdEFGH1234", true, Ctx::Code, false));
        assert!(!generic_value_ok(b"user-password-input", true, Ctx::Code, false));
        assert!(!generic_value_ok(b"ThisIsMyPassword", true, Ctx::Code, false));
    }
    #[test]
    fn bech32() {
        assert!(bech32_check(b"a12uel5l"));
        assert!(!bech32_check(b"a12uel5m"));
    }
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
