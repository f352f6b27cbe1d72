/**
 * SIGINT/SIGTERM handling: the process exits with 130 and removes the temp files of writes still in flight, so
 * an interrupted scan leaves neither a half-written report nor litter. (Finished reports are renamed atomically;
 * a report that was not finished simply does not exist.)
 */
import { rmSync } from 'node:fs';
import { ExitCode } from './errors.js';

const inFlight = new Set<string>();
let installed = false;

export function trackTempFile(file: string): void {
  inFlight.add(file);
}

export function untrackTempFile(file: string): void {
  inFlight.delete(file);
}

export function installInterruptHandlers(onInterrupt: (signal: NodeJS.Signals) => void = () => {}): void {
  if (installed) return;
  installed = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      for (const f of inFlight) rmSync(f, { force: true });
      onInterrupt(signal);
      process.stderr.write(`wasmci: interrupted by ${signal}\n`);
      process.exit(ExitCode.interrupted);
    });
  }
}
