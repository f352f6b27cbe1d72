/**
 * Builds what the tests drive, once per run, into a fresh temp dir: the CLI bundle (exactly as shipped) and the
 * test plugins (WAT fixtures with wabt, the probe plugin with Debian's rustc). The secrets plugin is built by
 * `npm run build`; tests that need it fail with a clear message if it is missing.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { compileRustPlugin } from './helpers/rust.js';

const root = path.resolve(import.meta.dirname, '../..');

declare module 'vitest' {
  export interface ProvidedContext {
    buildDir: string;
    cli: string;
    fixtures: string;
  }
}

export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wasmci-test-build-'));
  execFileSync(process.execPath, [path.join(root, 'scripts/build.mjs'), '--out', dir, '--no-plugin'], {
    stdio: 'inherit',
  });
  const fixtures = path.join(dir, 'fixtures');
  execFileSync('mkdir', ['-p', fixtures]);
  const watDir = path.join(root, 'runner/test/fixtures/wat');
  for (const f of readdirSync(watDir).filter((f) => f.endsWith('.wat'))) {
    execFileSync('wat2wasm', [path.join(watDir, f), '-o', path.join(fixtures, f.replace(/\.wat$/, '.wasm'))]);
  }
  compileRustPlugin(path.join(root, 'runner/test/fixtures/probe/probe.rs'), fixtures);
  // scan-protocol fixture with fault injection (scan tests)
  compileRustPlugin(path.join(root, 'runner/test/fixtures/scanfix/scanfix.rs'), fixtures);
  process.env.WASMCI_WORKER_FILE = path.join(dir, 'plugin-worker.cjs');
  project.provide('buildDir', dir);
  project.provide('cli', path.join(dir, 'wasmci.cjs'));
  project.provide('fixtures', fixtures);
  return () => rmSync(dir, { recursive: true, force: true });
}
