#!/usr/bin/env node
// `npm run bench`: builds what is missing (tools, wasmci, corpus, planted copy), runs every contender on the same
// corpus in the same run, scores them, measures wasmci's extras, and writes the table (stdout + bench/RESULTS.md).
//   node bench/run.mjs [--only key,key] [--runs N] [--no-build] [--skip-extras] [--sample-only]
// Contender keys (bench/contenders/index.mjs): wasmci-j1, wasmci-j<cores>, ripgrep-36 (issue 5's speed reference:
// rg -uu with 36 vendor token regexes), ripgrep (all plugin regexes), node-regex, node-regex-kw, gitleaks, secretlint.
// An --only run prints its table but leaves bench/RESULTS.md alone.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CONTENDERS } from './contenders/index.mjs';
import { ensureCorpus } from './corpus.mjs';
import { RUNS, ROOT, TARGETS, WORK } from './config.mjs';
import { runExtras } from './extras.mjs';
import { MB, totalBytes } from './lib/fsutil.mjs';
import { GNU_TIME, measure, median } from './lib/measure.mjs';
import { inSample, scorePlanted } from './lib/score.mjs';
import { ensurePlanted } from './plant.mjs';
import { writeReport } from './report.mjs';

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const only = opt('--only')?.split(',');
const runs = Number(opt('--runs') ?? RUNS);
const log = (s) => process.stderr.write(`${s}\n`);

function ensureDebianTools() {
  const missing = [];
  if (!existsSync(GNU_TIME)) missing.push('time');
  try {
    execFileSync('rg', ['--version'], { stdio: 'ignore' });
  } catch {
    missing.push('ripgrep');
  }
  if (!missing.length) return;
  log(`tools: apt-get install -y ${missing.join(' ')}`);
  const install = () =>
    execFileSync('apt-get', ['install', '-y', '-q', ...missing], { stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    install();
  } catch {
    execFileSync('apt-get', ['update', '-q'], { stdio: ['ignore', 'ignore', 'inherit'] }); // a fresh machine's lists
    install();
  }
}

function build() {
  if (args.includes('--no-build')) return;
  log('build: node scripts/build.mjs (runner bundle + secrets plugin)');
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/build.mjs')], { stdio: ['ignore', 'ignore', 'inherit'] });
}

async function runContender(c, manifest, bytes) {
  const scope = args.includes('--sample-only') ? 'sample' : c.scope;
  const scoped =
    scope === 'full'
      ? { planted: TARGETS.planted, clean: TARGETS.clean, plantedBytes: bytes.planted, cleanBytes: bytes.clean }
      : {
          planted: TARGETS.samplePlanted,
          clean: TARGETS.sampleClean,
          plantedBytes: bytes.samplePlanted,
          cleanBytes: bytes.sampleClean,
        };
  const outDir = path.join(WORK, 'out', c.key);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const timings = [];
  let planted;
  let clean;
  // Run 1 scans the planted copy (scored), the others the clean copy (same bytes but the plants): all are timed.
  for (let i = 0; i < Math.max(2, runs); i++) {
    const which = i === 0 ? 'planted' : 'clean';
    const out = path.join(outDir, `${which}-${i}.out`);
    const m = await measure(c.command({ target: scoped[which], out }), outDir);
    const b = which === 'planted' ? scoped.plantedBytes : scoped.cleanBytes;
    timings.push({ wallMs: m.wallMs, bytes: b, rssKB: m.rssKB });
    log(`  ${c.key}: ${which} ${(m.wallMs / 1000).toFixed(2)} s, ${(b / MB / (m.wallMs / 1000)).toFixed(1)} MB/s`);
    if (i === 0) planted = c.parse({ out, target: scoped[which] });
    if (i === 1) clean = c.parse({ out, target: scoped[which] });
    rmSync(out, { force: true });
  }
  const score = scorePlanted(planted, manifest);
  const sampleClean = scope === 'full' ? inSample(clean, manifest) : clean;
  const walls = timings.map((t) => t.wallMs);
  const mbps = timings.map((t) => t.bytes / MB / (t.wallMs / 1000));
  return {
    key: c.key,
    name: c.name,
    engine: c.engine,
    version: c.version(),
    scope,
    scannedBytes: scoped.cleanBytes,
    runs: timings.length,
    wallMinMs: Math.min(...walls),
    wallMedianMs: median(walls),
    mbpsBest: Math.max(...mbps),
    mbpsMedian: median(mbps),
    rssMaxKB: Math.max(...timings.map((t) => t.rssKB)),
    recall: score.recall,
    found: score.found,
    plants: score.plants,
    missed: score.missed.map((p) => ({ family: p.family, context: p.context, file: p.file, line: p.line })),
    decoyHits: score.decoyHits.map((h) => ({ kind: h.decoy.kind, context: h.decoy.context, rules: h.rules })),
    decoys: score.decoys,
    otherOnPlanted: score.other,
    cleanFindings: clean.length,
    cleanPer100MB: clean.length / (scoped.cleanBytes / (100 * MB)),
    sampleCleanFindings: sampleClean.length,
    sampleCleanPer100MB: sampleClean.length / (bytes.sampleClean / (100 * MB)),
    cleanRules: Object.entries(
      clean.reduce((m, f) => {
        m[f.rule] = (m[f.rule] ?? 0) + 1;
        return m;
      }, {}),
    )
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8),
  };
}

async function main() {
  const t0 = Date.now();
  ensureDebianTools();
  build();
  ensureCorpus(log);
  const manifest = ensurePlanted(log);
  const bytes = {
    clean: totalBytes(TARGETS.clean),
    planted: totalBytes(TARGETS.planted),
    sampleClean: totalBytes(TARGETS.sampleClean),
    samplePlanted: totalBytes(TARGETS.samplePlanted),
  };
  const results = [];
  for (const c of CONTENDERS) {
    if (only && !only.includes(c.key)) continue;
    if (!c.available()) {
      log(`${c.key}: not available, skipped`);
      results.push({ key: c.key, name: c.name, unavailable: true });
      continue;
    }
    log(`${c.name}: scanning (${c.scope === 'full' ? 'full corpus' : 'sample'}) ...`);
    try {
      results.push(await runContender(c, manifest, bytes));
    } catch (err) {
      log(`${c.key}: failed: ${err.message}`);
      results.push({ key: c.key, name: c.name, error: String(err.message).slice(0, 500) });
    }
  }
  const extras = args.includes('--skip-extras') ? undefined : await runExtras(log);
  const data = { date: new Date().toISOString(), bytes, manifest, results, extras, totalMs: Date.now() - t0, runs };
  writeFileSync(path.join(WORK, 'results.json'), JSON.stringify({ ...data, manifest: undefined }, null, 1));
  const table = writeReport(data, { write: !only });
  process.stdout.write(`${table}\n`);
  log(`bench: done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

main().catch((err) => {
  log(`bench: ${err.stack ?? err}`);
  process.exit(1);
});
