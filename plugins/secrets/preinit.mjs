#!/usr/bin/env node
// Pre-initialises secrets.wasm at build time: runs its `wasmci_preinit` export once (it builds the built-in rules and
// their keyword automaton) and writes a module whose linear memory starts as that call left it (the data section
// becomes a snapshot of memory), so no plugin instance builds them again. The rule it keeps: the snapshot holds only
// what every instance would build identically — the call may not read the host (config, input, clock, files; those
// imports throw here), its randomness is a constant (HashMap seeds; the output is reproducible byte for byte), and the
// call stack it used is cleared.
// Measured (1 103 rules, one instance, Node 20): the first call 102-111 ms -> 25-30 ms; the module 1.6 -> ~6 MB;
// single-instance plugin throughput (bench/lib/plugin-throughput.mjs, 5 rounds taking turns) 175-188 -> 206-223 MB/s.
//   node preinit.mjs IN.wasm OUT.wasm
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const WASM_PAGE = 65536;
/** A run of at least this many zero bytes splits two data segments (a segment's header costs ~8 bytes). */
const ZERO_GAP = 16;
/** WASI's EBADF: "no preopened directory at this fd" ends wasi-libc's preopen scan. */
const EBADF = 8;

function fail(msg) {
  throw new Error(`preinit: ${msg}`);
}

function readU32(buf, pos) {
  let result = 0;
  let shift = 0;
  for (;;) {
    const b = buf[pos++];
    result += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (!(b & 0x80)) return [result, pos];
  }
}

function u32(n) {
  const out = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return Buffer.from(out);
}

function i32(n) {
  const out = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) {
      out.push(b);
      return Buffer.from(out);
    }
    out.push(b | 0x80);
  }
}

/** The module's sections as [id, body] (custom sections included, in order). */
function sections(bytes) {
  if (bytes.readUInt32LE(0) !== 0x6d736100 || bytes.readUInt32LE(4) !== 1) fail('not a WebAssembly 1.0 module');
  const out = [];
  let pos = 8;
  while (pos < bytes.length) {
    const id = bytes[pos];
    const [size, start] = readU32(bytes, pos + 1);
    out.push([id, bytes.subarray(start, start + size)]);
    pos = start + size;
  }
  return out;
}

/** Lowest address the module's active data segments initialise (memory below it is the stack, stack-first layout). */
function lowestDataAddress(dataBody) {
  let [count, pos] = readU32(dataBody, 0);
  let low = Number.POSITIVE_INFINITY;
  while (count--) {
    const [flags, p1] = readU32(dataBody, pos);
    if (flags !== 0) fail(`data segment kind ${flags}: only active segments of memory 0 are supported`);
    if (dataBody[p1] !== 0x41) fail('data segment offset is not i32.const');
    // i32.const's operand is signed LEB128; read unsigned, a non-negative offset comes out the same.
    const [offset, p2] = readU32(dataBody, p1 + 1);
    if (dataBody[p2] !== 0x0b) fail('data segment offset is not a single i32.const');
    low = Math.min(low, offset);
    const [len, p3] = readU32(dataBody, p2 + 1);
    pos = p3 + len;
  }
  return low;
}

/** Host imports for the one call: WASI's environment and randomness answered with constants, everything else throws. */
function buildImports(module, memory) {
  const imports = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind !== 'function') fail(`import ${imp.module}.${imp.name} (${imp.kind}) is not supported`);
    imports[imp.module] ??= {};
    imports[imp.module][imp.name] = (...args) => {
      const view = () => new DataView(memory().buffer);
      if (imp.module.startsWith('wasi')) {
        switch (imp.name) {
          case 'random_get':
            new Uint8Array(memory().buffer, args[0], args[1]).fill(0x5a);
            return 0;
          case 'environ_sizes_get':
          case 'args_sizes_get':
            view().setUint32(args[0], 0, true);
            view().setUint32(args[1], 0, true);
            return 0;
          case 'environ_get':
          case 'args_get':
            return 0;
          case 'fd_prestat_get':
            return EBADF;
          case 'fd_write': {
            // A panic's message, to the build log; nothing is read back into memory but the count written.
            const [fd, iovs, count, written] = args;
            if (fd !== 1 && fd !== 2) break;
            let n = 0;
            for (let k = 0; k < count; k++) {
              const ptr = view().getUint32(iovs + 8 * k, true);
              const len = view().getUint32(iovs + 8 * k + 4, true);
              process.stderr.write(new Uint8Array(memory().buffer, ptr, len));
              n += len;
            }
            view().setUint32(written, n, true);
            return 0;
          }
        }
      }
      fail(`wasmci_preinit called ${imp.module}.${imp.name}: a snapshot may hold nothing the host supplies`);
    };
  }
  return imports;
}

export function preinit(bytes) {
  const module = new WebAssembly.Module(bytes);
  let instance;
  const imports = buildImports(module, () => instance.exports.memory);
  instance = new WebAssembly.Instance(module, imports);
  const { memory, wasmci_preinit, __data_end, __heap_base } = instance.exports;
  if (!(memory instanceof WebAssembly.Memory)) fail('the module exports no memory');
  if (typeof wasmci_preinit !== 'function') fail('the module exports no wasmci_preinit');
  const secs = sections(bytes);
  const data = secs.find(([id]) => id === 11);
  if (!data) fail('the module has no data section');
  const stackTop = lowestDataAddress(data[1]);
  if (wasmci_preinit() !== 1) fail('wasmci_preinit returned failure: the built-in rules do not build');
  const mem = new Uint8Array(memory.buffer);
  const pages = mem.length / WASM_PAGE;
  // The stack: below the first data segment (wasm-ld's stack-first layout) or between the data and the heap.
  mem.fill(0, 0, stackTop);
  if (__data_end && __heap_base && __heap_base.value > __data_end.value) mem.fill(0, __data_end.value, __heap_base.value);
  const segments = [];
  for (let i = 0; i < mem.length; ) {
    while (i < mem.length && mem[i] === 0) i++;
    if (i === mem.length) break;
    let end = i;
    for (let j = i; j < mem.length && j - end < ZERO_GAP; j++) if (mem[j] !== 0) end = j + 1;
    segments.push([i, end]);
    i = end;
  }
  const dataBody = [u32(segments.length)];
  for (const [a, z] of segments) dataBody.push(Buffer.from([0x00, 0x41]), i32(a | 0), Buffer.from([0x0b]), u32(z - a), mem.subarray(a, z));
  let mutableGlobals = 0;
  const out = [bytes.subarray(0, 8)];
  const section = (id, body) => out.push(Buffer.from([id]), u32(body.length), body);
  for (const [id, body] of secs) {
    if (id === 5) {
      const [count, p] = readU32(body, 0);
      if (count !== 1) fail(`${count} memories: one is supported`);
      const flags = body[p];
      const [, p2] = readU32(body, p + 1);
      let max = Buffer.alloc(0);
      if (flags & 1) {
        const [m] = readU32(body, p2);
        if (m < pages) fail(`memory maximum ${m} pages is below the ${pages} pages the snapshot needs`);
        max = body.subarray(p2);
      }
      if (flags & ~1) fail(`memory flags ${flags}: shared or 64-bit memories are not supported`);
      section(5, Buffer.concat([u32(1), Buffer.from([flags]), u32(pages), max]));
    } else if (id === 11) {
      section(11, Buffer.concat(dataBody));
    } else if (id === 12) {
      section(12, u32(segments.length));
    } else {
      if (id === 6) {
        let [n, p] = readU32(body, 0);
        while (n--) {
          if (body[p + 1]) mutableGlobals++;
          p += 2;
          while (body[p] !== 0x0b) p++;
          p++;
        }
      }
      section(id, body);
    }
  }
  // One mutable global, the stack pointer, which the call restored on return; any other would be state the data
  // section cannot carry.
  if (mutableGlobals > 1) fail(`${mutableGlobals} mutable globals: only the stack pointer is supported`);
  const result = Buffer.concat(out);
  new WebAssembly.Module(result); // validates
  return { bytes: result, pages, segments: segments.length, dataBytes: segments.reduce((s, [a, z]) => s + z - a, 0) };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [input, output] = process.argv.slice(2);
  let r;
  try {
    if (!input || !output) fail('usage: node preinit.mjs IN.wasm OUT.wasm');
    r = preinit(readFileSync(input));
  } catch (err) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  const tmp = `${output}.preinit.tmp`;
  writeFileSync(tmp, r.bytes);
  renameSync(tmp, output);
  process.stderr.write(
    `preinit: ${output}: memory ${r.pages} pages, ${r.segments} data segments, ${r.dataBytes} bytes (${r.bytes.length} bytes in all)\n`,
  );
}
