//! Every built-in rule has true-positive and true-negative examples (synthetic, generated from
//! the templates in rules/*.toml) and they must behave as declared.

use secrets::config::{builtin, DEFAULT_ENGINE};
use secrets::examples::{expand, seed_for, split_path};
use secrets::rules::{parse_rule_file, RuleSpec, BUILTIN_RULES};
use secrets::util::Rng;

/// The rules as written in rules/*.toml, with their examples (the plugin embeds them without).
fn specs() -> Vec<RuleSpec> {
    parse_rule_file(BUILTIN_RULES).expect("rules/*.toml parses").rules
}

#[derive(serde::Serialize)]
struct Example {
    rule_id: String,
    path: String,
    content: String,
    expect: bool,
}

fn all_examples() -> Vec<Example> {
    let mut out = Vec::new();
    for r in &specs() {
        let id = r.id.trim();
        for (i, t) in r.examples.iter().enumerate() {
            let (path, tpl) = split_path(t);
            let mut rng = Rng::new(seed_for(id, i));
            out.push(Example { rule_id: id.to_string(), path: path.to_string(), content: expand(tpl, &mut rng), expect: true });
        }
        for (i, t) in r.negatives.iter().enumerate() {
            let (path, tpl) = split_path(t);
            let mut rng = Rng::new(seed_for(id, 1000 + i));
            out.push(Example { rule_id: id.to_string(), path: path.to_string(), content: expand(tpl, &mut rng), expect: false });
        }
    }
    out
}

#[test]
fn every_rule_has_examples() {
    let (rules, _) = builtin().expect("built-in rules compile");
    let specs = specs();
    assert_eq!(specs.len(), rules.len(), "the embedded rules are the rules of rules/*.toml");
    let mut missing = Vec::new();
    for (r, spec) in rules.iter().zip(&specs) {
        assert_eq!(r.id, spec.id.trim(), "embedded rules in the order of rules/*.toml");
        if spec.examples.is_empty() || spec.negatives.is_empty() {
            missing.push(r.id.clone());
        }
        if r.keywords.is_empty() {
            missing.push(format!("{} (no keywords)", r.id));
        }
    }
    assert!(missing.is_empty(), "rules without examples/negatives/keywords: {:?}", missing);
}

#[test]
fn rule_ids_unique_and_count() {
    let (rules, _) = builtin().unwrap();
    let mut ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
    ids.sort();
    let n = ids.len();
    ids.dedup();
    assert_eq!(n, ids.len(), "duplicate rule ids");
    eprintln!("{} built-in rules", n);
}

#[test]
fn examples_behave_as_declared() {
    let engine = DEFAULT_ENGINE.as_ref().unwrap();
    let mut failures = Vec::new();
    let examples = all_examples();
    for ex in &examples {
        let findings = engine.scan_file(&ex.path, ex.content.as_bytes());
        let hit = findings.iter().any(|f| f.rule_id == ex.rule_id);
        if hit != ex.expect {
            failures.push(format!(
                "{} {}: {:?} in {} -> {:?}",
                ex.rule_id,
                if ex.expect { "MISSED" } else { "FALSE POSITIVE" },
                ex.content,
                ex.path,
                findings.iter().map(|f| (&f.rule_id, &f.secret)).collect::<Vec<_>>()
            ));
        }
    }
    // Written for the runner's wasm test (runner/test/plugin-secrets.test.ts).
    let json = serde_json::to_string_pretty(&examples).unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/examples.generated.json");
    if std::fs::read_to_string(path).ok().as_deref() != Some(json.as_str()) {
        std::fs::write(path, json).unwrap();
    }
    assert!(failures.is_empty(), "{} of {} examples failed:\n{}", failures.len(), examples.len(), failures.join("\n"));
}

/// Remediation text and documentation links are shown to users as they are (SARIF help/helpUri, GitLab solution and
/// links): a link is an https:// URL, a remediation one or two sentences.
#[test]
fn remediation_and_docs_are_well_formed() {
    let mut bad = Vec::new();
    for spec in specs() {
        if spec.remediation.is_none() || spec.docs.is_none() {
            bad.push(format!("{}: every built-in rule needs remediation and docs", spec.id));
        }
        if let Some(d) = &spec.docs {
            if !d.starts_with("https://") || d.contains(char::is_whitespace) {
                bad.push(format!("{}: docs {:?} is not an https:// URL", spec.id, d));
            }
        }
        if let Some(r) = &spec.remediation {
            if r.trim().len() < 20 || r.len() > 400 {
                bad.push(format!("{}: remediation is {} bytes (20-400)", spec.id, r.len()));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn every_secret_gate_admits_its_rules_examples() {
    // A gate refuses a window without a run of its bytes (rules::secret_gate); it must hold for what the rule's
    // regex really captures as the secret in every example that the rule finds.
    let engine = DEFAULT_ENGINE.as_ref().unwrap();
    let mut gated = 0;
    let mut checked = 0;
    for ex in all_examples().iter().filter(|e| e.expect) {
        let rule = engine.rules.iter().find(|r| r.id == ex.rule_id).expect("rule of the example");
        let gate = match rule.gate {
            Some(g) => g,
            None => continue,
        };
        let re = rule.regex.as_ref().unwrap().force().unwrap();
        assert!(gate.admits(ex.content.as_bytes()), "{}: the gate refuses its example {:?}", rule.id, ex.content);
        for caps in re.captures_iter(ex.content.as_bytes()) {
            let g = match rule.secret_group {
                Some(n) => caps.get(n),
                None => caps.name("secret").or_else(|| caps.get(1)),
            }
            .unwrap_or_else(|| panic!("{}: the gated group did not take part in a match of {:?}", rule.id, ex.content));
            assert!(g.as_bytes().len() >= gate.min && gate.admits(g.as_bytes()), "{}: secret {:?} is not a run of its gate", rule.id, g.as_bytes());
            checked += 1;
        }
    }
    for r in &engine.rules {
        gated += r.gate.is_some() as usize;
    }
    // most built-in rules capture a secret of a known alphabet and length
    assert!(gated > 1000, "only {} of {} rules have a gate", gated, engine.rules.len());
    assert!(checked > 2500, "only {} secrets checked", checked);
}
