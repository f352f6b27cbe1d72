/**
 * Pure parts of the CLI-robustness work: fingerprint prefixes, rule-id suggestions, archive member names and
 * bounds, report targets and their error messages, project-relative paths, and the coverage notes.
 */
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { projectPrefix } from '../../src/core/checkout.js';
import type { ScanResult } from '../../src/core/model.js';
import { RuntimeError, UsageError } from '../../src/errors.js';
import { reportTarget, reportWriteError } from '../../src/report/target.js';
import { coverageNotes } from '../../src/scan/index.js';
import { resolvePrefix } from '../../src/scan/ignore-file.js';
import { closest, editDistance, unknownRuleIds } from '../../src/scan/rule-ids.js';
import { archiveKindOf, expandArchive, memberName } from '../../src/scan/targets/archive.js';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'wasmci-unit-'));

describe('fingerprint prefixes', () => {
  const a = `abcdef0123456789${'0'.repeat(48)}`;
  const b = `abcdef0123456789${'1'.repeat(48)}`;
  const c = `1234567890abcdef${'2'.repeat(48)}`;
  it('a unique prefix resolves to the whole fingerprint', () => {
    expect(resolvePrefix('1234567890ABCDEF', [a, b, c], 'here')).toBe(c);
    expect(resolvePrefix('abcdef01234567890', [a, b, c], 'here')).toBe(a);
  });
  it('an ambiguous prefix is a usage error listing the candidates', () => {
    expect(() => resolvePrefix('abcdef0123456789', [a, b, c], 'in r.json')).toThrow(UsageError);
    expect(() => resolvePrefix('abcdef0123456789', [a, b, c], 'in r.json')).toThrow(
      `abcdef0123456789 is ambiguous: 2 fingerprints in r.json start with it: ${a}, ${b}`,
    );
  });
  it('too short, not hex, or matching nothing: usage errors', () => {
    expect(() => resolvePrefix('abcdef0', [a], 'x')).toThrow(/not a fingerprint/);
    expect(() => resolvePrefix('zzzzzzzzzz', [a], 'x')).toThrow(/not a fingerprint/);
    expect(() => resolvePrefix('ffffffffff', [a], 'in r.json')).toThrow('no finding in r.json has a fingerprint');
  });
});

describe('rule ids', () => {
  const rules = [
    { id: 'aws-access-key-id', description: '', severity: 'high' as const, tags: ['aws', 'cloud'] },
    { id: 'github-pat', description: '', severity: 'high' as const, tags: ['github'] },
  ];
  it('edit distance and the closest id', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(
      closest(
        'aws-acess-key-id',
        rules.map((r) => r.id),
      ),
    ).toBe('aws-access-key-id');
    expect(
      closest(
        'totally-different-thing',
        rules.map((r) => r.id),
      ),
    ).toBeUndefined();
  });
  it('unknown ids in disable (ids and tag:x) and severity; custom rule ids count as known', () => {
    const u = unknownRuleIds(
      {
        disable: 'aws-acess-key-id, tag:githb github-pat my-rule',
        severity: '{"github-pta":"low","aws-access-key-id":"low"}',
        rules: '[[rules]]\nid = "my-rule"\nregex = "x"\n',
      },
      rules,
    );
    expect(u).toEqual([
      { key: 'disable', id: 'aws-acess-key-id', suggestion: 'aws-access-key-id' },
      { key: 'disable', id: 'tag:githb', suggestion: 'tag:github' },
      { key: 'severity', id: 'github-pta', suggestion: 'github-pat' },
    ]);
  });
});

function zip(entries: { name: string; data: Buffer; method?: 0 | 8; unixMode?: number }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const method = e.method ?? 8;
    const body = method === 8 ? deflateRawSync(e.data) : e.data;
    const name = Buffer.from(e.name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(e.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(((e.unixMode ?? 0o100644) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += 30 + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}

describe('archives', () => {
  it('kinds by name', () => {
    expect(['a.zip', 'b.JAR', 'c.war', 'd.ear', 'e.tar', 'f.tar.gz', 'g.tgz', 'h.gz'].map(archiveKindOf)).toEqual([
      'zip',
      'zip',
      'zip',
      'zip',
      'tar',
      'tgz',
      'tgz',
      undefined,
    ]);
  });
  it('member names are labels: no leading /, no .., forward slashes', () => {
    expect(memberName('/etc/passwd')).toBe('etc/passwd');
    expect(memberName('../../x/./y')).toBe('x/y');
    expect(memberName('a\\b\\c.txt')).toBe('a/b/c.txt');
  });
  it('reads stored and deflated members, skips links, refuses a bomb by ratio before inflating it', async () => {
    const data = zip([
      { name: 'a.txt', data: Buffer.from('hello\n'), method: 0 },
      { name: '../b.txt', data: Buffer.from('world\n') },
      { name: 'link', data: Buffer.from('/etc/passwd'), unixMode: 0o120777 },
      { name: 'zeros', data: Buffer.alloc(8 * 1024 * 1024) },
    ]);
    const x = await expandArchive('t.zip', 'zip', data, { depth: 2, maxMemberBytes: 10 * 1024 * 1024 });
    expect(x.members.map((m) => [m.path, Buffer.from(m.data).toString()])).toEqual([
      ['t.zip!a.txt', 'hello\n'],
      ['t.zip!b.txt', 'world\n'],
    ]);
    expect(x.skipped.map((s) => [s.path, s.reason])).toEqual([
      ['t.zip!link', 'symlink'],
      ['t.zip!zeros', 'too-large'],
    ]);
  });
  it('a member whose header lies about its size is still capped while inflating', async () => {
    const bomb = zip([{ name: 'x', data: Buffer.alloc(3 * 1024 * 1024) }]);
    // claim 1 KiB uncompressed in the central directory: the ratio check passes, the inflate cap does not
    const cd = bomb.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    bomb.writeUInt32LE(1024, cd + 24);
    const x = await expandArchive('l.zip', 'zip', bomb, { depth: 1, maxMemberBytes: 1024 * 1024 });
    expect(x.members).toEqual([]);
    expect(x.skipped).toEqual([{ path: 'l.zip!x', reason: 'too-large', detail: 'inflates past 1 MiB' }]);
  });
  it('nested to the depth, then reported as excluded; a corrupt archive is one unreadable entry', async () => {
    const inner = zip([{ name: 'k.txt', data: Buffer.from('k\n') }]);
    const outer = zip([{ name: 'in.zip', data: inner }]);
    const two = await expandArchive('o.zip', 'zip', outer, { depth: 2, maxMemberBytes: 1 << 20 });
    expect(two.members.map((m) => m.path)).toEqual(['o.zip!in.zip!k.txt']);
    const one = await expandArchive('o.zip', 'zip', outer, { depth: 1, maxMemberBytes: 1 << 20 });
    expect(one.members).toEqual([]);
    expect(one.skipped[0]).toMatchObject({ path: 'o.zip!in.zip', reason: 'excluded' });
    const { gzipSync } = await import('node:zlib');
    const twice = await expandArchive('t.tar', 'tar', gzipSync(Buffer.alloc(4096)), {
      depth: 2,
      maxMemberBytes: 1 << 20,
    });
    expect(twice.skipped).toEqual([
      { path: 't.tar', reason: 'unreadable', detail: 'archive: compressed twice (gzip inside tar)' },
    ]);
    const bad = await expandArchive('bad.zip', 'zip', Buffer.from('not a zip at all, not at all'), {
      depth: 2,
      maxMemberBytes: 1 << 20,
    });
    expect(bad.skipped).toEqual([
      { path: 'bad.zip', reason: 'unreadable', detail: 'archive: not a zip file (no end of central directory)' },
    ]);
  });
});

describe('report targets', () => {
  it('stdout, regular files, devices, links inside and outside the checkout', () => {
    const inside = tmp();
    const outside = tmp();
    const checkout = { roots: [inside] };
    writeFileSync(path.join(outside, 'real.json'), '{}');
    symlinkSync(path.join(outside, 'real.json'), path.join(inside, 'planted.json'));
    symlinkSync(path.join(outside, 'real.json'), path.join(outside, 'own.json'));
    symlinkSync('/dev/null', path.join(outside, 'null.json'));
    expect(reportTarget('-', checkout)).toEqual({ kind: 'stdout', path: '-' });
    expect(reportTarget(path.join(inside, 'new.json'), checkout).kind).toBe('atomic');
    expect(reportTarget('/dev/null', checkout)).toEqual({ kind: 'in-place', path: '/dev/null' });
    expect(reportTarget(path.join(inside, 'planted.json'), checkout)).toEqual({
      kind: 'atomic',
      path: path.join(inside, 'planted.json'),
    });
    expect(reportTarget(path.join(outside, 'own.json'), checkout)).toEqual({
      kind: 'atomic',
      path: path.join(outside, 'real.json'),
    });
    expect(reportTarget(path.join(outside, 'null.json'), checkout)).toEqual({ kind: 'in-place', path: '/dev/null' });
  });
  it('errors name the path, the cause and the fix; EACCES names uid and owner, never "disk space"', () => {
    const dir = tmp();
    const file = path.join(dir, 'sub', 'gl.json');
    const err = (code: string) => Object.assign(new Error(`${code}: x`), { code });
    const acc = reportWriteError('gitlab report', file, err('EACCES'));
    expect(acc).toBeInstanceOf(RuntimeError);
    expect(acc.message).toContain(
      `cannot write the gitlab report ${file}: permission denied (EACCES): wasmci runs as uid ${process.getuid?.()}`,
    );
    expect(acc.message).toMatch(new RegExp(`${dir} is owned by uid \\d+ \\(mode [0-7]+\\)`));
    expect(acc.hint).toContain('--user "$(id -u):$(id -g)"');
    expect(acc.hint).not.toMatch(/disk space/);
    expect(reportWriteError('json report', file, err('EPERM')).message).toContain('permission denied (EPERM)');
    expect(reportWriteError('json report', file, err('ENOSPC')).hint).toContain('free disk space');
    const ro = reportWriteError('json report', file, err('EROFS'));
    expect(ro.message).toContain('the file system is read-only (EROFS)');
    expect(ro.hint).not.toMatch(/disk space/);
  });
});

describe('project-relative paths', () => {
  it('a subdirectory of a work tree, of CI_PROJECT_DIR; outside it; not a work tree', () => {
    const top = tmp();
    mkdirSync(path.join(top, '.git'));
    mkdirSync(path.join(top, 'src', 'lib'), { recursive: true });
    expect(projectPrefix(path.join(top, 'src', 'lib'), {}, path.join(top, 'src'))).toBe('src/lib');
    expect(projectPrefix(top, {})).toBe('');
    expect(projectPrefix(path.join(top, 'src'), { CI_PROJECT_DIR: top })).toBe('src');
    expect(projectPrefix(path.join(top, 'src'), { GITHUB_WORKSPACE: path.join(top, 'src', 'lib') })).toBe('');
    const plain = tmp();
    mkdirSync(path.join(plain, 'sub'));
    expect(projectPrefix(plain, {}, '/nonexistent')).toBe('');
    expect(projectPrefix(path.join(plain, 'sub'), {}, plain)).toBe('sub');
  });
});

describe('coverage notes', () => {
  const result = (over: Partial<ScanResult['stats']>, skipped: ScanResult['skipped'] = []) =>
    ({
      findings: [],
      errors: [],
      skipped,
      stats: { files: 0, bytes: 0, durationMs: 0, startedAt: '', finishedAt: '', ...over },
    }) as unknown as ScanResult;
  const s = { include: [] as string[], exclude: [] as string[], gitignore: true, target: { mode: 'files' as const } };
  it('names an unreadable directory and the first paths', () => {
    const notes = coverageNotes(
      result({ files: 3, bytes: 10 }, [
        { path: 'secret/', reason: 'unreadable', detail: 'directory: EACCES' },
        { path: 'x.bin', reason: 'binary' },
      ]),
      { path: '.' },
      s,
    );
    expect(notes).toEqual([
      {
        level: 'info',
        text: 'scanned 3 file(s), 10 bytes, in . (files, .gitignore honoured); skipped: unreadable 1, binary 1',
      },
      { level: 'warn', text: '1 unreadable path(s) skipped, not scanned: secret/ (directory: EACCES)' },
    ]);
  });
  it('zero files: the include typo, all excluded, all skipped, an empty directory', () => {
    const warn = (r: ScanResult, x: Partial<typeof s> = {}) =>
      coverageNotes(r, { path: 'p' }, { ...s, ...x }).find((n) => n.level === 'warn')?.text;
    expect(warn(result({ excluded: 4 }), { include: ['scr/**'] })).toContain('no file matched --include scr/**');
    expect(warn(result({ excluded: 4 }))).toContain('all 4 file(s) were left out by the exclude globs');
    expect(warn(result({}, [{ path: 'a', reason: 'binary' }]))).toContain('all 1 file(s) were skipped (binary 1)');
    expect(warn(result({}))).toContain('p holds no file to scan');
    expect(
      coverageNotes(result({}), { path: 'p' }, { ...s, target: { mode: 'diff', base: 'x' } as never }).some(
        (n) => n.level === 'warn',
      ),
    ).toBe(false);
  });
});
