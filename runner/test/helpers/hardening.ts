/**
 * Helpers for the adversarial tests: a fingerprint of a whole tree (the file system must be unchanged), the CLI
 * run with its wall time and peak memory measured, every byte a run produced (to search for planted secrets),
 * and test plugins compiled from Rust source at test time.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { inject } from 'vitest';
import type { CliOptions, CliResult } from './cli.js';

/** A fingerprint of a whole tree: names, types, modes, sizes, contents, link targets. */
export function treeHash(root: string): string {
  const h = createHash('sha256');
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = path.join(dir, name);
      const st = lstatSync(p);
      h.update(`${path.relative(root, p)}|${st.mode}|${st.size}\n`);
      if (st.isSymbolicLink()) h.update(readlinkSync(p));
      else if (st.isDirectory()) walk(p);
      else if (st.isFile()) h.update(readFileSync(p));
    }
  };
  walk(root);
  return h.digest('hex');
}

export interface MeasuredResult extends CliResult {
  /** Peak resident set size of the CLI process (VmHWM, all its threads), in MiB. */
  peakRssMiB: number;
}

function vmHwmKiB(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs the CLI like helpers/cli.ts's runCli, polling /proc/<pid>/status for VmHWM (the kernel's high-water mark
 * of the resident set: a peak between two polls is not missed, only one in the last poll interval before exit).
 * `onStart` gets the child, e.g. to send it a signal.
 */
export function runMeasured(
  args: string[],
  opts: CliOptions & { onStart?: (child: import('node:child_process').ChildProcess) => void } = {},
): Promise<MeasuredResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [inject('cli'), ...args], {
      cwd: opts.cwd ?? process.cwd(),
      env: { ...process.env, CI: '', GITLAB_CI: '', GITHUB_ACTIONS: '', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let peak = 0;
    const poll = setInterval(() => {
      const kb = child.pid ? vmHwmKiB(child.pid) : undefined;
      if (kb !== undefined && kb > peak) peak = kb;
    }, 20);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
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

/** Every byte a run produced: stdout, stderr, and the names and contents of every file under `dirs`. */
export function producedBytes(r: { stdout: Buffer; stderr: string }, dirs: string[] = []): Buffer {
  const parts: Buffer[] = [r.stdout, Buffer.from(r.stderr)];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      parts.push(Buffer.from(`\n${p}\n`));
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) parts.push(readFileSync(p));
    }
  };
  for (const d of dirs) if (existsSync(d)) walk(d);
  return Buffer.concat(parts);
}

/** The planted values (and their distinctive middles, which survive partial masking) found in `bytes`. */
export function leaked(bytes: Buffer, planted: string[]): string[] {
  const hits: string[] = [];
  for (const p of planted) {
    const middle = p.slice(Math.floor(p.length / 4), Math.floor((3 * p.length) / 4));
    if (bytes.includes(p) || (middle.length >= 8 && bytes.includes(middle))) hits.push(p);
  }
  return hits;
}

/** Compiles a no-crate Rust plugin (wasm32-wasi) into `outDir`; returns the .wasm path. */
export function compileRustPlugin(source: string, outDir: string): string {
  const out = path.join(outDir, `${path.basename(source, '.rs')}.wasm`);
  execFileSync(
    '/usr/bin/rustc',
    ['--target', 'wasm32-wasi', '--crate-type', 'cdylib', '-O', '-C', 'panic=abort', '-C', 'strip=symbols'].concat([
      source,
      '-o',
      out,
    ]),
    { stdio: 'inherit' },
  );
  return out;
}

/** Disk space available under `dir`, in bytes. */
export function freeBytes(dir: string): number {
  const out = execFileSync('df', ['-B1', '--output=avail', dir], { encoding: 'utf8' });
  return Number(out.trim().split('\n').pop());
}
