/** Runs the real CLI bundle (built by global-setup) as a subprocess, the way CI runs it. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  durationMs: number;
  /** Peak resident set size of the CLI process (VmHWM, all its threads), in MiB. */
  peakRssMiB: number;
}

export interface CliOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  stdin?: string | Buffer;
  timeoutMs?: number;
  /** Gets the child once started, e.g. to send it a signal. */
  onStart?: (child: ChildProcess) => void;
}

function vmHwmKiB(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

export const repoRoot = path.resolve(import.meta.dirname, '../../..');
export const secretsWasm = path.join(repoRoot, 'plugins/secrets/dist/secrets.wasm');

export function fixture(name: string): string {
  return path.join(inject('fixtures'), name);
}

export function tempDir(prefix = 'wasmci-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [inject('cli'), ...args], {
      cwd: opts.cwd ?? process.cwd(),
      env: { ...process.env, CI: '', GITLAB_CI: '', GITHUB_ACTIONS: '', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    // VmHWM is the kernel's high-water mark: only a peak in the last interval before exit can be missed.
    let peak = 0;
    const poll = setInterval(() => {
      const kb = child.pid ? vmHwmKiB(child.pid) : undefined;
      if (kb !== undefined && kb > peak) peak = kb;
    }, 20);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearInterval(poll);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out),
        stderr: Buffer.concat(err).toString('utf8'),
        durationMs: Date.now() - started,
        peakRssMiB: Math.round(peak / 1024),
      });
    });
    child.stdin.end(opts.stdin ?? '');
    opts.onStart?.(child);
  });
}
