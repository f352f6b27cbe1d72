//! gitleaks configuration compatibility: `[[allowlists]]` with `targetRules`, `condition` and `regexTarget`,
//! `[extend]` (`useDefault`, `disabledRules`, `path` as a base text the host supplies), GitLab's
//! secret-detection ruleset (disable, override, passthrough) and errors that name the line.
//! All tokens are synthetic (random strings generated here, valid checksums computed here).

use secrets::config::{build_engine, PluginConfig};
use secrets::engine::{Engine, Finding};
use secrets::examples::expand;
use secrets::util::Rng;

fn gen(t: &str, seed: u64) -> String {
    expand(t, &mut Rng::new(seed))
}

fn gitleaks(toml: &str) -> Result<Engine, String> {
    build_engine(&PluginConfig { gitleaks_config: Some(toml.to_string()), ..Default::default() })
}

fn ids(f: &[Finding]) -> Vec<&str> {
    f.iter().map(|x| x.rule_id.as_str()).collect()
}

/// A GitHub token and an ACME key (a custom rule) on lines that both say "fixture".
fn two_secrets() -> String {
    format!("GH_TOKEN={} # fixture\nACME={} # fixture\n", gen("%{ghcrc:ghp_}", 1), gen("acme_%{lan:24}", 2))
}

const ACME: &str = "[[rules]]\nid = \"acme-key\"\nregex = '''acme_[a-z0-9]{24}'''\nkeywords = [\"acme_\"]\n";

#[test]
fn an_allowlist_with_target_rules_silences_only_those_rules() {
    let cfg = format!(
        "{}\n[[allowlists]]\ndescription = \"fixtures of the acme rule\"\ntargetRules = [\"acme-key\"]\nregexTarget = \"line\"\nregexes = ['''fixture''']\n",
        ACME
    );
    let e = gitleaks(&cfg).unwrap();
    let f = e.scan_file("app.env", two_secrets().as_bytes());
    // The allowlist names acme-key only: the GitHub token on an equally matching line is still found.
    assert_eq!(ids(&f), vec!["github-pat"], "{:?}", f);
    // Without targetRules the same allowlist is global and silences both.
    let global = gitleaks(&cfg.replace("targetRules = [\"acme-key\"]\n", "")).unwrap();
    assert!(global.scan_file("app.env", two_secrets().as_bytes()).is_empty());
}

#[test]
fn target_rules_may_name_the_gitleaks_id_of_a_builtin_rule() {
    let cfg = "[[allowlists]]\ntargetRules = [\"github-pat\", \"stripe-access-token\"]\npaths = ['''^test/''']\n";
    let e = gitleaks(&format!("{}\n{}", ACME, cfg)).unwrap();
    // Tokens outside assignments, so no generic rule stands in for a silenced vendor rule.
    let text = format!(
        "see {}\nACME={}\nuse {} for payments\n",
        gen("%{ghcrc:ghp_}", 1),
        gen("acme_%{lan:24}", 2),
        gen("sk_live_%{an:32}", 3)
    );
    let f = e.scan_file("test/app.env", text.as_bytes());
    // stripe-access-token is gitleaks' id for our stripe-secret-key; acme-key is not targeted.
    assert_eq!(ids(&f), vec!["acme-key"], "{:?}", f);
    assert_eq!(ids(&e.scan_file("src/app.env", text.as_bytes())).len(), 3);
}

#[test]
fn target_rules_naming_an_unknown_rule_is_an_error_with_its_line() {
    let cfg = format!("{}\n[[allowlists]]\ntargetRules = [\n  \"no-such-rule\",\n]\npaths = ['''x''']\n", ACME);
    let err = gitleaks(&cfg).err().expect("error");
    assert!(err.starts_with("gitleaks_config:8: "), "{}", err);
    assert!(err.contains("no-such-rule"), "{}", err);
}

#[test]
fn condition_and_requires_every_check() {
    let cfg = format!(
        "{}\n[[allowlists]]\ncondition = \"AND\"\npaths = ['''^test/''']\nregexTarget = \"line\"\nregexes = ['''fixture''']\n",
        ACME
    );
    let e = gitleaks(&cfg).unwrap();
    assert!(e.scan_file("test/a.env", two_secrets().as_bytes()).is_empty(), "path and line both match");
    assert_eq!(e.scan_file("src/a.env", two_secrets().as_bytes()).len(), 2, "the path does not match");
    let plain = two_secrets().replace(" # fixture", "");
    assert_eq!(e.scan_file("test/a.env", plain.as_bytes()).len(), 2, "the line does not match");
    let bad = gitleaks(&cfg.replace("\"AND\"", "\"XOR\"")).err().expect("error");
    assert!(bad.starts_with("gitleaks_config:7: ") && bad.contains("XOR"), "{}", bad);
    let bad = gitleaks(&cfg.replace("\"line\"", "\"file\"")).err().expect("error");
    assert!(bad.starts_with("gitleaks_config:9: ") && bad.contains("regexTarget"), "{}", bad);
}

#[test]
fn regex_target_match_and_secret() {
    let tok = gen("acme_%{lan:24}", 4);
    let text = format!("key = {}\n", tok);
    let on = |target: &str, re: &str| {
        let rule = "[[rules]]\nid = \"acme-kv\"\nregex = '''key = (acme_[a-z0-9]{24})'''\nsecretGroup = 1\nkeywords = [\"acme_\"]\n";
        let cfg = format!("{}[[allowlists]]\nregexTarget = \"{}\"\nregexes = ['''{}''']\n", rule, target, re);
        gitleaks(&cfg).unwrap().scan_file("a.env", text.as_bytes()).iter().all(|f| f.rule_id != "acme-kv")
    };
    assert!(on("match", "^key = "), "the match includes the key");
    assert!(!on("secret", "^key = "), "the secret does not");
    assert!(on("secret", &tok[..10]));
}

#[test]
fn extend_disabled_rules_turns_off_rules_by_our_id_or_gitleaks_id() {
    let cfg = "[extend]\nuseDefault = true\ndisabledRules = [\"stripe-access-token\", \"gitlab-pat\", \"adafruit-api-key\"]\n";
    let e = gitleaks(cfg).unwrap();
    let text = format!(
        "S={}\nG={}\nH={}\n",
        gen("sk_live_%{an:32}", 5),
        gen("glpat-%{b64u:20}", 6),
        gen("%{ghcrc:ghp_}", 7)
    );
    // An id neither we nor the table know (a gitleaks rule wasmci lacks) disables nothing and is no error.
    assert_eq!(ids(&e.scan_file("a.env", text.as_bytes())), vec!["github-pat"]);
    assert!(!secrets::protocol::describe(&e).contains("\"stripe-secret-key\""));
}

#[test]
fn extend_use_default_false_keeps_wasmci_rules() {
    // gitleaks would drop its default rules; wasmci's own rules stay on: a config from the tree may add rules and
    // allowlists, never switch detection off wholesale (disabledRules names what it turns off).
    let e = gitleaks(&format!("[extend]\nuseDefault = false\n{}", ACME)).unwrap();
    assert_eq!(ids(&e.scan_file("a.env", two_secrets().as_bytes())), vec!["github-pat", "acme-key"]);
}

#[test]
fn extend_path_reads_the_base_the_host_supplies() {
    let top = "[extend]\npath = \"ci/base.toml\"\n[[allowlists]]\ntargetRules = [\"acme-key\"]\npaths = ['''^test/''']\n";
    let cfg = PluginConfig { gitleaks_config: Some(top.to_string()), ..Default::default() };
    let err = build_engine(&cfg).err().expect("error");
    assert!(err.starts_with("gitleaks_config:2: ") && err.contains("ci/base.toml"), "{}", err);
    let cfg = PluginConfig { gitleaks_config_base: Some(ACME.to_string()), ..cfg };
    let e = build_engine(&cfg).unwrap();
    assert_eq!(ids(&e.scan_file("src/a.env", two_secrets().as_bytes())), vec!["github-pat", "acme-key"]);
    assert_eq!(ids(&e.scan_file("test/a.env", two_secrets().as_bytes())), vec!["github-pat"]);
    // A base that extends another path: one level only.
    let nested = PluginConfig { gitleaks_config_base: Some("[extend]\npath = \"x.toml\"\n".to_string()), ..cfg };
    let err = build_engine(&nested).err().expect("error");
    assert!(err.starts_with("gitleaks_config_base:2: "), "{}", err);
    let url = gitleaks("[extend]\nurl = \"https://example.com/x.toml\"\n").err().expect("error");
    assert!(url.contains("url"), "{}", url);
}

#[test]
fn syntax_and_rule_errors_name_the_line() {
    let err = gitleaks("title = \"x\"\n[[rules]]\nid = \"a\"\nregex = '''x'''\nkeywords = \"notalist\"\n").err().unwrap();
    assert!(err.starts_with("gitleaks_config:5: "), "{}", err);
    let err = gitleaks("[[rules]]\nid = \"ok\"\nregex = '''ok_[a-z]{8}'''\n\n[[rules]]\nid = \"broken\"\nregex = '''(unclosed'''\n")
        .err()
        .unwrap();
    assert!(err.starts_with("gitleaks_config:6: rule 'broken'"), "{}", err);
    let err = gitleaks("[[rules]\nid = 1\n").err().unwrap();
    assert!(err.starts_with("gitleaks_config:1: "), "{}", err);
}

#[test]
fn gitlab_ruleset_disables_overrides_and_passes_through() {
    let ruleset = serde_json::json!({
        "rules": [
            { "type": "gitleaks_rule_id", "value": "gitlab-pat", "disable": true },
            { "type": "gitleaks_rule_id", "value": "github-pat", "severity": "Info", "description": "GitHub token (reviewed)" },
        ],
        "passthroughs": [{ "name": "raw passthrough", "text": ACME }],
    });
    let cfg = PluginConfig { gitlab_ruleset: Some(ruleset.to_string()), ..Default::default() };
    let e = build_engine(&cfg).unwrap();
    let text = format!("{}G={}\n", two_secrets(), gen("glpat-%{b64u:20}", 8));
    let f = e.scan_file("a.env", text.as_bytes());
    assert_eq!(ids(&f), vec!["github-pat", "acme-key"], "{:?}", f);
    assert_eq!(f[0].severity, "info");
    assert_eq!(f[0].description, "GitHub token (reviewed)");
    let bad = serde_json::json!({ "rules": [{ "type": "gitleaks_rule_id", "value": "github-pat", "severity": "Urgent" }] });
    let err = build_engine(&PluginConfig { gitlab_ruleset: Some(bad.to_string()), ..Default::default() }).err().unwrap();
    assert!(err.starts_with("gitlab_ruleset.rules[0]: ") && err.contains("Urgent"), "{}", err);
    let bad = serde_json::json!({ "passthroughs": [{ "name": "p", "text": "[[rules]]\nid = \"b\"\nregex = '''(x'''\n" }] });
    let err = build_engine(&PluginConfig { gitlab_ruleset: Some(bad.to_string()), ..Default::default() }).err().unwrap();
    assert!(err.starts_with("gitlab_ruleset.passthroughs[0]:2: rule 'b'"), "{}", err);
}

#[test]
fn describe_lists_the_gitleaks_id() {
    let d: serde_json::Value =
        serde_json::from_str(&secrets::protocol::describe(secrets::config::DEFAULT_ENGINE.as_ref().unwrap())).unwrap();
    let rule = |id: &str| d["rules"].as_array().unwrap().iter().find(|r| r["id"] == id).cloned().unwrap();
    assert_eq!(rule("aws-access-key-id")["gitleaks"], "aws-access-token");
    assert_eq!(rule("aws-access-key-id")["tags"], serde_json::json!(["aws", "cloud", "secret"]));
    assert_eq!(rule("stripe-restricted-key")["gitleaks"], "stripe-access-token");
    assert!(rule("azure-storage-account-key").get("gitleaks").is_none());
    // Every table entry names one of our rules.
    for (ours, _) in secrets::gitleaks::ids() {
        assert!(d["rules"].as_array().unwrap().iter().any(|r| r["id"] == ours.as_str()), "table names unknown rule {}", ours);
    }
}

#[test]
fn a_config_rule_with_a_builtin_id_replaces_it_and_describe_says_so() {
    let e = gitleaks("[[rules]]\nid = \"github-pat\"\nregex = '''never-matches-[0-9]{99}'''\nkeywords = [\"never-matches\"]\n\n[[rules]]\nid = \"team-token\"\nregex = '''team_[a-z0-9]{32}'''\nkeywords = [\"team_\"]\n").unwrap();
    let d: serde_json::Value = serde_json::from_str(&secrets::protocol::describe(&e)).unwrap();
    let rules = d["rules"].as_array().unwrap();
    let flag = |id: &str| rules.iter().find(|r| r["id"] == id).map(|r| r["replaces_builtin"].clone());
    assert_eq!(flag("github-pat"), Some(serde_json::Value::Bool(true)));
    assert_eq!(flag("team-token"), Some(serde_json::Value::Null), "a new id replaces nothing");
    assert_eq!(flag("aws-access-key-id"), Some(serde_json::Value::Null));
    // the replacement is what runs: the built-in GitHub rule no longer finds a token
    let tok = gen("%{ghcrc:ghp_}", 1);
    assert!(e.scan_file("a.env", format!("GH={}\n", tok).as_bytes()).iter().all(|f| f.rule_id != "github-pat"));
}
