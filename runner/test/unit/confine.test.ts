/**
 * The path-confinement walk of the WASI layer (plugin/confine.ts), driven directly on a real temporary tree: the
 * lexical rules as pure functions, then the walk itself (links expanded here, `..` stopped at the root, handles
 * that keep their inode across renames).
 */
import {
  closeSync,
  constants,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  renameSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ConfineError,
  guestSteps,
  linkSteps,
  MAX_LINKS,
  openRoot,
  type Place,
  procPath,
  type Root,
  resolveIn,
  within,
} from '../../src/plugin/confine.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as ConfineError).code;
  }
}

describe('lexical rules', () => {
  it('within: the root itself and paths below it, not siblings sharing a prefix', () => {
    expect(within('/m', '/m')).toBe(true);
    expect(within('/m', '/m/a/b')).toBe(true);
    expect(within('/m', '/mm')).toBe(false);
    expect(within('/m', '/')).toBe(false);
    expect(within('/', '/anything')).toBe(true);
  });

  it('guestSteps drops . and empty components, keeps .., refuses absolute paths and NUL', () => {
    expect(guestSteps('a//./b/../c/')).toEqual(['a', 'b', '..', 'c']);
    expect(guestSteps('')).toEqual([]);
    expect(codeOf(() => guestSteps('/etc/passwd'))).toBe('ENOTCAPABLE');
    expect(codeOf(() => guestSteps('a\0b'))).toBe('EINVAL');
  });

  it('linkSteps: relative targets continue where the link is; absolute ones only into the mount', () => {
    expect(linkSteps('/m', '../x/y')).toEqual({ fromRoot: false, steps: ['..', 'x', 'y'] });
    expect(linkSteps('/m', '/m/a//b')).toEqual({ fromRoot: true, steps: ['a', 'b'] });
    expect(linkSteps('/m', '/m')).toEqual({ fromRoot: true, steps: [] });
    expect(codeOf(() => linkSteps('/m', '/mm/a'))).toBe('ENOTCAPABLE');
    expect(codeOf(() => linkSteps('/m', '/'))).toBe('ENOTCAPABLE');
    expect(codeOf(() => linkSteps('/m', '/etc/passwd'))).toBe('ENOTCAPABLE');
  });
});

describe('resolveIn on a real tree', () => {
  let base: string;
  let root: Root;
  const open: number[] = [];
  /** Resolves from the mount root; returns the host path of the place (directory's /proc link + name). */
  const where = (guest: string, follow = true, start?: number): string => {
    const p: Place = resolveIn(root, start ?? root.handle, guest, follow);
    try {
      const dir = readlinkSync(procPath(p.dir));
      return p.name === undefined ? dir : path.join(dir, p.name);
    } finally {
      closeSync(p.dir);
    }
  };

  beforeAll(() => {
    base = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'wasmci-confine-')));
    mkdirSync(path.join(base, 'outside'));
    writeFileSync(path.join(base, 'outside/secret'), 'secret');
    const m = path.join(base, 'm');
    mkdirSync(path.join(m, 'a/b'), { recursive: true });
    writeFileSync(path.join(m, 'a/b/f'), 'f');
    symlinkSync('b/f', path.join(m, 'a/rel')); // inside
    symlinkSync(path.join(m, 'a/b'), path.join(m, 'abs-in')); // absolute, inside
    symlinkSync('../outside/secret', path.join(m, 'up')); // out by ..
    symlinkSync(path.join(base, 'outside'), path.join(m, 'abs-out')); // absolute, out
    symlinkSync('nothing-here', path.join(m, 'dangling'));
    symlinkSync('loop2', path.join(m, 'loop1'));
    symlinkSync('loop1', path.join(m, 'loop2'));
    root = openRoot(m);
  });
  afterAll(() => {
    for (const h of open) closeSync(h);
    closeSync(root.handle);
  });

  it('follows links that stay inside, relative or absolute', () => {
    expect(where('a/rel')).toBe(path.join(root.host, 'a/b/f'));
    expect(where('abs-in/f')).toBe(path.join(root.host, 'a/b/f'));
    expect(where('a/b/../rel')).toBe(path.join(root.host, 'a/b/f'));
  });

  it('does not follow a final link unless asked', () => {
    expect(where('a/rel', false)).toBe(path.join(root.host, 'a/rel'));
    expect(where('up', false)).toBe(path.join(root.host, 'up'));
  });

  it('refuses links and .. that leave the mount, whether followed as last component or passed through', () => {
    for (const p of ['up', 'abs-out/secret', 'abs-out', '..', 'a/../..', 'a/b/../../../outside/secret']) {
      expect(
        codeOf(() => where(p)),
        p,
      ).toBe('ENOTCAPABLE');
    }
    expect(codeOf(() => where('abs-out/x', false))).toBe('ENOTCAPABLE');
  });

  it('names a missing last component (to be created) but never creates through a dangling link', () => {
    expect(where('a/new')).toBe(path.join(root.host, 'a/new'));
    expect(codeOf(() => where('dangling'))).toBe('ENOTCAPABLE');
    expect(codeOf(() => where('missing/new'))).toBe('ENOENT');
    expect(codeOf(() => where('a/b/f/x'))).toBe('ENOTDIR');
  });

  it(`stops a symlink loop after ${MAX_LINKS} links`, () => {
    expect(codeOf(() => where('loop1'))).toBe('ELOOP');
    expect(codeOf(() => where('loop1/x', false))).toBe('ELOOP');
  });

  it('a held directory keeps its inode: a symlink renamed into its old place changes nothing', () => {
    const held = openSync(path.join(root.host, 'a'), constants.O_RDONLY | constants.O_DIRECTORY);
    open.push(held);
    renameSync(path.join(root.host, 'a'), path.join(root.host, 'a-moved'));
    symlinkSync('../outside', path.join(root.host, 'a'));
    try {
      expect(where('b/f', true, held)).toBe(path.join(root.host, 'a-moved/b/f'));
      expect(where('rel', true, held)).toBe(path.join(root.host, 'a-moved/b/f'));
      // `..` from the held directory is its real parent (the root), and no further.
      expect(where('..', true, held)).toBe(root.host);
      expect(codeOf(() => where('../..', true, held))).toBe('ENOTCAPABLE');
      // The link now at `a` points out of the mount: refused when walked through.
      expect(codeOf(() => where('a/secret'))).toBe('ENOTCAPABLE');
      expect(readdirSync(procPath(held))).toEqual(['b', 'rel']);
    } finally {
      readdirSync(root.host).includes('a') && renameSync(path.join(root.host, 'a'), path.join(base, 'a-link'));
      renameSync(path.join(root.host, 'a-moved'), path.join(root.host, 'a'));
    }
  });

  it('openRoot refuses a path that is not the real path of a directory', () => {
    symlinkSync(root.host, path.join(base, 'm-link'));
    expect(() => openRoot(path.join(base, 'm-link'))).toThrow(/\/proc\/self\/fd|ELOOP|ENOTDIR/);
    expect(() => openRoot(path.join(base, 'outside/secret'))).toThrow();
  });
});
