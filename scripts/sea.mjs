#!/usr/bin/env node
// Builds wasmci as a Node single executable application (SEA): the esbuild bundle injected into a pinned, stripped
// official Node binary taken from the npm registry (`node-linux-<arch>`), so the build needs no other host and gives
// the same bytes every time.
//   node scripts/sea.mjs [--arch x64|arm64] [--out FILE] [--bundle FILE] [--plugin FILE]
// The secrets plugin (--plugin, default plugins/secrets/dist/secrets.wasm, built if missing) is embedded as the SEA
// asset `secrets.wasm` (runner/src/scan/default-plugin.ts reads it with sea.getAsset), so the executable scans with
// no other file: no image seed cache, no checkout.
// The Node tarball is fetched once with `npm pack` into the build cache (WASMCI_BUILD_CACHE, default
// ~/.cache/wasmci-build) and checked against the pinned sha512 before use; later builds are offline.
// The preparation blob is made by the x64 Node of the same version: without code cache or snapshot it does not
// depend on the architecture, which is what lets an x64 machine build the arm64 executable.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Current Node LTS line; bump version and hashes together (`npm view node-linux-<arch>@<version> dist.integrity`). */
export const NODE_VERSION = '22.23.3';
const INTEGRITY = {
  x64: 'sha512-qHnz5tFsHoj/WM+uRENVjWONi5hVvmwrgq8A4V76KpuVNAc4+jwK8x4gwbobE9BtHNg/AKR2583eYorLF/c7ng==',
  arm64: 'sha512-l3DAHZreylo+p9QXDtsOrjG2JXJqVzYXnAGmIQNOUNARcMppTO2cmewVQP+36tjJnSE+dzpMNtgW+c3oiDvXtA==',
};
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

function fail(message) {
  process.stderr.write(`sea: ${message}\n`);
  process.exit(1);
}

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const v = process.argv[i + 1];
  if (!v || v.startsWith('--')) fail(`${name} needs a value`);
  return v;
}

export function buildCacheDir() {
  return path.resolve(process.env.WASMCI_BUILD_CACHE || path.join(os.homedir(), '.cache', 'wasmci-build'));
}

/**
 * Node 24 for x64, pinned the same way: GitHub's current Actions runtime (`runs.using: node24`), which
 * runner/test/dist-action.test.ts runs the Action on.
 */
export const ACTIONS_NODE = {
  version: '24.22.3',
  integrity: 'sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==',
};

/** The pinned node binary for an arch, extracted (unstripped) into the build cache; fetched on first use. */
export function nodeBinary(arch, pin = { version: NODE_VERSION, integrity: INTEGRITY[arch] }) {
  const NODE_VERSION = pin.version;
  const integrity = pin.integrity;
  if (!integrity) fail(`unsupported --arch ${arch} (supported: ${Object.keys(INTEGRITY).join(', ')})`);
  const cache = buildCacheDir();
  mkdirSync(cache, { recursive: true });
  const tgz = path.join(cache, `node-linux-${arch}-${NODE_VERSION}.tgz`);
  const bin = path.join(cache, `node-linux-${arch}-${NODE_VERSION}`);
  if (existsSync(bin)) return bin;
  if (!existsSync(tgz)) {
    process.stderr.write(`sea: fetching node-linux-${arch}@${NODE_VERSION} from the npm registry (once)\n`);
    execFileSync('npm', ['pack', `node-linux-${arch}@${NODE_VERSION}`, '--pack-destination', cache, '--silent'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  const [algo, want] = integrity.split('-');
  const got = createHash(algo).update(readFileSync(tgz)).digest('base64');
  if (got !== want) {
    rmSync(tgz, { force: true });
    fail(`${tgz} does not match the pinned ${algo} (${got}); removed it, run again to re-fetch`);
  }
  const tmp = mkdtempSync(path.join(cache, '.extract-'));
  try {
    execFileSync('tar', ['-xzf', tgz, '-C', tmp, 'package/bin/node']);
    renameSync(path.join(tmp, 'package/bin/node'), bin);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return bin;
}

function main() {
  const arch = arg('--arch', process.arch === 'arm64' ? 'arm64' : 'x64');
  const out = path.resolve(arg('--out', path.join(root, 'dist', `wasmci-linux-${arch}`)));
  const work = mkdtempSync(path.join(os.tmpdir(), 'wasmci-sea-'));
  try {
    let bundle = arg('--bundle', undefined);
    if (bundle) bundle = path.resolve(bundle);
    else {
      execFileSync(process.execPath, [path.join(root, 'scripts/build.mjs'), '--out', work, '--no-plugin'], {
        stdio: 'inherit',
      });
      bundle = path.join(work, 'wasmci.cjs');
    }
    let plugin = arg('--plugin', undefined);
    if (plugin) plugin = path.resolve(plugin);
    else {
      plugin = path.join(root, 'plugins/secrets/dist/secrets.wasm');
      if (!existsSync(plugin))
        execFileSync('bash', [path.join(root, 'plugins/secrets/build.sh')], { stdio: 'inherit' });
    }
    if (!existsSync(plugin))
      fail(`the plugin to embed is missing: ${plugin} (build it with bash plugins/secrets/build.sh)`);
    copyFileSync(plugin, path.join(work, 'secrets.wasm'));
    // The blob must come from the same Node version as the executable (checked at start-up), hence the pinned x64.
    const blobNode = nodeBinary('x64');
    // Relative names inside the work dir: the blob records the main script's name, and a temp path would make every
    // build differ.
    copyFileSync(bundle, path.join(work, 'main.cjs'));
    const blob = path.join(work, 'sea.blob');
    const config = path.join(work, 'sea-config.json');
    writeFileSync(
      config,
      JSON.stringify({
        main: 'main.cjs',
        output: 'sea.blob',
        disableExperimentalSEAWarning: true,
        useSnapshot: false,
        useCodeCache: false,
        assets: { 'secrets.wasm': 'secrets.wasm' },
      }),
    );
    if (process.arch !== 'x64') fail('building the preparation blob needs an x64 build machine');
    execFileSync(blobNode, ['--experimental-sea-config', config], {
      cwd: work,
      stdio: ['ignore', 'ignore', 'inherit'],
    });

    const exe = path.join(work, 'wasmci');
    copyFileSync(nodeBinary(arch), exe);
    chmodSync(exe, 0o755);
    // Symbols are ~18 MB of the binary and nothing at run time needs them; strip before injection (stripping after
    // would drop the injected note).
    // arm64 needs binutils' aarch64 strip (Debian: binutils-aarch64-linux-gnu, in scripts/apt-packages.txt).
    const strip = arch === 'arm64' && process.arch !== 'arm64' ? 'aarch64-linux-gnu-strip' : 'strip';
    try {
      execFileSync(strip, ['--strip-all', exe], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      if (arch === 'x64') throw err;
      process.stderr.write(`sea: ${strip} is not there or failed; the ${arch} executable stays unstripped (+15 MB)\n`);
    }
    const postject = path.join(root, 'node_modules/postject/dist/cli.js');
    execFileSync(process.execPath, [postject, exe, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', FUSE], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    mkdirSync(path.dirname(out), { recursive: true });
    copyFileSync(exe, `${out}.tmp`);
    chmodSync(`${out}.tmp`, 0o755);
    renameSync(`${out}.tmp`, out);
    const digest = createHash('sha256').update(readFileSync(out)).digest('hex');
    process.stdout.write(`${out}\n`);
    process.stderr.write(
      `sea: built ${out} (node ${NODE_VERSION} ${arch}, ${readFileSync(out).length} bytes, sha256 ${digest})\n`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
