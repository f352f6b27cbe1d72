/**
 * Scan progress on stderr: a live line on a terminal (files, MB, MB/s, findings), a plain line every
 * `intervalMs` in CI logs (CI=true), nothing otherwise. Never prints a path or a secret.
 */
export interface Progress {
  scanned(files: number, bytes: number): void;
  skipped(): void;
  found(n: number): void;
  stop(): void;
}

export function createProgress(opts: {
  tty: boolean;
  ci: boolean;
  write?: (s: string) => void;
  intervalMs?: number;
}): Progress | undefined {
  if (!opts.tty && !opts.ci) return undefined;
  const write = opts.write ?? ((s: string) => process.stderr.write(s));
  const started = Date.now();
  let files = 0;
  let bytes = 0;
  let skipped = 0;
  let findings = 0;
  const line = () => {
    const secs = Math.max((Date.now() - started) / 1000, 0.001);
    const mb = bytes / 1e6;
    return `scanned ${files} files, ${mb.toFixed(1)} MB, ${(mb / secs).toFixed(1)} MB/s, ${findings} findings, ${skipped} skipped`;
  };
  const timer = setInterval(
    () => write(opts.tty ? `\r\x1b[2K${line()}` : `wasmci: ${line()}\n`),
    opts.intervalMs ?? (opts.tty ? 200 : 10_000),
  );
  timer.unref();
  return {
    scanned(f, b) {
      files += f;
      bytes += b;
    },
    skipped() {
      skipped++;
    },
    found(n) {
      findings += n;
    },
    stop() {
      clearInterval(timer);
      write(opts.tty ? `\r\x1b[2K` : '');
    },
  };
}
