/**
 * Where a report goes, and what a failure to put it there means. Report paths come from trusted flags, but the
 * entry at that path may have been planted in the checked-out tree (`gl-secret-detection-report.json ->
 * ~/.bashrc`), so the rule is decided from the entry itself (lstat, never following it):
 * - `-`: stdout;
 * - missing or a regular file: written atomically (temp file + rename, core/atomic.ts), as always;
 * - a symlink, FIFO, device or socket INSIDE the checkout: replaced atomically by the report (rename replaces the
 *   entry, never what it points to) — a planted link can neither redirect a write nor make it hang;
 * - a symlink outside the checkout (the user's own): followed; its final target is written atomically when it is a
 *   regular file or missing, in place otherwise;
 * - a FIFO or device outside the checkout, and any path under /dev or /proc (`/dev/stdout`, `/dev/null`,
 *   `/dev/full`): written in place (opened for appending, never renamed over: as root, a rename would replace
 *   `/dev/full` with a file).
 * A write that fails is an error naming the path, the cause and the fix; for EACCES/EPERM also the job's uid and
 * the directory's owner (a container running as another user than the one owning the checkout is the usual cause).
 */
import { lstatSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import { type Checkout, inCheckout, realish } from '../core/checkout.js';
import { RuntimeError } from '../errors.js';
import { printable } from '../log.js';

export const STDOUT = '-';

export type TargetKind = 'stdout' | 'atomic' | 'in-place';

/** How to write `file` (see the module comment), and the path to write. */
export function reportTarget(file: string, checkout?: Checkout): { kind: TargetKind; path: string } {
  if (file === STDOUT) return { kind: 'stdout', path: file };
  // /dev/stdout, /dev/fd/N, /proc/self/fd/N name an open descriptor (a pipe, the file the shell redirected to):
  // written where they point, appended like any write to that descriptor, never renamed over.
  if (/^\/(dev|proc)\//.test(path.resolve(file))) return { kind: 'in-place', path: file };
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(file);
  } catch {
    return { kind: 'atomic', path: file };
  }
  if (st.isFile() || st.isDirectory()) return { kind: 'atomic', path: file }; // a directory fails in rename, named
  // The entry's own place: its directory (resolved), never the entry itself (inCheckout would follow the link).
  const inside = checkout ? inCheckout(checkout, path.dirname(path.resolve(file))) : false;
  if (inside) return { kind: 'atomic', path: file };
  if (!st.isSymbolicLink()) return { kind: 'in-place', path: file };
  let real: string;
  try {
    real = realpathSync(file);
  } catch {
    // A dangling link outside the tree: its target is created, atomically, where the link points.
    return { kind: 'atomic', path: realish(path.resolve(path.dirname(file), readlinkSync(file))) };
  }
  const target = statSync(real);
  return { kind: target.isFile() || target.isDirectory() ? 'atomic' : 'in-place', path: real };
}

/**
 * Opens a FIFO, device or descriptor path for writing and writes to it: no temp file, no rename, no fsync. In
 * append mode: `wasmci scan --report json=/dev/stdout > out.txt` must add the report after the text already
 * written to out.txt, not truncate it.
 */
async function writeInPlace(file: string, data: string | Uint8Array): Promise<void> {
  const fh = await open(file, 'a');
  try {
    await fh.writeFile(data);
  } finally {
    await fh.close();
  }
}

/** The nearest existing directory at or above `file`'s directory: the one whose permissions decide. */
function existingDir(file: string): string {
  let d = path.dirname(path.resolve(file));
  for (;;) {
    try {
      if (statSync(d).isDirectory()) return d;
    } catch {}
    const up = path.dirname(d);
    if (up === d) return d;
    d = up;
  }
}

/** The error for a report that could not be written: the path, the cause, and what to do about it. */
export function reportWriteError(what: string, file: string, err: NodeJS.ErrnoException): RuntimeError {
  const shown = printable(file);
  const code = err.code ?? 'error';
  if (code === 'EACCES' || code === 'EPERM') {
    const dir = existingDir(file);
    let owner = '';
    try {
      const st = statSync(dir);
      owner = `, and ${printable(dir)} is owned by uid ${st.uid} (mode ${(st.mode & 0o777).toString(8)})`;
    } catch {}
    const uid = process.getuid?.();
    const gid = process.getgid?.();
    return new RuntimeError(
      `cannot write the ${what} ${shown}: permission denied (${code}): wasmci runs as uid ${uid ?? '?'}${gid !== undefined ? ` (gid ${gid})` : ''}${owner}`,
      `run the job as the directory's owner (docker run --user "$(id -u):$(id -g)" ...), make it writable for uid ${uid ?? '?'} (chown/chmod), or write the report to a writable path (--report FORMAT=/tmp/FILE)`,
    );
  }
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new RuntimeError(
      `cannot write the ${what} ${shown}: no space left on the device (${code})`,
      'free disk space or write the report elsewhere; no partial report was left behind',
    );
  }
  if (code === 'EROFS') {
    return new RuntimeError(
      `cannot write the ${what} ${shown}: the file system is read-only (EROFS)`,
      'write the report to a writable path (e.g. the job directory or /tmp)',
    );
  }
  if (code === 'EISDIR' || code === 'ENOTDIR') {
    return new RuntimeError(
      `cannot write the ${what} ${shown}: ${code === 'EISDIR' ? 'it is a directory' : 'a part of the path is not a directory'} (${code})`,
      'name a file, e.g. --report json=wasmci-report.json',
    );
  }
  return new RuntimeError(`cannot write the ${what} ${shown}: ${printable(err.message)}`, 'write the report elsewhere');
}

/**
 * Writes `data` to a report target (see the module comment). `toStdout` writes the `-` target; errors are
 * RuntimeErrors naming the file and the fix.
 */
export async function writeTarget(
  file: string,
  data: string,
  o: { what: string; checkout?: Checkout; toStdout: (data: string) => Promise<void> },
): Promise<void> {
  const t = reportTarget(file, o.checkout);
  if (t.kind === 'stdout') return o.toStdout(data);
  try {
    if (t.kind === 'in-place') await writeInPlace(t.path, data);
    else await writeFileAtomic(t.path, data);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (!e.code) throw err;
    throw reportWriteError(o.what, file, e);
  }
}
