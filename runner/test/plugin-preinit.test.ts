/**
 * The pre-initialised secrets plugin (plugins/secrets/preinit.mjs, run by build.sh): dist/secrets.wasm starts with
 * its built-in engine already in memory, answers exactly as the plain cargo build does through the real CLI and
 * Extism runtime, is reproducible byte for byte, and the build refuses a pre-init call that reads the host.
 * (Plugin config on the pre-initialised build: plugin-secrets.test.ts's config tests run dist/secrets.wasm.)
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeBatch } from '../src/core/protocol.js';
import { inspectModule } from '../src/plugin/wasm-binary.js';
import { repoRoot, runCli, secretsWasm, tempDir } from './helpers/cli.js';
import { fakeGithubToken } from './helpers/secrets.js';

/** The cargo output build.sh pre-initialises (unstripped, not pre-initialised). */
const plainWasm = path.join(repoRoot, 'plugins/secrets/target/wasm32-wasi/release/secrets.wasm');

type Preinit = (bytes: Buffer) => { bytes: Buffer; pages: number; segments: number; dataBytes: number };
let preinit: Preinit;

beforeAll(async () => {
  for (const f of [secretsWasm, plainWasm]) expect(existsSync(f), `${f} missing: run npm run build`).toBe(true);
  preinit = (await import(path.join(repoRoot, 'plugins/secrets/preinit.mjs'))).preinit as Preinit;
});

async function call(wasm: string, fn: string, input?: Uint8Array): Promise<string> {
  const args = ['call', wasm, fn];
  if (input) {
    const file = path.join(tempDir('wasmci-preinit-'), 'input.bin');
    writeFileSync(file, input);
    args.push('--input-file', file);
  }
  const r = await runCli(args, { timeoutMs: 120_000 });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.toString();
}

describe('pre-initialised secrets plugin', () => {
  it('starts with the engine in memory and answers describe and scan as the plain build does', async () => {
    const dist = inspectModule(readFileSync(secretsWasm)).memories[0];
    const plain = inspectModule(readFileSync(plainWasm)).memories[0];
    // the built-in engine (rules, keyword table) takes megabytes the plain build only reaches after its first call
    expect(Number(dist?.min)).toBeGreaterThan(Number(plain?.min) + 32);
    expect(await call(secretsWasm, 'describe')).toBe(await call(plainWasm, 'describe'));
    const files = [
      {
        path: 'a/config.env',
        data: Buffer.from(`GITHUB_TOKEN=${fakeGithubToken()}\npassword = "hunter2-but-longer-x9Q"\n`),
      },
      { path: 'b/clean.js', data: Buffer.from('const token = process.env.TOKEN;\n') },
    ];
    const batch = encodeBatch(files);
    const fromDist = await call(secretsWasm, 'scan', batch);
    expect(JSON.parse(fromDist).findings.map((f: { rule_id: string }) => f.rule_id)).toContain('github-pat');
    expect(fromDist).toBe(await call(plainWasm, 'scan', batch));
  });

  it('is reproducible: two snapshots of one build are the same bytes', () => {
    const plain = readFileSync(plainWasm);
    const a = preinit(plain);
    const b = preinit(plain);
    expect(a.bytes.equals(b.bytes)).toBe(true);
    expect(a.pages).toBeGreaterThan(32);
  });

  it('refuses a pre-init call that reads the host (config, input, files)', () => {
    // memory, a data segment, and wasmci_preinit calling the Extism import config_get before returning 1
    const str = (s: string) => [s.length, ...Buffer.from(s)];
    const sec = (id: number, body: number[]) => [id, body.length, ...body];
    const wasm = Buffer.from([
      ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
      ...sec(1, [2, 0x60, 1, 0x7e, 1, 0x7e, 0x60, 0, 1, 0x7f]),
      ...sec(2, [1, ...str('extism:host/env'), ...str('config_get'), 0x00, 0]),
      ...sec(3, [1, 1]),
      ...sec(5, [1, 0x00, 1]),
      ...sec(7, [2, ...str('memory'), 0x02, 0, ...str('wasmci_preinit'), 0x00, 1]),
      ...sec(10, [1, 9, 0, 0x42, 0, 0x10, 0, 0x1a, 0x41, 1, 0x0b]),
      ...sec(11, [1, 0x00, 0x41, 0x80, 0x08, 0x0b, 1, 0x78]),
    ]);
    expect(() => preinit(wasm)).toThrow(/wasmci_preinit called extism:host\/env\.config_get/);
  });
});
