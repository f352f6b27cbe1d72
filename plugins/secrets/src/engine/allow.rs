//! Allowlists. Their rule: an allowlist only drops findings. A rule's allowlists and the global ones are
//! tried alike; within one allowlist the checks it has (commits, paths, regexes on the secret, the match or
//! the line, stopwords in the secret) combine with OR, or with AND under `condition = "AND"`; an allowlist
//! with no checks drops nothing. The line is found only if a `regexTarget = "line"` regex asks for it.

use super::Engine;
use crate::rules::{Allow, Rule, Target};
use regex::bytes::Regex;

impl Engine {
    pub(super) fn allowed(&self, rule: &Rule, path: &str, secret: &[u8], matched: &[u8], line: &[u8], commit: Option<&str>) -> bool {
        self.allowed_with(rule, path, secret, matched, &|| line, commit)
    }

    pub(super) fn allowed_with<'b>(
        &self,
        rule: &Rule,
        path: &str,
        secret: &[u8],
        matched: &[u8],
        line: &dyn Fn() -> &'b [u8],
        commit: Option<&str>,
    ) -> bool {
        rule.allow.iter().chain(self.allow.iter()).any(|a| allow_matches(a, path, secret, matched, line, commit))
    }
}

fn allow_matches<'b>(
    a: &Allow,
    path: &str,
    secret: &[u8],
    matched: &[u8],
    line: &dyn Fn() -> &'b [u8],
    commit: Option<&str>,
) -> bool {
    let target_match = |re: &Regex| match a.target {
        Target::Secret => re.is_match(secret),
        Target::Match => re.is_match(matched),
        Target::Line => re.is_match(line()),
    };
    let checks: [Option<bool>; 4] = [
        if a.commits.is_empty() { None } else { Some(commit.map(|c| a.commits.iter().any(|x| x == c)).unwrap_or(false)) },
        if a.paths.is_empty() {
            None
        } else {
            Some(a.paths.iter().filter_map(|p| p.get()).any(|p| p.is_match(path.as_bytes())))
        },
        if a.regexes.is_empty() { None } else { Some(a.regexes.iter().filter_map(|r| r.get()).any(target_match)) },
        if a.stopwords.is_empty() {
            None
        } else {
            let l = secret.to_ascii_lowercase();
            Some(a.stopwords.iter().any(|w| crate::util::contains(&l, w)))
        },
    ];
    let present: Vec<bool> = checks.iter().filter_map(|c| *c).collect();
    if present.is_empty() {
        return false;
    }
    if a.and {
        present.iter().all(|x| *x)
    } else {
        present.iter().any(|x| *x)
    }
}
