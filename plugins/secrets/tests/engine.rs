//! Engine behaviour: positions, robustness, suppression, decoding, configuration, protocol.
//! All tokens are synthetic (random strings generated here, valid checksums computed here).

use secrets::config::{build_engine, PluginConfig, DEFAULT_ENGINE};
use secrets::engine::{Engine, Finding};
use secrets::examples::expand;
use secrets::protocol::{resolve_mounted, run_scan};
use secrets::util::{base64_encode, Rng};
use std::time::{Duration, Instant};

fn engine() -> &'static Engine {
    DEFAULT_ENGINE.as_ref().unwrap()
}

fn gen(t: &str, seed: u64) -> String {
    expand(t, &mut Rng::new(seed))
}

fn scan(path: &str, text: &str) -> Vec<Finding> {
    engine().scan_file(path, text.as_bytes())
}

fn only<'a>(f: &'a [Finding], rule: &str) -> &'a Finding {
    let v: Vec<&Finding> = f.iter().filter(|x| x.rule_id == rule).collect();
    assert_eq!(v.len(), 1, "expected one {} finding, got {:?}", rule, f);
    v[0]
}

#[test]
fn every_builtin_regex_compiles() {
    // Built-in regexes are compiled on first use (see rules::RuleRegex): prove they all compile.
    let mut n = 0;
    for r in &engine().rules {
        if let Some(re) = &r.regex {
            re.force().unwrap_or_else(|e| panic!("rule {}: {}", r.id, e));
            n += 1;
        }
    }
    assert!(n > 300, "only {} built-in rules have a regex", n);
    // and the allowlists' (the rules' own and the global one), also compiled on first use
    let allows = engine().rules.iter().flat_map(|r| r.allow.iter().map(move |a| (r.id.as_str(), a)));
    let mut m = 0;
    for (id, a) in allows.chain(engine().allow.iter().map(|a| ("global", a))) {
        for re in a.regexes.iter().chain(&a.paths) {
            re.force().unwrap_or_else(|e| panic!("allowlist of {}: {}", id, e));
            m += 1;
        }
    }
    assert!(m > 10, "only {} built-in allowlist regexes", m);
}

#[test]
fn a_scan_compiles_only_the_regexes_its_keywords_reach() {
    // loaded afresh: the default engine's rules may hold regexes other tests compiled
    let (rules, allow) = secrets::rules::load_builtin().unwrap();
    let fresh = Engine::new(rules, allow);
    let compiled = |e: &Engine| e.rules.iter().filter(|r| r.regex.as_ref().map_or(false, |x| x.is_compiled())).count();
    assert_eq!(compiled(&fresh), 0, "built-in regexes are compiled on first use");
    let tok = gen("%{ghcrc:ghp_}", 3);
    let f = fresh.scan_file("a.env", format!("GH_TOKEN={}\n", tok).as_bytes());
    assert!(f.iter().any(|x| x.rule_id == "github-pat"), "{:?}", f);
    let n = compiled(&fresh);
    assert!(n >= 1 && n <= 12, "{} regexes compiled for one GitHub token", n);
}

#[test]
fn line_and_column_after_multibyte_text() {
    let tok = gen("%{ghcrc:ghp_}", 1);
    let text = format!("# café résumé\n  ключ = \"{}\" # 🙂\n", tok);
    let f = scan("a.txt", &text);
    let g = only(&f, "github-pat");
    assert_eq!(g.start_line, 2);
    assert_eq!(g.end_line, 2);
    // `  ключ = "` is 10 characters, so the token starts at column 11
    assert_eq!(g.start_column, 11);
    assert_eq!(g.end_column, 11 + tok.chars().count() - 1);
    assert_eq!(g.secret, tok);
    assert_eq!(g.confidence.as_deref(), Some("high"), "valid CRC32 raises confidence");
}

#[test]
fn invalid_checksum_is_reported_with_low_confidence() {
    let mut tok = gen("%{ghcrc:ghp_}", 2);
    // corrupt the checksum deterministically
    let last = tok.pop().unwrap();
    tok.push(if last == 'a' { 'b' } else { 'a' });
    let f = scan("a.env", &format!("GH={}\n", tok));
    assert_eq!(only(&f, "github-pat").confidence.as_deref(), Some("low"));
}

#[test]
fn long_minified_line() {
    let tok = gen("sk_live_%{an:40}", 3);
    let filler = "var a=function(b){return b+1};".repeat(100_000); // ~3 MB on one line
    let text = format!("{}const k=\"{}\";{}\n", filler, tok, filler);
    let t = Instant::now();
    let f = scan("bundle.min.js", &text);
    assert!(t.elapsed() < Duration::from_secs(5));
    let g = only(&f, "stripe-secret-key");
    assert_eq!(g.start_line, 1);
    assert_eq!(g.start_column, filler.len() + "const k=\"".len() + 1);
    assert_eq!(g.end_column, g.start_column + tok.len() - 1);
}

#[test]
fn several_findings_on_one_long_line_have_increasing_columns() {
    let a = gen("%{ghcrc:ghp_}", 4);
    let b = gen("%{ghcrc:gho_}", 5);
    let pad = "x".repeat(200_000);
    let text = format!("{} \"{}\" {} \"{}\"", pad, a, pad, b);
    let f = scan("x.js", &text);
    let fa = only(&f, "github-pat");
    let fb = only(&f, "github-oauth-token");
    assert_eq!(fa.start_column, 200_000 + 3);
    assert_eq!(fb.start_column, 200_000 + 2 + a.len() + 2 + 200_000 + 2 + 1);
}

#[test]
fn pem_block_spans_lines() {
    let pem = gen("%{pem:RSA PRIVATE KEY}", 6);
    let text = format!("config:\n  key: |\n{}\n", pem);
    let f = scan("c.yaml", &text);
    let g = only(&f, "private-key-rsa");
    assert_eq!(g.start_line, 3);
    assert_eq!(g.end_line, 3 + pem.lines().count() - 1);
    assert_eq!(g.start_column, 1);
    assert_eq!(g.end_column, "-----END RSA PRIVATE KEY-----".len());
}

#[test]
fn pem_inside_json_string() {
    let pem = gen("%{pemjson:PRIVATE KEY}", 7);
    let text = format!("{{\"type\": \"service_account\", \"private_key\": \"{}\\n\", \"client_email\": \"a@b.iam.gserviceaccount.com\"}}", pem);
    let f = scan("sa.json", &text);
    assert!(f.iter().any(|x| x.rule_id == "gcp-service-account-key"), "{:?}", f);
    assert!(!f.iter().any(|x| x.rule_id == "private-key-pkcs8"), "deduped by the more specific rule");
}

#[test]
fn public_keys_and_certificates_are_not_secrets() {
    let text = format!(
        "{}\n{}\nssh-rsa AAAAB3NzaC1yc2E{} me@host\n",
        gen("%{pem:CERTIFICATE}", 8),
        gen("%{pem:PUBLIC KEY}", 9),
        gen("%{b64:300}", 10)
    );
    assert!(scan("keys.txt", &text).is_empty());
}

#[test]
fn invalid_utf8_never_panics_and_still_finds() {
    let tok = gen("%{ghcrc:ghp_}", 11);
    let mut data = vec![0xff, 0xfe, 0xc3, 0x28, b'\n', 0xe2, 0x82];
    data.extend_from_slice(format!(" token={} ", tok).as_bytes());
    data.extend_from_slice(&[0xf0, 0x28, 0x8c, 0x28, b'\n']);
    let f = engine().scan_file("bin.dat", &data);
    let g = only(&f, "github-pat");
    assert_eq!(g.start_line, 2);
    // random garbage must not panic either
    let mut r = Rng::new(12);
    for _ in 0..50 {
        let n = r.below(5000);
        let junk: Vec<u8> = (0..n).map(|_| (r.next() & 0xff) as u8).collect();
        let _ = engine().scan_file("junk", &junk);
    }
}

#[test]
fn placeholders_and_templates_are_ignored() {
    for line in [
        "GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "password: ${DB_PASSWORD}",
        "token: ${{ secrets.GITHUB_TOKEN }}",
        "password: '{{ db_password }}'",
        "password = '%(db_password)s'",
        "api_key = process.env.API_KEY",
        "password = os.environ['PASSWORD']",
        "secret: <your-secret-here>",
        "password: changeme",
        "API_KEY=abcdef1234567890abcdef",
        "STRIPE=sk_live_aaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    ] {
        let f = scan("conf.yml", line);
        assert!(f.is_empty(), "{} -> {:?}", line, f);
    }
}

#[test]
fn regex_literals_describing_tokens_are_not_tokens() {
    for line in [
        r#"const re = /ghp_[A-Za-z0-9]{36}/;"#,
        r#"pattern: 'sk_live_[0-9a-zA-Z]{24}'"#,
        r#"regex = '''AKIA[0-9A-Z]{16}'''"#,
        r#"api_key = "[a-f0-9]{32}""#,
        r#"TOKEN_RE = re.compile(r"xox[baprs]-([0-9a-zA-Z]{10,48})")"#,
    ] {
        let f = scan("rules.py", line);
        assert!(f.is_empty(), "{} -> {:?}", line, f);
    }
}

#[test]
fn generic_rules_skip_hashes_uuids_and_code() {
    let lines = [
        "\"integrity\": \"sha512-".to_string() + &gen("%{b64:86}", 13) + "==\"",
        "password: \"\"".to_string(),
        "password = getPassword()".to_string(),
        "token: ${{ secrets.NPM_TOKEN }}".to_string(),
        "  password: string;".to_string(),
        "const secret = config.get('secret');".to_string(),
        "request_id = \"".to_string() + &gen("%{uuid}", 14) + "\"",
        "commit_sha = \"".to_string() + &gen("%{hex:40}", 15) + "\"",
        "password_hash = \"$2b$12$".to_string() + &gen("%{b64:53}", 16) + "\"",
        "if (password == \"".to_string() + &gen("%{an:12}", 17) + "\") {",
        "cacheKey: \"".to_string() + &gen("%{an:20}", 18) + "\"",
    ];
    for l in &lines {
        let f = scan("src/app.ts", l);
        assert!(f.is_empty(), "{} -> {:?}", l, f);
    }
}

#[test]
fn generic_rules_find_real_assignments() {
    for (path, line) in [
        (".env", "DB_PASSWORD=Xk9#mP2$vL8qR4nW"),
        ("config.yml", "  password: hT7!kd92Lq0zR"),
        ("settings.py", "SECRET_KEY = 'q8#v0^d!k2@zj4$w9m1x7c5b3n6p0r8t'"),
        ("app.properties", "spring.datasource.password=Vb83kLq0Zp1xWn"),
        ("main.go", "apiKey := \"a8f5f167f44f4964e6c998dee827110c\""),
        ("deploy.sh", "./cli login --token=Zx81kQp0Lm3vB7nR5tY2"),
        ("config.json", "{\"client_secret\": \"Gh72kLp0QzXw91mNb3Vc\"}"),
    ] {
        let f = scan(path, line);
        assert!(f.iter().any(|x| x.rule_id.starts_with("generic-")), "{} {} -> {:?}", path, line, f);
    }
}

#[test]
fn vendor_rule_wins_over_generic() {
    let tok = gen("%{ghcrc:ghp_}", 19);
    let f = scan("ci.yml", &format!("github_token: \"{}\"", tok));
    assert_eq!(f.len(), 1, "{:?}", f);
    assert_eq!(f[0].rule_id, "github-pat");
}

#[test]
fn kubernetes_secret_data_is_decoded() {
    let pw = gen("%{an:18}", 20);
    let url = format!("postgres://app:{}@db.prod.internal:5432/app", gen("%{an:16}", 21));
    let manifest = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\ndata:\n  username: {}\n  password: {}\n  DATABASE_URL: {}\n",
        base64_encode(b"app"),
        base64_encode(pw.as_bytes()),
        base64_encode(url.as_bytes())
    );
    let f = scan("k8s/secret.yaml", &manifest);
    let pwf = f.iter().find(|x| x.secret == pw).unwrap_or_else(|| panic!("password not decoded: {:?}", f));
    assert_eq!(pwf.start_line, 8);
    assert_eq!(pwf.start_column, 13, "location of the encoded value");
    assert!(pwf.tags.iter().any(|t| t == "decoded:base64"));
    assert!(f.iter().any(|x| x.rule_id == "database-connection-string" && x.start_line == 9), "{:?}", f);
}

#[test]
fn dockerconfigjson_is_decoded_twice() {
    let auth = base64_encode(format!("robot:{}", gen("%{an:24}", 22)).as_bytes());
    let cfg = format!("{{\"auths\":{{\"registry.corp.org\":{{\"auth\":\"{}\"}}}}}}", auth);
    let manifest = format!(
        "kind: Secret\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: {}\n",
        base64_encode(cfg.as_bytes())
    );
    let f = scan("pull-secret.yaml", &manifest);
    let d = only(&f, "docker-config-auth");
    assert_eq!(d.start_line, 4);
    assert_eq!(d.secret, auth);
}

#[test]
fn jwt_requires_a_real_header() {
    let jwt = gen("%{jwt}", 23);
    assert_eq!(only(&scan("a.txt", &format!("Authorization: {}", jwt)), "jwt").secret, jwt);
    let fake = format!("eyJ{}.eyJ{}.{}", gen("%{b64u:30}", 24), gen("%{b64u:30}", 25), gen("%{b64u:30}", 26));
    assert!(scan("a.txt", &fake).iter().all(|x| x.rule_id != "jwt"));
}

#[test]
fn pathological_inputs_finish_fast() {
    let cases: Vec<Vec<u8>> = vec![
        vec![b'a'; 10 << 20],
        b"password=".repeat(1 << 20),
        b"ghp_".repeat(2 << 20),
        b"-----BEGIN RSA PRIVATE KEY-----".repeat(200_000),
        b"://a:b@".repeat(1 << 20),
        b"eyJ.".repeat(2 << 20),
        b"kind: Secret\ndata:\n".iter().cloned().chain(b"  k: QUFBQUFBQUFBQUFB\n".repeat(300_000)).collect(),
    ];
    for c in &cases {
        let t = Instant::now();
        let _ = engine().scan_file("p.txt", c);
        let dt = t.elapsed();
        eprintln!("{} bytes of {:?}: {:?}", c.len(), String::from_utf8_lossy(&c[..12]), dt);
        assert!(dt < Duration::from_secs(8), "{} bytes of {:?}... took {:?}", c.len(), &c[..20], dt);
    }
}

#[test]
fn config_custom_rules_disable_severity_allowlist() {
    let cfg = PluginConfig {
        rules: Some(
            r#"
[[rules]]
id = "acme-token"
description = "ACME internal token"
severity = "critical"
tags = ["acme"]
keywords = ["acme_"]
regex = '''\b(acme_[a-z0-9]{24})\b'''
"#
            .to_string(),
        ),
        disable: Some("github-pat, stripe-secret-key".to_string()),
        severity: Some(r#"{"gitlab-pat": "low"}"#.to_string()),
        allowlist: Some(r#"{"paths": ["^test/"], "regexes": ["^glpat-allowed"], "stopwords": ["dontflag"]}"#.to_string()),
        ..Default::default()
    };
    let e = build_engine(&cfg).unwrap();
    let acme = gen("acme_%{lan:24}", 27);
    let gl = gen("glpat-%{b64u:20}", 28);
    let text = format!("A={}\nB={}\nC={}\nD={}\n", acme, gen("%{ghcrc:ghp_}", 29), gl, gen("sk_live_%{an:30}", 30));
    let f = e.scan_file("src/x.env", text.as_bytes());
    let ids: Vec<&str> = f.iter().map(|x| x.rule_id.as_str()).collect();
    assert_eq!(ids, vec!["acme-token", "gitlab-pat"], "{:?}", f);
    assert_eq!(f[0].severity, "critical");
    assert_eq!(f[1].severity, "low");
    assert!(e.scan_file("test/x.env", text.as_bytes()).is_empty(), "allowlisted path");
    let f2 = e.scan_file("x", b"T=glpat-allowedAAAAbbbbCCCC12\nU=acme_dontflag1234567890abcdef\n");
    assert!(f2.is_empty(), "{:?}", f2);
    // describe lists the custom rule and not the disabled ones
    let d = secrets::protocol::describe(&e);
    assert!(d.contains("\"acme-token\"") && !d.contains("\"github-pat\""));
}

#[test]
fn gitleaks_config_is_accepted() {
    let gl = r#"
title = "team config"
[extend]
useDefault = true

[[rules]]
id = "corp-api-key"
description = "Corp API key"
regex = '''(?i)corp[_-]?api[_-]?key\s*[:=]\s*['"]?([a-z0-9]{32})\b'''
secretGroup = 1
entropy = 3.0
keywords = ["corp"]
tags = ["corp", "api"]
[[rules.allowlists]]
regexTarget = "line"
regexes = ['''(?i)example''']

[[rules]]
id = "corp-legacy"
regex = '''\bCORP\/[A-F0-9]{16}\b'''

[allowlist]
paths = ['''(^|/)vendor/''']
"#;
    let e = build_engine(&PluginConfig { gitleaks_config: Some(gl.to_string()), ..Default::default() }).unwrap();
    let key = gen("%{lan:32}", 31);
    let f = e.scan_file("app/settings.py", format!("CORP_API_KEY = '{}'\n", key).as_bytes());
    let c = only(&f, "corp-api-key");
    assert_eq!(c.secret, key);
    assert_eq!(c.severity, "high");
    assert!(e.scan_file("app/a.py", format!("CORP_API_KEY = '{}' # example\n", key).as_bytes()).iter().all(|x| x.rule_id != "corp-api-key"));
    assert!(e.scan_file("vendor/a.py", format!("CORP_API_KEY = '{}'\n", key).as_bytes()).is_empty());
    // a rule without keywords runs on the whole file; `\/` (Go escape) compiles
    let f = e.scan_file("x", b"id CORP/0123ABCD4567EF89 here");
    assert!(f.iter().any(|x| x.rule_id == "corp-legacy"), "{:?}", f);
}

#[test]
fn invalid_custom_regex_is_a_clear_error() {
    // Custom regexes are compiled when loaded (built-in ones on first use, see rules::RuleRegex).
    let cfg = PluginConfig { rules: Some("[[rules]]\nid = \"broken-rule\"\nregex = '''(unclosed'''\n".to_string()), ..Default::default() };
    let err = build_engine(&cfg).err().expect("error");
    assert!(err.contains("broken-rule") && err.contains("regex"), "{}", err);
    let cfg = PluginConfig { severity: Some("{\"github-pat\": \"urgent\"}".to_string()), ..Default::default() };
    assert!(build_engine(&cfg).err().unwrap().contains("urgent"));
}

#[test]
fn batch_protocol() {
    let tok = gen("%{ghcrc:ghp_}", 32);
    let a = format!("line1\nGH_TOKEN={}\n", tok);
    let b = "nothing here\n".to_string();
    let c = format!("x = \"{}\"", gen("sk_live_%{an:32}", 33));
    let header = format!(
        "{{\"files\":[{{\"path\":\"a/b.env\",\"size\":{}}},{{\"path\":\"b.txt\",\"size\":{}}},{{\"path\":\"c.py\",\"size\":{},\"commit\":\"abc123\"}}],\"options\":{{}}}}\n",
        a.len(),
        b.len(),
        c.len()
    );
    let input = format!("{}{}{}{}", header, a, b, c);
    let out: serde_json::Value = serde_json::from_str(&run_scan(engine(), input.as_bytes(), None).unwrap()).unwrap();
    let f = out["findings"].as_array().unwrap();
    assert_eq!(f.len(), 2, "{}", out);
    assert_eq!(f[0]["path"], "a/b.env");
    assert_eq!(f[0]["start_line"], 2);
    assert_eq!(f[0]["start_column"], 10);
    assert_eq!(f[0]["secret"], tok.as_str());
    assert_eq!(f[1]["path"], "c.py");
    assert_eq!(f[1]["commit"], "abc123");
    assert_eq!(f[1]["start_line"], 1);
    assert!(out["errors"].as_array().unwrap().is_empty());

    // a size running past the end is an error for that file, not a crash
    let bad = "{\"files\":[{\"path\":\"x\",\"size\":5},{\"path\":\"y\",\"size\":100}]}\nhello";
    let out: serde_json::Value = serde_json::from_str(&run_scan(engine(), bad.as_bytes(), None).unwrap()).unwrap();
    assert_eq!(out["errors"][0]["path"], "y");
    assert!(run_scan(engine(), b"{not json\n", None).unwrap_err().contains("header"));
}

#[test]
fn mounted_file_form() {
    let dir = std::env::temp_dir().join(format!("secrets-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let tok = gen("%{ghcrc:ghp_}", 34);
    std::fs::write(dir.join("some.secrets.txt"), format!("t={}\n", tok)).unwrap();
    let out = run_scan(engine(), b"some.secrets.txt\n", Some(dir.to_str().unwrap())).unwrap();
    assert!(out.contains(&tok) && out.contains("\"path\":\"some.secrets.txt\""), "{}", out);
    let err = run_scan(engine(), b"missing.txt", Some(dir.to_str().unwrap())).unwrap_err();
    assert!(err.contains("missing.txt"), "{}", err);
    assert_eq!(resolve_mounted("a.txt", None), "/mnt/a.txt");
    assert_eq!(resolve_mounted("/etc/x", Some("/m")), "/etc/x");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn connection_strings() {
    let pw = gen("%{an:20}", 35);
    let f = scan("docker-compose.yml", &format!("      - DATABASE_URL=mysql://svc:{}@mysql:3306/app", pw));
    assert_eq!(only(&f, "database-connection-string").secret, pw);
    assert!(scan("README.md", "postgres://user:password@localhost:5432/mydb").is_empty());
}


/// `key_prefix` and `secret_max` (rules.toml) stand for bounded repeats taken out of regexes for speed: the built-in
/// rules must report exactly what the same rules written with the repeats report.
#[test]
fn key_prefix_and_secret_max_match_the_bounded_repeats_they_replace() {
    use secrets::rules::{compile_allow, compile_rule, parse_rule_file, BUILTIN_RULES_JSON};
    let generic_value = r#"(?P<secret>[^\s"'`;,<>(){}\[\]\\=][^\s"'`;,<>(){}\[\]\\]{7,199})"#;
    let generic = |key: &str| {
        format!(
            r#"(?P<key>[A-Za-z0-9_.\-]{{0,60}}(?i:{}))(?:["'`\]]|\\["'])*[ \t]{{0,4}}(?:=|:=|:|=>|\?=|<-)[ \t]{{0,4}}(?:\\?(?P<q>["'`]))?{}"#,
            key, generic_value
        )
    };
    let originals: Vec<(&str, String)> = vec![
        ("generic-password", generic("password|passwd|passwort|pwd|pass|passphrase")),
        ("generic-secret", generic(r"secret|secret[_.\-]?key|client[_.\-]?secret")),
        ("generic-api-key", generic(r"api[_.\-]?key|access[_.\-]?key|key")),
        ("generic-token", generic("token")),
        (
            "authorization-bearer",
            r#"(?i:authorization)["']?\s*[:=]\s*["']?(?i:bearer)\s+([A-Za-z0-9_\-.=+/~]{20,2048})"#.to_string(),
        ),
    ];
    let file = parse_rule_file(BUILTIN_RULES_JSON).unwrap();
    let mut rewritten = 0;
    let rules: Vec<_> = file
        .rules
        .iter()
        .map(|spec| {
            let mut spec = spec.clone();
            if spec.key_prefix.is_some() || spec.secret_max.is_some() {
                let (_, re) = originals.iter().find(|(id, _)| *id == spec.id).unwrap_or_else(|| {
                    panic!("{} uses key_prefix/secret_max: add its bounded-repeat regex to this test", spec.id)
                });
                spec.regex = Some(re.clone());
                spec.key_prefix = None;
                spec.secret_max = None;
                rewritten += 1;
            }
            compile_rule(&spec, true).unwrap()
        })
        .collect();
    assert_eq!(rewritten, originals.len());
    let allows = vec![compile_allow("global", file.allowlist.as_ref().unwrap(), true).unwrap()];
    let reference = Engine::new(rules, allows);

    let mut rng = Rng::new(42);
    let random = |rng: &mut Rng, alphabet: &[u8], n: usize| -> String {
        (0..n).map(|_| alphabet[rng.below(alphabet.len())] as char).collect()
    };
    let key_bytes = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
    let value_bytes = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789+/%~!";
    let mut found = 0;
    for i in 0..3000 {
        let line = if i % 5 == 4 {
            // bearer tokens around the 2048 cut
            let n = [15, 20, 64, 2047, 2048, 2049, 2100][rng.below(7)];
            let token = random(&mut rng, b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789-_.=+/~", n);
            format!("curl -H 'Authorization: Bearer {}' https://api.corp.org", token)
        } else {
            let prefix_len = [0, 3, 40, 59, 60, 61, 62, 75, 130][rng.below(9)];
            let mut key = random(&mut rng, key_bytes, prefix_len);
            key.push_str(["API_KEY", "apiKey", "_token", "password", "client_secret", "db_pass", "KEY"][rng.below(7)]);
            let value_len = [6, 8, 21, 40, 198, 199, 200, 201, 202, 260][rng.below(10)];
            let value = random(&mut rng, value_bytes, value_len);
            let quote = ["", "\"", "'"][rng.below(3)];
            let lead = ["", "export ", "  ", "const ", "x+", "{\"a\":1,\""][rng.below(6)];
            let op = ["=", ": ", " = ", "=>", "\": "][rng.below(5)];
            format!("{}{}{}{}{}{}", lead, key, op, quote, value, quote)
        };
        let text = format!("# config {}\n{}\ntail = 1\n", i, line);
        let path = ["config/.env", "app.py", "src/a.js", "values.yaml", "settings.ini"][rng.below(5)];
        let got = engine().scan_file(path, text.as_bytes());
        let want = reference.scan_file(path, text.as_bytes());
        assert_eq!(got, want, "{}: {:?}", path, text);
        found += want.len();
    }
    assert!(found > 300, "too few findings ({}) to compare anything", found);
}

/// Found in the bench's clean corpus (aws-sdk 2.1692): AWS documentation values carry `EXAMPLE` inside, and a
/// TypeScript union type after `=` is no password. A real value beside them still is a finding.
#[test]
fn aws_documentation_examples_and_union_types_are_not_findings() {
    let clean = concat!(
        "{\"SessionToken\": \"IQoJb3JpZ2luX2VjEOz////////////////////wEXAMPLEtMSJHMEUCIDoKK3JH9uGQE1z0sINr5M4jk+Na8KHDcCYRVjJCZEvOAiEA3OvJGtw1EcViOleS2vhs8VdCKFJQWPQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==\"}\n",
        "{\"ClientRequestToken\": \"EXAMPLE1-90ab-cdef-fedc-ba987SECRET1\"}\n",
    );
    assert!(scan("apis/sts.examples.json", clean).is_empty(), "{:?}", scan("apis/sts.examples.json", clean));
    let ts = "export type MqttPassword = Buffer|Uint8Array|Blob|string;\n";
    assert!(scan("clients/iot.d.ts", ts).is_empty(), "{:?}", scan("clients/iot.d.ts", ts));
    let real = "export const mqttPassword = 'Xk9mP2vL8qR4nWz7Tb3Y';\n";
    assert_eq!(scan("src/mqtt.ts", real).len(), 1, "{:?}", scan("src/mqtt.ts", real));
}

/// A filler run (`xxxx`) makes a value a placeholder only when the rest is not random: the bench's generator
/// planted this Stripe key, and every build before missed it.
#[test]
fn a_random_key_with_xxxx_inside_is_found_and_a_filler_key_is_not() {
    let real = "export STRIPE_SECRET_KEY=\"sk_live_v3O1yHMuDpscq1PHgFmM2wjIVQUfGzZK6S1gshh1GGUewJ3FQO8k9BtU6MEB3Rm8mKF7gziadVpg8SeVsEHktXzZSfbxXxxa5XU\"\n";
    assert_eq!(only(&scan("bin/release.sh", real), "stripe-secret-key").rule_id, "stripe-secret-key");
    let filler = "export STRIPE_SECRET_KEY=\"sk_live_xxxxxxxxxxxxxxxxxxxxxxxxxxxx\"\n";
    assert!(scan("bin/release.sh", filler).is_empty(), "{:?}", scan("bin/release.sh", filler));
}

/// Facebook's `EAA` prefix counts only where a value starts (after `=`, a quote, a space, a newline…, or at the
/// start of a file), not after a letter, digit or `,`: base64-VLQ source maps put `EAA` after a `,` half a million
/// times in the bench corpus. A file that starts with the token is found even when the file before it in the batch
/// ends in a letter (so the keyword automaton saw no lead byte), and in a batch larger than 64 KiB (four streams).
#[test]
fn value_start_keywords_at_file_starts_and_after_leads() {
    use secrets::engine::FileRef;
    let tok = gen("EAACEdEose0cBA%{an:150}", 7);
    let vlq = "AAAA,EAAE,IAAI;EAAA,CAAC,".repeat(4000);
    let first = format!("{}x", vlq); // ends in a letter, no newline
    let files = [first.as_str(), tok.as_str(), &format!("k = \"{}\"\n", tok), &format!("a,{}\n", tok)];
    let mut buf = Vec::new();
    let mut spans = Vec::new();
    for f in files {
        spans.push((buf.len(), buf.len() + f.len()));
        buf.extend_from_slice(f.as_bytes());
    }
    assert!(buf.len() > 1 << 16);
    let names = ["maps.js.map", "token.txt", "a.py", "b.csv"];
    let refs: Vec<FileRef> = spans
        .iter()
        .zip(names)
        .map(|(&(start, end), path)| FileRef { path, commit: None, start, end })
        .collect();
    let found = engine().scan(&buf, &refs);
    let fb: Vec<(&str, usize)> =
        found.iter().filter(|f| f.rule_id == "facebook-access-token").map(|f| (f.path.as_str(), f.start_column)).collect();
    // after a `,` it is not looked for (the trade named above)
    assert_eq!(fb, vec![("token.txt", 1), ("a.py", 6)], "{:?}", found);
    assert_eq!(scan("token.txt", &tok).len(), 1);
}
