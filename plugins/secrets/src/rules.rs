//! Rule data model: the TOML rule file format (built-in and custom rules), gitleaks config
//! conversion, and compilation into `Rule`s.

use crate::validate::Validator;
use once_cell::sync::OnceCell;
use regex::bytes::{Regex, RegexBuilder};
use serde::Deserialize;

/// The rule file as written, with each rule's test examples (tests read these).
pub const BUILTIN_RULES: &str = include_str!(concat!(env!("OUT_DIR"), "/rules.toml"));
/// The same rules without their examples, as JSON (see build.rs): what the plugin loads.
pub const BUILTIN_RULES_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/rules.json"));
/// The plugin's copy of `BUILTIN_RULES_JSON`, which it parses (`load_builtin`), in writable memory so that
/// `release_builtin_json` can clear it: the pre-initialised build parses it at build time, then clears it, and a run
/// of zeros is left out of the module's memory snapshot (571 KB of text no instance reads again).
static mut BUILTIN_JSON: [u8; BUILTIN_RULES_JSON.len()] = *include_bytes!(concat!(env!("OUT_DIR"), "/rules.json"));
static BUILTIN_JSON_RELEASED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Clears the plugin's copy of the built-in rules' text; `load_builtin` fails afterwards. For the pre-initialised
/// build only, once the default engine (the only caller of `load_builtin`) holds the parsed rules.
pub fn release_builtin_json() {
    BUILTIN_JSON_RELEASED.store(true, std::sync::atomic::Ordering::SeqCst);
    // SAFETY: the plugin is single-threaded and no reference into BUILTIN_JSON outlives `load_builtin`, whose
    // parsed rules own their strings.
    unsafe { (*std::ptr::addr_of_mut!(BUILTIN_JSON)).fill(0) }
}

#[derive(Debug, Deserialize, Default, Clone)]
pub struct AllowSpec {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub regexes: Vec<String>,
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(default)]
    pub stopwords: Vec<String>,
    #[serde(default)]
    pub commits: Vec<String>,
    #[serde(default, alias = "regexTarget")]
    pub regex_target: Option<String>,
    #[serde(default)]
    pub condition: Option<String>,
    /// gitleaks `[[allowlists]]` `targetRules`: the allowlist applies to these rules only (our ids or gitleaks').
    #[serde(default, alias = "targetRules")]
    pub target_rules: Vec<String>,
}

/// gitleaks `[extend]` (see gitleaks.rs for what each key may do here).
#[derive(Debug, Deserialize, Default, Clone)]
pub struct ExtendSpec {
    #[serde(default, alias = "useDefault")]
    pub use_default: Option<bool>,
    #[serde(default, alias = "disabledRules")]
    pub disabled_rules: Vec<String>,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

#[derive(Debug, Deserialize, Default, Clone)]
pub struct RuleSpec {
    pub id: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub severity: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// How to revoke or rotate this credential, one or two sentences (reports: SARIF help, GitLab solution).
    #[serde(default)]
    pub remediation: Option<String>,
    /// The vendor's documentation URL for the credential (revocation/rotation page where one exists).
    #[serde(default)]
    pub docs: Option<String>,
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub regex: Option<String>,
    /// Shorthand for "key = value" rules: a regex for the key name (matched case-insensitively)...
    #[serde(default)]
    pub context: Option<String>,
    /// ...and a regex for the secret value; the rule's regex is built from both.
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default, alias = "secretGroup")]
    pub secret_group: Option<usize>,
    #[serde(default)]
    pub entropy: Option<f64>,
    /// A validator's name (`VALIDATORS` in validate.rs), checked after the regex matched.
    #[serde(default)]
    pub validator: Option<String>,
    #[serde(default)]
    pub precheck: Option<String>,
    /// The keyword starts the match (vendor prefix): scan only from the keyword on.
    #[serde(default)]
    pub anchored: Option<bool>,
    /// The keyword must be followed by at least this many token bytes (letters, digits, `_-+/=.~%`):
    /// a necessary condition checked before the regex runs, for long vendor tokens whose prefix
    /// is common in base64 (e.g. `EAA` in source-map mappings).
    #[serde(default)]
    pub min_run: Option<usize>,
    /// The `key` group may start up to this many key-name bytes (`[A-Za-z0-9_.-]`) before where the regex
    /// matched it: what a leading `[A-Za-z0-9_.\-]{0,N}` in the key group would take, found in code instead,
    /// because a bounded repeat multiplies the regex's compile and match time (generic rules: ~4x).
    #[serde(default)]
    pub key_prefix: Option<usize>,
    /// The secret is cut to this many bytes: what `{m,N-1}` on the regex's last repeat would match, for a regex
    /// written with an open-ended `{m,}` there (same reason as `key_prefix`).
    #[serde(default)]
    pub secret_max: Option<usize>,
    /// Keywords must match with their exact case (faster for prefixes like `EAAA`).
    #[serde(default)]
    pub keywords_case_sensitive: Option<bool>,
    /// The keywords count only where they start a value: at the start of a file, or after a byte that is not a
    /// letter, digit, `_`, `-` or `,` (ac::is_lead). For vendor prefixes that base64 text is full of: the keyword
    /// automaton does not even report them elsewhere (`EAA` after a `,` in source-map mappings: 519 000 hits in
    /// the bench corpus).
    #[serde(default)]
    pub keywords_start_value: Option<bool>,
    #[serde(default)]
    pub confidence: Option<String>,
    #[serde(default)]
    pub multiline: Option<bool>,
    #[serde(default)]
    pub before: Option<usize>,
    #[serde(default)]
    pub after: Option<usize>,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub placeholders: Option<bool>,
    #[serde(default)]
    pub priority: Option<i32>,
    #[serde(default)]
    pub allowlist: Option<AllowSpec>,
    #[serde(default)]
    pub allowlists: Vec<AllowSpec>,
    /// Example templates that must be detected (tests only).
    #[serde(default)]
    pub examples: Vec<String>,
    /// Example templates that must not be detected by this rule (tests only).
    #[serde(default)]
    pub negatives: Vec<String>,
}

#[derive(Debug, Deserialize, Default)]
pub struct RuleFile {
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
    #[serde(default)]
    pub allowlist: Option<AllowSpec>,
    #[serde(default)]
    pub allowlists: Vec<AllowSpec>,
    #[serde(default)]
    pub extend: Option<ExtendSpec>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Secret,
    Match,
    Line,
}

#[derive(Debug, Clone)]
pub struct Allow {
    /// Built-in allowlists' regexes compile on first use, as rules' do (compiling them all at start-up was ~7 ms of
    /// every plugin instance in wasm); a custom allowlist's are compiled at once, so a bad one is a config error.
    pub regexes: Vec<RuleRegex>,
    pub paths: Vec<RuleRegex>,
    pub stopwords: Vec<Vec<u8>>, // lower-cased
    pub commits: Vec<String>,
    pub target: Target,
    pub and: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precheck {
    None,
    /// The keyword must be followed (after an optional quote and spaces) by an assignment operator.
    Assignment,
    /// The keyword (`://`) must be followed by `user:pass@` before the end of the authority.
    Userinfo,
    /// The keyword starts a key name: up to 32 more key characters, then an assignment operator.
    KeyAssignment,
    /// The keyword names a service, and `key`, `token` or `secret` follows on the same line within 64 bytes: the
    /// shape of the service-name rules (`SERVICE_KEY_FORM`).
    ServiceKey,
}

/// What a built-in service-name rule's regex has after the service name: up to 24 name characters, then `key`,
/// `token` or `secret`. Such a rule gets the `ServiceKey` precheck: 325 of 1 103 rules, keyed on names that occur
/// in clean code (`stream`, `together`, `outreach`) without a credential after them.
const SERVICE_KEY_FORM: &str = r"[ \t\w.\-(]{0,24}?(?:key|token|secret)";

#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    /// See RuleSpec::keywords_start_value.
    pub keywords_lead: bool,
    pub description: String,
    pub severity: String,
    pub tags: Vec<String>,
    pub remediation: String,
    pub docs: String,
    pub keywords: Vec<String>,
    pub regex: Option<RuleRegex>,
    pub secret_group: Option<usize>,
    pub entropy: Option<f64>,
    pub validator: Validator,
    pub precheck: Precheck,
    pub confidence: &'static str,
    pub multiline: bool,
    pub before: usize,
    pub after: usize,
    pub path: Option<Regex>,
    pub placeholders: bool,
    pub priority: i32,
    pub allow: Vec<Allow>,
    pub generic: bool,
    pub builtin: bool,
    /// A config rule that took a built-in rule's place (same id): `describe` says so, for the host to announce what a
    /// tree config narrowed.
    pub replaces_builtin: bool,
    /// Reject a match whose secret is directly followed by: 0 = anything allowed,
    /// 1 = a word character, 2 = a token character (word, `-`, `+`, `/`, `=`).
    pub trail: u8,
    pub anchored: bool,
    /// Token bytes that must follow a keyword hit (0 = no check).
    pub min_run: usize,
    /// See `RuleSpec::key_prefix` and `RuleSpec::secret_max` (0 = none).
    pub key_prefix: usize,
    pub secret_max: usize,
    /// What every secret this rule reports is made of (built-in rules whose regex has such a group): a window
    /// without a run of that many such bytes cannot hold a finding, and its regex is not run (nor compiled).
    pub gate: Option<SecretGate>,
    /// Exact-case keywords (empty unless `keywords_case_sensitive`).
    pub keywords_exact: Vec<Vec<u8>>,
}

pub fn normalize_severity(s: &str) -> Option<&'static str> {
    Some(match s.trim().to_ascii_lowercase().as_str() {
        "critical" | "blocker" => "critical",
        "high" | "major" | "error" => "high",
        "medium" | "moderate" | "warning" => "medium",
        "low" | "minor" => "low",
        "info" | "information" | "informational" | "note" | "unknown" => "info",
        _ => return None,
    })
}

/// Go's RE2 accepts `\` before any punctuation; regex-syntax 0.6 only before meta characters.
/// Drop the backslash in front of other punctuation so gitleaks patterns compile here.
pub fn normalize_go_regex(re: &str) -> String {
    let mut out = String::with_capacity(re.len());
    let mut chars = re.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(n) => {
                    let meta = "\\.+*?()|[]{}^$#&-~".contains(n);
                    if n.is_ascii_punctuation() && !meta {
                        out.push(n);
                    } else {
                        out.push('\\');
                        out.push(n);
                    }
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `<context>... = "<secret>"`: a key name containing the context words, an assignment
/// operator, an optional quote, then the secret, which must end at a delimiter. Quotes may be JSON-escaped
/// (`\"aws_secret_access_key\": \"…\"` inside a notebook cell or a JSON string).
pub fn context_regex(context: &str, secret: &str) -> String {
    format!(
        r#"(?i:(?:{})[a-z0-9_.\-]{{0,32}}?)(?:\\?["'\]]){{0,2}}[ \t]{{0,4}}(?:=|:=|:|=>|\?=)[ \t]{{0,4}}(?:\\?["'`])?({})(?:[^A-Za-z0-9_\-+/=]|$)"#,
        context, secret
    )
}

/// A run of at least `min` bytes from `set` (a bitset): what the secret group of every match of a rule's regex is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretGate {
    pub min: usize,
    pub set: [u64; 4],
}

impl SecretGate {
    #[inline]
    fn has(&self, b: u8) -> bool {
        self.set[(b >> 6) as usize] >> (b & 63) & 1 != 0
    }

    /// Whether `w` holds `min` consecutive bytes of the set. Looks at every `min`-th byte first: a byte outside
    /// the set ends every run through it, so most windows are refused after `len / min` lookups.
    pub fn admits(&self, w: &[u8]) -> bool {
        let n = self.min;
        let mut i = n - 1;
        while i < w.len() {
            if !self.has(w[i]) {
                i += n;
                continue;
            }
            // a run through `i`: its start, then whether it reaches `n`
            let mut a = i;
            while a > 0 && i - a < n - 1 && self.has(w[a - 1]) {
                a -= 1;
            }
            let mut z = i + 1;
            while z < w.len() && z - a < n && self.has(w[z]) {
                z += 1;
            }
            if z - a >= n {
                return true;
            }
            i = z + n;
        }
        false
    }
}

/// Secrets shorter than this do not get a gate: a run that short is everywhere in code.
const GATE_MIN: usize = 8;

/// The gate of a rule's regex (`src` as the regex crate gets it), when the group that `candidate` takes as the
/// secret (`secret_group`, else the group named `secret`, else the first group) takes part in every match and
/// every match of it is at least `GATE_MIN` bytes from a known set. None when the regex does not parse here, the
/// secret group is optional or absent, or it is shorter.
pub fn secret_gate(src: &str, secret_group: Option<usize>) -> Option<SecretGate> {
    use regex_syntax::hir::{Class, GroupKind, Hir, HirKind, Literal, RepetitionKind, RepetitionRange};
    let hir = regex_syntax::ParserBuilder::new().allow_invalid_utf8(true).build().parse(src).ok()?;
    // The index of the capture group named `name`.
    fn named(h: &Hir, name: &str) -> Option<u32> {
        match h.kind() {
            HirKind::Group(g) => match &g.kind {
                GroupKind::CaptureName { name: n, index } if n == name => Some(*index),
                _ => named(&g.hir, name),
            },
            HirKind::Repetition(r) => named(&r.hir, name),
            HirKind::Concat(v) | HirKind::Alternation(v) => v.iter().find_map(|x| named(x, name)),
            _ => None,
        }
    }
    // The fewest times a repetition repeats.
    fn least(kind: &RepetitionKind) -> usize {
        match kind {
            RepetitionKind::ZeroOrOne | RepetitionKind::ZeroOrMore => 0,
            RepetitionKind::OneOrMore => 1,
            RepetitionKind::Range(RepetitionRange::Exactly(n))
            | RepetitionKind::Range(RepetitionRange::AtLeast(n))
            | RepetitionKind::Range(RepetitionRange::Bounded(n, _)) => *n as usize,
        }
    }
    let group = match secret_group {
        Some(0) => return None,
        Some(n) => n as u32,
        None => named(&hir, "secret").unwrap_or(1),
    };
    // The group's node when every match of `h` goes through it (not under an alternation or an optional repeat).
    fn mandatory(h: &Hir, group: u32) -> Option<&Hir> {
        match h.kind() {
            HirKind::Group(g) => match g.kind {
                GroupKind::CaptureIndex(i) | GroupKind::CaptureName { index: i, .. } if i == group => Some(&g.hir),
                _ => mandatory(&g.hir, group),
            },
            HirKind::Repetition(r) if least(&r.kind) > 0 => mandatory(&r.hir, group),
            HirKind::Concat(v) => v.iter().find_map(|x| mandatory(x, group)),
            _ => None,
        }
    }
    // The fewest bytes `h` matches, adding every byte it can match to `set`.
    fn scan(h: &Hir, set: &mut [u64; 4]) -> usize {
        let add = |a: u32, z: u32, set: &mut [u64; 4]| {
            for b in a..=z.min(255) {
                set[(b >> 6) as usize] |= 1 << (b & 63);
            }
            if z > 127 {
                // a non-ASCII character: any of its UTF-8 bytes
                for b in 0x80..=0xffu32 {
                    set[(b >> 6) as usize] |= 1 << (b & 63);
                }
            }
        };
        match h.kind() {
            HirKind::Empty | HirKind::Anchor(_) | HirKind::WordBoundary(_) => 0,
            HirKind::Literal(Literal::Byte(b)) => {
                add(*b as u32, *b as u32, set);
                1
            }
            HirKind::Literal(Literal::Unicode(c)) => {
                add(*c as u32, *c as u32, set);
                c.len_utf8()
            }
            HirKind::Class(Class::Bytes(c)) => {
                for r in c.iter() {
                    add(r.start() as u32, r.end() as u32, set);
                }
                1
            }
            HirKind::Class(Class::Unicode(c)) => {
                for r in c.iter() {
                    add(r.start() as u32, r.end() as u32, set);
                }
                1
            }
            HirKind::Repetition(r) => scan(&r.hir, set) * least(&r.kind),
            HirKind::Group(g) => scan(&g.hir, set),
            HirKind::Concat(v) => v.iter().map(|x| scan(x, set)).sum(),
            HirKind::Alternation(v) => v.iter().map(|x| scan(x, set)).min().unwrap_or(0),
        }
    }
    let g = mandatory(&hir, group)?;
    let mut set = [0u64; 4];
    let min = scan(g, &mut set);
    (min >= GATE_MIN).then_some(SecretGate { min, set })
}

fn compile(id: &str, what: &str, re: &str, builtin: bool) -> Result<Regex, String> {
    build(&regex_source(re, builtin)).map_err(|e| format!("rule '{}': invalid {} regex '{}': {}", id, what, re, e))
}

fn regex_source(re: &str, builtin: bool) -> String {
    if builtin {
        format!("(?-u){}", re)
    } else {
        normalize_go_regex(re)
    }
}

fn build(src: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(src).size_limit(32 << 20).dfa_size_limit(4 << 20).build()
}

/// A rule's main regex, compiled on first use. Compiling all built-in regexes costs ~70 ms natively
/// and several times that in wasm before the code is optimised, paid by every plugin instance,
/// while a typical scan (a merge request's diff) reaches the regexes of a handful of rules.
/// Built-in regexes are known to compile (`every_builtin_regex_compiles` test); custom ones are
/// compiled when the rule is loaded so that a bad regex is reported at once.
#[derive(Debug, Clone)]
pub struct RuleRegex {
    src: String,
    re: OnceCell<Regex>,
}

impl RuleRegex {
    fn lazy(src: String) -> RuleRegex {
        RuleRegex { src, re: OnceCell::new() }
    }

    fn compiled(src: String, re: Regex) -> RuleRegex {
        RuleRegex { src, re: OnceCell::from(re) }
    }

    /// The compiled regex; None only if a lazily compiled (built-in) regex is invalid.
    pub fn get(&self) -> Option<&Regex> {
        self.force().ok()
    }

    /// The pattern as handed to the regex crate (benchmark example: compile costs per rule).
    pub fn source(&self) -> &str {
        &self.src
    }

    pub fn is_compiled(&self) -> bool {
        self.re.get().is_some()
    }

    pub fn force(&self) -> Result<&Regex, String> {
        self.re.get_or_try_init(|| build(&self.src)).map_err(|e| e.to_string())
    }
}

pub fn compile_allow(id: &str, a: &AllowSpec, builtin: bool) -> Result<Allow, String> {
    let regex = |what: &str, r: &str, builtin_syntax: bool| -> Result<RuleRegex, String> {
        Ok(if builtin {
            RuleRegex::lazy(regex_source(r, builtin_syntax))
        } else {
            RuleRegex::compiled(regex_source(r, builtin_syntax), compile(id, what, r, builtin_syntax)?)
        })
    };
    let mut regexes = Vec::new();
    for r in &a.regexes {
        regexes.push(regex("allowlist", r, builtin)?);
    }
    let mut paths = Vec::new();
    for r in &a.paths {
        paths.push(regex("allowlist path", r, false)?);
    }
    let target = match a.regex_target.as_deref().map(|s| s.to_ascii_lowercase()) {
        None => Target::Secret,
        Some(ref s) if s == "secret" => Target::Secret,
        Some(ref s) if s == "match" => Target::Match,
        Some(ref s) if s == "line" => Target::Line,
        Some(s) => return Err(format!("rule '{}': unknown allowlist regexTarget '{}' (secret, match or line)", id, s)),
    };
    let and = match a.condition.as_deref().map(|s| s.trim().to_ascii_uppercase()) {
        None => false,
        Some(ref s) if s == "OR" || s.is_empty() => false,
        Some(ref s) if s == "AND" => true,
        Some(_) => {
            return Err(format!(
                "rule '{}': unknown allowlist condition '{}' (OR or AND)",
                id,
                a.condition.as_deref().unwrap_or_default()
            ))
        }
    };
    Ok(Allow {
        regexes,
        paths,
        stopwords: a.stopwords.iter().filter(|s| !s.is_empty()).map(|s| s.to_ascii_lowercase().into_bytes()).collect(),
        commits: a.commits.clone(),
        target,
        and,
    })
}

pub fn compile_rule(spec: &RuleSpec, builtin: bool) -> Result<Rule, String> {
    let id = spec.id.trim().to_string();
    if id.is_empty() {
        return Err("a rule has an empty id".to_string());
    }
    let built;
    let regex_src = match (&spec.regex, &spec.context, &spec.secret) {
        (Some(r), _, _) if !r.is_empty() => Some(r),
        (_, Some(c), Some(sec)) => {
            built = context_regex(c, sec);
            Some(&built)
        }
        (_, None, Some(sec)) => {
            built = format!(r"\b({})(?:[^A-Za-z0-9_]|$)", sec);
            Some(&built)
        }
        _ => None,
    };
    let regex = match regex_src {
        Some(r) if builtin => Some(RuleRegex::lazy(regex_source(r, true))),
        Some(r) => Some(RuleRegex::compiled(regex_source(r, false), compile(&id, "", r, false)?)),
        None => None,
    };
    let path = match &spec.path {
        Some(p) if !p.is_empty() => Some(compile(&id, "path", p, false)?),
        _ => None,
    };
    if regex.is_none() && path.is_none() {
        return Err(format!("rule '{}': needs a regex or a path", id));
    }
    let severity = match &spec.severity {
        Some(s) => normalize_severity(s)
            .ok_or_else(|| format!("rule '{}': unknown severity '{}' (critical|high|medium|low|info)", id, s))?,
        None => "high",
    };
    let validator_name = spec.validator.as_deref().unwrap_or("");
    let validator = Validator::named(validator_name)
        .ok_or_else(|| format!("rule '{}': unknown validator '{}'", id, validator_name))?;
    let precheck = match spec.precheck.as_deref() {
        None | Some("") | Some("none") => Precheck::None,
        Some("assignment") => Precheck::Assignment,
        Some("userinfo") => Precheck::Userinfo,
        Some("key-assignment") => Precheck::KeyAssignment,
        Some("service-key") => Precheck::ServiceKey,
        Some(v) => return Err(format!("rule '{}': unknown precheck '{}'", id, v)),
    };
    let is_context_form = spec.regex.as_deref().map(|r| r.is_empty()).unwrap_or(true) && spec.context.is_some();
    let is_secret_form = spec.regex.as_deref().map(|r| r.is_empty()).unwrap_or(true) && spec.context.is_none() && spec.secret.is_some();
    let precheck = if precheck == Precheck::None && is_context_form && builtin {
        Precheck::KeyAssignment
    } else if precheck == Precheck::None && builtin && spec.regex.as_deref().map_or(false, |r| r.contains(SERVICE_KEY_FORM)) {
        Precheck::ServiceKey
    } else {
        precheck
    };
    let generic = spec.tags.iter().any(|t| t == "generic");
    let confidence = match spec.confidence.as_deref() {
        Some("high") => "high",
        Some("low") => "low",
        Some("medium") => "medium",
        Some(c) => return Err(format!("rule '{}': unknown confidence '{}'", id, c)),
        None => {
            if generic {
                "low"
            } else {
                "medium"
            }
        }
    };
    let mut allow = Vec::new();
    if let Some(a) = &spec.allowlist {
        allow.push(compile_allow(&id, a, builtin)?);
    }
    for a in &spec.allowlists {
        allow.push(compile_allow(&id, a, builtin)?);
    }
    let multiline = spec.multiline.unwrap_or(false);
    let keywords: Vec<String> =
        spec.keywords.iter().map(|k| k.to_ascii_lowercase()).filter(|k| !k.is_empty()).collect();
    Ok(Rule {
        description: spec.description.clone().unwrap_or_else(|| id.clone()),
        severity: severity.to_string(),
        tags: spec.tags.clone(),
        remediation: spec.remediation.clone().unwrap_or_default(),
        docs: spec.docs.clone().unwrap_or_default(),
        keywords,
        regex,
        secret_group: spec.secret_group,
        entropy: spec.entropy.filter(|e| *e > 0.0),
        validator,
        precheck,
        confidence,
        multiline,
        before: spec.before.unwrap_or(if builtin { 96 } else { 256 }),
        after: spec.after.unwrap_or(if multiline { 16384 } else if builtin { 320 } else { 1024 }),
        path,
        placeholders: spec.placeholders.unwrap_or(true),
        priority: spec.priority.unwrap_or(if generic { 10 } else { 50 }),
        allow,
        generic,
        builtin,
        replaces_builtin: false,
        anchored: spec.anchored.unwrap_or(is_secret_form && builtin),
        keywords_lead: spec.keywords_start_value.unwrap_or(false),
        keywords_exact: if spec.keywords_case_sensitive.unwrap_or(false) {
            spec.keywords.iter().map(|k| k.as_bytes().to_vec()).collect()
        } else {
            Vec::new()
        },
        trail: match (&spec.regex, &spec.context, &spec.secret) {
            (Some(r), _, _) if !r.is_empty() => 0,
            (_, Some(_), Some(_)) => 2,
            (_, None, Some(_)) => 1,
            _ => 0,
        },
        min_run: spec.min_run.unwrap_or(0),
        key_prefix: spec.key_prefix.unwrap_or(0),
        secret_max: spec.secret_max.unwrap_or(0),
        gate: match (&regex_src, builtin) {
            (Some(r), true) => secret_gate(&regex_source(r, true), spec.secret_group),
            _ => None,
        },
        id,
    })
}

/// Parses a rule file: TOML (our format or gitleaks'), or JSON (`{"rules":[...]}` or `[...]`).
pub fn parse_rule_file(text: &str) -> Result<RuleFile, String> {
    let t = text.trim_start();
    if t.starts_with('{') {
        return serde_json::from_str::<RuleFile>(t).map_err(|e| format!("invalid rules JSON: {}", e));
    }
    if t.starts_with('[') && !t.starts_with("[[") && !t.starts_with("[allowlist") && !t.starts_with("[extend") {
        if let Ok(rules) = serde_json::from_str::<Vec<RuleSpec>>(t) {
            return Ok(RuleFile { rules, ..Default::default() });
        }
    }
    toml::from_str::<RuleFile>(text).map_err(|e| format!("invalid rules TOML: {}", e))
}

pub fn load_builtin() -> Result<(Vec<Rule>, Vec<Allow>), String> {
    if BUILTIN_JSON_RELEASED.load(std::sync::atomic::Ordering::SeqCst) {
        return Err("the built-in rules' text was released after pre-initialisation".into());
    }
    // SAFETY: only `release_builtin_json` writes BUILTIN_JSON, and the flag above says it has not; the borrow ends
    // with this function (the parsed rules own their strings).
    let text = std::str::from_utf8(unsafe { &*std::ptr::addr_of!(BUILTIN_JSON) }).map_err(|e| e.to_string())?;
    let file = parse_rule_file(text)?;
    let mut rules = Vec::with_capacity(file.rules.len());
    for spec in &file.rules {
        rules.push(compile_rule(spec, true)?);
    }
    let mut allows = Vec::new();
    if let Some(a) = &file.allowlist {
        allows.push(compile_allow("global", a, true)?);
    }
    Ok((rules, allows))
}

#[cfg(test)]
mod gate_tests {
    use super::{secret_gate, SecretGate};

    fn gate(re: &str) -> Option<SecretGate> {
        secret_gate(&format!("(?-u){}", re), None)
    }

    #[test]
    fn the_gate_is_the_secret_groups_alphabet_and_shortest_length() {
        let g = gate(r"(?i:pipedrive[ \t\w]{0,24}?token)\s*[:=]\s*([a-f0-9]{40})").unwrap();
        assert_eq!(g.min, 40);
        assert!(g.admits(b"x = 0123456789abcdef0123456789abcdef01234567;"));
        assert!(!g.admits(b"token = 0123456789abcdef0123456789abcdef0123456 and more"));
        // alternatives: the shortest; the alphabet of both
        let g = gate(r"\b(ghp_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})\b").unwrap();
        assert_eq!(g.min, 40);
        // the named group `secret` rather than the first one
        let g = gate(r"(?P<key>[a-z_]{1,32})\s*=\s*(?P<secret>[A-Z0-9]{16})").unwrap();
        assert_eq!(g.min, 16);
        assert!(!g.admits(b"abcdefghijklmnopqrstuvwxyz"));
        // no gate: an optional group, a group under an alternation, a short secret, the whole match
        assert_eq!(gate(r"key=([a-f0-9]{32})?"), None);
        assert_eq!(gate(r"a=([a-f0-9]{32})|b=([a-f0-9]{32})"), None);
        assert_eq!(gate(r"pin=([0-9]{4})"), None);
        assert_eq!(secret_gate(r"(?-u)key=([a-f0-9]{32})", Some(0)), None);
        assert_eq!(gate(r"key=[a-f0-9]{32}"), None);
    }

    #[test]
    fn admits_finds_a_run_anywhere_and_only_a_whole_one() {
        let g = gate(r"=([0-9]{8})").unwrap();
        assert!(g.admits(b"12345678"));
        assert!(g.admits(b"ab 12345678"));
        assert!(g.admits(b"12345678 ab"));
        assert!(g.admits(b"1234 1234 0123456789 9"));
        assert!(!g.admits(b"1234567 1234567 123456"));
        assert!(!g.admits(b"1234567"));
        assert!(!g.admits(b""));
        for n in 0..40 {
            let mut w = vec![b'x'; 40];
            for b in w.iter_mut().skip(n).take(8) {
                *b = b'7';
            }
            assert_eq!(g.admits(&w), n + 8 <= 40, "run at {}", n);
        }
    }
}
