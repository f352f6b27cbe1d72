//! gitleaks and GitLab configuration compatibility. Its rule: such a config adds rules and narrows the scan
//! (allowlists, `disabledRules`, GitLab `disable`), each piece only where it says — an allowlist with `targetRules`
//! applies to those rules alone — and wasmci's own rules stay on (`useDefault = false` does not turn them off).
//! Files are the host's business: `[extend] path` arrives as the text `gitleaks_config_base` (one level; the host
//! reads it from the checkout), `url` is refused (the plugin fetches nothing). Errors name the config key and,
//! where the text shows it, the line: `gitleaks_config:12: rule 'x': ...`.

use crate::rules::Rule;
use once_cell::sync::Lazy;

/// wasmci rule id -> gitleaks default-config rule id (data/gitleaks-ids.toml).
static IDS: Lazy<Vec<(String, String)>> = Lazy::new(|| {
    #[derive(serde::Deserialize)]
    struct Table {
        ids: std::collections::BTreeMap<String, String>,
    }
    // The table is data shipped in the crate; a test parses it, so this cannot fail in a release.
    toml::from_str::<Table>(include_str!("../data/gitleaks-ids.toml")).map(|t| t.ids.into_iter().collect()).unwrap_or_default()
});

/// The (wasmci id, gitleaks id) pairs of the table.
pub fn ids() -> &'static [(String, String)] {
    &IDS
}

/// The gitleaks default-config id corresponding to a wasmci rule, if any.
pub fn gitleaks_id(ours: &str) -> Option<&'static str> {
    IDS.iter().find(|(o, _)| o == ours).map(|(_, g)| g.as_str())
}

/// Indices of the rules a config names by `name`: our id, or the gitleaks id of ours.
pub fn resolve(name: &str, rules: &[Rule]) -> Vec<usize> {
    rules
        .iter()
        .enumerate()
        .filter(|(_, r)| r.id == name || gitleaks_id(&r.id) == Some(name))
        .map(|(i, _)| i)
        .collect()
}

/// A TOML parser message "... at line N column M" split into (N, the message without the position).
pub fn split_position(msg: &str) -> (Option<usize>, String) {
    if let Some(at) = msg.rfind(" at line ") {
        let rest = &msg[at + " at line ".len()..];
        let n: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        if let Ok(line) = n.parse::<usize>() {
            return (Some(line), msg[..at].to_string());
        }
    }
    (None, msg.to_string())
}

/// The first line (1-based) that assigns `key` (any value if `value` is empty, else one holding `value` quoted), or
/// with an empty key the first line holding `value` quoted: where an error about that value points.
pub fn locate(text: &str, key: &str, value: &str) -> Option<usize> {
    if key.is_empty() && value.is_empty() {
        return None;
    }
    let quoted = [format!("\"{}\"", value), format!("'{}'", value)];
    text.lines()
        .position(|l| {
            let t = l.trim_start().trim_start_matches('"');
            let key_ok = key.is_empty()
                || (t.starts_with(key) && t[key.len()..].trim_start_matches('"').trim_start().starts_with('='));
            key_ok && (value.is_empty() || quoted.iter().any(|q| l.contains(q.as_str())))
        })
        .map(|i| i + 1)
}

/// `key:line: message`, or `key: message` when the line is unknown.
pub fn at(key: &str, line: Option<usize>, msg: &str) -> String {
    match line {
        Some(n) => format!("{}:{}: {}", key, n, msg),
        None => format!("{}: {}", key, msg),
    }
}
