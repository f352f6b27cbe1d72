//! Plugin configuration: disabling rules, severity overrides, custom rules (our TOML format or a
//! gitleaks `.gitleaks.toml` with the base it extends), GitLab's secret-detection ruleset (as JSON the host
//! made from `.gitlab/secret-detection-ruleset.toml`), extra allowlists. Builds the `Engine` for an instance.
//! Errors start with the config key (and line), so the host can name the file they came from.

use crate::engine::Engine;
use crate::gitleaks::{self, at, locate, split_position};
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
    /// The text of the file a `gitleaks_config`'s `[extend] path` names (the host reads it).
    pub gitleaks_config_base: Option<String>,
    /// GitLab's ruleset as JSON: `{"rules":[{type,value,disable?,severity?,description?}],"passthroughs":[{name,text}]}`.
    pub gitlab_ruleset: Option<String>,
    pub mount: Option<String>,
}

impl PluginConfig {
    pub fn is_default(&self) -> bool {
        self.disable.is_none()
            && self.severity.is_none()
            && self.rules.is_none()
            && self.allowlist.is_none()
            && self.gitleaks_config.is_none()
            && self.gitleaks_config_base.is_none()
            && self.gitlab_ruleset.is_none()
    }
}

/// The engine of the built-in rules (the plugin's default; built at build time into the pre-initialised module).
pub static DEFAULT_ENGINE: Lazy<Result<Engine, String>> = Lazy::new(|| {
    let (r, a) = rules::load_builtin()?;
    Ok(Engine::new(r, a))
});

/// The built-in rules and allowlists: the default engine's, so memory (and the pre-initialised module's memory
/// snapshot) holds one copy of them. An engine built from them clones them.
pub fn builtin() -> Result<(&'static [Rule], &'static [Allow]), String> {
    DEFAULT_ENGINE.as_ref().map(|e| (&e.rules[..], &e.allow[..])).map_err(|e| e.clone())
}

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

#[derive(serde::Deserialize, Default)]
struct GitlabRuleset {
    #[serde(default)]
    rules: Vec<GitlabRule>,
    #[serde(default)]
    passthroughs: Vec<GitlabPassthrough>,
}

#[derive(serde::Deserialize)]
struct GitlabRule {
    #[serde(default, rename = "type")]
    #[allow(dead_code)]
    kind: String,
    value: String,
    #[serde(default)]
    disable: bool,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(serde::Deserialize)]
struct GitlabPassthrough {
    text: String,
}

/// An allowlist meant for some rules only, attached to them once every rule is loaded.
struct Targeted {
    key: String,
    line: Option<usize>,
    allow: Allow,
    targets: Vec<(String, Option<usize>)>,
}

/// What a config layer may do with `[extend]`.
#[derive(PartialEq)]
enum Extend {
    /// The top `.gitleaks.toml`: `path` needs the base text.
    Top { has_base: bool },
    /// Anything else: no `path` (one level of extension; other layers have no file to be relative to).
    NoPath,
}

/// Adds one config text's rules and allowlists. `key` names it in errors.
fn add_layer(
    key: &str,
    text: &str,
    extend: Extend,
    rules: &mut Vec<Rule>,
    allows: &mut Vec<Allow>,
    targeted: &mut Vec<Targeted>,
    disabled: &mut Vec<String>,
) -> Result<(), String> {
    let file = rules::parse_rule_file(text).map_err(|e| {
        let (line, msg) = split_position(&e);
        at(key, line, &msg)
    })?;
    if let Some(x) = &file.extend {
        if let Some(u) = &x.url {
            return Err(at(
                key,
                locate(text, "url", u),
                "[extend] url is not supported: the plugin fetches nothing; commit the file and use [extend] path",
            ));
        }
        if let Some(p) = &x.path {
            let line = locate(text, "path", p);
            match extend {
                Extend::Top { has_base: true } => {}
                Extend::Top { has_base: false } => {
                    return Err(at(
                        key,
                        line,
                        &format!("[extend] path \"{}\" was not supplied (wasmci scan reads it from the checkout)", p),
                    ))
                }
                Extend::NoPath => {
                    return Err(at(key, line, &format!("[extend] path \"{}\": only one level of extension is supported", p)))
                }
            }
        }
        disabled.extend(x.disabled_rules.iter().cloned());
    }
    for spec in &file.rules {
        let mut r = compile_rule(spec, false).map_err(|e| at(key, locate(text, "id", spec.id.trim()), &e))?;
        if let Some(pos) = rules.iter().position(|x| x.id == r.id) {
            r.replaces_builtin = rules[pos].builtin || rules[pos].replaces_builtin;
            rules[pos] = r;
        } else {
            rules.push(r);
        }
    }
    for a in file.allowlist.iter().chain(file.allowlists.iter()) {
        let allow = compile_allow("allowlist", a, false).map_err(|e| {
            let line = if e.contains("condition") {
                locate(text, "condition", a.condition.as_deref().unwrap_or_default())
            } else if e.contains("regexTarget") {
                locate(text, "regexTarget", a.regex_target.as_deref().unwrap_or_default())
            } else {
                None
            };
            at(key, line, &e)
        })?;
        if a.target_rules.is_empty() {
            allows.push(allow);
        } else {
            targeted.push(Targeted {
                key: key.to_string(),
                line: locate(text, "targetRules", ""),
                allow,
                targets: a.target_rules.iter().map(|t| (t.clone(), locate(text, "", t))).collect(),
            });
        }
    }
    Ok(())
}

fn nonempty(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.trim().is_empty())
}

pub fn build_engine(cfg: &PluginConfig) -> Result<Engine, String> {
    let (builtin, builtin_allow) = builtin()?;
    let mut rules: Vec<Rule> = builtin.to_vec();
    let mut allows: Vec<Allow> = builtin_allow.to_vec();
    let mut targeted = Vec::new();
    let mut disabled = Vec::new();

    let base = nonempty(&cfg.gitleaks_config_base);
    if let Some(b) = base {
        add_layer("gitleaks_config_base", b, Extend::NoPath, &mut rules, &mut allows, &mut targeted, &mut disabled)?;
    }
    if let Some(g) = nonempty(&cfg.gitleaks_config) {
        let top = Extend::Top { has_base: base.is_some() };
        add_layer("gitleaks_config", g, top, &mut rules, &mut allows, &mut targeted, &mut disabled)?;
    }
    let ruleset: GitlabRuleset = match nonempty(&cfg.gitlab_ruleset) {
        Some(j) => serde_json::from_str(j).map_err(|e| format!("gitlab_ruleset: invalid JSON: {}", e))?,
        None => GitlabRuleset::default(),
    };
    for (i, p) in ruleset.passthroughs.iter().enumerate() {
        let key = format!("gitlab_ruleset.passthroughs[{}]", i);
        add_layer(&key, &p.text, Extend::NoPath, &mut rules, &mut allows, &mut targeted, &mut disabled)?;
    }
    if let Some(t) = nonempty(&cfg.rules) {
        add_layer("rules", t, Extend::NoPath, &mut rules, &mut allows, &mut targeted, &mut disabled)?;
    }
    // targetRules: the allowlist joins the named rules' own allowlists, so it can silence nothing else.
    for t in targeted {
        let mut hit = Vec::new();
        for (name, line) in &t.targets {
            let found = gitleaks::resolve(name, &rules);
            if found.is_empty() {
                return Err(at(
                    &t.key,
                    line.or(t.line),
                    &format!("[[allowlists]] targetRules names '{}', which is not a rule of this scan (wasmci or gitleaks id)", name),
                ));
            }
            hit.extend(found);
        }
        hit.sort_unstable();
        hit.dedup();
        for i in hit {
            rules[i].allow.push(t.allow.clone());
        }
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
    // gitleaks `[extend] disabledRules` and GitLab `disable`: ids of rules wasmci does not have turn nothing off.
    let mut off = vec![false; rules.len()];
    for id in &disabled {
        for i in gitleaks::resolve(id, &rules) {
            off[i] = true;
        }
    }
    for (n, r) in ruleset.rules.iter().enumerate() {
        let hit = gitleaks::resolve(&r.value, &rules);
        let sev = match &r.severity {
            Some(s) => Some(
                normalize_severity(s)
                    .ok_or_else(|| format!("gitlab_ruleset.rules[{}]: unknown severity '{}' for '{}'", n, s, r.value))?,
            ),
            None => None,
        };
        for i in hit {
            if r.disable {
                off[i] = true;
            }
            if let Some(s) = sev {
                rules[i].severity = s.to_string();
            }
            if let Some(d) = r.description.as_deref().filter(|d| !d.trim().is_empty()) {
                rules[i].description = d.to_string();
            }
        }
    }
    let mut keep = off.iter().map(|o| !o);
    rules.retain(|_| keep.next().unwrap_or(true));
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
