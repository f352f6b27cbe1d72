//! Live verification: asks the vendor whether a found secret works, through the one read-only request its row in
//! `providers.rs` names. The rule it keeps: the secret (attacker-controlled text from the scanned tree) never
//! chooses the host, the method or the path shape — it is checked against a strict character set (and per-provider
//! formats) before it is placed in a header, a path segment or a Basic credential; a request whose answer is known
//! from this call (same method, URL and credentials) is not sent twice. The host performs the request (grants,
//! per-host limits, budget, no redirects); a failed transfer comes back as status 0 with a short reason as the body.

pub mod providers;
pub mod sigv4;

use providers::{Auth, Verifier};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

#[derive(Deserialize)]
pub struct Input {
    /// The host's clock as `YYYYMMDDTHHMMSSZ` (SigV4 signs it; the plugin has no clock).
    #[serde(default)]
    pub now: String,
    pub secrets: Vec<Item>,
}

#[derive(Deserialize)]
pub struct Item {
    pub id: String,
    pub rule_id: String,
    pub secret: String,
    /// Other secrets found in the same file(s): AWS pairs a key id with its secret key this way.
    #[serde(default)]
    pub related: Vec<Related>,
}

#[derive(Deserialize, Clone)]
pub struct Related {
    pub rule_id: String,
    pub secret: String,
}

#[derive(Serialize, Debug, PartialEq)]
pub struct Outcome {
    pub id: String,
    pub verification: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<&'static str>,
}

#[derive(Serialize)]
struct Output {
    results: Vec<Outcome>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<&'static str>,
}

pub struct Response {
    /// 0: the host did not complete the request; `body` then holds its short reason.
    pub status: u16,
    pub body: Vec<u8>,
}

pub trait Http {
    fn send(&mut self, req: &Request) -> Response;
}

/// Reasons the host may give for a request it did not complete (anything else reads as "network refused").
const HOST_REASONS: &[&str] = &["timeout", "rate-limited", "network refused", "budget", "redirect not followed"];

/// Characters a token may hold to be put in a request: what vendors' token formats use, nothing that could end a
/// header, start a query or leave a path segment.
fn token_ok(t: &str) -> bool {
    (8..=512).contains(&t.len())
        && t.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.:+/=~".contains(&b))
}

const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64(data: &[u8]) -> String {
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn related<'a>(item: &'a Item, rule: &str) -> Option<&'a str> {
    item.related.iter().find(|r| r.rule_id == rule).map(|r| r.secret.as_str())
}

fn aws_key_id_ok(k: &str) -> bool {
    k.len() == 20 && (k.starts_with("AKIA") || k.starts_with("ASIA")) && k.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

fn aws_secret_ok(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'/' || b == b'+')
}

/// The request for `item` per its verifier row, or the reason there is none.
pub fn build(v: &Verifier, item: &Item, now: &str) -> Result<Request, &'static str> {
    let t = item.secret.trim();
    if v.auth != Auth::Webhook && v.auth != Auth::SigV4 && (!token_ok(t) || !t.starts_with(v.prefix)) {
        return Err("unsupported format");
    }
    let mut host = v.host.to_string();
    let mut path = v.path.to_string();
    let mut headers: Vec<(String, String)> = v.headers.iter().map(|(n, x)| (n.to_string(), x.to_string())).collect();
    headers.push(("User-Agent".into(), concat!("wasmci-secrets/", env!("CARGO_PKG_VERSION")).into()));
    match v.auth {
        Auth::Bearer => headers.push(("Authorization".into(), format!("Bearer {}", t))),
        Auth::Header(name, prefix) => headers.push((name.into(), format!("{}{}", prefix, t))),
        Auth::Basic(user) => headers.push(("Authorization".into(), format!("Basic {}", base64(format!("{}:{}", user, t).as_bytes())))),
        Auth::Path => {
            // Telegram: `<bot id>:<35 url-safe characters>`, nothing that could leave the segment.
            let ok = t.split_once(':').map_or(false, |(id, rest)| {
                !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) && !rest.is_empty()
                    && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            });
            if !ok {
                return Err("unsupported format");
            }
            path = path.replace("{token}", t);
        }
        Auth::Webhook => {
            // https://discord.com/api/webhooks/<id>/<token> (also discordapp.com, ptb./canary.): only id and token
            // are taken; the host is the table's.
            let rest = t.splitn(2, "/api/webhooks/").nth(1).ok_or("unsupported format")?;
            let (id, tok) = rest.split_once('/').ok_or("unsupported format")?;
            let tok = tok.trim_end_matches('/');
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) || tok.is_empty()
                || !tok.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                return Err("unsupported format");
            }
            path = path.replace("{token}", &format!("{}/{}", id, tok));
        }
        Auth::SigV4 => {
            let (key_id, secret) = if item.rule_id == "aws-access-key-id" {
                (t, related(item, "aws-secret-access-key").ok_or("no pair")?)
            } else {
                (related(item, "aws-access-key-id").ok_or("no pair")?, t)
            };
            if !aws_key_id_ok(key_id) || !aws_secret_ok(secret) {
                return Err("unsupported format");
            }
            if now.len() != 16 || !now.ends_with('Z') {
                return Err("no clock");
            }
            let session = if key_id.starts_with("ASIA") { related(item, "aws-session-token").filter(|s| token_ok(s) || s.len() > 512) } else { None };
            let mut signed: Vec<(&str, &str)> = vec![("host", v.host), ("x-amz-date", now)];
            if let Some(s) = session {
                signed.push(("x-amz-security-token", s));
            }
            let (p, q) = v.path.split_once('?').unwrap_or((v.path, ""));
            let auth = sigv4::authorization(
                &sigv4::Signed { method: v.method, path: p, query: q, headers: &signed, payload: b"", region: "us-east-1", service: "sts", amz_date: now },
                key_id,
                secret,
            );
            headers.push(("X-Amz-Date".into(), now.into()));
            if let Some(s) = session {
                headers.push(("X-Amz-Security-Token".into(), s.into()));
            }
            headers.push(("Authorization".into(), auth));
        }
    }
    if host.contains("{dc}") {
        // Mailchimp keys end in `-usN`: the data centre that serves the account.
        let dc = t.rsplit('-').next().unwrap_or("");
        let ok = dc.len() >= 3 && dc.len() <= 4 && dc.starts_with("us") && dc[2..].bytes().all(|b| b.is_ascii_digit());
        if !ok || !t.contains('-') {
            return Err("unsupported format");
        }
        host = host.replace("{dc}", dc);
    }
    Ok(Request { method: v.method, url: format!("https://{}{}", host, path), headers, body: if v.body.is_empty() { None } else { Some(v.body) } })
}

fn contains(hay: &[u8], needle: &str) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// A vendor's answer -> (verification, reason).
pub fn classify(v: &Verifier, r: &Response) -> (&'static str, Option<String>) {
    if r.status == 0 {
        let text = String::from_utf8_lossy(&r.body);
        let reason = HOST_REASONS.iter().find(|h| text.trim() == **h).copied().unwrap_or("network refused");
        return ("unknown", Some(reason.into()));
    }
    if r.status == 429 {
        return ("unknown", Some("rate-limited".into()));
    }
    if (300..400).contains(&r.status) {
        return ("unknown", Some("redirect not followed".into()));
    }
    if v.active.contains(&r.status) {
        let compact: Vec<u8> = r.body.iter().copied().filter(|b| !b" \t\r\n".contains(b)).collect();
        if r.status >= 300 || contains(&compact, v.active_body) {
            return ("active", None);
        }
        return ("inactive", None);
    }
    if v.inactive.contains(&r.status) {
        return ("inactive", None);
    }
    if r.status >= 500 {
        return ("unknown", Some(format!("vendor error {}", r.status)));
    }
    ("unknown", Some(format!("unexpected status {}", r.status)))
}

/// Verifies every item; each distinct request is sent at most once.
pub fn verify_all(input: &Input, http: &mut dyn Http) -> Vec<Outcome> {
    let mut seen: HashMap<String, (&'static str, Option<String>)> = HashMap::new();
    input
        .secrets
        .iter()
        .map(|item| {
            let v = match providers::find(&item.rule_id) {
                Some(v) => v,
                None => {
                    return Outcome { id: item.id.clone(), verification: "unknown", reason: Some("no verifier".into()), provider: None }
                }
            };
            let (verification, reason) = match build(v, item, &input.now) {
                Err(why) => ("unknown", Some(why.to_string())),
                Ok(req) => {
                    let key = format!("{} {} {:?} {:?}", req.method, req.url, req.headers, req.body);
                    if let Some(done) = seen.get(&key) {
                        done.clone()
                    } else {
                        let out = classify(v, &http.send(&req));
                        seen.insert(key, out.clone());
                        out
                    }
                }
            };
            Outcome { id: item.id.clone(), verification, reason, provider: Some(v.provider) }
        })
        .collect()
}

/// The `verify` export: input JSON -> output JSON.
pub fn run(input: &[u8], http: &mut dyn Http) -> Result<String, String> {
    let parsed: Input = serde_json::from_slice(input).map_err(|e| format!("verify: invalid input: {}", e))?;
    let results = verify_all(&parsed, http);
    serde_json::to_string(&Output { results }).map_err(|e| format!("verify: cannot encode output: {}", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake {
        sent: Vec<Request>,
        status: u16,
        body: &'static str,
    }
    impl Http for Fake {
        fn send(&mut self, req: &Request) -> Response {
            self.sent.push(req.clone());
            Response { status: self.status, body: self.body.as_bytes().to_vec() }
        }
    }
    fn item(id: &str, rule: &str, secret: &str) -> Item {
        Item { id: id.into(), rule_id: rule.into(), secret: secret.into(), related: vec![] }
    }

    #[test]
    fn table_rules() {
        assert!(providers::VERIFIERS.len() >= 30, "{} verifiers", providers::VERIFIERS.len());
        let mut ids = std::collections::HashSet::new();
        for v in providers::VERIFIERS {
            assert!(v.method == "GET" || (v.method == "POST" && v.body.contains("\"query\"") && !v.body.contains("mutation")), "{}", v.provider);
            assert!(v.doc.starts_with("https://"), "{}", v.provider);
            assert!(v.path.starts_with('/'), "{}", v.provider);
            for r in v.rules {
                assert!(ids.insert(*r), "rule {} has two verifiers", r);
            }
            assert!(v.inactive.iter().all(|s| !v.active.contains(s)), "{}", v.provider);
        }
    }

    #[test]
    fn every_rule_id_exists() {
        let e = crate::config::DEFAULT_ENGINE.as_ref().unwrap();
        let known: std::collections::HashSet<&str> = e.rules.iter().map(|r| r.id.as_str()).collect();
        for v in providers::VERIFIERS {
            for r in v.rules {
                assert!(known.contains(r), "verifier {} names unknown rule {}", v.provider, r);
            }
        }
        for (r, _) in providers::NO_VERIFIER {
            assert!(known.contains(r), "unknown rule {}", r);
        }
    }

    #[test]
    fn hostile_tokens_never_reach_a_request() {
        let mut http = Fake { sent: vec![], status: 200, body: "" };
        let input = Input {
            now: "20261205T120000Z".into(),
            secrets: vec![
                item("1", "github-pat", "ghp_abc\r\nHost: evil.example"),
                item("2", "telegram-bot-token", "123:abc/../../evil"),
                item("3", "mailchimp-api-key", "0123456789abcdef0123456789abcdef-evil.example/x"),
                item("4", "discord-webhook-url", "https://evil.example/api/webhooks/1/../x"),
                item("5", "github-pat", "ghp_x?y#z"),
            ],
        };
        let out = verify_all(&input, &mut http);
        assert!(http.sent.is_empty(), "{:?}", http.sent);
        assert!(out.iter().all(|o| o.verification == "unknown"));
    }

    #[test]
    fn one_request_per_distinct_secret_and_mapping() {
        let mut http = Fake { sent: vec![], status: 401, body: "" };
        let t = "ghp_0123456789abcdefghijABCDEFGHIJ012345";
        let input = Input { now: String::new(), secrets: vec![item("1", "github-pat", t), item("2", "github-pat", t), item("3", "generic-api-key", "x")] };
        let out = verify_all(&input, &mut http);
        assert_eq!(http.sent.len(), 1);
        assert_eq!(http.sent[0].url, "https://api.github.com/user");
        assert!(http.sent[0].headers.contains(&("Authorization".into(), format!("Bearer {}", t))));
        assert_eq!(out[0].verification, "inactive");
        assert_eq!(out[1].verification, "inactive");
        assert_eq!(out[2].reason.as_deref(), Some("no verifier"));
    }

    #[test]
    fn slack_200_not_ok_is_inactive_and_host_reasons_pass_through() {
        let v = providers::find("slack-bot-token").unwrap();
        assert_eq!(classify(v, &Response { status: 200, body: b"{\"ok\": false}".to_vec() }).0, "inactive");
        assert_eq!(classify(v, &Response { status: 200, body: b"{\"ok\": true}".to_vec() }).0, "active");
        assert_eq!(classify(v, &Response { status: 0, body: b"timeout".to_vec() }).1.as_deref(), Some("timeout"));
        assert_eq!(classify(v, &Response { status: 0, body: b"whatever".to_vec() }).1.as_deref(), Some("network refused"));
        assert_eq!(classify(v, &Response { status: 302, body: vec![] }).1.as_deref(), Some("redirect not followed"));
        assert_eq!(classify(v, &Response { status: 429, body: vec![] }).1.as_deref(), Some("rate-limited"));
    }

    #[test]
    fn aws_pairs_key_id_and_secret() {
        let mut http = Fake { sent: vec![], status: 200, body: "" };
        let mut a = item("1", "aws-access-key-id", "AKIAZ7QXJ3MPLW4KTN2B");
        a.related.push(Related { rule_id: "aws-secret-access-key".into(), secret: "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".into() });
        let mut b = item("2", "aws-secret-access-key", "q8Fz3Lk9Vb2Xy7Pw4Rt6Mn1Hs5Jd0Gc+Ae/Ui2Ko");
        b.related.push(Related { rule_id: "aws-access-key-id".into(), secret: "AKIAZ7QXJ3MPLW4KTN2B".into() });
        let lone = item("3", "aws-access-key-id", "AKIAZ7QXJ3MPLW4KTN2C");
        let out = verify_all(&Input { now: "20261205T120000Z".into(), secrets: vec![a, b, lone] }, &mut http);
        assert_eq!(http.sent.len(), 1, "the pair is one request");
        let auth = &http.sent[0].headers.iter().find(|(n, _)| n == "Authorization").unwrap().1;
        assert!(auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIAZ7QXJ3MPLW4KTN2B/20261205/us-east-1/sts/aws4_request"));
        assert_eq!(http.sent[0].url, "https://sts.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15");
        assert_eq!((out[0].verification, out[1].verification), ("active", "active"));
        assert_eq!(out[2].reason.as_deref(), Some("no pair"));
    }

    #[test]
    fn basic_and_mailchimp_host() {
        assert_eq!(base64(b"api:key-1"), "YXBpOmtleS0x");
        let v = providers::find("mailchimp-api-key").unwrap();
        let r = build(v, &item("1", "mailchimp-api-key", "0123456789abcdef0123456789abcdef-us21"), "").unwrap();
        assert_eq!(r.url, "https://us21.api.mailchimp.com/3.0/ping");
        assert!(providers::hosts().contains(&"*.api.mailchimp.com".to_string()));
    }
}
