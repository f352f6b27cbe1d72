//! The generic-assignment validator (`validator = "generic"`: `password = …`, `api_key: …` with no vendor
//! format). Its rule: with no checksum or prefix to go by, a value is a secret only if its key names a secret
//! (`key_words`: `dbPassword` → db, password; `hash`, `public`, `csrf`… deny), it looks random (length 8-200,
//! two character classes, entropy ≥ 3.0, not a word, identifier, path, hash, UUID or placeholder) and, unquoted
//! in source code, it stands at a line's start (`KEY=value`, `export KEY=`) with an upper-case key. Confidence
//! is medium for entropy ≥ 4.0 and ≥ 20 bytes, else low.

use super::{is_placeholder, words_make_up, Found};
use crate::ac::Keywords;
use crate::util::{contains, lower, shannon_entropy};
use once_cell::sync::Lazy;

/// Code and template syntax in a generic rule's value: an expression (`this.x`, `config.db.pw`, `a => b`), never a
/// literal secret.
const GENERIC_SYNTAX: &[&[u8]] = &[
    b"new ", b"this.", b"self.", b"config.", b"env.", b"settings.", b"options.", b"props.", b"params.", b"args.",
    b"context.", b"ctx.", b"req.", b"request.", b"data.", b"user.", b"secrets.", b"vars.", b"inputs.", b"var.",
    b"local.", b"module.", b"values.", b"<", b">", b"?.", b"=>", b"...",
];

/// Stricter list of words for the values of generic (context-based) rules: the value is rejected when they make
/// it up (`words_make_up`: `test-token-123`, `mypassword1`), not when a long random value merely contains one.
const GENERIC_WORDS: &[&[u8]] = &[
    b"password", b"passwd", b"secret", b"qwerty", b"letmein", b"foobar", b"123456", b"admin", b"test", b"demo",
    b"guest", b"default", b"mypass", b"your", b"token", b"apikey", b"api_key", b"api-key", b"undefined", b"null",
    b"true", b"false", b"none", b"string", b"required", b"optional", b"hidden", b"masked", b"empty", b"value",
    b"bearer", b"basic", b"function", b"return", b"mock", b"stub", b"fixture", b"encrypted", b"hashed",
    b"localhost", b"abc123", b"xyz",
];

/// Automata: a single pass over a candidate instead of a substring search per word (this runs for every
/// keyword hit of the generic rules: ~400k times on 288 MB of npm packages).
static GENERIC_SYNTAX_SET: Lazy<Keywords> = Lazy::new(|| Keywords::new(GENERIC_SYNTAX));
static GENERIC_SET: Lazy<Keywords> = Lazy::new(|| Keywords::new(GENERIC_WORDS));

pub(super) fn preload() {
    Lazy::force(&GENERIC_SYNTAX_SET);
    Lazy::force(&GENERIC_SET);
}

/// The generic validator: the key, the quoting, the place on the line and the value (see the module comment).
pub(super) fn check(f: &Found) -> Option<&'static str> {
    let (buf, fs, fe) = (f.buf, f.fs, f.fe);
    let (s, e) = f.secret;
    let secret = &buf[s..e];
    let key = f.key.map(|(ks, ke)| &buf[ks..ke]).unwrap_or(b"");
    if !key.is_empty() && !secret_key_name(key) {
        return None;
    }
    let quote = f.group("q").map(|(qs, qe)| &buf[qs..qe]).unwrap_or(b"");
    let quoted = !quote.is_empty();
    if quoted {
        // the value must be the whole quoted string (its closing quote may be JSON-escaped: `\"`)
        let closed = e < fe && (buf[e] == quote[0] || (buf[e] == b'\\' && e + 1 < fe && buf[e + 1] == quote[0]));
        if !closed {
            return None;
        }
    } else if e < fe && matches!(buf[e], b'(' | b'[' | b'.' | b'{') {
        return None;
    }
    let env_style = {
        // from the key back to the line start without scanning a whole minified line
        let ks = f.key.map(|(ks, _)| ks).unwrap_or(f.matched.0);
        // `arn:aws:secretsmanager:...:secret:name`: the key is a resource type inside an ARN
        if ks > fs && buf[ks - 1] == b':' && contains(&buf[ks.saturating_sub(200).max(fs)..ks], b"arn:") {
            return None;
        }
        let blank_back = |mut i: usize| {
            while i > fs && (buf[i - 1] == b' ' || buf[i - 1] == b'\t') {
                i -= 1;
            }
            i
        };
        let at_line_start = |i: usize| i == fs || buf[i - 1] == b'\n';
        let pre_ok = at_line_start(blank_back(ks)) || {
            // `export KEY=` / `exportKEY=` (at most one space after `export`)
            let k = if ks > fs && buf[ks - 1] == b' ' { ks - 1 } else { ks };
            k >= fs + 6 && &buf[k - 6..k] == b"export" && at_line_start(blank_back(k - 6))
        };
        pre_ok && (f.ctx != Ctx::Code || key.iter().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_'))
    };
    if !generic_value_ok(secret, quoted, f.ctx, env_style) {
        return None;
    }
    if let Some(min) = f.min_entropy {
        if f.entropy < min {
            return None;
        }
    }
    Some(if f.entropy >= 4.0 && secret.len() >= 20 { "medium" } else { "low" })
}

/// Whether a value the engine found after an assignment operator (without running the regex) is rejected
/// whatever its key: lets the engine skip the regex (keys such as `input_token":"NextToken"` occur tens of
/// thousands of times in bundled API models).
pub(super) fn value_rejected(v: &[u8], min_entropy: Option<f64>) -> bool {
    generic_value_rejected(v) || min_entropy.map(|m| shannon_entropy(v) < m).unwrap_or(false)
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

/// What kind of file a finding is in: decides how an unquoted generic value is read.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Ctx {
    /// A configuration file (.env, YAML, properties, INI, TOML): unquoted values are literals.
    Config,
    /// Source code: unquoted values are usually identifiers/expressions.
    Code,
    Unknown,
}

/// The kind of file `path` names, by its name alone (files without an extension: Unknown).
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

/// A TypeScript union type (`type MqttPassword = Buffer|Uint8Array|Blob|string`): identifiers joined by `|`, one
/// of them a built-in type name.
fn is_union_type(v: &[u8]) -> bool {
    const TYPES: &[&[u8]] = &[
        b"string", b"number", b"boolean", b"null", b"undefined", b"any", b"unknown", b"object", b"Buffer", b"Blob",
        b"Uint8Array", b"ArrayBuffer", b"Readable", b"Promise", b"bigint", b"never", b"void",
    ];
    // Checked for every unquoted generic value: no `|`, no allocation.
    let identifier = |p: &[u8]| {
        !p.is_empty()
            && p[0].is_ascii_alphabetic()
            && p.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'<' | b'>' | b'[' | b']'))
    };
    let parts = || v.split(|&b| b == b'|');
    v.contains(&b'|') && parts().all(identifier) && parts().any(|p| TYPES.contains(&p))
}

/// The generic-assignment rejections that depend on the value alone: the engine runs them on the
/// value after a keyword's operator before opening a regex window (keys such as `input_token":"NextToken"`
/// occur tens of thousands of times in bundled API models).
pub fn generic_value_rejected(v: &[u8]) -> bool {
    if v.len() < 8 || v.len() > 200 {
        return true;
    }
    if GENERIC_SYNTAX_SET.any_in(v) || words_make_up(v, &GENERIC_SET) {
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

/// Value checks for the generic assignment rules. `quoted`: the value was in quotes.
/// `env_style`: KEY=value at the start of a line.
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
    if !quoted && is_union_type(v) {
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
    /// Issue 19 item 3: words such as `test`, `admin`, `Passw0rd` inside a long random value are part of the secret.
    #[test]
    fn generic_words_only_when_they_make_up_the_value() {
        for v in ["hT7kd92Lq0zRtestX9m4Wp", "Zq81adminLm3vB7nR5tY2x", "k8Vq2Passw0rdZt7Lm9Xw3Rb", "X9m4WpsecretT7kd92Lq0zR"] {
            assert!(!generic_value_rejected(v.as_bytes()), "{}", v);
            assert!(generic_value_ok(v.as_bytes(), true, Ctx::Code, false), "{}", v);
        }
        for v in ["test-token-123", "mypassword1", "admin12345!", "my-secret-value-2", "default_token_42", "this.secretKey1"] {
            assert!(generic_value_rejected(v.as_bytes()), "{}", v);
        }
    }
}
