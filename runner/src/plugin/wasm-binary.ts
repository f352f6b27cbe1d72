/**
 * Reads and rewrites a WebAssembly module's binary before it is compiled, so the sandbox can enforce what
 * the Extism SDK does not: a cap on the module's own linear memory (the SDK's `maxPages` only covers host blocks)
 * and routing WASI imports to wasmci's own file layer instead of node:wasi.
 */
import { PluginError } from '../errors.js';

export const WASM_PAGE = 65536;
/** Import module names a WASI-preview1 module may use; all are served by wasmci's layer under WASI_NAMESPACE. */
const WASI_MODULES = new Set(['wasi_snapshot_preview1', 'wasi_unstable']);
export const WASI_NAMESPACE = 'wasmci:wasi';
/**
 * The SDK runs `_initialize`/`_start` while instantiating, before the host can hand the module's memory to the
 * WASI layer; renamed, they are run by the worker once the layer is ready.
 */
export const RENAMED_EXPORTS: Readonly<Record<string, string>> = {
  _initialize: 'wasmci__initialize',
  _start: 'wasmci__start',
};

export interface ModuleInfo {
  imports: { module: string; name: string; kind: number }[];
  exports: { name: string; kind: number }[];
  memories: { min: bigint; max?: bigint; shared: boolean; is64: boolean; imported: boolean }[];
  importsWasi: boolean;
}

class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}
  byte(): number {
    if (this.pos >= this.buf.length) throw new RangeError('unexpected end of module');
    return this.buf[this.pos++] as number;
  }
  leb(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 70n) throw new RangeError('malformed LEB128');
    }
  }
  u32(): number {
    return Number(this.leb());
  }
  bytes(n: number): Uint8Array {
    if (this.pos + n > this.buf.length) throw new RangeError('unexpected end of module');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  name(): string {
    return new TextDecoder('utf-8', { fatal: true }).decode(this.bytes(this.u32()));
  }
}

function leb(value: bigint | number): number[] {
  let v = BigInt(value);
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) b |= 0x80;
    out.push(b);
  } while (v !== 0n);
  return out;
}

function encodeName(s: string): number[] {
  const b = new TextEncoder().encode(s);
  return [...leb(b.length), ...b];
}

interface Section {
  id: number;
  body: Uint8Array;
}

function sections(bytes: Uint8Array): Section[] {
  if (
    bytes.length < 8 ||
    bytes[0] !== 0 ||
    bytes[1] !== 0x61 ||
    bytes[2] !== 0x73 ||
    bytes[3] !== 0x6d ||
    bytes[4] !== 1 ||
    bytes[5] !== 0 ||
    bytes[6] !== 0 ||
    bytes[7] !== 0
  ) {
    throw new RangeError('not a WebAssembly module (bad magic number or version)');
  }
  const r = new Reader(bytes);
  r.pos = 8;
  const out: Section[] = [];
  while (r.pos < bytes.length) {
    const id = r.byte();
    const size = r.u32();
    out.push({ id, body: r.bytes(size) });
  }
  return out;
}

interface Limits {
  flags: number;
  min: bigint;
  max?: bigint;
}

function readLimits(r: Reader): Limits {
  const flags = r.byte();
  const min = r.leb();
  const max = flags & 1 ? r.leb() : undefined;
  return { flags, min, max };
}

function writeLimits(l: Limits): number[] {
  return [l.flags, ...leb(l.min), ...(l.max !== undefined ? leb(l.max) : [])];
}

function skipImportDesc(r: Reader, kind: number): Limits | undefined {
  switch (kind) {
    case 0: // func: type index
      r.u32();
      return undefined;
    case 1: // table: reftype + limits
      r.byte();
      readLimits(r);
      return undefined;
    case 2: // memory
      return readLimits(r);
    case 3: // global: valtype + mutability
      r.byte();
      r.byte();
      return undefined;
    case 4: // tag (exception handling): attribute + type index
      r.byte();
      r.u32();
      return undefined;
    default:
      throw new RangeError(`unknown import kind ${kind}`);
  }
}

function invalid(err: unknown): PluginError {
  return new PluginError(
    'invalid-wasm',
    `the plugin is not a valid WebAssembly module: ${(err as Error).message}`,
    'check that the file is a .wasm plugin and was not truncated or corrupted in transit',
  );
}

export function inspectModule(bytes: Uint8Array): ModuleInfo {
  try {
    const info: ModuleInfo = { imports: [], exports: [], memories: [], importsWasi: false };
    for (const s of sections(bytes)) {
      const r = new Reader(s.body);
      if (s.id === 2) {
        const n = r.u32();
        for (let i = 0; i < n; i++) {
          const module = r.name();
          const name = r.name();
          const kind = r.byte();
          const lim = skipImportDesc(r, kind);
          info.imports.push({ module, name, kind });
          if (WASI_MODULES.has(module)) info.importsWasi = true;
          if (lim)
            info.memories.push({
              min: lim.min,
              max: lim.max,
              shared: !!(lim.flags & 2),
              is64: !!(lim.flags & 4),
              imported: true,
            });
        }
      } else if (s.id === 5) {
        const n = r.u32();
        for (let i = 0; i < n; i++) {
          const lim = readLimits(r);
          info.memories.push({
            min: lim.min,
            max: lim.max,
            shared: !!(lim.flags & 2),
            is64: !!(lim.flags & 4),
            imported: false,
          });
        }
      } else if (s.id === 7) {
        const n = r.u32();
        for (let i = 0; i < n; i++) {
          const name = r.name();
          const kind = r.byte();
          r.u32();
          info.exports.push({ name, kind });
        }
      }
    }
    return info;
  } catch (err) {
    throw invalid(err);
  }
}

/**
 * Returns a copy of the module whose memories cannot grow past `maxPages` and whose WASI imports point at
 * WASI_NAMESPACE. Fails when the module needs more initial memory than allowed.
 */
export function prepareModule(bytes: Uint8Array, maxPages: number): Uint8Array<ArrayBuffer> {
  let secs: Section[];
  try {
    secs = sections(bytes);
  } catch (err) {
    throw invalid(err);
  }
  const cap = BigInt(maxPages);
  const capLimits = (l: Limits): Limits => {
    if (l.min > cap) {
      throw new PluginError(
        'memory-limit',
        `the plugin needs ${Number(l.min) / 16} MiB of memory at start, over the ${maxPages / 16} MiB limit`,
        'raise --memory-max if you trust this plugin',
      );
    }
    return { flags: l.flags | 1, min: l.min, max: l.max !== undefined && l.max < cap ? l.max : cap };
  };
  const out: number[][] = [[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]];
  for (const s of secs) {
    let body: Uint8Array | number[] = s.body;
    try {
      if (s.id === 2) {
        const r = new Reader(s.body);
        const n = r.u32();
        const w: number[] = [...leb(n)];
        for (let i = 0; i < n; i++) {
          const module = r.name();
          const name = r.name();
          const kind = r.byte();
          const start = r.pos;
          const lim = skipImportDesc(r, kind);
          w.push(...encodeName(WASI_MODULES.has(module) ? WASI_NAMESPACE : module), ...encodeName(name), kind);
          if (lim) w.push(...writeLimits(capLimits(lim)));
          else w.push(...s.body.subarray(start, r.pos));
        }
        body = w;
      } else if (s.id === 5) {
        const r = new Reader(s.body);
        const n = r.u32();
        const w: number[] = [...leb(n)];
        for (let i = 0; i < n; i++) w.push(...writeLimits(capLimits(readLimits(r))));
        body = w;
      } else if (s.id === 7) {
        const r = new Reader(s.body);
        const n = r.u32();
        const w: number[] = [...leb(n)];
        for (let i = 0; i < n; i++) {
          const name = r.name();
          const kind = r.byte();
          const index = r.u32();
          w.push(
            ...encodeName(Object.hasOwn(RENAMED_EXPORTS, name) ? (RENAMED_EXPORTS[name] as string) : name),
            kind,
            ...leb(index),
          );
        }
        body = w;
      }
    } catch (err) {
      if (err instanceof PluginError) throw err;
      throw invalid(err);
    }
    const bodyArr = body instanceof Uint8Array ? body : Uint8Array.from(body);
    out.push([s.id, ...leb(bodyArr.length)]);
    out.push(bodyArr as unknown as number[]);
  }
  const total = out.reduce((n, p) => n + p.length, 0);
  const result = new Uint8Array(total);
  let off = 0;
  for (const p of out) {
    result.set(p as ArrayLike<number>, off);
    off += p.length;
  }
  return result;
}
