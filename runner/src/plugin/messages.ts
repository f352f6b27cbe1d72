/** Messages between the sandbox host (main thread) and a plugin worker. Both sides import only these types. */
import type { PluginFaultKind } from '../errors.js';
import type { DiskBatch, DiskFileOutcome } from '../core/batch-reader.js';
import type { SandboxPolicy } from './policy.js';

export interface WorkerInit {
  module: WebAssembly.Module;
  policy: SandboxPolicy;
  /** Per table index, the maximum wasmci imposed on it (0: the module's own, smaller one); see wasm-binary.ts. */
  tableCaps: number[];
  /** The host answers http_request calls on this port; the worker blocks on `httpSignal` meanwhile. */
  httpPort: MessagePort | import('node:worker_threads').MessagePort;
  httpSignal: SharedArrayBuffer;
}

export type ToWorker =
  | { type: 'call'; id: number; fn: string; input: Uint8Array }
  /** A scan batch read from disk by the worker itself (see scan/batch-reader.ts). */
  | { type: 'call-disk'; id: number; fn: string; batch: DiskBatch };

export type FromWorker =
  | { type: 'ready'; exports: string[] }
  | { type: 'init-error'; kind: PluginFaultKind; message: string }
  /** The worker took call `id` off its queue: its time limit runs from here. */
  | { type: 'started'; id: number }
  | { type: 'result'; id: number; output: Uint8Array; outcomes?: DiskFileOutcome[] }
  | { type: 'error'; id: number; kind: PluginFaultKind; message: string }
  | { type: 'log'; level: 'trace' | 'debug' | 'info' | 'warn' | 'error'; message: string }
  | { type: 'stdio'; fd: 1 | 2; bytes: Uint8Array };

export interface HttpRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: Uint8Array;
}

/** An answer, or why there is none (`reason`: the short word the plugin gets as a status-0 body; see http.ts). */
export type HttpResponse =
  | { status: number; headers: Record<string, string>; body: Uint8Array }
  | { error: string; reason: import('./http.js').GateReason };

/** Export names the worker hides from users: the host's own entry points. */
export const INTERNAL_EXPORTS = new Set([
  'memory',
  'wasmci_input_buffer',
  'wasmci__initialize',
  '__data_end',
  '__heap_base',
]);
