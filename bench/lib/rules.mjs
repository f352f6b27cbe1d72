// The secrets plugin's built-in rules as the plugin compiles them (plugins/secrets/src/rules.rs: a rule has a
// `regex`, or `context` + `secret` expanded into an assignment pattern, or a self-identifying `secret`), so that
// ripgrep and the Node RegExp loop run exactly the plugin's regexes (without its validators and allowlists).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'smol-toml';
import { ROOT } from '../config.mjs';

export const RULES_DIR = path.join(ROOT, 'plugins/secrets/rules');

/** The built-in rule files concatenated in name order, as plugins/secrets/build.rs does. */
export const builtinRulesText = () =>
  readdirSync(RULES_DIR)
    .filter((f) => f.endsWith('.toml'))
    .sort()
    .map((f) => readFileSync(path.join(RULES_DIR, f), 'utf8'))
    .join('\n');

const contextRegex = (context, secret) =>
  `(?i:(?:${context})[a-z0-9_.\\-]{0,32}?)["'\\]]{0,2}[ \\t]{0,4}(?:=|:=|:|=>|\\?=)[ \\t]{0,4}["'\`]?(${secret})`;

/** @returns {{id: string, regex: string, keywords: string[]}[]} regexes in Rust syntax, byte mode like the plugin */
export function loadRules(text = builtinRulesText()) {
  const doc = parse(text);
  const out = [];
  for (const r of doc.rules ?? []) {
    let re;
    if (r.regex) re = r.regex;
    else if (r.context && r.secret) re = contextRegex(r.context, r.secret);
    else if (r.secret) re = `(?:^|[^A-Za-z0-9_])(${r.secret})`;
    if (re) out.push({ id: r.id, regex: `(?-u)${re}`, keywords: (r.keywords ?? []).map((k) => k.toLowerCase()) });
  }
  return out;
}

const POSIX = {
  alnum: 'A-Za-z0-9',
  alpha: 'A-Za-z',
  digit: '0-9',
  xdigit: '0-9A-Fa-f',
  upper: 'A-Z',
  lower: 'a-z',
  space: '\\s',
  word: '\\w',
  punct: '!-\\/:-@\\[-`{-~',
};

/**
 * Rust regex -> JS RegExp source and flags. Node 20 has no scoped modifiers `(?i:...)`, so any `(?i` makes the
 * whole pattern case-insensitive (a superset of the Rust matches; said in the report).
 */
export function toJs(rust) {
  let src = rust.replace(/\(\?-u\)/g, '');
  let flags = 'g';
  if (/\(\?i[:)]/.test(src)) flags += 'i';
  if (/\(\?[a-z]*s[a-z]*\)/.test(src)) flags += 's';
  if (/\(\?[a-z]*m[a-z]*\)/.test(src)) flags += 'm';
  src = src
    .replace(/\(\?[imsx]+\)/g, '')
    .replace(/\(\?[imsx]+:/g, '(?:')
    .replace(/\(\?P</g, '(?<')
    .replace(/\\z/g, '$(?![\\s\\S])')
    .replace(/\\A/g, '(?<![\\s\\S])')
    .replace(/\[:(\w+):\]/g, (m, name) => POSIX[name] ?? m);
  return { source: src, flags };
}
