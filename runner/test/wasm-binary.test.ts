import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PluginError } from '../src/errors.js';
import {
  inspectModule,
  prepareModule,
  TABLE_ENTRIES_MAX,
  TABLE_EXPORT_PREFIX,
  TABLES_MAX,
  tableLimits,
  WASI_NAMESPACE,
} from '../src/plugin/wasm-binary.js';
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

  it('in place: writes the new head over the old one and returns a view of the same bytes, equal to the copy', async () => {
    const copy = prepareModule(readFileSync(fixture('probe.wasm')), 4096);
    const owned = readFileSync(fixture('probe.wasm'));
    const out = prepareModule(owned, 4096, { inPlace: true });
    expect(out.buffer).toBe(owned.buffer);
    expect(out.byteOffset).toBeGreaterThan(owned.byteOffset);
    expect(Buffer.from(out).equals(Buffer.from(copy))).toBe(true);
    await WebAssembly.compile(out);
  });

  it('in place: copies instead when the new head is longer than the old (no WASI import to shorten)', () => {
    const src = wat('(module (table 1 funcref) (memory 1) (func (export "f")))');
    const before = Buffer.from(src);
    const out = prepareModule(src, 16, { inPlace: true });
    expect(out.buffer).not.toBe(src.buffer);
    expect(Buffer.from(src).equals(before)).toBe(true);
    expect(inspectModule(out).exports.map((e) => e.name)).toEqual(['f', `${TABLE_EXPORT_PREFIX}0`]);
  });

  it('refuses a section other than code, data or custom after the code section (it would escape the caps)', () => {
    const src = wat('(module (func (export "f")))');
    const memoryLast = new Uint8Array([...src, 5, 3, 1, 0, 100]); // a memory section (1 memory, min 100) at the end
    expect(() => prepareModule(memoryLast, 16)).toThrow(/section 5 after the code or data section/);
    expect(() => prepareModule(memoryLast, 16, { inPlace: true })).toThrow(PluginError);
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

describe('table caps (issue 15 item 9)', () => {
  const cap = BigInt(TABLE_ENTRIES_MAX);

  it('gives an unbounded table a maximum, exports it, and table.grow fails past it inside wasm', async () => {
    const out = prepareModule(
      wat(`(module (table $t 10 funcref)
        (func (export "grow") (param i32) (result i32) (table.grow $t (ref.null func) (local.get 0))))`),
      16,
    );
    expect(inspectModule(out).tables).toEqual([{ min: 10n, max: cap, imported: false }]);
    const { instance } = await WebAssembly.instantiate(out);
    const grow = instance.exports.grow as (n: number) => number;
    expect(grow(TABLE_ENTRIES_MAX)).toBe(-1);
    expect(grow(TABLE_ENTRIES_MAX - 10)).toBe(10);
    expect(grow(1)).toBe(-1);
    expect((instance.exports[`${TABLE_EXPORT_PREFIX}0`] as WebAssembly.Table).length).toBe(TABLE_ENTRIES_MAX);
  });

  it('keeps a smaller declared maximum (the plugins measured: secrets 408, probe 131) and leaves it uncapped', () => {
    expect(tableLimits([{ min: 408n, max: 408n }])).toEqual([{ max: 408n, capped: false }]);
    const probe = inspectModule(prepareModule(readFileSync(fixture('probe.wasm')), 4096)).tables;
    expect(probe).toHaveLength(1);
    expect(probe[0]?.max).toBe(probe[0]?.min);
    expect(probe[0]?.min).toBeLessThan(1000n);
  });

  it('shares the cap among all tables, imported ones included, so together they stay within it', () => {
    const out = prepareModule(
      wat(`(module (import "env" "t" (table 100 funcref))
        (table 1 funcref) (table 5 1000000 externref) (table 3 7 funcref))`),
      16,
    );
    const tables = inspectModule(out).tables;
    expect(tables.map((t) => t.imported)).toEqual([true, false, false, false]);
    const share = (cap - 109n) / 4n;
    expect(tables.map((t) => t.max)).toEqual([100n + share, 1n + share, 5n + share, 7n]);
    expect(tables.reduce((n, t) => n + (t.max as bigint), 0n) <= cap).toBe(true);
  });

  it('refuses a module whose tables need more than the cap at start, or that declares too many tables', () => {
    for (const src of [
      '(module (table 100001 funcref))',
      '(module (table 60000 funcref) (table 40001 externref))',
      `(module ${'(table 0 funcref)'.repeat(TABLES_MAX + 1)})`,
    ]) {
      try {
        prepareModule(wat(src), 16);
        expect.unreachable(src);
      } catch (err) {
        expect((err as PluginError).kind, src).toBe('memory-limit');
        expect((err as PluginError).message).toMatch(/table/);
      }
    }
  });

  it('adds an export section in its place to a module that has none (start, elements and code follow it)', async () => {
    const out = prepareModule(wat(`(module (table 2 funcref) (func $f) (start $f) (elem (i32.const 0) $f $f))`), 16);
    const mod = await WebAssembly.compile(out);
    expect(WebAssembly.Module.exports(mod)).toEqual([{ name: `${TABLE_EXPORT_PREFIX}0`, kind: 'table' }]);
  });

  it('caps a table with an initializer expression (0x40 0x00 form) and keeps the expression', () => {
    // Table section: one table: 0x40 0x00, funcref, limits (no max) min 1, init `ref.null func; end`.
    const head = [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 4, 9, 1, 0x40, 0x00, 0x70, 0x00, 0x01];
    const out = prepareModule(Uint8Array.from([...head, 0xd0, 0x70, 0x0b]), 16);
    expect(inspectModule(out).tables).toEqual([{ min: 1n, max: cap, imported: false }]);
    // Same table, limits now with the maximum (100 000 = LEB a0 8d 06), expression kept.
    const table = [0x40, 0x00, 0x70, 0x01, 0x01, 0xa0, 0x8d, 0x06, 0xd0, 0x70, 0x0b];
    expect(Buffer.from(out).includes(Buffer.from(table))).toBe(true);
    // An instruction no initializer may hold (0xfc: a prefixed, non-constant one) is invalid.
    expect(() => prepareModule(Uint8Array.from([...head.slice(0, 9), 8, ...head.slice(10), 0xfc, 0x0b]), 16)).toThrow(
      /unsupported instruction 0xfc/,
    );
  });
});
