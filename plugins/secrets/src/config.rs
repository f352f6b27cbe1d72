//! Plugin configuration: disabling rules, severity overrides, custom rules (our TOML format or a
//! gitleaks `.gitleaks.toml`), extra allowlists. Builds the `Engine` for an instance.

use crate::engine::Engine;
use crate::rules::{self, compile_allow, compile_rule, normalize_severity, Allow, AllowSpec, Rule};
use once_cell::sync::Lazy;
use std::collections::HashMap;

#[derive(Default, Debug, Clone)]
pub struct PluginConfig {
    pub disable: Option<String>,
    pub severity: Option<String>,
    pub rules: Option<String>,
    pub allowlist: Option<String>,
    pub gitleaks_config: Option<String>,
    pub mount: Option<String>,
}

impl PluginConfig {
    pub fn is_default(&self) -> bool {
        self.disable.is_none()
            && self.severity.is_none()
            && self.rules.is_none()
            && self.allowlist.is_none()
            && self.gitleaks_config.is_none()
    }
}

pub static BUILTIN: Lazy<Result<(Vec<Rule>, Vec<Allow>), String>> = Lazy::new(rules::load_builtin);

pub static DEFAULT_ENGINE: Lazy<Result<Engine, String>> = Lazy::new(|| {
    let (r, a) = BUILTIN.as_ref().map_err(|e| e.clone())?;
    Ok(Engine::new(r.clone(), a.clone()))
});

#[derive(serde::Deserialize, Default)]
struct AllowJson {
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    regexes: Vec<String>,
    #[serde(default)]
    stopwords: Vec<String>,
    #[serde(default, alias = "regexTarget")]
    regex_target: Option<String>,
}

pub fn build_engine(cfg: &PluginConfig) -> Result<Engine, String> {
    let (builtin, builtin_allow) = BUILTIN.as_ref().map_err(|e| e.clone())?;
    let mut rules: Vec<Rule> = builtin.clone();
    let mut allows: Vec<Allow> = builtin_allow.clone();

    let add_rules = |text: &str, what: &str, rules: &mut Vec<Rule>, allows: &mut Vec<Allow>| -> Result<(), String> {
        let file = rules::parse_rule_file(text).map_err(|e| format!("{}: {}", what, e))?;
        for spec in &file.rules {
            let r = compile_rule(spec, false).map_err(|e| format!("{}: {}", what, e))?;
            if let Some(pos) = rules.iter().position(|x| x.id == r.id) {
                rules[pos] = r;
            } else {
                rules.push(r);
            }
        }
        if let Some(a) = &file.allowlist {
            allows.push(compile_allow("allowlist", a, false).map_err(|e| format!("{}: {}", what, e))?);
        }
        for a in &file.allowlists {
            allows.push(compile_allow("allowlist", a, false).map_err(|e| format!("{}: {}", what, e))?);
        }
        Ok(())
    };
    if let Some(g) = cfg.gitleaks_config.as_deref().filter(|s| !s.trim().is_empty()) {
        add_rules(g, "gitleaks_config", &mut rules, &mut allows)?;
    }
    if let Some(t) = cfg.rules.as_deref().filter(|s| !s.trim().is_empty()) {
        add_rules(t, "rules", &mut rules, &mut allows)?;
    }
    if let Some(a) = cfg.allowlist.as_deref().filter(|s| !s.trim().is_empty()) {
        let aj: AllowJson = serde_json::from_str(a).map_err(|e| format!("allowlist: invalid JSON: {}", e))?;
        let spec = AllowSpec {
            regexes: aj.regexes,
            paths: aj.paths,
            stopwords: aj.stopwords,
            regex_target: aj.regex_target,
            ..Default::default()
        };
        allows.push(compile_allow("allowlist", &spec, false)?);
    }
    if let Some(d) = cfg.disable.as_deref() {
        let ids: Vec<&str> = d.split(|c| c == ',' || c == ' ' || c == '\n').map(|s| s.trim()).filter(|s| !s.is_empty()).collect();
        rules.retain(|r| !ids.iter().any(|i| *i == r.id || (i.starts_with("tag:") && r.tags.iter().any(|t| t == &i[4..]))));
    }
    if let Some(sv) = cfg.severity.as_deref().filter(|s| !s.trim().is_empty()) {
        let map: HashMap<String, String> =
            serde_json::from_str(sv).map_err(|e| format!("severity: expected a JSON object id->severity: {}", e))?;
        for (id, sev) in map {
            let n = normalize_severity(&sev).ok_or_else(|| format!("severity: unknown severity '{}' for rule '{}'", sev, id))?;
            for r in rules.iter_mut().filter(|r| r.id == id) {
                r.severity = n.to_string();
            }
        }
    }
    Ok(Engine::new(rules, allows))
}
