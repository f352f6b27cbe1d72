/**
 * A pool of plugin instances, one per worker thread, fed batches from the main thread. An instance that faulted
 * (trap, timeout, memory) is replaced by a fresh one; an instance that has seen `recycleBytes` of input is replaced
 * too, so a plugin's linear memory (which never shrinks) stays bounded however large the scan.
 */
import { PluginError } from '../errors.js';
import type { Logger } from '../log.js';
import { CallNotStarted, type CompiledPlugin, SandboxedPlugin } from '../plugin/host.js';
import type { SandboxPolicy } from '../plugin/policy.js';

/**
 * Calls given to one instance at a time: the next batch waits in the worker's own queue, so the instance starts it
 * the moment the previous one ends instead of waiting for the main thread to notice and send it.
 */
const DEPTH = 2;

interface Slot {
  plugin?: SandboxedPlugin;
  starting?: Promise<SandboxedPlugin>;
  /** Input given to the current instance. */
  bytes: number;
  /** Jobs assigned to this slot and not finished. */
  running: number;
  /** Its instance failed to start while others run: the slot is left out. */
  disabled?: boolean;
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
  /** Calls in flight per instance, so a retired instance is closed only once its last call is done. */
  readonly #calls = new Map<SandboxedPlugin, number>();
  readonly #retired = new Set<SandboxedPlugin>();
  #closed = false;
  /** Instances started so far (replacements included): numbers the debug log's "instance N started". */
  #started = 0;

  constructor(
    readonly compiled: CompiledPlugin,
    readonly policy: SandboxPolicy,
    readonly log: Logger,
    readonly opts: PoolOptions,
  ) {
    this.#slots = Array.from({ length: Math.max(1, opts.size) }, () => ({ bytes: 0, running: 0 }));
  }

  /** Batches worth having in flight to keep every instance busy. */
  get capacity(): number {
    return this.#slots.length * (DEPTH + 1);
  }

  /**
   * Starts the first instance now, so start-up faults surface before any file is read. The others start when work
   * reaches them: a small scan (a merge request's diff) then costs one worker, not one per core.
   */
  warmUp(): Promise<SandboxedPlugin> {
    return this.#instance(this.#slots[0] as Slot);
  }

  /**
   * Starts the instances not started yet, once the first one is up: a plugin that cannot start then fails once, on
   * the first, and whether a scan can go on does not depend on which of several racing instances came up first. A
   * later instance's start-up fault surfaces on the next job of its slot.
   */
  startAll(): void {
    const startOthers = () => {
      for (const slot of this.#slots) if (!slot.disabled && !this.#closed) this.#instance(slot).catch(() => undefined);
    };
    this.#instance(this.#slots[0] as Slot).then(startOthers, () => undefined);
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

  async close(): Promise<void> {
    this.#closed = true;
    for (const j of this.#queue.splice(0)) j.reject(new PluginError('host-error', 'the plugin pool was closed'));
    const retired = [...this.#retired].map((p) => p.close());
    await Promise.all([
      ...retired,
      ...this.#slots.map(async (s) => {
        const p = s.plugin ?? (await s.starting?.catch(() => undefined));
        await p?.close();
      }),
    ]);
  }

  #instance(slot: Slot): Promise<SandboxedPlugin> {
    if (slot.plugin?.alive) return Promise.resolve(slot.plugin);
    slot.plugin = undefined;
    slot.starting ??= SandboxedPlugin.start(this.compiled, this.policy, this.log, this.opts.name).then(
      (p) => {
        this.#started++;
        this.log.debug(`${this.opts.name}: instance ${this.#started} started`);
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
      while (this.#queue.length > 0 && slot.running < DEPTH && !slot.disabled) {
        const job = this.#queue.shift() as Job;
        slot.running++;
        void this.#runOn(slot, job);
      }
    }
  }

  async #runOn(slot: Slot, job: Job): Promise<void> {
    let plugin: SandboxedPlugin | undefined;
    try {
      plugin = await this.#instance(slot);
      slot.bytes += job.bytes;
      this.#calls.set(plugin, (this.#calls.get(plugin) ?? 0) + 1);
      if (slot.bytes >= this.opts.recycleBytes && !this.#closed) this.#retire(slot, plugin);
      job.resolve(await job.task(plugin));
    } catch (err) {
      const othersRun = () => this.#slots.some((s) => s !== slot && s.plugin?.alive);
      if (err instanceof CallNotStarted && !this.#closed) {
        // The instance died with this call still in its queue: it never ran, so it goes to the next instance.
        this.#queue.unshift(job);
      } else if (!plugin && !this.#closed && othersRun()) {
        // An extra instance could not start (e.g. memory): the scan goes on with the ones that run.
        this.log.warn(
          `${this.opts.name}: a plugin instance failed to start, going on with fewer: ${(err as Error).message}`,
        );
        slot.disabled = true;
        this.#queue.unshift(job);
      } else {
        if (plugin && !plugin.alive && !this.#closed) {
          this.log.debug(`${this.opts.name}: instance replaced after: ${(err as Error).message}`);
        }
        job.reject(err as Error);
      }
    } finally {
      if (plugin) this.#callDone(plugin);
      slot.running--;
      if (!this.#closed) this.#dispatch();
    }
  }

  /**
   * Takes an instance that has seen `recycleBytes` out of service: its calls in flight finish, and its replacement
   * starts now, in parallel with them, instead of after them.
   */
  #retire(slot: Slot, plugin: SandboxedPlugin): void {
    this.log.debug(`${this.opts.name}: recycling an instance after ${slot.bytes} input bytes`);
    slot.plugin = undefined;
    this.#retired.add(plugin);
    this.#instance(slot).catch(() => undefined); // a start-up fault surfaces on the next job of this slot
  }

  #callDone(plugin: SandboxedPlugin): void {
    const n = (this.#calls.get(plugin) ?? 1) - 1;
    if (n > 0) {
      this.#calls.set(plugin, n);
      return;
    }
    this.#calls.delete(plugin);
    if (this.#retired.delete(plugin)) void plugin.close();
  }
}
