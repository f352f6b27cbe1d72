// Plugin throughput through ONE Extism instance: the corpus in 4 MiB / 1000-file batches (what `wasmci scan`
// sends), fed to the runner's own SandboxedPlugin; only the `scan` calls are timed (reading files is not).
// Bundled by extras.mjs with esbuild (it imports the runner's TypeScript), then run as:
//   node throughput.mjs PLUGIN.wasm ROOT
import { readFileSync } from 'node:fs';
import { createLogger } from '../../runner/src/log.ts';
import { compilePlugin, SandboxedPlugin } from '../../runner/src/plugin/host.ts';
import { policy } from '../../runner/src/plugin/policy.ts';
import { encodeBatch } from '../../runner/src/core/protocol.ts';
import { walk } from './fsutil.mjs';

const [wasmPath, root] = process.argv.slice(2);
const BATCH_BYTES = 4 * 1024 * 1024;
const BATCH_FILES = 1000;

const pol = policy({ timeoutMs: 300_000 });
const compiled = await compilePlugin(readFileSync(wasmPath), pol);
const plugin = await SandboxedPlugin.start(compiled, pol, createLogger('error'), 'secrets');
let callNs = 0n;
let bytes = 0;
let calls = 0;
let findings = 0;
let errors = 0;
let batch = [];
let size = 0;
const flush = async () => {
  if (!batch.length) return;
  const input = encodeBatch(batch);
  const t = process.hrtime.bigint();
  const out = await plugin.call('scan', input);
  callNs += process.hrtime.bigint() - t;
  const answer = JSON.parse(Buffer.from(out).toString('utf8'));
  findings += answer.findings.length;
  errors += answer.errors?.length ?? 0;
  bytes += size;
  calls++;
  batch = [];
  size = 0;
};
for (const f of walk(root)) {
  const data = readFileSync(f.abs);
  batch.push({ path: f.rel, data });
  size += data.length;
  if (size >= BATCH_BYTES || batch.length >= BATCH_FILES) await flush();
}
await flush();
await plugin.close();
const seconds = Number(callNs) / 1e9;
process.stdout.write(`${JSON.stringify({ bytes, calls, findings, errors, seconds, mbps: bytes / 1e6 / seconds })}\n`);
