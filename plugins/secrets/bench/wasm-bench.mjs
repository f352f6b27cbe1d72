// Throughput of dist/secrets.wasm through @extism/extism on a real corpus (one plugin instance).
// usage: node bench/wasm-bench.mjs [dir=/work/main/node_modules] [capMB=200] [--findings] [--slow]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { load, buildBatch, scan } from './plugin.mjs';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const flags = new Set(process.argv.slice(2).filter((a) => a.startsWith('--')));
const dir = args[0] ?? '/work/main/node_modules';
const cap = Number(args[1] ?? 200) * 1024 * 1024;

function* walk(d) {
  let entries;
  try { entries = readdirSync(d, { withFileTypes: true }); } catch { return; }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = join(d, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.isFile()) yield p;
  }
}

const files = [];
let total = 0;
for (const p of walk(dir)) {
  const st = statSync(p);
  if (st.size === 0 || st.size > 20 * 1024 * 1024) continue;
  const data = readFileSync(p);
  if (data.subarray(0, 8000).includes(0)) continue;
  if (total + data.length > cap) break;
  files.push({ path: p, data });
  total += data.length;
}
const plugin = await load();
const input = buildBatch(files);
// warm-up on a small batch (compiles rules, JIT)
await scan(plugin, buildBatch(files.slice(0, 50)), { fast: !flags.has('--slow') });
// cold: the first big call also grows the wasm memory; warm: steady state (a runner sends
// batch after batch to the same instance)
let t0 = performance.now();
let out = await scan(plugin, input, { fast: !flags.has('--slow') });
const cold = (performance.now() - t0) / 1000;
t0 = performance.now();
out = await scan(plugin, input, { fast: !flags.has('--slow') });
const dt = (performance.now() - t0) / 1000;
console.error(`single ${(input.length / 1e6).toFixed(0)} MB batch: cold ${(input.length / 1e6 / cold).toFixed(1)} MB/s (${cold.toFixed(3)} s), warm ${(input.length / 1e6 / dt).toFixed(1)} MB/s`);
// the runner's shape: a fresh instance fed consecutive batches of ~16 MB
{
  const batchBytes = Number(process.env.BATCH_MB ?? 16) * 1024 * 1024;
  const p2 = await load();
  const batches = [];
  let cur = [];
  let size = 0;
  for (const f of files) {
    if (size + f.data.length > batchBytes && cur.length) { batches.push(buildBatch(cur)); cur = []; size = 0; }
    cur.push(f); size += f.data.length;
  }
  if (cur.length) batches.push(buildBatch(cur));
  await scan(p2, buildBatch(files.slice(0, 5)));
  const t = performance.now();
  let n = 0;
  for (const b of batches) n += (await scan(p2, b)).findings.length;
  const s = (performance.now() - t) / 1000;
  const mb2 = batches.reduce((a, b) => a + b.length, 0) / 1e6;
  console.error(`fresh instance, ${batches.length} batches of <=${batchBytes >> 20} MB: ${(mb2 / s).toFixed(1)} MB/s (${s.toFixed(3)} s), ${n} findings`);
  await p2.close();
}
const mb = input.length / 1e6;
const byRule = {};
for (const f of out.findings) byRule[f.rule_id] = (byRule[f.rule_id] ?? 0) + 1;
console.log(JSON.stringify({ files: files.length, mb: +mb.toFixed(1), seconds: +dt.toFixed(3), mbPerSec: +(mb / dt).toFixed(1), findings: out.findings.length, errors: out.errors.length, byRule }));
if (flags.has('--findings')) for (const f of out.findings) console.log(f.rule_id, `${f.path}:${f.start_line}:${f.start_column}`, JSON.stringify(f.secret).slice(0, 100));
await plugin.close();
