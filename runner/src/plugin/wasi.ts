/**
 * wasmci's own WASI preview1 layer. node:wasi is not a sandbox (Node's docs say so) and cannot mount read-only,
 * so plugins get this instead: only granted mounts exist; every path is walked inside its mount from a held
 * directory handle (plugin/confine.ts: no `..` above the root, no symlink pointing out, no rename race redirecting
 * an open), every descriptor holds the object it was opened on and a directory descriptor is re-checked on every
 * use; read-only mounts refuse any write; no sockets, no environment, no arguments. Runs inside the plugin's worker
 * thread, synchronously, on the module's memory.
 */
import {
  closeSync,
  constants,
  fstatSync,
  ftruncateSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmdirSync,
  type Stats,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { confirmInside, openRoot, type Place, procPath, type Root, resolveIn } from './confine.js';
import type { Mount } from './policy.js';

const E = {
  SUCCESS: 0,
  ACCES: 2,
  BADF: 8,
  EXIST: 20,
  FAULT: 21,
  INVAL: 28,
  IO: 29,
  ISDIR: 31,
  LOOP: 32,
  MFILE: 33,
  NAMETOOLONG: 37,
  NOENT: 44,
  NOSYS: 52,
  NOTDIR: 54,
  NOTEMPTY: 55,
  PERM: 63,
  ROFS: 69,
  SPIPE: 70,
  NOTCAPABLE: 76,
} as const;

const FILETYPE = { UNKNOWN: 0, CHAR: 2, DIR: 3, FILE: 4, SYMLINK: 7 } as const;
const OFLAGS = { CREAT: 1, DIRECTORY: 2, EXCL: 4, TRUNC: 8 } as const;
const FDFLAGS_APPEND = 1;
const RIGHT_FD_WRITE = 1n << 6n;
const RIGHTS_ALL = (1n << 30n) - 1n;
const LOOKUP_SYMLINK_FOLLOW = 1;

/** Thrown by proc_exit; the worker turns it into a clean "plugin exited with code N". */
export class WasiExit extends Error {
  constructor(readonly code: number) {
    super(`plugin called proc_exit(${code})`);
  }
}

interface OpenFd {
  kind: 'dir' | 'file';
  mount: Mount;
  root: Root;
  /** The host descriptor: the object this fd was opened on, whatever is renamed afterwards. */
  handle: number;
  position: bigint;
  writable: boolean;
  append: boolean;
  /** Guest name for preopens. */
  preopen?: string;
}

/**
 * Descriptors a plugin may hold open at once, files and directories (its mounts not counted). Each is a host
 * descriptor of the whole process: unbounded, one plugin could take all of them (the soft limit Node raises to
 * the hard one, 20 000 here) and leave the runner unable to open the files it scans or write its reports. Plugins
 * hold a handful; a recursive walk one per level. (Node closes a worker's descriptors when it ends, so a killed
 * instance leaks none.)
 */
export const MAX_OPEN_FDS = 256;

export interface WasiOptions {
  mounts: Mount[];
  /** Called with the plugin's stdout/stderr bytes. */
  onOutput(fd: 1 | 2, bytes: Uint8Array): void;
}

/** Opens a directory found by a walk (the name inside it, or the walk's directory itself). */
const OPEN_DIR = constants.O_RDONLY | constants.O_DIRECTORY;

class ErrnoError extends Error {
  constructor(readonly errno: number) {
    super(`errno ${errno}`);
  }
}

function errnoFromNode(err: unknown): number {
  if (err instanceof ErrnoError) return err.errno;
  // A pointer outside the module's memory (DataView/TypedArray bounds).
  if (err instanceof RangeError) return E.FAULT;
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return E.NOENT;
    case 'EEXIST':
      return E.EXIST;
    case 'ENOTDIR':
      return E.NOTDIR;
    case 'EISDIR':
      return E.ISDIR;
    case 'ENOTEMPTY':
      return E.NOTEMPTY;
    case 'EACCES':
      return E.ACCES;
    case 'EPERM':
      return E.PERM;
    case 'ELOOP':
      return E.LOOP;
    case 'ENAMETOOLONG':
      return E.NAMETOOLONG;
    case 'ENOTCAPABLE':
      return E.NOTCAPABLE;
    case 'EINVAL':
      return E.INVAL;
    case 'EROFS':
      return E.ROFS;
    default:
      return E.IO;
  }
}

export class WasiLayer {
  #mem: WebAssembly.Memory | undefined;
  #fds = new Map<number, OpenFd>();
  #nextFd: number;
  readonly imports: Record<string, (...args: never[]) => number | undefined>;

  constructor(private readonly opts: WasiOptions) {
    opts.mounts.forEach((m, i) => {
      const root = openRoot(m.host);
      this.#fds.set(3 + i, {
        kind: 'dir',
        mount: m,
        root,
        handle: root.handle,
        position: 0n,
        writable: false,
        append: false,
        preopen: m.guest,
      });
    });
    this.#nextFd = 3 + opts.mounts.length;
    this.imports = this.#build();
  }

  setMemory(mem: WebAssembly.Memory): void {
    this.#mem = mem;
  }

  get #view(): DataView {
    if (!this.#mem) throw new Error('WASI called before memory was set');
    return new DataView(this.#mem.buffer);
  }

  #bytes(ptr: number, len: number): Uint8Array {
    if (!this.#mem) throw new Error('WASI called before memory was set');
    if (ptr < 0 || len < 0 || ptr + len > this.#mem.buffer.byteLength) throw new ErrnoError(E.FAULT);
    return new Uint8Array(this.#mem.buffer, ptr, len);
  }

  #string(ptr: number, len: number): string {
    return new TextDecoder().decode(this.#bytes(ptr, len));
  }

  #fd(fd: number): OpenFd {
    const f = this.#fds.get(fd);
    if (!f) throw new ErrnoError(E.BADF);
    return f;
  }

  /**
   * Resolves a guest path relative to directory fd `dirFd` (plugin/confine.ts) and runs `use` on where it leads;
   * the walk's directory handle is closed afterwards.
   */
  #at(
    dirFd: number,
    pathPtr: number,
    pathLen: number,
    followFinal: boolean,
    use: (place: Place, dir: OpenFd) => number,
  ): number {
    const guestPath = this.#string(pathPtr, pathLen); // a bad pointer is EFAULT before anything else
    const dir = this.#fd(dirFd);
    if (dir.kind !== 'dir') throw new ErrnoError(E.NOTDIR);
    const place = resolveIn(dir.root, dir.handle, guestPath, followFinal);
    try {
      return use(place, dir);
    } finally {
      closeSync(place.dir);
    }
  }

  /** A directory descriptor's handle, checked to be still inside its mount (it may have been moved meanwhile). */
  #dirHandle(f: OpenFd): number {
    confirmInside(f.root, f.handle, 'the directory');
    return f.handle;
  }

  #writeFilestat(ptr: number, st: Stats): void {
    const v = this.#view;
    this.#bytes(ptr, 64);
    v.setBigUint64(ptr, BigInt(st.dev), true);
    v.setBigUint64(ptr + 8, BigInt(st.ino), true);
    v.setUint8(ptr + 16, filetypeOf(st));
    v.setBigUint64(ptr + 24, BigInt(st.nlink), true);
    v.setBigUint64(ptr + 32, BigInt(st.size), true);
    v.setBigUint64(ptr + 40, BigInt(Math.trunc(st.atimeMs * 1e6)), true);
    v.setBigUint64(ptr + 48, BigInt(Math.trunc(st.mtimeMs * 1e6)), true);
    v.setBigUint64(ptr + 56, BigInt(Math.trunc(st.ctimeMs * 1e6)), true);
  }

  #build(): Record<string, (...args: never[]) => number | undefined> {
    // Each import receives Extism's CallContext first (the SDK binds it); it is unused here.
    const guard =
      <A extends unknown[]>(fn: (...args: A) => number) =>
      (_ctx: unknown, ...args: A): number => {
        try {
          return fn(...args);
        } catch (err) {
          if (err instanceof WasiExit) throw err;
          return errnoFromNode(err);
        }
      };
    const fns = {
      args_sizes_get: (argc: number, bufSize: number) => {
        this.#view.setUint32(argc, 0, true);
        this.#view.setUint32(bufSize, 0, true);
        return E.SUCCESS;
      },
      args_get: () => E.SUCCESS,
      environ_sizes_get: (count: number, bufSize: number) => {
        this.#view.setUint32(count, 0, true);
        this.#view.setUint32(bufSize, 0, true);
        return E.SUCCESS;
      },
      environ_get: () => E.SUCCESS,
      clock_res_get: (_id: number, out: number) => {
        this.#view.setBigUint64(out, 1000n, true);
        return E.SUCCESS;
      },
      clock_time_get: (id: number, _precision: bigint, out: number) => {
        const ns = id === 0 ? BigInt(Date.now()) * 1_000_000n : process.hrtime.bigint();
        this.#view.setBigUint64(out, ns, true);
        return E.SUCCESS;
      },
      random_get: (buf: number, len: number) => {
        randomFillSync(this.#bytes(buf, len));
        return E.SUCCESS;
      },
      sched_yield: () => E.SUCCESS,
      proc_exit: (code: number) => {
        throw new WasiExit(code);
      },
      proc_raise: () => E.NOSYS,
      poll_oneoff: () => E.NOSYS,
      sock_accept: () => E.NOTCAPABLE,
      sock_recv: () => E.NOTCAPABLE,
      sock_send: () => E.NOTCAPABLE,
      sock_shutdown: () => E.NOTCAPABLE,
      fd_prestat_get: (fd: number, out: number) => {
        const f = this.#fds.get(fd);
        if (!f?.preopen) return E.BADF;
        this.#view.setUint8(out, 0);
        this.#view.setUint32(out + 4, Buffer.byteLength(f.preopen), true);
        return E.SUCCESS;
      },
      fd_prestat_dir_name: (fd: number, ptr: number, len: number) => {
        const f = this.#fds.get(fd);
        if (!f?.preopen) return E.BADF;
        const name = new TextEncoder().encode(f.preopen);
        if (len < name.length) return E.NAMETOOLONG;
        this.#bytes(ptr, name.length).set(name);
        return E.SUCCESS;
      },
      fd_fdstat_get: (fd: number, out: number) => {
        const v = this.#view;
        this.#bytes(out, 24);
        if (fd <= 2) {
          v.setUint8(out, FILETYPE.CHAR);
          v.setUint16(out + 2, 0, true);
          v.setBigUint64(out + 8, fd === 0 ? 0n : RIGHT_FD_WRITE, true);
          v.setBigUint64(out + 16, 0n, true);
          return E.SUCCESS;
        }
        const f = this.#fd(fd);
        v.setUint8(out, f.kind === 'dir' ? FILETYPE.DIR : FILETYPE.FILE);
        v.setUint16(out + 2, f.append ? FDFLAGS_APPEND : 0, true);
        const base = f.mount.readOnly || (f.kind === 'file' && !f.writable) ? RIGHTS_ALL & ~RIGHT_FD_WRITE : RIGHTS_ALL;
        v.setBigUint64(out + 8, base, true);
        v.setBigUint64(out + 16, RIGHTS_ALL, true);
        return E.SUCCESS;
      },
      fd_fdstat_set_flags: () => E.SUCCESS,
      fd_fdstat_set_rights: () => E.SUCCESS,
      fd_write: (fd: number, iovs: number, iovsLen: number, nwritten: number) => {
        const chunks = this.#iovecs(iovs, iovsLen);
        let total = 0;
        if (fd === 1 || fd === 2) {
          for (const c of chunks) {
            this.opts.onOutput(fd, c.slice());
            total += c.length;
          }
        } else {
          const f = this.#fd(fd);
          if (f.kind !== 'file') return E.BADF;
          if (!f.writable) return f.mount.readOnly ? E.ROFS : E.BADF;
          for (const c of chunks) {
            const pos = f.append ? fstatSync(f.handle).size : Number(f.position);
            const n = writeSync(f.handle, c, 0, c.length, pos);
            f.position = BigInt(pos + n);
            total += n;
          }
        }
        this.#view.setUint32(nwritten, total, true);
        return E.SUCCESS;
      },
      fd_pwrite: () => E.NOSYS,
      fd_read: (fd: number, iovs: number, iovsLen: number, nread: number) => {
        if (fd === 0) {
          this.#view.setUint32(nread, 0, true);
          return E.SUCCESS;
        }
        const f = this.#fd(fd);
        if (f.kind !== 'file') return f.kind === 'dir' ? E.ISDIR : E.BADF;
        let total = 0;
        for (const c of this.#iovecs(iovs, iovsLen)) {
          const n = readSync(f.handle, c, 0, c.length, Number(f.position));
          f.position += BigInt(n);
          total += n;
          if (n < c.length) break;
        }
        this.#view.setUint32(nread, total, true);
        return E.SUCCESS;
      },
      fd_pread: (fd: number, iovs: number, iovsLen: number, offset: bigint, nread: number) => {
        const f = this.#fd(fd);
        if (f.kind !== 'file') return E.BADF;
        let total = 0;
        let pos = Number(offset);
        for (const c of this.#iovecs(iovs, iovsLen)) {
          const n = readSync(f.handle, c, 0, c.length, pos);
          pos += n;
          total += n;
          if (n < c.length) break;
        }
        this.#view.setUint32(nread, total, true);
        return E.SUCCESS;
      },
      fd_seek: (fd: number, offset: bigint, whence: number, out: number) => {
        if (fd <= 2) return E.SPIPE;
        const f = this.#fd(fd);
        if (f.kind !== 'file') return E.BADF;
        const base = whence === 0 ? 0n : whence === 1 ? f.position : BigInt(fstatSync(f.handle).size);
        const next = base + BigInt.asIntN(64, offset);
        if (next < 0n) return E.INVAL;
        f.position = next;
        this.#view.setBigUint64(out, next, true);
        return E.SUCCESS;
      },
      fd_tell: (fd: number, out: number) => {
        const f = this.#fd(fd);
        this.#view.setBigUint64(out, f.position, true);
        return E.SUCCESS;
      },
      fd_close: (fd: number) => {
        const f = this.#fd(fd);
        if (f.preopen) return E.NOTCAPABLE;
        this.#fds.delete(fd);
        closeSync(f.handle);
        return E.SUCCESS;
      },
      fd_sync: () => E.SUCCESS,
      fd_datasync: () => E.SUCCESS,
      fd_advise: () => E.SUCCESS,
      fd_allocate: () => E.NOSYS,
      fd_renumber: () => E.NOSYS,
      fd_filestat_get: (fd: number, out: number) => {
        if (fd <= 2) {
          this.#bytes(out, 64).fill(0);
          this.#view.setUint8(out + 16, FILETYPE.CHAR);
          return E.SUCCESS;
        }
        const f = this.#fd(fd);
        this.#writeFilestat(out, fstatSync(f.kind === 'dir' ? this.#dirHandle(f) : f.handle));
        return E.SUCCESS;
      },
      fd_filestat_set_size: (fd: number, size: bigint) => {
        const f = this.#fd(fd);
        if (f.kind !== 'file' || !f.writable) return f.mount.readOnly ? E.ROFS : E.BADF;
        ftruncateSync(f.handle, Number(size));
        return E.SUCCESS;
      },
      fd_filestat_set_times: () => E.NOSYS,
      fd_readdir: (fd: number, buf: number, bufLen: number, cookie: bigint, used: number) => {
        const f = this.#fd(fd);
        if (f.kind !== 'dir') return E.NOTDIR;
        // Through the descriptor: the directory opened, not whatever a rename has put at its old path since.
        const entries = readdirSync(procPath(this.#dirHandle(f)), { withFileTypes: true });
        const out = this.#bytes(buf, bufLen);
        let off = 0;
        for (let i = Number(cookie); i < entries.length && off < bufLen; i++) {
          const e = entries[i] as (typeof entries)[number];
          const name = new TextEncoder().encode(e.name);
          const header = new Uint8Array(24);
          const hv = new DataView(header.buffer);
          hv.setBigUint64(0, BigInt(i + 1), true);
          hv.setBigUint64(8, 0n, true);
          hv.setUint32(16, name.length, true);
          hv.setUint8(
            20,
            e.isDirectory()
              ? FILETYPE.DIR
              : e.isSymbolicLink()
                ? FILETYPE.SYMLINK
                : e.isFile()
                  ? FILETYPE.FILE
                  : FILETYPE.UNKNOWN,
          );
          const rec = new Uint8Array(24 + name.length);
          rec.set(header);
          rec.set(name, 24);
          const n = Math.min(rec.length, bufLen - off);
          out.set(rec.subarray(0, n), off);
          off += n;
        }
        this.#view.setUint32(used, off, true);
        return E.SUCCESS;
      },
      path_open: (
        dirFd: number,
        lookupFlags: number,
        pathPtr: number,
        pathLen: number,
        oflags: number,
        rightsBase: bigint,
        _rightsInheriting: bigint,
        fdflags: number,
        outFd: number,
      ) =>
        this.#fds.size - this.opts.mounts.length >= MAX_OPEN_FDS
          ? E.MFILE
          : this.#at(dirFd, pathPtr, pathLen, (lookupFlags & LOOKUP_SYMLINK_FOLLOW) !== 0, ({ dir, name }, parent) => {
              const { mount, root } = parent;
              const wantsWrite =
                (oflags & (OFLAGS.CREAT | OFLAGS.TRUNC)) !== 0 ||
                (BigInt(rightsBase) & RIGHT_FD_WRITE) !== 0n ||
                (fdflags & FDFLAGS_APPEND) !== 0;
              if (wantsWrite && mount.readOnly) return E.ROFS;
              const at = procPath(dir, name);
              let st: Stats | undefined;
              try {
                st = name === undefined ? fstatSync(dir) : lstatSync(at);
              } catch {
                st = undefined;
              }
              if (st?.isSymbolicLink()) return E.LOOP; // following was refused or not requested
              if (st?.isDirectory() || (oflags & OFLAGS.DIRECTORY) !== 0) {
                if (!st) return E.NOENT;
                if (!st.isDirectory()) return E.NOTDIR;
                if (wantsWrite && (oflags & (OFLAGS.CREAT | OFLAGS.TRUNC)) !== 0) return E.ISDIR;
                const handle = openSync(at, name === undefined ? OPEN_DIR : OPEN_DIR | constants.O_NOFOLLOW);
                return this.#installChecked(outFd, {
                  kind: 'dir',
                  mount,
                  root,
                  handle,
                  position: 0n,
                  writable: false,
                  append: false,
                });
              }
              if (st && !st.isFile()) return E.ACCES; // devices, fifos and sockets are never opened
              if (name === undefined) return E.ISDIR;
              // O_NOFOLLOW: never through a link swapped in since the walk; O_NONBLOCK: a FIFO swapped in cannot block.
              let flags =
                constants.O_NOFOLLOW | constants.O_NONBLOCK | (wantsWrite ? constants.O_RDWR : constants.O_RDONLY);
              if (oflags & OFLAGS.TRUNC) flags |= constants.O_TRUNC;
              const { handle, created } = openFile(at, flags, oflags);
              try {
                // Checked again on what was opened: a FIFO or device swapped in since the lstat is not kept.
                if (!fstatSync(handle).isFile()) throw new ErrnoError(E.ACCES);
                return this.#installChecked(outFd, {
                  kind: 'file',
                  mount,
                  root,
                  handle,
                  position: 0n,
                  writable: wantsWrite,
                  append: (fdflags & FDFLAGS_APPEND) !== 0,
                });
              } catch (err) {
                // Checks failed after the open: a file this call created is not left behind.
                if (created) removeIfSame(at, handle);
                closeSync(handle);
                throw err;
              }
            }),
      path_filestat_get: (dirFd: number, lookupFlags: number, pathPtr: number, pathLen: number, out: number) =>
        this.#at(dirFd, pathPtr, pathLen, (lookupFlags & LOOKUP_SYMLINK_FOLLOW) !== 0, ({ dir, name }) => {
          // A followed link was expanded by the walk: the name left is never a link to follow.
          this.#writeFilestat(out, name === undefined ? fstatSync(dir) : lstatSync(procPath(dir, name)));
          return E.SUCCESS;
        }),
      path_filestat_set_times: () => E.NOSYS,
      path_create_directory: (dirFd: number, pathPtr: number, pathLen: number) =>
        this.#at(dirFd, pathPtr, pathLen, false, ({ dir, name }, { mount }) => {
          if (mount.readOnly) return E.ROFS;
          if (name === undefined) return E.EXIST;
          mkdirSync(procPath(dir, name));
          return E.SUCCESS;
        }),
      path_remove_directory: (dirFd: number, pathPtr: number, pathLen: number) =>
        this.#at(dirFd, pathPtr, pathLen, false, ({ dir, name }, { mount }) => {
          if (mount.readOnly) return E.ROFS;
          if (name === undefined) return E.NOTCAPABLE; // the mount root, or a directory named by `.`
          rmdirSync(procPath(dir, name));
          return E.SUCCESS;
        }),
      path_unlink_file: (dirFd: number, pathPtr: number, pathLen: number) =>
        this.#at(dirFd, pathPtr, pathLen, false, ({ dir, name }, { mount }) => {
          if (mount.readOnly) return E.ROFS;
          if (name === undefined) return E.ISDIR;
          unlinkSync(procPath(dir, name));
          return E.SUCCESS;
        }),
      path_rename: (fromFd: number, fromPtr: number, fromLen: number, toFd: number, toPtr: number, toLen: number) =>
        this.#at(fromFd, fromPtr, fromLen, false, (from, { mount: fromMount }) =>
          this.#at(toFd, toPtr, toLen, false, (to, { mount: toMount }) => {
            if (fromMount.readOnly || toMount.readOnly) return E.ROFS;
            if (from.name === undefined || to.name === undefined) return E.NOTCAPABLE;
            // Both names inside verified directory handles: a rename never moves anything across a mount's edge.
            renameSync(procPath(from.dir, from.name), procPath(to.dir, to.name));
            return E.SUCCESS;
          }),
        ),
      // Plugins never create links: a link is the classic way out of a directory jail.
      path_symlink: () => E.PERM,
      path_link: () => E.PERM,
      path_readlink: () => E.NOTCAPABLE,
    };
    const wrapped: Record<string, (...args: never[]) => number | undefined> = {};
    for (const [name, fn] of Object.entries(fns)) wrapped[name] = guard(fn as (...args: unknown[]) => number) as never;
    return wrapped;
  }

  #iovecs(ptr: number, len: number): Uint8Array[] {
    const v = this.#view;
    const out: Uint8Array[] = [];
    for (let i = 0; i < len; i++) {
      const buf = v.getUint32(ptr + i * 8, true);
      const n = v.getUint32(ptr + i * 8 + 4, true);
      out.push(this.#bytes(buf, n));
    }
    return out;
  }

  /** Installs a descriptor for a handle just opened, after checking the object it holds is inside the mount. */
  #installChecked(outFd: number, f: OpenFd): number {
    try {
      confirmInside(f.root, f.handle, f.kind === 'dir' ? 'the directory' : 'the file');
      return this.#install(outFd, f);
    } catch (err) {
      if (f.kind === 'dir') closeSync(f.handle);
      throw err;
    }
  }

  #install(outFd: number, f: OpenFd): number {
    const fd = this.#nextFd;
    this.#view.setUint32(outFd, fd, true); // a bad pointer fails before anything is installed
    this.#nextFd++;
    this.#fds.set(fd, f);
    return E.SUCCESS;
  }

  /** Closes every host descriptor the layer holds, mount roots included. */
  close(): void {
    for (const f of this.#fds.values()) closeSync(f.handle);
    this.#fds.clear();
  }
}

/**
 * Opens a file named inside a verified directory. A creation is always O_EXCL (never through a link, and known to
 * be this call's, so it can be undone); a plain O_CREAT open first tries the existing file.
 */
function openFile(at: string, flags: number, oflags: number): { handle: number; created: boolean } {
  if ((oflags & OFLAGS.CREAT) === 0) return { handle: openSync(at, flags), created: false };
  const create = () => ({ handle: openSync(at, flags | constants.O_CREAT | constants.O_EXCL, 0o644), created: true });
  if (oflags & OFLAGS.EXCL) return create();
  try {
    return { handle: openSync(at, flags), created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  try {
    return create();
  } catch (err) {
    // Created by someone else between the two opens: open theirs, as O_CREAT without O_EXCL would have.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return { handle: openSync(at, flags), created: false };
  }
}

/** Unlinks `at` if it still names the file `handle` holds (and not something renamed into its place). */
function removeIfSame(at: string, handle: number): void {
  try {
    const held = fstatSync(handle, { bigint: true });
    const named = lstatSync(at, { bigint: true });
    if (held.dev === named.dev && held.ino === named.ino) unlinkSync(at);
  } catch {
    // Gone already.
  }
}

function filetypeOf(st: Stats): number {
  if (st.isDirectory()) return FILETYPE.DIR;
  if (st.isFile()) return FILETYPE.FILE;
  if (st.isSymbolicLink()) return FILETYPE.SYMLINK;
  return FILETYPE.UNKNOWN;
}
