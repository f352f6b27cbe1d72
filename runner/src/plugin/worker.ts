/**
 * Runs inside a worker thread: one Extism plugin instance, driven by messages from plugin/host.ts.
 * Being in a worker is what lets the host stop a runaway plugin (worker.terminate) and bound its JS heap.
 * The Extism SDK runs in foreground mode here so wasmci's WASI layer can reach the module's memory.
 */
import { receiveMessageOnPort, parentPort, workerData } from 'node:worker_threads';
import createPlugin, { type CallContext } from '@extism/extism';
import type { PluginFaultKind } from '../errors.js';
import {
  addAllowLines,
  type DiskBatch,
  type DiskFileOutcome,
  readDiskBatch,
  readDiskBatchInto,
} from '../core/batch-reader.js';
import { reportedPaths } from '../core/protocol.js';
import type { FromWorker, HttpResponse, ToWorker, WorkerInit } from './messages.js';
import { INTERNAL_EXPORTS } from './messages.js';
import { hostAllowed } from './policy.js';
import { RENAMED_EXPORTS, TABLE_EXPORT_PREFIX, TABLE_ENTRIES_MAX, WASI_NAMESPACE, WASM_PAGE } from './wasm-binary.js';
import { WasiExit, WasiLayer } from './wasi.js';

class HostDenied extends Error {}

const port = parentPort as NonNullable<typeof parentPort>;
const post = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

// Set by setUp, from workerData or, for a worker started ahead of its plugin (host.ts prestartWorker), from the
// first message; nothing below runs before.
let init: WorkerInit;
let policy: WorkerInit['policy'];
let wasi: WasiLayer;
let httpFlag: Int32Array;
let stderrTail = '';

function setUp(given: WorkerInit): void {
  init = given;
  policy = given.policy;
  httpFlag = new Int32Array(given.httpSignal);
  void main();
}

/** The WASI layer opens the mount roots: inside main's try, so a mount it cannot hold is a clean load error. */
function startWasi(): WasiLayer {
  return new WasiLayer({
    mounts: policy.mounts,
    onOutput(fd, bytes) {
      if (fd === 2) stderrTail = (stderrTail + new TextDecoder().decode(bytes)).slice(-4096);
      post({ type: 'stdio', fd, bytes }, [bytes.buffer as ArrayBuffer]);
    },
  });
}

const logAt = (level: 'trace' | 'debug' | 'info' | 'warn' | 'error') => (message: unknown) =>
  post({ type: 'log', level, message: String(message) });
const logger = {
  trace: logAt('trace'),
  debug: logAt('debug'),
  info: logAt('info'),
  warn: logAt('warn'),
  error: logAt('error'),
  log: logAt('info'),
} as unknown as Console;

let lastStatus = 0;
/**
 * The message of the plugin's last error_set in this call. Kept here rather than in the SDK so that an error set
 * just before a trap (AssemblyScript's `throw`, a Rust panic hook) still reaches the user.
 */
let lastError: string | undefined;

/** Extism's http_request, but checked against the grant and performed by the host thread. */
function httpRequest(ctx: CallContext, reqAddr: bigint, bodyAddr: bigint): bigint {
  lastStatus = 0;
  const req = ctx.read(reqAddr)?.json() as
    | { url?: string; method?: string; headers?: Record<string, string> }
    | undefined;
  if (!req?.url) throw new HostDenied('http_request called without a url');
  let url: URL;
  try {
    url = new URL(req.url);
  } catch {
    throw new HostDenied(`http_request: invalid url`);
  }
  if (!hostAllowed(url.hostname, policy.allowedHosts)) {
    throw new HostDenied(
      `the plugin tried to reach ${url.hostname}, which it was not granted (grant it with --allow-host ${url.hostname})`,
    );
  }
  const method = (req.method ?? 'GET').toUpperCase();
  const body =
    bodyAddr !== 0n && method !== 'GET' && method !== 'HEAD' ? ctx.read(bodyAddr)?.bytes().slice() : undefined;
  Atomics.store(httpFlag, 0, 0);
  init.httpPort.postMessage({ url: url.href, method, headers: req.headers ?? {}, body });
  const waited = Atomics.wait(httpFlag, 0, 0, policy.timeoutMs);
  const reply = receiveMessageOnPort(init.httpPort as import('node:worker_threads').MessagePort)?.message as
    | HttpResponse
    | undefined;
  if (waited === 'timed-out' || !reply) throw new HostDenied(`http request to ${url.hostname} timed out`);
  if ('error' in reply) {
    // The plugin learns why as a status-0 body (timeout, rate-limited, network refused, budget).
    logger.debug(`http request to ${url.hostname} failed: ${reply.error}`);
    return ctx.store(reply.reason);
  }
  lastStatus = reply.status;
  return ctx.store(reply.body);
}

/** The module's tables that wasmci capped (exported by wasm-binary.ts under TABLE_EXPORT_PREFIX), with their cap. */
let cappedTables: { table: WebAssembly.Table; cap: number }[] = [];

/**
 * Like a failed memory.grow, a failed table.grow is invisible to the host: a trap with a table this close to the
 * maximum wasmci gave it (10%, as for memory) is almost surely one.
 */
function tableNearCap(): boolean {
  return cappedTables.some(({ table, cap }) => table.length + Math.max(1, cap / 10) >= cap);
}

function classify(err: unknown, memory: WebAssembly.Memory | undefined): { kind: PluginFaultKind; message: string } {
  const tail = stderrTail.trim().split('\n').slice(-3).join(' | ');
  const withTail = (m: string) => (tail ? `${m} (plugin stderr: ${tail})` : m);
  if (err instanceof WasiExit) return { kind: 'exited', message: `the plugin exited with code ${err.code}` };
  if (err instanceof HostDenied) return { kind: 'host-error', message: err.message };
  const msg = (err as Error)?.message ?? String(err);
  // A failed memory.grow is invisible to the host; a trap with memory this close to the cap is almost surely one.
  const slack = Math.max(2 * WASM_PAGE, policy.memoryMaxBytes / 10);
  const nearCap = memory ? memory.buffer.byteLength + slack >= policy.memoryMaxBytes : false;
  if (
    /memory allocation of \d+ bytes failed/.test(stderrTail) ||
    (err instanceof WebAssembly.RuntimeError && nearCap)
  ) {
    return {
      kind: 'memory-limit',
      message: withTail(`the plugin ran out of memory at the ${policy.memoryMaxBytes / 1048576} MiB limit`),
    };
  }
  if (err instanceof WebAssembly.RuntimeError && tableNearCap()) {
    return {
      kind: 'memory-limit',
      message: withTail(`the plugin's tables reached their limit (${TABLE_ENTRIES_MAX} entries in all)`),
    };
  }
  if (err instanceof RangeError && /allocation failed|out of memory/i.test(msg)) {
    return { kind: 'memory-limit', message: `the plugin exceeded the memory limit (${msg})` };
  }
  if (err instanceof RangeError && /call stack/i.test(msg)) {
    return { kind: 'trap', message: withTail('the plugin overflowed its stack') };
  }
  if (err instanceof WebAssembly.RuntimeError) return { kind: 'trap', message: withTail(`the plugin trapped: ${msg}`) };
  const originated = /^Plugin-originated error: ([\s\S]*)$/.exec(msg);
  if (originated)
    return { kind: 'plugin-error', message: (originated[1] as string).trim() || 'the plugin reported an error' };
  if (/memory limit exceeded/.test(msg))
    return { kind: 'memory-limit', message: `the plugin exceeded the memory limit (${msg})` };
  return { kind: 'host-error', message: msg };
}

// The SDK asks whether the manifest is a fetch `Response`; Node defines that global lazily and its first use loads
// undici into the worker (~15 ms of start-up per instance). Nothing here uses fetch, so a stand-in class answers.
Object.defineProperty(globalThis, 'Response', { value: class Response {}, configurable: true, writable: true });

async function main(): Promise<void> {
  let memory: WebAssembly.Memory | undefined;
  let plugin: Awaited<ReturnType<typeof createPlugin>>;
  let exportsObj: WebAssembly.Exports;
  try {
    wasi = startWasi();
    plugin = await createPlugin(
      { wasm: [{ module: init.module }] },
      {
        useWasi: false,
        runInWorker: false,
        logger,
        logLevel: policy.logLevel,
        config: policy.config,
        memory: {
          maxPages: Math.ceil(policy.memoryMaxBytes / WASM_PAGE),
          maxHttpResponseBytes: policy.httpMaxBytes,
          maxVarBytes: Math.min(policy.memoryMaxBytes, 16 * 1024 * 1024),
        },
        functions: {
          [WASI_NAMESPACE]: wasi.imports as never,
          'extism:host/env': {
            http_request: httpRequest,
            http_status_code: () => lastStatus,
            http_headers: () => 0n,
            error_set: (ctx: CallContext, addr: bigint) => {
              lastError = ctx.read(addr)?.string() || 'the plugin reported an error without a message';
            },
          },
        },
      },
    );
    const instance = await plugin.getInstance();
    exportsObj = instance.exports;
    memory = exportsObj.memory instanceof WebAssembly.Memory ? exportsObj.memory : undefined;
    cappedTables = Object.entries(exportsObj).flatMap(([n, v]) => {
      const cap = n.startsWith(TABLE_EXPORT_PREFIX) ? init.tableCaps[Number(n.slice(TABLE_EXPORT_PREFIX.length))] : 0;
      return cap && v instanceof WebAssembly.Table ? [{ table: v, cap }] : [];
    });
    if (memory) wasi.setMemory(memory);
    const initFn = exportsObj[RENAMED_EXPORTS._initialize as string];
    if (typeof initFn === 'function') initFn();
  } catch (err) {
    const c = classify(err, memory);
    const linkError = err instanceof WebAssembly.LinkError || /cannot resolve import/.test(c.message);
    post({
      type: 'init-error',
      kind: linkError ? 'invalid-wasm' : c.kind,
      message: linkError ? `the plugin needs a host import wasmci does not provide: ${c.message}` : c.message,
    });
    return;
  }
  const callable = Object.entries(exportsObj)
    .filter(([n, v]) => typeof v === 'function' && !INTERNAL_EXPORTS.has(n))
    .map(([n]) => (n === RENAMED_EXPORTS._start ? '_start' : n));
  post({ type: 'ready', exports: callable });

  const inputBuffer = exportsObj.wasmci_input_buffer;
  /**
   * wasmci's fast input path, when the plugin exports it: n bytes of its linear memory that its next call reads
   * as input (the call itself then gets an empty Extism input, so the input is never copied).
   */
  const bufferView =
    typeof inputBuffer === 'function' && memory
      ? (n: number): Uint8Array | undefined => {
          const ptr = Number(inputBuffer(BigInt(n))) >>> 0;
          if (ptr === 0) return undefined;
          const mem = (memory as WebAssembly.Memory).buffer;
          if (ptr + n > mem.byteLength) throw new HostDenied('wasmci_input_buffer returned an out-of-bounds pointer');
          return new Uint8Array(mem, ptr, n);
        }
      : undefined;

  /**
   * Calls `name`; `input` undefined means the input is already in the plugin's input buffer. `answered` sees the
   * output before it is posted (a disk batch completes its outcomes from it).
   */
  async function invoke(
    id: number,
    name: string,
    input?: Uint8Array,
    outcomes?: DiskFileOutcome[],
    answered?: (output: Uint8Array) => void,
  ): Promise<void> {
    const fn = name === '_start' ? (RENAMED_EXPORTS._start as string) : name;
    if (typeof exportsObj[fn] !== 'function' || INTERNAL_EXPORTS.has(fn)) {
      post({
        type: 'error',
        id,
        kind: 'missing-export',
        message: `the plugin has no function "${name}"; it exports: ${callable.join(', ') || '(nothing callable)'}`,
      });
      return;
    }
    stderrTail = '';
    lastError = undefined;
    try {
      let extismInput = input;
      if (input && input.length > 0 && bufferView) {
        const view = bufferView(input.length);
        if (view) {
          view.set(input);
          extismInput = undefined;
        }
      }
      const out = await plugin.call(fn, extismInput);
      if (lastError !== undefined) {
        post({ type: 'error', id, kind: 'plugin-error', message: lastError });
        return;
      }
      const bytes = out ? out.bytes() : new Uint8Array(0);
      if (bytes.length > policy.outputMaxBytes) {
        post({
          type: 'error',
          id,
          kind: 'output-limit',
          message: `the plugin returned ${bytes.length} bytes, over the ${policy.outputMaxBytes} byte output limit`,
        });
        return;
      }
      const copy = bytes.slice();
      answered?.(copy);
      post({ type: 'result', id, output: copy, ...(outcomes ? { outcomes } : {}) }, [copy.buffer]);
    } catch (err) {
      if (err instanceof WasiExit && err.code === 0) {
        post({ type: 'result', id, output: new Uint8Array(0), ...(outcomes ? { outcomes } : {}) });
        return;
      }
      const fault = classify(err, memory);
      if (lastError !== undefined) fault.message += ` (the plugin had reported: ${lastError})`;
      post({ type: 'error', id, ...fault });
    }
  }

  /** Reads a disk batch: straight into the plugin's input buffer when it has one. */
  function callDisk(id: number, fn: string, batch: DiskBatch): Promise<void> {
    try {
      if (bufferView) {
        let whole: Uint8Array | undefined;
        const read = readDiskBatchInto(batch, (n) => {
          whole = bufferView(n);
          if (!whole) throw new Error(`the plugin could not allocate a ${n}-byte input buffer`);
          return whole;
        });
        // Tell the plugin the input's final length (it can only have shrunk: same buffer, same address).
        const exact = bufferView(read.length);
        if (!exact || !whole || exact.byteOffset !== whole.byteOffset)
          throw new HostDenied('wasmci_input_buffer moved the input while it was being written');
        const at = exact.byteOffset;
        return invoke(id, fn, undefined, read.outcomes, (output) => {
          // Allow comments only matter in files with findings: look for them there, in the batch still in the
          // plugin's buffer (a plugin that rewrote its own input could only hide its own findings). A view anew:
          // the memory may have grown during the call.
          const mem = (memory as WebAssembly.Memory).buffer;
          if (at + read.length <= mem.byteLength)
            addAllowLines(read.spans, new Uint8Array(mem, at, read.length), reportedPaths(output));
        });
      }
      const read = readDiskBatch(batch);
      return invoke(id, fn, read.input, read.outcomes);
    } catch (err) {
      const fault =
        err instanceof HostDenied || err instanceof WebAssembly.RuntimeError
          ? classify(err, memory)
          : { kind: 'host-error' as const, message: `reading the batch failed: ${(err as Error).message}` };
      post({ type: 'error', id, ...fault });
      return Promise.resolve();
    }
  }

  port.on('message', (m: ToWorker) => {
    post({ type: 'started', id: m.id });
    if (m.type === 'call') return invoke(m.id, m.fn, m.input);
    if (m.type === 'call-disk') return callDisk(m.id, m.fn, m.batch);
  });
}

const given = workerData as WorkerInit | undefined;
if (given) setUp(given);
else port.once('message', (m: WorkerInit) => setUp(m));
