/** Runs the real CLI bundle (built by global-setup) as a subprocess, the way CI runs it. */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  durationMs: number;
}

export interface CliOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  stdin?: string | Buffer;
  timeoutMs?: number;
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
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out),
        stderr: Buffer.concat(err).toString('utf8'),
        durationMs: Date.now() - started,
      });
    });
    child.stdin.end(opts.stdin ?? '');
  });
}
