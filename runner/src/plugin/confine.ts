/**
 * Keeps every file a plugin reaches inside its mount, even while the plugin (or a sibling instance sharing the
 * mount) renames things under it (issue 15 item 8). The kernel never resolves a guest path across a symlink:
 * Node has no openat, but on Linux `/proc/self/fd/N/name` names `name` inside the directory descriptor N holds
 * (the magic link jumps to the opened inode, not to a path a rename could redirect). So a guest path is walked one
 * component at a time from a held directory handle, each directory opened with O_NOFOLLOW; symlinks are read and
 * expanded here (40 at most, Linux's MAXSYMLINKS), relative to the directory holding them or, for an absolute
 * target, from the mount root it names; `..` stops at the mount root (same device and inode); and the directory the
 * walk ends in is checked once more through its /proc link before it is used. Every operation then acts on a name
 * inside that verified directory handle, never on a path string.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, type Stats } from 'node:fs';
import path from 'node:path';

/** Linux's MAXSYMLINKS: a walk that expands more links than this fails with ELOOP. */
export const MAX_LINKS = 40;

/** A directory handle re-opened through /proc follows the magic link, so no O_NOFOLLOW (it would refuse it). */
const REOPEN_DIR = constants.O_RDONLY | constants.O_DIRECTORY;
/** A child directory is opened without following a symlink swapped into its place since it was looked at. */
const CHILD_DIR = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/** A failure with the Node-style code the WASI layer maps to an errno; ENOTCAPABLE is an attempted escape. */
export class ConfineError extends Error {
  constructor(
    readonly code: 'ENOTCAPABLE' | 'ELOOP' | 'EINVAL' | 'ENOENT' | 'ENOTDIR',
    message: string,
  ) {
    super(message);
  }
}

const leaves = (what: string) => new ConfineError('ENOTCAPABLE', `${what} leaves the mount`);

/** A mount root held open for the life of the plugin instance. */
export interface Root {
  /** Absolute, symlink-free host path (policy.ts makeMount). */
  host: string;
  handle: number;
  dev: bigint;
  ino: bigint;
}

/** Where a guest path leads: a verified directory handle (the caller closes it) and a name in it, if any. */
export interface Place {
  dir: number;
  /** Undefined when the path names the directory itself (`.`, `a/..`, ``). */
  name?: string;
}

/** The /proc path that names descriptor `handle` itself, or `name` inside the directory it holds. */
export function procPath(handle: number, name?: string): string {
  return name === undefined ? `/proc/self/fd/${handle}` : `/proc/self/fd/${handle}/${name}`;
}

/** True if `p` is `root` or below it (both absolute and normalized). */
export function within(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

/**
 * The components of a guest path, relative to the directory it is resolved from: `.` and empty components dropped,
 * `..` kept (the walk resolves it). Absolute guest paths never reach the host (WASI libc makes them relative to a
 * preopen); NUL cannot be in a host name.
 */
export function guestSteps(guestPath: string): string[] {
  if (guestPath.includes('\0')) throw new ConfineError('EINVAL', 'a path with a NUL byte');
  if (guestPath.startsWith('/')) throw leaves(`the absolute path ${guestPath}`);
  return guestPath.split('/').filter((c) => c !== '' && c !== '.');
}

/**
 * How to follow a symlink's target: relative targets continue from the directory holding the link; an absolute
 * target is followed only if it names the mount root or a path below it, and continues from the root.
 */
export function linkSteps(rootHost: string, target: string): { fromRoot: boolean; steps: string[] } {
  if (target.includes('\0')) throw new ConfineError('EINVAL', 'a link target with a NUL byte');
  if (!target.startsWith('/')) return { fromRoot: false, steps: guestSteps(target) };
  const prefix = rootHost.endsWith('/') ? rootHost : `${rootHost}/`;
  const t = target.replace(/\/+/g, '/');
  if (t !== rootHost && t !== prefix.slice(0, -1) && !t.startsWith(prefix))
    throw leaves('a symlink to an absolute path');
  return { fromRoot: true, steps: guestSteps(t.slice(prefix.length)) };
}

/** Opens a mount root; fails (an Error for the worker to report) if /proc/self/fd does not work here. */
export function openRoot(host: string): Root {
  const handle = openSync(host, CHILD_DIR);
  try {
    const linked = readlinkSync(procPath(handle));
    if (linked !== host) throw new Error(`/proc/self/fd names the mount ${host} as ${linked}`);
    const st = fstatSync(handle, { bigint: true });
    return { host, handle, dev: st.dev, ino: st.ino };
  } catch (err) {
    closeSync(handle);
    throw new Error(
      `mounts need Linux's /proc/self/fd to confine the plugin, and it does not work here: ${(err as Error).message}`,
    );
  }
}

/**
 * Fails unless the object `handle` holds is still inside the mount: its /proc link (the kernel's current path of
 * the inode) must lie under the root. A directory removed meanwhile (nlink 0) is gone, not inside.
 */
export function confirmInside(root: Root, handle: number, what = 'the path'): void {
  const linked = readlinkSync(procPath(handle));
  if (!within(root.host, linked)) throw leaves(what);
  if (fstatSync(handle).nlink === 0) throw new ConfineError('ENOENT', `${what} was removed`);
}

/** The parent of directory `dir`, unless `dir` is the mount root. */
function parentOf(root: Root, dir: number): number {
  const st = fstatSync(dir, { bigint: true });
  if (st.dev === root.dev && st.ino === root.ino) throw leaves('`..` at the mount root');
  return openSync(procPath(dir, '..'), REOPEN_DIR);
}

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

/**
 * Resolves `guestPath` relative to directory handle `start` (which stays open; it is the caller's) inside `root`.
 * With `followFinal`, a symlink as last component is followed too, but only to an existing object: nothing is ever
 * created through a symlink. The returned directory handle is verified inside the mount; the caller closes it.
 */
export function resolveIn(root: Root, start: number, guestPath: string, followFinal: boolean): Place {
  const todo = guestSteps(guestPath);
  let cur = openSync(procPath(start), REOPEN_DIR);
  const move = (next: number) => {
    closeSync(cur);
    cur = next;
  };
  let links = 0;
  /** The last component came out of a symlink's target: it must exist. */
  let finalFromLink = false;
  try {
    while (todo.length > 0) {
      const c = todo.shift() as string;
      const last = todo.length === 0;
      if (c === '..') {
        move(parentOf(root, cur));
        continue;
      }
      if (last && !followFinal) return done(root, cur, c);
      let st: Stats | undefined;
      try {
        st = lstatSync(procPath(cur, c));
      } catch (err) {
        if (code(err) !== 'ENOENT' || !last) throw err;
      }
      if (!st) {
        // A last component that does not exist yet: named for creation, unless a link's target named it.
        if (finalFromLink) throw leaves('creating through a dangling symlink');
        return done(root, cur, c);
      }
      const isLink = st.isSymbolicLink();
      if (!isLink && last) return done(root, cur, c);
      if (!isLink && !st.isDirectory()) throw new ConfineError('ENOTDIR', `${c} is not a directory`);
      if (!isLink) {
        let next: number;
        try {
          next = openSync(procPath(cur, c), CHILD_DIR);
        } catch (err) {
          // Swapped for a link (or a file) since the lstat: O_NOFOLLOW refused it. Look at the component again,
          // counted as a link so that a renaming loop cannot keep the walk going.
          if (code(err) !== 'ELOOP' && code(err) !== 'ENOTDIR') throw err;
          if (++links > MAX_LINKS) throw new ConfineError('ELOOP', 'too many symlinks or swaps');
          todo.unshift(c);
          continue;
        }
        move(next);
        continue;
      }
      if (++links > MAX_LINKS) throw new ConfineError('ELOOP', 'too many symlinks');
      const { fromRoot, steps } = linkSteps(root.host, readlinkSync(procPath(cur, c)));
      if (fromRoot) move(openSync(procPath(root.handle), REOPEN_DIR));
      if (last) finalFromLink = true;
      todo.unshift(...steps);
    }
    return done(root, cur);
  } catch (err) {
    closeSync(cur);
    throw err;
  }
}

function done(root: Root, dir: number, name?: string): Place {
  confirmInside(root, dir);
  return { dir, name };
}
