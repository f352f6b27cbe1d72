#!/usr/bin/env node
// The plain-Node reference: every plugin rule as a JS RegExp, run over every file, one thread.
//   node node-regex-scan.mjs ROOT OUT.json [--keywords]
// With --keywords a rule runs on a file only if one of its keywords occurs in it (the plugin's pre-filter idea,
// done the simplest way), which shows what the keyword gate alone buys in plain JS.
import { readFileSync, writeFileSync } from 'node:fs';
import { walk } from '../lib/fsutil.mjs';
import { loadRules, toJs } from '../lib/rules.mjs';

const [root, out, ...flags] = process.argv.slice(2);
const useKeywords = flags.includes('--keywords');
const MAX_PER_RULE_FILE = 1000;

const rules = [];
let skipped = 0;
for (const r of loadRules()) {
  const { source, flags: f } = toJs(r.regex);
  try {
    rules.push({ id: r.id, re: new RegExp(source, f), keywords: r.keywords });
  } catch {
    skipped++;
  }
}

const findings = [];
for (const file of walk(root)) {
  const buf = readFileSync(file.abs);
  if (buf.subarray(0, 8000).includes(0)) continue; // binary, as every other contender skips it
  const text = buf.toString('latin1'); // byte-for-byte, like the plugin's regex::bytes
  const lower = useKeywords ? text.toLowerCase() : '';
  let nl;
  const lineAt = (off) => {
    if (!nl) {
      nl = [];
      for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) nl.push(i);
    }
    let lo = 0;
    let hi = nl.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (nl[mid] < off) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  };
  for (const rule of rules) {
    if (useKeywords && rule.keywords.length && !rule.keywords.some((k) => lower.includes(k))) continue;
    rule.re.lastIndex = 0;
    let n = 0;
    for (let m = rule.re.exec(text); m; m = rule.re.exec(text)) {
      if (m[0].length === 0) rule.re.lastIndex++;
      const secret = m[1] ?? m[0];
      const start = m.index + m[0].indexOf(secret);
      findings.push({
        path: file.rel,
        startLine: lineAt(start),
        endLine: lineAt(start + secret.length),
        rule: rule.id,
        text: secret,
      });
      if (++n >= MAX_PER_RULE_FILE) break;
    }
  }
}
writeFileSync(out, JSON.stringify({ rules: rules.length, skipped, findings }));
