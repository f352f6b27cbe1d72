#!/usr/bin/env node
// Builds the runner bundle (and, unless --no-plugin, the secrets plugin).
//   node scripts/build.mjs [--out DIR] [--no-plugin]
// The plugin worker is bundled first and inlined into the CLI bundle, so the CLI is one self-contained file
// (what the single-executable image needs); DIR/plugin-worker.cjs is also written for running from source.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

const cli = await esbuild.build({
  ...common,
  entryPoints: [path.join(root, 'runner/src/bin.ts')],
  write: false,
  // Less to parse at every start; identifiers stay readable for internal-error stack traces.
  minifyWhitespace: true,
  minifySyntax: true,
  define: { ...common.define, __WASMCI_WORKER_SOURCE__: JSON.stringify(workerCode) },
});
const cliFile = path.join(outDir, 'wasmci.cjs');
const cacheFile = `${cliFile}.v8cache`;
rmSync(cacheFile, { force: true });
const cliCode = cli.outputFiles[0].text;
// A script compiled through vm.Script cannot run import() on Node 20 without an experimental flag (or a warning
// at every start): bundled modules become require()s, but an import() of a Node builtin would stay and fail.
const dynamicImport = /(?<![\w$.])import\(/.exec(cliCode);
if (dynamicImport) {
  console.error(
    `build: the CLI bundle has a dynamic import() (…${cliCode.slice(dynamicImport.index - 60, dynamicImport.index + 40)}…): ` +
      'import Node builtins statically or with require(); the code-cache loader cannot run import()',
  );
  process.exit(1);
}
writeFileSync(cliFile, codeCacheLoader(cliCode));
chmodSync(cliFile, 0o755);

if (!args.includes('--no-plugin')) {
  execFileSync('bash', [path.join(root, 'plugins/secrets/build.sh')], { stdio: 'inherit' });
}
trainCodeCache();

/**
 * The CLI as one file that compiles its code through V8's code cache when `wasmci.cjs.v8cache` lies beside it.
 * Node 20 parses the whole 1.5 MB bundle at every start (~45 ms of a ~300 ms `scan` of a small tree here); from
 * the cache it only deserialises. The code is kept as a string, which V8 scans far faster than code, and a cache
 * that does not fit (another Node version, other V8 flags, another build) is rejected by V8 and ignored. The file
 * still works alone (GitHub Action tags, the single executable): the cache is only a speed-up.
 */
function codeCacheLoader(code) {
  return `#!/usr/bin/env node
"use strict";
const WASMCI_SOURCE = ${JSON.stringify(code)};
(() => {
  const fs = require("node:fs");
  const vm = require("node:vm");
  const cacheFile = __filename + ".v8cache";
  let cachedData;
  try { cachedData = fs.readFileSync(cacheFile); } catch {}
  const script = new vm.Script("(function (exports, require, module, __filename, __dirname) {" + WASMCI_SOURCE + "\\n})", { filename: __filename, cachedData });
  if (process.env.WASMCI_BUILD_CODE_CACHE === cacheFile) {
    // Build time (scripts/build.mjs): after a run, so the functions it compiled are in the cache too.
    process.once("exit", () => {
      fs.writeFileSync(cacheFile + ".tmp", script.createCachedData());
      fs.renameSync(cacheFile + ".tmp", cacheFile);
    });
  }
  if (process.env.WASMCI_CODE_CACHE_REPORT === "1")
    process.stderr.write("wasmci: code cache " + (!cachedData ? "absent" : script.cachedDataRejected ? "rejected" : "used") + "\\n");
  script.runInThisContext()(exports, require, module, __filename, __dirname);
})();
`;
}

/**
 * Writes the code cache from a real run, so it holds the functions a scan compiles and not only the top level:
 * a scan of the bundled example when the secrets plugin is built, else `--help`.
 */
function trainCodeCache() {
  const plugin = path.join(root, 'plugins/secrets/dist/secrets.wasm');
  const run = existsSync(plugin)
    ? ['scan', path.join(root, 'examples/leaky-app'), '--plugin', plugin, '--format', 'json']
    : ['--help'];
  spawnSync(process.execPath, [cliFile, ...run], {
    env: { ...process.env, WASMCI_BUILD_CODE_CACHE: cacheFile },
    stdio: 'ignore',
    timeout: 60_000,
  });
  if (!existsSync(cacheFile)) console.warn(`build: no code cache written (${cacheFile}); the CLI works without it`);
}
