/**
 * The one place that creates plugins. Everything a plugin can do goes through here: the module is rewritten to
 * cap its memory, compiled once, and instantiated in a worker thread with wasmci's WASI layer and the grants in
 * the policy; calls are bounded in time (the worker is terminated, never left spinning) and in output size.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { MessageChannel, Worker, type WorkerOptions } from 'node:worker_threads';
import { PluginError, type PluginFaultKind } from '../errors.js';
import { type Logger, printable } from '../log.js';
import type { DiskBatch, DiskFileOutcome } from '../core/batch-reader.js';
import type { FromWorker, HttpRequest, HttpResponse, ToWorker, WorkerInit } from './messages.js';
import { HttpGate } from './http.js';
import type { SandboxPolicy } from './policy.js';
import { inspectModule, type ModuleInfo, prepareModule, tableLimits, WASM_PAGE } from './wasm-binary.js';

declare const __WASMCI_WORKER_SOURCE__: string | undefined;

/** The worker's code: inlined by the bundler; from a built file when running from source (tests, dev). */
function workerSource(): string {
  if (typeof __WASMCI_WORKER_SOURCE__ === 'string') return __WASMCI_WORKER_SOURCE__;
  const candidates = [
    process.env.WASMCI_WORKER_FILE,
    path.resolve(import.meta.dirname ?? '.', '../../dist/plugin-worker.cjs'),
  ].filter((p): p is string => !!p);
  for (const p of candidates) if (existsSync(p)) return readFileSync(p, 'utf8');
  throw new Error('plugin worker bundle not found: run `npm run build` (or set WASMCI_WORKER_FILE)');
}

let cachedSource: string | undefined;

/** Every plugin worker is created alike; its init (module, policy, ports) comes as workerData or, if it was started
 * ahead of time, as its first message. */
function newWorker(init?: WorkerInit, transferList: WorkerOptions['transferList'] = []): Worker {
  cachedSource ??= workerSource();
  return new Worker(cachedSource, {
    eval: true,
    workerData: init,
    transferList,
    env: {},
    execArgv: ['--disable-warning=ExperimentalWarning'],
    resourceLimits: { maxOldGenerationSizeMb: 256, maxYoungGenerationSizeMb: 32, stackSizeMb: 8 },
    stdout: true,
    stderr: true,
  });
}

/**
 * Plugin log output printed by this process, every instance and call together, against a budget of
 * RUN_LOG_CALLS × logMaxBytes: the budget per call alone let a hostile scan plugin print calls × logMaxBytes (a
 * scan of 200 batches, 200 MiB of job log).
 */
let runLogBytes = 0;
let runLogCapped = false;
const RUN_LOG_CALLS = 4;

/** A `--wasi` output line longer than this is printed in pieces: a plugin cannot make the host buffer more. */
const WASI_LINE_MAX = 16 * 1024;

/** A worker thread started before its plugin was known (see prestartWorker); the next start() takes it. */
let spare: Worker | undefined;

/**
 * Starts a plugin worker thread now, for the next SandboxedPlugin.start to take: booting a worker (a Node
 * environment, then the worker bundle) takes ~35 ms, which then overlaps the CLI loading, reading its config and
 * compiling the plugin. Until taken it does nothing, holds no plugin and does not keep the process alive.
 */
export function prestartWorker(): void {
  if (spare) return;
  const w = newWorker();
  w.unref();
  w.once('exit', () => {
    if (spare === w) spare = undefined;
  });
  spare = w;
}

interface CallResult {
  output: Uint8Array;
  outcomes?: DiskFileOutcome[];
}

/**
 * A call that was queued in a worker that stopped before it began: nothing of it ran, so it can be given to
 * another instance as is.
 */
export class CallNotStarted extends Error {
  override name = 'CallNotStarted';
}

/**
 * A fault reported by the worker. Its message quotes the plugin (error_set text, the WASI stderr tail of a trap,
 * export and import names), so it is escaped here, where it enters the runner: every later consumer (reports,
 * warnings, `wasmci run` summaries) gets text that cannot end a log line or carry an escape sequence.
 */
function workerError(kind: PluginFaultKind, message: string): PluginError {
  return new PluginError(kind, printable(message));
}

/** Faults after which the instance's state cannot be trusted: the worker is stopped and must be replaced. */
const FATAL: ReadonlySet<string> = new Set(['trap', 'timeout', 'memory-limit', 'exited', 'host-error']);

export interface CompiledPlugin {
  module: WebAssembly.Module;
  info: ModuleInfo;
  /** See WorkerInit.tableCaps. */
  tableCaps: number[];
}

/**
 * Validates, caps and compiles a module once; instances (one per worker) share the compiled code. `consume`: the
 * caller gives up `wasm` (no one reads it afterwards), which is then rewritten in place (see prepareModule).
 */
export async function compilePlugin(
  wasm: Uint8Array,
  policy: SandboxPolicy,
  { consume = false }: { consume?: boolean } = {},
): Promise<CompiledPlugin> {
  const info = inspectModule(wasm);
  const prepared = prepareModule(wasm, Math.floor(policy.memoryMaxBytes / WASM_PAGE), { inPlace: consume });
  const tableCaps = tableLimits(info.tables).map((t) => (t.capped ? Number(t.max) : 0));
  try {
    return { module: await WebAssembly.compile(prepared), info, tableCaps };
  } catch (err) {
    throw new PluginError(
      'invalid-wasm',
      // V8 quotes function and import names from the module in compile errors.
      `the plugin is not a valid WebAssembly module: ${printable((err as Error).message)}`,
      'check that the file is a .wasm plugin and was not truncated or corrupted in transit',
    );
  }
}

export class SandboxedPlugin {
  readonly #worker: Worker;
  readonly #policy: SandboxPolicy;
  readonly #log: Logger;
  readonly #name: string;
  /** Calls sent to the worker; `timer` is armed when the worker starts one (it may queue a call behind another). */
  #pending = new Map<
    number,
    { fn: string; resolve(r: CallResult): void; reject(e: Error): void; timer?: NodeJS.Timeout }
  >();
  #nextId = 1;
  #logBytes = 0;
  #logCapped = false;
  #dead: PluginError | undefined;
  /** The unfinished last line of `--wasi` output, per file descriptor. */
  #wasiPartial = new Map<number, string>();
  exports: string[] = [];

  private constructor(worker: Worker, policy: SandboxPolicy, log: Logger, name: string) {
    this.#worker = worker;
    this.#policy = policy;
    this.#log = log;
    this.#name = name;
  }

  /** Starts a worker and instantiates the plugin in it. Rejects with a PluginError on any load failure. */
  static async start(
    compiled: CompiledPlugin,
    policy: SandboxPolicy,
    log: Logger,
    name = 'plugin',
    /** Shared by instances that must share per-host limits and a budget (verification); default: one per instance. */
    gate?: HttpGate,
  ): Promise<SandboxedPlugin> {
    const { port1, port2 } = new MessageChannel();
    const httpSignal = new SharedArrayBuffer(4);
    const init: WorkerInit = {
      module: compiled.module,
      policy,
      tableCaps: compiled.tableCaps,
      httpPort: port2,
      httpSignal,
    };
    let worker = spare;
    spare = undefined;
    if (worker) {
      worker.ref();
      worker.postMessage(init, [port2]);
    } else worker = newWorker(init, [port2]);
    const p = new SandboxedPlugin(worker, policy, log, name);
    p.#serveHttp(
      port1,
      new Int32Array(httpSignal),
      gate ??
        new HttpGate({
          allowedHosts: policy.allowedHosts,
          maxBytes: policy.httpMaxBytes,
          requestTimeoutMs: policy.timeoutMs,
        }),
    );
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        void worker.terminate();
        reject(new PluginError('timeout', `the plugin did not finish loading within ${policy.timeoutMs} ms`));
      }, policy.timeoutMs);
      const fail = (e: PluginError) => {
        clearTimeout(timer);
        p.#dead = e;
        void worker.terminate();
        reject(e);
      };
      worker.on('message', (m: FromWorker) => {
        if (m.type === 'ready') {
          clearTimeout(timer);
          p.exports = m.exports;
          resolve();
        } else if (m.type === 'init-error') {
          fail(workerError(m.kind, m.message));
        } else p.#onMessage(m);
      });
      worker.on('error', (err) => {
        const e = p.#workerFault(err);
        fail(e);
        p.#failAll(e);
      });
      worker.on('exit', () => {
        const e = p.#dead ?? new PluginError('host-error', 'the plugin worker stopped unexpectedly');
        p.#dead = e;
        clearTimeout(timer);
        reject(e);
        p.#failAll(e);
      });
    });
    return p;
  }

  get alive(): boolean {
    return !this.#dead;
  }

  /**
   * Calls an export with raw input bytes; resolves with the raw output. With `transfer`, an input that spans its
   * whole ArrayBuffer is moved to the worker instead of copied (the caller must not use it afterwards).
   */
  async call(
    fn: string,
    input: Uint8Array | string = new Uint8Array(0),
    opts: { transfer?: boolean } = {},
  ): Promise<Uint8Array> {
    const bytes = typeof input === 'string' ? new TextEncoder().encode(input) : input;
    const movable =
      opts.transfer &&
      bytes.byteOffset === 0 &&
      bytes.byteLength === bytes.buffer.byteLength &&
      bytes.buffer instanceof ArrayBuffer;
    const r = await this.#request(
      fn,
      (id) => ({ type: 'call', id, fn, input: bytes }),
      movable ? [bytes.buffer as ArrayBuffer] : [],
    );
    return r.output;
  }

  /** Calls a scan export on a batch the worker reads from disk itself; resolves with the output and what became of each file. */
  async callDisk(fn: string, batch: DiskBatch): Promise<{ output: Uint8Array; outcomes: DiskFileOutcome[] }> {
    const r = await this.#request(fn, (id) => ({ type: 'call-disk', id, fn, batch }));
    return { output: r.output, outcomes: r.outcomes ?? [] };
  }

  #request(fn: string, message: (id: number) => ToWorker, transfer: ArrayBuffer[] = []): Promise<CallResult> {
    if (this.#dead) return Promise.reject(this.#dead);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { fn, resolve, reject });
      this.#worker.postMessage(message(id), transfer);
    });
  }

  #started(id: number): void {
    const p = this.#pending.get(id);
    if (!p) return;
    this.#logBytes = 0;
    this.#logCapped = false;
    p.timer = setTimeout(() => {
      this.#kill(
        new PluginError(
          'timeout',
          `the plugin's ${p.fn} call did not finish within ${this.#policy.timeoutMs} ms and was stopped`,
          'raise --timeout if the input is large, or check the plugin for an endless loop',
        ),
      );
    }, this.#policy.timeoutMs);
  }

  async close(): Promise<void> {
    this.#dead ??= new PluginError('host-error', 'the plugin was closed');
    this.#wasiFlush();
    await this.#worker.terminate();
  }

  #onMessage(m: FromWorker): void {
    switch (m.type) {
      case 'started':
        this.#started(m.id);
        return;
      case 'result':
      case 'error': {
        const p = this.#pending.get(m.id);
        if (!p) return;
        clearTimeout(p.timer);
        this.#pending.delete(m.id);
        this.#wasiFlush();
        if (m.type === 'result') p.resolve({ output: m.output, outcomes: m.outcomes });
        else {
          const e = workerError(m.kind, m.message);
          if (FATAL.has(m.kind)) this.#kill(e);
          p.reject(e);
        }
        return;
      }
      case 'log':
        this.#pluginLog(m.level, m.message);
        return;
      case 'stdio': {
        const text = new TextDecoder().decode(m.bytes);
        if (this.#policy.wasiOutput) this.#wasiOut(m.fd, text);
        else this.#pluginLog('debug', `${m.fd === 1 ? 'stdout' : 'stderr'}: ${text.replace(/\n$/, '')}`);
        return;
      }
      default:
        return;
    }
  }

  /**
   * `--wasi` output, shown line by line and escaped like any plugin text: a line is printed once its newline
   * arrives (or the call ends, or it reaches WASI_LINE_MAX characters, which then continue on a line of their own).
   */
  #wasiOut(fd: number, text: string, end = false): void {
    const lines = ((this.#wasiPartial.get(fd) ?? '') + text).split('\n');
    let rest = lines.pop() ?? '';
    if (end || rest.length >= WASI_LINE_MAX) {
      if (rest) lines.push(rest);
      rest = '';
    }
    this.#wasiPartial.set(fd, rest);
    for (const line of lines) {
      const shown = `${printable(line.replace(/\r$/, ''))}\n`;
      if (!this.#budgeted(shown.length)) return;
      process.stderr.write(shown);
    }
  }

  #wasiFlush(): void {
    for (const fd of this.#wasiPartial.keys()) this.#wasiOut(fd, '', true);
  }

  #budgeted(n: number): boolean {
    this.#logBytes += n;
    if (this.#logBytes > this.#policy.logMaxBytes) {
      if (!this.#logCapped) {
        this.#logCapped = true;
        this.#log.warn(
          `${this.#name}: log output over ${this.#policy.logMaxBytes} bytes in one call; the rest is dropped`,
        );
      }
      return false;
    }
    runLogBytes += n;
    const runMax = RUN_LOG_CALLS * this.#policy.logMaxBytes;
    if (runLogBytes <= runMax) return true;
    if (!runLogCapped) {
      runLogCapped = true;
      this.#log.warn(`${this.#name}: plugin log output over ${runMax} bytes in this run; the rest is dropped`);
    }
    return false;
  }

  #pluginLog(level: 'trace' | 'debug' | 'info' | 'warn' | 'error', message: string): void {
    if (!this.#log.enabled(level) || this.#logCapped || runLogCapped) return;
    // Budgeted as printed: escaping can make a line of control bytes several times longer.
    const text = printable(message);
    if (this.#budgeted(text.length)) this.#log[level](`${this.#name}: ${text}`);
  }

  #workerFault(err: Error): PluginError {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_WORKER_OUT_OF_MEMORY') {
      return new PluginError('memory-limit', 'the plugin exhausted the host memory given to its worker');
    }
    return workerError('host-error', `the plugin worker failed: ${err.message}`);
  }

  #kill(e: PluginError): void {
    if (!this.#dead) this.#dead = e;
    this.#wasiFlush();
    this.#failAll(e);
    void this.#worker.terminate();
  }

  #failAll(e: PluginError): void {
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      p.reject(p.timer ? e : new CallNotStarted(`the ${p.fn} call never started: ${e.message}`));
      this.#pending.delete(id);
    }
  }

  /** Performs http_request for the worker through the gate (http.ts): grants, limits, no redirects, capped body. */
  #serveHttp(port: import('node:worker_threads').MessagePort, flag: Int32Array, gate: HttpGate): void {
    port.on('message', async (req: HttpRequest) => {
      const reply: HttpResponse = await gate.request(req);
      port.postMessage(reply);
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
    });
    port.unref();
  }
}
