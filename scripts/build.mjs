#!/usr/bin/env node
// Builds the runner bundle (and, unless --no-plugin, the secrets plugin).
//   node scripts/build.mjs [--out DIR] [--no-plugin]
// The plugin worker is bundled first and inlined into the CLI bundle, so the CLI is one self-contained file
// (what the single-executable image needs); DIR/plugin-worker.cjs is also written for running from source.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const outIdx = args.indexOf('--out');
const outDir = path.resolve(outIdx >= 0 ? args[outIdx + 1] : path.join(root, 'runner/dist'));
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));

mkdirSync(outDir, { recursive: true });
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  logLevel: 'warning',
  legalComments: 'none',
  define: { 'import.meta.dirname': '__dirname', __WASMCI_VERSION__: JSON.stringify(pkg.version) },
};

const worker = await esbuild.build({
  ...common,
  entryPoints: [path.join(root, 'runner/src/plugin/worker.ts')],
  write: false,
  minify: true,
});
const workerCode = worker.outputFiles[0].text;
writeFileSync(path.join(outDir, 'plugin-worker.cjs'), workerCode);

await esbuild.build({
  ...common,
  entryPoints: [path.join(root, 'runner/src/bin.ts')],
  outfile: path.join(outDir, 'wasmci.cjs'),
  banner: { js: '#!/usr/bin/env node' },
  // Less to parse at every start; identifiers stay readable for internal-error stack traces.
  minifyWhitespace: true,
  minifySyntax: true,
  define: { ...common.define, __WASMCI_WORKER_SOURCE__: JSON.stringify(workerCode) },
});

if (!args.includes('--no-plugin')) {
  execFileSync('bash', [path.join(root, 'plugins/secrets/build.sh')], { stdio: 'inherit' });
}
