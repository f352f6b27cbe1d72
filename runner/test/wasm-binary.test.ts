import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PluginError } from '../src/errors.js';
import { inspectModule, prepareModule, WASI_NAMESPACE } from '../src/plugin/wasm-binary.js';
import { fixture, tempDir } from './helpers/cli.js';

function wat(src: string): Uint8Array {
  const dir = tempDir();
  writeFileSync(path.join(dir, 'm.wat'), src);
  execFileSync('wat2wasm', [path.join(dir, 'm.wat'), '-o', path.join(dir, 'm.wasm')]);
  return readFileSync(path.join(dir, 'm.wasm'));
}

describe('module rewriting', () => {
  it('adds a maximum to an unbounded memory and lowers a larger one', async () => {
    for (const decl of ['(memory (export "memory") 1)', '(memory (export "memory") 1 65536)']) {
      const out = prepareModule(wat(`(module ${decl})`), 32);
      const mem = inspectModule(out).memories[0];
      expect(mem?.max).toBe(32n);
      const inst = await WebAssembly.instantiate(out);
      const memory = inst.instance.exports.memory as WebAssembly.Memory;
      expect(() => memory.grow(40)).toThrow(RangeError);
      expect(memory.grow(31)).toBe(1);
    }
  });

  it('keeps a smaller declared maximum', () => {
    const out = prepareModule(wat('(module (memory 1 4))'), 32);
    expect(inspectModule(out).memories[0]?.max).toBe(4n);
  });

  it('refuses a module whose initial memory is over the cap', () => {
    expect(() => prepareModule(wat('(module (memory 100))'), 32)).toThrow(PluginError);
  });

  it('routes WASI imports to the wasmci namespace and renames start exports', () => {
    const info = inspectModule(prepareModule(readFileSync(fixture('probe.wasm')), 4096));
    expect(info.imports.some((i) => i.module === 'wasi_snapshot_preview1')).toBe(false);
    expect(info.imports.some((i) => i.module === WASI_NAMESPACE)).toBe(true);
    expect(info.exports.some((e) => e.name === '_initialize')).toBe(false);
  });

  it('rejects garbage and truncated modules as invalid-wasm', () => {
    expect(() => prepareModule(new TextEncoder().encode('hello'), 16)).toThrow(/not a WebAssembly module/);
    const probe = readFileSync(fixture('probe.wasm'));
    try {
      prepareModule(probe.subarray(0, 1000), 4096);
      expect.unreachable();
    } catch (err) {
      expect((err as PluginError).kind).toBe('invalid-wasm');
    }
  });
});
