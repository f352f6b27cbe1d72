// Makes the planted copy of the corpus (hard links, so unchanged files cost nothing), plants synthetic secrets and
// decoys at recorded positions, and writes the manifest and the two sample trees. Deterministic for a given seed
// (except RSA key bodies: node:crypto's RSA generation cannot be seeded; positions and all other values are).
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  BENCH_DIR,
  MANIFEST,
  PACKAGES,
  PLANTS_PER_DECOY,
  PLANTS_PER_FORMAT,
  SAMPLE_BYTES,
  SEED,
  TARGETS,
} from './config.mjs';
import { contextsFor, INSERT, NEW_FILE } from './lib/contexts.mjs';
import { decoys, FORMATS } from './lib/formats.mjs';
import { MB, walk } from './lib/fsutil.mjs';
import { Rng } from './lib/rng.mjs';

const SOURCES = ['plant.mjs', 'config.mjs', 'lib/formats.mjs', 'lib/contexts.mjs', 'lib/rng.mjs'];

function cacheKey() {
  const h = createHash('sha256').update(JSON.stringify({ PACKAGES, SEED, SAMPLE_BYTES }));
  for (const f of SOURCES) h.update(readFileSync(path.join(BENCH_DIR, f)));
  return h.digest('hex').slice(0, 16);
}

const DECOY_CONTEXTS = {
  line: [
    'new:env',
    'new:yaml',
    'new:python',
    'new:shell',
    'insert:json',
    'insert:js',
    'insert:minified',
    'insert:markdown',
  ],
  multiline: ['new:pem', 'new:yaml', 'insert:js', 'insert:markdown'],
  bare: ['insert:js', 'insert:minified'],
};

class Planter {
  constructor(r, files) {
    this.r = r;
    this.files = r.shuffle(files.filter((f) => f.size >= 200 && f.size <= 1_500_000));
    this.used = new Set();
    this.pkgDirs = files.filter((f) => /^(@[^/]+\/)?[^/]+\/package\.json$/.test(f.rel)).map((f) => path.dirname(f.rel));
    this.touched = new Set();
    this.added = new Set();
  }

  /** Writes `items` in `context`; returns [{file, line, endLine}] per item, or undefined if no spot was found. */
  place(context, items) {
    const [kind, name] = context.split(':');
    return kind === 'new' ? this.#newFile(name, items) : this.#insert(name, items);
  }

  #newFile(name, items) {
    const ctx = NEW_FILE[name];
    for (let tries = 0; tries < 50; tries++) {
      const rel = path.join(this.r.pick(this.pkgDirs), ctx.file(this.r));
      const abs = path.join(TARGETS.planted, rel);
      if (existsSync(abs)) continue;
      const { lines, spans } = ctx.render(items, this.r);
      mkdirSync(path.dirname(abs), { recursive: true });
      writeFileSync(abs, lines.join('\n'));
      this.added.add(rel);
      return spans.map(([a, b]) => ({ file: rel, line: a + 1, endLine: b + 1, encoded: !!ctx.encoded }));
    }
    return undefined;
  }

  #insert(name, items) {
    const ctx = INSERT[name];
    const start = this.r.int(0, this.files.length - 1);
    for (let k = 0; k < this.files.length; k++) {
      const f = this.files[(start + k) % this.files.length];
      if (this.used.has(f.rel)) continue;
      if (name !== 'minified' && f.size > 200_000) continue;
      const text = readFileSync(path.join(TARGETS.clean, f.rel), 'utf8');
      if (!ctx.accept(f, text)) continue;
      const res = ctx.insert(text, items, this.r);
      if (!res) continue;
      this.used.add(f.rel);
      const abs = path.join(TARGETS.planted, f.rel);
      unlinkSync(abs); // a hard link to the clean copy: break it before writing
      writeFileSync(abs, res.text);
      this.touched.add(f.rel);
      return res.spans.map(([a, b]) => ({ file: f.rel, line: a + 1, endLine: b + 1, encoded: false }));
    }
    return undefined;
  }
}

function linkTree(fromRoot, toRoot, rels) {
  rmSync(toRoot, { recursive: true, force: true });
  for (const rel of rels) {
    const src = path.join(fromRoot, rel);
    if (!existsSync(src)) continue;
    const dst = path.join(toRoot, rel);
    mkdirSync(path.dirname(dst), { recursive: true });
    linkSync(src, dst);
  }
}

export function ensurePlanted(log = console.error) {
  const key = cacheKey();
  if (existsSync(MANIFEST) && existsSync(TARGETS.samplePlanted)) {
    const m = JSON.parse(readFileSync(MANIFEST, 'utf8'));
    if (m.key === key) {
      log(`plant: cached (${m.plants.length} secrets in ${m.formats} formats, ${m.decoys.length} decoys)`);
      return m;
    }
  }
  const t0 = Date.now();
  rmSync(MANIFEST, { force: true });
  for (const t of [TARGETS.planted, TARGETS.sampleClean, TARGETS.samplePlanted])
    rmSync(t, { recursive: true, force: true });
  execFileSync('cp', ['-al', TARGETS.clean, TARGETS.planted]);
  const files = walk(TARGETS.clean);
  const r = new Rng(SEED);
  const planter = new Planter(r, files);
  const plants = [];
  const missed = [];
  for (const format of FORMATS) {
    const contexts = r.shuffle(contextsFor(format)).slice(0, PLANTS_PER_FORMAT);
    for (const context of contexts) {
      const items = format.items(r);
      const spots = planter.place(context, items);
      if (!spots) {
        missed.push(`${format.family} in ${context}`);
        continue;
      }
      for (const [i, it] of items.entries()) {
        plants.push({ family: format.family, name: it.name, context, ...spots[i], secret: it.value, core: it.core });
      }
    }
  }
  const decoyList = [];
  for (const d of decoys(r)) {
    const pool = d.bare ? DECOY_CONTEXTS.bare : d.multiline ? DECOY_CONTEXTS.multiline : DECOY_CONTEXTS.line;
    for (const context of r.shuffle(pool).slice(0, PLANTS_PER_DECOY)) {
      const spots = planter.place(context, [d]);
      if (!spots) {
        missed.push(`decoy ${d.kind} in ${context}`);
        continue;
      }
      decoyList.push({ kind: d.kind, name: d.name, context, ...spots[0], value: d.value });
    }
  }
  // The sample: every touched or added file, then clean files (under 1 MB) in seeded order up to SAMPLE_BYTES.
  const sample = new Set([...planter.touched, ...planter.added]);
  const sizeOf = new Map(files.map((f) => [f.rel, f.size]));
  let bytes = [...sample].reduce((n, rel) => n + (sizeOf.get(rel) ?? 0), 0);
  for (const f of r.shuffle(files)) {
    if (bytes >= SAMPLE_BYTES) break;
    if (sample.has(f.rel) || f.size > 1_000_000) continue;
    sample.add(f.rel);
    bytes += f.size;
  }
  linkTree(TARGETS.planted, TARGETS.samplePlanted, sample);
  linkTree(TARGETS.clean, TARGETS.sampleClean, sample);
  const manifest = {
    key,
    seed: SEED,
    formats: new Set(plants.map((p) => p.family)).size,
    plants,
    decoys: decoyList,
    touched: [...planter.touched].sort(),
    added: [...planter.added].sort(),
    sample: [...sample].sort(),
    missed,
  };
  writeFileSync(MANIFEST, `${JSON.stringify(manifest, null, 1)}\n`);
  log(
    `plant: ${plants.length} secrets in ${manifest.formats} formats, ${decoyList.length} decoys, ` +
      `sample ${(bytes / MB).toFixed(1)} MB; ${((Date.now() - t0) / 1000).toFixed(1)} s` +
      (missed.length ? `; no spot for: ${missed.join(', ')}` : ''),
  );
  return manifest;
}

if (import.meta.url === `file://${process.argv[1]}`) ensurePlanted();
