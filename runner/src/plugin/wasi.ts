/**
 * wasmci's own WASI preview1 layer. node:wasi is not a sandbox (Node's docs say so) and cannot mount read-only,
 * so plugins get this instead: only granted mounts exist; every path is resolved inside its mount (no `..`
 * escape, no symlink pointing out, checked on the real path); read-only mounts refuse any write; no sockets,
 * no environment, no arguments. Runs inside the plugin's worker thread, synchronously, on the module's memory.
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
  realpathSync,
  renameSync,
  rmdirSync,
  type Stats,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { randomFillSync } from 'node:crypto';
import path from 'node:path';
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
  /** Real host path of this fd (inside mount.host). */
  host: string;
  handle?: number;
  position: bigint;
  writable: boolean;
  append: boolean;
  /** Guest name for preopens. */
  preopen?: string;
}

export interface WasiOptions {
  mounts: Mount[];
  /** Called with the plugin's stdout/stderr bytes. */
  onOutput(fd: 1 | 2, bytes: Uint8Array): void;
}

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
    case 'EROFS':
      return E.ROFS;
    default:
      return E.IO;
  }
}

function within(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

export class WasiLayer {
  #mem: WebAssembly.Memory | undefined;
  #fds = new Map<number, OpenFd>();
  #nextFd: number;
  readonly imports: Record<string, (...args: never[]) => number | undefined>;

  constructor(private readonly opts: WasiOptions) {
    opts.mounts.forEach((m, i) => {
      this.#fds.set(3 + i, {
        kind: 'dir',
        mount: m,
        host: m.host,
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
   * Resolves a guest path relative to a directory fd to a host path inside the same mount. Rejects escapes
   * lexically (`..` above the mount) and physically (symlinks whose target lies outside the mount).
   */
  #resolve(dirFd: number, guestPath: string, followFinal: boolean): { host: string; mount: Mount } {
    const dir = this.#fd(dirFd);
    if (dir.kind !== 'dir') throw new ErrnoError(E.NOTDIR);
    if (guestPath.includes('\0')) throw new ErrnoError(E.INVAL);
    if (guestPath.startsWith('/')) throw new ErrnoError(E.NOTCAPABLE);
    const rel = path.relative(dir.mount.host, dir.host);
    const joined = path.posix.normalize(path.posix.join(rel.split(path.sep).join('/'), guestPath));
    if (joined === '..' || joined.startsWith('../')) throw new ErrnoError(E.NOTCAPABLE);
    const host = path.join(dir.mount.host, joined);
    if (joined === '.') return { host: dir.mount.host, mount: dir.mount };
    // Physical check: the real path of the parent (and of the target, when following) must stay in the mount.
    const parent = path.dirname(host);
    let realParent: string;
    try {
      realParent = realpathSync(parent);
    } catch (err) {
      throw new ErrnoError(errnoFromNode(err));
    }
    if (!within(dir.mount.host, realParent)) throw new ErrnoError(E.NOTCAPABLE);
    let target = path.join(realParent, path.basename(host));
    if (host === dir.mount.host || joined === '.') target = dir.mount.host;
    if (followFinal) {
      try {
        const real = realpathSync(target);
        if (!within(dir.mount.host, real)) throw new ErrnoError(E.NOTCAPABLE);
        target = real;
      } catch (err) {
        if (err instanceof ErrnoError) throw err;
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT') throw new ErrnoError(errnoFromNode(err));
        // A dangling symlink must not be created through: refuse if the final component is a link.
        try {
          if (lstatSync(target).isSymbolicLink()) throw new ErrnoError(E.NOTCAPABLE);
        } catch (e) {
          if (e instanceof ErrnoError) throw e;
        }
      }
    }
    return { host: target, mount: dir.mount };
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
          if (f.kind !== 'file' || f.handle === undefined) return E.BADF;
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
        if (f.kind !== 'file' || f.handle === undefined) return f.kind === 'dir' ? E.ISDIR : E.BADF;
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
        if (f.kind !== 'file' || f.handle === undefined) return E.BADF;
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
        if (f.kind !== 'file' || f.handle === undefined) return E.BADF;
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
        if (f.handle !== undefined) closeSync(f.handle);
        this.#fds.delete(fd);
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
        this.#writeFilestat(out, f.handle !== undefined ? fstatSync(f.handle) : statSync(f.host));
        return E.SUCCESS;
      },
      fd_filestat_set_size: (fd: number, size: bigint) => {
        const f = this.#fd(fd);
        if (!f.writable || f.handle === undefined) return f.mount.readOnly ? E.ROFS : E.BADF;
        ftruncateSync(f.handle, Number(size));
        return E.SUCCESS;
      },
      fd_filestat_set_times: () => E.NOSYS,
      fd_readdir: (fd: number, buf: number, bufLen: number, cookie: bigint, used: number) => {
        const f = this.#fd(fd);
        if (f.kind !== 'dir') return E.NOTDIR;
        const entries = readdirSync(f.host, { withFileTypes: true });
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
      ) => {
        const { host, mount } = this.#resolve(
          dirFd,
          this.#string(pathPtr, pathLen),
          (lookupFlags & LOOKUP_SYMLINK_FOLLOW) !== 0,
        );
        const wantsWrite =
          (oflags & (OFLAGS.CREAT | OFLAGS.TRUNC)) !== 0 ||
          (BigInt(rightsBase) & RIGHT_FD_WRITE) !== 0n ||
          (fdflags & FDFLAGS_APPEND) !== 0;
        if (wantsWrite && mount.readOnly) return E.ROFS;
        let st: Stats | undefined;
        try {
          st = lstatSync(host);
        } catch {
          st = undefined;
        }
        if (st?.isSymbolicLink()) return E.LOOP; // following was refused or not requested
        if (st?.isDirectory() || (oflags & OFLAGS.DIRECTORY) !== 0) {
          if (!st) return E.NOENT;
          if (!st.isDirectory()) return E.NOTDIR;
          if (wantsWrite && (oflags & (OFLAGS.CREAT | OFLAGS.TRUNC)) !== 0) return E.ISDIR;
          return this.#install(outFd, { kind: 'dir', mount, host, position: 0n, writable: false, append: false });
        }
        if (st && !st.isFile()) return E.ACCES; // devices, fifos and sockets are never opened
        let flags = constants.O_NOFOLLOW | (wantsWrite ? constants.O_RDWR : constants.O_RDONLY);
        if (oflags & OFLAGS.CREAT) flags |= constants.O_CREAT;
        if (oflags & OFLAGS.EXCL) flags |= constants.O_EXCL;
        if (oflags & OFLAGS.TRUNC) flags |= constants.O_TRUNC;
        const handle = openSync(host, flags, 0o644);
        return this.#install(outFd, {
          kind: 'file',
          mount,
          host,
          handle,
          position: 0n,
          writable: wantsWrite,
          append: (fdflags & FDFLAGS_APPEND) !== 0,
        });
      },
      path_filestat_get: (dirFd: number, lookupFlags: number, pathPtr: number, pathLen: number, out: number) => {
        const follow = (lookupFlags & LOOKUP_SYMLINK_FOLLOW) !== 0;
        const { host } = this.#resolve(dirFd, this.#string(pathPtr, pathLen), follow);
        this.#writeFilestat(out, follow ? statSync(host) : lstatSync(host));
        return E.SUCCESS;
      },
      path_filestat_set_times: () => E.NOSYS,
      path_create_directory: (dirFd: number, pathPtr: number, pathLen: number) => {
        const { host, mount } = this.#resolve(dirFd, this.#string(pathPtr, pathLen), false);
        if (mount.readOnly) return E.ROFS;
        mkdirSync(host);
        return E.SUCCESS;
      },
      path_remove_directory: (dirFd: number, pathPtr: number, pathLen: number) => {
        const { host, mount } = this.#resolve(dirFd, this.#string(pathPtr, pathLen), false);
        if (mount.readOnly) return E.ROFS;
        if (host === mount.host) return E.NOTCAPABLE;
        rmdirSync(host);
        return E.SUCCESS;
      },
      path_unlink_file: (dirFd: number, pathPtr: number, pathLen: number) => {
        const { host, mount } = this.#resolve(dirFd, this.#string(pathPtr, pathLen), false);
        if (mount.readOnly) return E.ROFS;
        unlinkSync(host);
        return E.SUCCESS;
      },
      path_rename: (fromFd: number, fromPtr: number, fromLen: number, toFd: number, toPtr: number, toLen: number) => {
        const from = this.#resolve(fromFd, this.#string(fromPtr, fromLen), false);
        const to = this.#resolve(toFd, this.#string(toPtr, toLen), false);
        if (from.mount.readOnly || to.mount.readOnly) return E.ROFS;
        renameSync(from.host, to.host);
        return E.SUCCESS;
      },
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

  #install(outFd: number, f: OpenFd): number {
    const fd = this.#nextFd++;
    this.#fds.set(fd, f);
    this.#view.setUint32(outFd, fd, true);
    return E.SUCCESS;
  }

  /** Closes every host file the plugin left open. */
  close(): void {
    for (const f of this.#fds.values()) if (f.handle !== undefined) closeSync(f.handle);
    this.#fds.clear();
  }
}

function filetypeOf(st: Stats): number {
  if (st.isDirectory()) return FILETYPE.DIR;
  if (st.isFile()) return FILETYPE.FILE;
  if (st.isSymbolicLink()) return FILETYPE.SYMLINK;
  return FILETYPE.UNKNOWN;
}
