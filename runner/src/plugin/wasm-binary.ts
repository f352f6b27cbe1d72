/**
 * Reads and rewrites a WebAssembly module's binary before it is compiled, so the sandbox can enforce what
 * the Extism SDK does not: a cap on the module's own linear memory (the SDK's `maxPages` only covers host blocks),
 * a cap on its tables (V8 keeps table entries on the heap: 8 tables of 10 million entries abort the whole process,
 * exit 134, issue 15 item 9), and routing WASI imports to wasmci's own file layer instead of node:wasi.
 */
import { PluginError } from '../errors.js';

export const WASM_PAGE = 65536;
/** Import module names a WASI-preview1 module may use; all are served by wasmci's layer under WASI_NAMESPACE. */
const WASI_MODULES = new Set(['wasi_snapshot_preview1', 'wasi_unstable']);
export const WASI_NAMESPACE = 'wasmci:wasi';
/**
 * Table entries a module may hold, all its tables together (declared, imported and grown). Plugins use a few
 * hundred (measured: secrets 408, probe 131, the AssemblyScript example 5); 100 000 funcref entries cost
 * 1.5 MB of V8 heap (2.7 MB RSS, measured), while 8 tables of 10 million abort the process.
 */
export const TABLE_ENTRIES_MAX = 100_000;
/** Tables a module may declare (real plugins declare one). */
export const TABLES_MAX = 100;
/**
 * Every table is exported under this prefix plus its index, so that the worker can tell a trap after a failed
 * `table.grow` (a table near the maximum wasmci set) from any other trap.
 */
export const TABLE_EXPORT_PREFIX = 'wasmci__table';
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
  /** In table index order: imported tables first. */
  tables: { min: bigint; max?: bigint; imported: boolean }[];
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
  /** Offset of the section's id byte in the module. */
  start: number;
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
    const start = r.pos;
    const id = r.byte();
    const size = r.u32();
    out.push({ id, body: r.bytes(size), start });
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

/** A reference type: one byte, or 0x63/0x64 (`ref null ht` / `ref ht`) and a heap type (s33). */
function skipRefType(r: Reader): void {
  const b = r.byte();
  if (b === 0x63 || b === 0x64) r.leb();
}

/**
 * Skips a constant expression up to its `end`. Only the instructions a table initializer can use (numeric
 * constants, extended-constant arithmetic, global.get, ref.null, ref.func); anything else is refused as invalid.
 */
function skipConstExpr(r: Reader): void {
  for (;;) {
    const op = r.byte();
    switch (op) {
      case 0x0b: // end
        return;
      case 0x41: // i32.const
      case 0x42: // i64.const
      case 0x23: // global.get
      case 0xd0: // ref.null heaptype
      case 0xd2: // ref.func
        r.leb();
        break;
      case 0x43: // f32.const
        r.bytes(4);
        break;
      case 0x44: // f64.const
        r.bytes(8);
        break;
      case 0x6a: // i32.add, i32.sub, i32.mul, i64.add, i64.sub, i64.mul (extended constants)
      case 0x6b:
      case 0x6c:
      case 0x7c:
      case 0x7d:
      case 0x7e:
        break;
      default:
        throw new RangeError(`unsupported instruction 0x${op.toString(16)} in a table initializer`);
    }
  }
}

interface TableType {
  /** The bytes before the limits: the reference type, with the 0x40 0x00 prefix of a table with an initializer. */
  head: Uint8Array;
  limits: Limits;
  /** The initializer expression after the limits, if any. */
  tail: Uint8Array;
}

function readTableType(r: Reader, withInit: boolean): TableType {
  const start = r.pos;
  const hasInit = withInit && r.buf[r.pos] === 0x40;
  if (hasInit && r.byte() === 0x40 && r.byte() !== 0x00) throw new RangeError('malformed table type');
  skipRefType(r);
  const head = r.buf.subarray(start, r.pos);
  const limits = readLimits(r);
  const tailStart = r.pos;
  if (hasInit) skipConstExpr(r);
  return { head, limits, tail: r.buf.subarray(tailStart, r.pos) };
}

function skipImportDesc(r: Reader, kind: number): Limits | TableType | undefined {
  switch (kind) {
    case 0: // func: type index
      r.u32();
      return undefined;
    case 1: // table: reftype + limits
      return readTableType(r, false);
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
    const info: ModuleInfo = { imports: [], exports: [], memories: [], tables: [], importsWasi: false };
    for (const s of sections(bytes)) {
      const r = new Reader(s.body);
      if (s.id === 2) {
        const n = r.u32();
        for (let i = 0; i < n; i++) {
          const module = r.name();
          const name = r.name();
          const kind = r.byte();
          const desc = skipImportDesc(r, kind);
          info.imports.push({ module, name, kind });
          if (WASI_MODULES.has(module)) info.importsWasi = true;
          if (desc && 'limits' in desc)
            info.tables.push({ min: desc.limits.min, max: desc.limits.max, imported: true });
          const lim = kind === 2 ? (desc as Limits) : undefined;
          if (lim)
            info.memories.push({
              min: lim.min,
              max: lim.max,
              shared: !!(lim.flags & 2),
              is64: !!(lim.flags & 4),
              imported: true,
            });
        }
      } else if (s.id === 4) {
        const n = r.u32();
        for (let i = 0; i < n; i++) {
          const { limits } = readTableType(r, true);
          info.tables.push({ min: limits.min, max: limits.max, imported: false });
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
 * New maxima for a module's tables: the entries its tables may grow by, after their declared minimums, shared
 * equally, so that all tables together stay within `TABLE_ENTRIES_MAX`; a smaller declared maximum is kept
 * (`capped` false: reaching it is the module's own business). Fails when the module declares too many tables or
 * needs more entries at start than the cap.
 */
export function tableLimits(tables: readonly { min: bigint; max?: bigint }[]): { max: bigint; capped: boolean }[] {
  if (tables.length > TABLES_MAX) {
    throw new PluginError(
      'memory-limit',
      `the plugin declares ${tables.length} tables, over the limit of ${TABLES_MAX}`,
      'plugins need one table; this module was built to exhaust the host, do not run it',
    );
  }
  const needed = tables.reduce((n, t) => n + t.min, 0n);
  const cap = BigInt(TABLE_ENTRIES_MAX);
  if (needed > cap) {
    throw new PluginError(
      'memory-limit',
      `the plugin's tables need ${needed} entries at start, over the limit of ${TABLE_ENTRIES_MAX}`,
      'plugins use a few hundred table entries; this module was built to exhaust the host, do not run it',
    );
  }
  const share = tables.length > 0 ? (cap - needed) / BigInt(tables.length) : 0n;
  return tables.map((t) =>
    t.max !== undefined && t.max <= t.min + share
      ? { max: t.max, capped: false }
      : { max: t.min + share, capped: true },
  );
}

/**
 * Returns the module with memories that cannot grow past `maxPages`, tables that cannot grow past their share of
 * `TABLE_ENTRIES_MAX` (each exported as `TABLE_EXPORT_PREFIX` + index), and WASI imports that point at
 * WASI_NAMESPACE. Fails when the module needs more initial memory or table entries than allowed.
 *
 * Only the sections before the code (or data) section change, a few KB. `inPlace` lets the caller give up `bytes`:
 * the changed head is then written over the old one, right before the code section, and the result is a view of
 * `bytes` — no copy of the code and data (when the new head is no longer than the old: WASI plugins' imports get a
 * shorter module name, so it is). A copy costs what the memory it fills costs: 19 ms for the 4.9 MB secrets plugin
 * on the 2-core bench VM (first touch of a page ~12 us), on the start of every scan.
 */
export function prepareModule(
  bytes: Uint8Array,
  maxPages: number,
  { inPlace = false }: { inPlace?: boolean } = {},
): Uint8Array<ArrayBuffer> {
  let secs: Section[];
  try {
    secs = sections(bytes);
  } catch (err) {
    throw invalid(err);
  }
  const maxima = tableLimits(inspectModule(bytes).tables).map((t) => t.max);
  let tableIndex = 0;
  const capTable = (t: TableType): number[] => {
    const max = maxima[tableIndex++] as bigint;
    return [...t.head, ...writeLimits({ flags: t.limits.flags | 1, min: t.limits.min, max }), ...t.tail];
  };
  const tableExports = (): number[] =>
    maxima.flatMap((_, i) => [...encodeName(`${TABLE_EXPORT_PREFIX}${i}`), 1, ...leb(i)]);
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
  const emit = (id: number, body: Uint8Array | number[]) => {
    const bodyArr = body instanceof Uint8Array ? body : Uint8Array.from(body);
    out.push([id, ...leb(bodyArr.length)]);
    out.push(bodyArr as unknown as number[]);
  };
  let exported = false;
  // The sections from code (10) or data (11) on are kept as they are: the tail. Only code, data and custom sections
  // may come there (the binary format's order); refused here, not left to V8, as a memory or table the tail held
  // would go uncapped.
  const tailIndex = secs.findIndex((s) => s.id === 10 || s.id === 11);
  const misplaced = tailIndex < 0 ? undefined : secs.slice(tailIndex).find((s) => ![0, 10, 11].includes(s.id));
  if (misplaced) throw invalid(new RangeError(`section ${misplaced.id} after the code or data section`));
  const tail = bytes.subarray(tailIndex < 0 ? bytes.length : (secs[tailIndex] as Section).start);
  for (const s of tailIndex < 0 ? secs : secs.slice(0, tailIndex)) {
    // A module without an export section gets one where it belongs: before start, element or data count, else at
    // the head's end (below), before code and data.
    if (!exported && maxima.length > 0 && [8, 9, 12].includes(s.id)) {
      emit(7, [...leb(maxima.length), ...tableExports()]);
      exported = true;
    }
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
          const desc = skipImportDesc(r, kind);
          w.push(...encodeName(WASI_MODULES.has(module) ? WASI_NAMESPACE : module), ...encodeName(name), kind);
          if (kind === 1) w.push(...capTable(desc as TableType));
          else if (kind === 2) w.push(...writeLimits(capLimits(desc as Limits)));
          else w.push(...s.body.subarray(start, r.pos));
        }
        body = w;
      } else if (s.id === 4) {
        const r = new Reader(s.body);
        const n = r.u32();
        const w: number[] = [...leb(n)];
        for (let i = 0; i < n; i++) w.push(...capTable(readTableType(r, true)));
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
        const w: number[] = [...leb(n + maxima.length)];
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
        w.push(...tableExports());
        body = w;
        exported = true;
      }
    } catch (err) {
      if (err instanceof PluginError) throw err;
      throw invalid(err);
    }
    emit(s.id, body);
  }
  if (!exported && maxima.length > 0) emit(7, [...leb(maxima.length), ...tableExports()]);
  const headLength = out.reduce((n, p) => n + p.length, 0);
  // The new head is assembled apart first: the old one's bytes are its source until it is complete.
  const head = new Uint8Array(headLength);
  let off = 0;
  for (const p of out) {
    head.set(p as ArrayLike<number>, off);
    off += p.length;
  }
  const oldHeadLength = tail.byteOffset - bytes.byteOffset;
  if (inPlace && headLength <= oldHeadLength && bytes.buffer instanceof ArrayBuffer) {
    const result = new Uint8Array(bytes.buffer, tail.byteOffset - headLength, headLength + tail.length);
    result.set(head);
    return result;
  }
  const result = new Uint8Array(headLength + tail.length);
  result.set(head);
  result.set(tail, headLength);
  return result;
}
