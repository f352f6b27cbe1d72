/**
 * Download progress on stderr: a redrawn bar on a terminal; in CI logs (no TTY) a few plain lines, and only for
 * downloads large enough to be worth watching. Silent at --log-level error.
 */
import type { Logger } from '../log.js';
import { maskSecrets } from '../log.js';

const LARGE = 4 * 1024 * 1024;
const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

export interface Progress {
  update(transferred: number, total: number | undefined): void;
  done(): void;
}

export function createProgress(label: string, log: Logger, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!log.enabled('warn')) return { update() {}, done() {} };
  const write = (s: string) => stream.write(maskSecrets(s));
  if (stream.isTTY) {
    let last = 0;
    let drawn = false;
    return {
      update(transferred, total) {
        const now = Date.now();
        if (now - last < 100) return;
        last = now;
        drawn = true;
        const width = 24;
        const frac = total ? Math.min(1, transferred / total) : 0;
        const bar = total ? '#'.repeat(Math.round(frac * width)).padEnd(width, '.') : '?'.repeat(width);
        const pct = total ? `${Math.floor(frac * 100)}%`.padStart(4) : '';
        write(`\r${label} [${bar}] ${pct} ${mib(transferred)}${total ? ` / ${mib(total)}` : ''}\x1b[K`);
      },
      done() {
        if (drawn) write('\r\x1b[K');
      },
    };
  }
  let nextQuarter = 1;
  let announced = false;
  return {
    update(transferred, total) {
      if (!total || total < LARGE) return;
      if (!announced) {
        announced = true;
        write(`wasmci: downloading ${label} (${mib(total)})\n`);
      }
      while (nextQuarter <= 4 && transferred >= (total * nextQuarter) / 4) {
        write(`wasmci: ${label}: ${nextQuarter * 25}% (${mib(Math.min(transferred, total))})\n`);
        nextQuarter++;
      }
    },
    done() {},
  };
}
