// Scores a contender's findings against the manifest. A finding is {path (relative to the scanned root),
// startLine, endLine, rule, text (the reported secret or match)}. A planted secret counts as found when a finding
// overlaps its file and lines and reports the secret, its base64 form (k8s Secrets), or at least half of it; for a
// URL or connection string, reporting its password or key (`core`) is enough.

const norm = (s) => String(s ?? '').replace(/\\n|\\r|\s|["']/g, '');

function reports(f, secret, encoded, core) {
  const t = norm(f.text);
  if (core && t.includes(norm(core))) return true;
  const s = norm(secret);
  if (!t) return false;
  if (t.includes(s)) return true;
  if (encoded && t.includes(Buffer.from(secret).toString('base64'))) return true;
  return t.length >= 8 && s.includes(t) && t.length * 2 >= s.length;
}

const overlaps = (f, p) => f.path === p.file && f.startLine <= p.endLine && f.endLine >= p.line;

/** Indexes findings by path once: scoring is then cheap even with many findings. */
function byPath(findings) {
  const m = new Map();
  for (const f of findings) {
    const list = m.get(f.path);
    if (list) list.push(f);
    else m.set(f.path, [f]);
  }
  return m;
}

/** Scores findings on the planted copy: recall, missed plants, findings on decoys, and the rest. */
export function scorePlanted(findings, manifest) {
  const idx = byPath(findings);
  const matched = new Set();
  const missed = [];
  let found = 0;
  for (const p of manifest.plants) {
    const hits = (idx.get(p.file) ?? []).filter((f) => overlaps(f, p) && reports(f, p.secret, p.encoded, p.core));
    if (hits.length) found++;
    else missed.push(p);
    for (const h of hits) matched.add(h);
  }
  const decoyHits = [];
  for (const d of manifest.decoys) {
    const hits = (idx.get(d.file) ?? []).filter((f) => !matched.has(f) && overlaps(f, d));
    if (hits.length) decoyHits.push({ decoy: d, rules: [...new Set(hits.map((h) => h.rule))] });
    for (const h of hits) matched.add(h);
  }
  return {
    plants: manifest.plants.length,
    found,
    recall: found / manifest.plants.length,
    missed,
    decoys: manifest.decoys.length,
    decoyHits,
    other: findings.length - matched.size,
  };
}

/** Findings restricted to the sample's files: how a full-corpus run compares with a sample-only contender. */
export function inSample(findings, manifest) {
  const set = new Set(manifest.sample);
  return findings.filter((f) => set.has(f.path));
}
