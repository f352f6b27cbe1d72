/**
 * Helpers for the adversarial tests: a fingerprint of a whole tree (the file system must be unchanged), the CLI
 * run with its wall time and peak memory measured, every byte a run produced (to search for planted secrets),
 * and test plugins compiled from Rust source at test time.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { type CliOptions, type CliResult, runCli } from './cli.js';

export { compileRustPlugin } from './rust.js';

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

export type MeasuredResult = CliResult;

/** runCli with a longer default time limit, for scenarios that are slow on purpose. */
export function runMeasured(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return runCli(args, { timeoutMs: 120_000, ...opts });
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

/** Disk space available under `dir`, in bytes. */
export function freeBytes(dir: string): number {
  const out = execFileSync('df', ['-B1', '--output=avail', dir], { encoding: 'utf8' });
  return Number(out.trim().split('\n').pop());
}
