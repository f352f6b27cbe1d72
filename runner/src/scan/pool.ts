/**
 * A pool of plugin instances, one per worker thread, fed batches from the main thread. An instance that faulted
 * (trap, timeout, memory) is replaced by a fresh one; an instance that has seen `recycleBytes` of input is replaced
 * too, so a plugin's linear memory (which never shrinks) stays bounded however large the scan.
 */
import { PluginError } from '../errors.js';
import type { Logger } from '../log.js';
import { type CompiledPlugin, SandboxedPlugin } from '../plugin/host.js';
import type { SandboxPolicy } from '../plugin/policy.js';

interface Slot {
  plugin?: SandboxedPlugin;
  starting?: Promise<SandboxedPlugin>;
  bytes: number;
  busy: boolean;
}

interface Job {
  /** Input bytes the task gives the instance: counted towards recycling. */
  bytes: number;
  task(plugin: SandboxedPlugin): Promise<unknown>;
  resolve(out: unknown): void;
  reject(err: Error): void;
}

export interface PoolOptions {
  size: number;
  /** Replace an instance after it has been given this many input bytes. */
  recycleBytes: number;
  name: string;
}

export class PluginPool {
  readonly #slots: Slot[];
  readonly #queue: Job[] = [];
  #closed = false;
  /** Instances started in all (the first `size` plus replacements): tests and progress read it. */
  started = 0;
  restarts = 0;

  constructor(
    readonly compiled: CompiledPlugin,
    readonly policy: SandboxPolicy,
    readonly log: Logger,
    readonly opts: PoolOptions,
  ) {
    this.#slots = Array.from({ length: Math.max(1, opts.size) }, () => ({ bytes: 0, busy: false }));
  }

  get size(): number {
    return this.#slots.length;
  }

  /** Starts every instance now (in parallel), so start-up faults surface before any file is read. */
  async warmUp(): Promise<SandboxedPlugin> {
    const started = await Promise.all(this.#slots.map((s) => this.#instance(s)));
    return started[0] as SandboxedPlugin;
  }

  /**
   * Runs `task` on the next free instance (`bytes`: how much input it gives it). Rejects with the error of that
   * task; the pool itself goes on.
   */
  run<T>(bytes: number, task: (plugin: SandboxedPlugin) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new PluginError('host-error', 'the plugin pool is closed'));
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ bytes, task, resolve: resolve as (v: unknown) => void, reject });
      this.#dispatch();
    });
  }

  /** Number of calls waiting for a free instance. */
  get queued(): number {
    return this.#queue.length;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const j of this.#queue.splice(0)) j.reject(new PluginError('host-error', 'the plugin pool was closed'));
    await Promise.all(
      this.#slots.map(async (s) => {
        const p = s.plugin ?? (await s.starting?.catch(() => undefined));
        await p?.close();
      }),
    );
  }

  #instance(slot: Slot): Promise<SandboxedPlugin> {
    if (slot.plugin?.alive) return Promise.resolve(slot.plugin);
    slot.plugin = undefined;
    slot.starting ??= SandboxedPlugin.start(this.compiled, this.policy, this.log, this.opts.name).then(
      (p) => {
        this.started++;
        slot.plugin = p;
        slot.bytes = 0;
        slot.starting = undefined;
        return p;
      },
      (err) => {
        slot.starting = undefined;
        throw err;
      },
    );
    return slot.starting;
  }

  #dispatch(): void {
    for (const slot of this.#slots) {
      if (this.#queue.length === 0) return;
      if (slot.busy) continue;
      const job = this.#queue.shift() as Job;
      slot.busy = true;
      void this.#runOn(slot, job);
    }
  }

  async #runOn(slot: Slot, job: Job): Promise<void> {
    try {
      const plugin = await this.#instance(slot);
      slot.bytes += job.bytes;
      job.resolve(await job.task(plugin));
    } catch (err) {
      if (!slot.plugin?.alive && !this.#closed) {
        this.restarts++;
        this.log.debug(`${this.opts.name}: instance replaced after: ${(err as Error).message}`);
      }
      job.reject(err as Error);
    } finally {
      if (slot.plugin && slot.bytes >= this.opts.recycleBytes && !this.#closed) {
        const old = slot.plugin;
        slot.plugin = undefined;
        this.log.debug(`${this.opts.name}: recycling an instance after ${slot.bytes} input bytes`);
        void old.close();
      }
      slot.busy = false;
      if (!this.#closed) this.#dispatch();
    }
  }
}
