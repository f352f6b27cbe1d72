/**
 * The patch parser (scan/targets/patch.ts) on hand-written `git log -p --cc` output, as bytes: a lone CR stays in
 * its line, combined hunks of merges count only lines new against every parent, lines git cut short make the
 * file too large, and commit headers attach to the files after them.
 */
import { describe, expect, it } from 'vitest';
import { hunkHeader, type PatchItem, parsePatch } from '../../src/scan/targets/patch.js';

async function parse(text: string | Buffer, maxBytes = 1024 * 1024): Promise<PatchItem[]> {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const lines: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const nl = bytes.indexOf(0x0a, at);
    const end = nl < 0 ? bytes.length : nl;
    lines.push(bytes.subarray(at, end));
    at = end + 1;
  }
  async function* chunks() {
    // two chunks, split mid-stream, as a pipe would deliver them
    yield lines.slice(0, 3);
    yield lines.slice(3);
  }
  const out: PatchItem[] = [];
  for await (const item of parsePatch(chunks(), maxBytes)) out.push(item);
  return out;
}

const text = (item: PatchItem | undefined) =>
  'file' in (item ?? {}) ? Buffer.from((item as { file: { data: Uint8Array } }).file.data).toString('utf8') : undefined;

describe('hunkHeader', () => {
  it('reads one-parent and combined headers', () => {
    expect(hunkHeader('@@ -1,2 +3,4 @@ fn x')).toEqual({ parents: 1, newLine: 3 });
    expect(hunkHeader('@@ -0,0 +1 @@')).toEqual({ parents: 1, newLine: 1 });
    expect(hunkHeader('@@@ -3,1 -4,0 +4,2 @@@ l')).toEqual({ parents: 2, newLine: 4 });
    expect(hunkHeader('@@@@ -1 -1 -1 +7,2 @@@@')).toEqual({ parents: 3, newLine: 7 });
    expect(hunkHeader('@@@ -1,1 +1,1 @@@')).toBeUndefined(); // two parents need two ranges
    expect(hunkHeader('@ -1 +1 @')).toBeUndefined();
  });
});

describe('parsePatch', () => {
  it('keeps a lone CR inside its line and reads the lines after it', async () => {
    const items = await parse(
      '\x01sha1\x01A\x01a@x\x012024-01-01T00:00:00Z\n\ndiff --git a/n.txt b/n.txt\n--- /dev/null\n+++ b/n.txt\n@@ -0,0 +1,3 @@\n+one\rTWO\n+# c\r# d\n+three\n',
    );
    expect(items).toHaveLength(1);
    expect(text(items[0])).toBe('one\rTWO\n# c\r# d\nthree\n');
    expect(items[0] && 'file' in items[0] && items[0].file.commit?.sha).toBe('sha1');
  });

  it('puts added lines at their line numbers, blank elsewhere, across hunks', async () => {
    const items = await parse(
      'diff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1,0 +2 @@\n+two\n@@ -3 +4,0 @@\n-gone\n@@ -5,0 +6,1 @@\n+six\n',
    );
    expect(text(items[0])).toBe('\ntwo\n\n\n\nsix\n');
  });

  it('a merge: only lines new against every parent, at their line in the result', async () => {
    const items = await parse(
      [
        '\x01m\x01A\x01a@x\x01d',
        '',
        'diff --cc f.txt',
        'index 1,2..3',
        '--- a/f.txt',
        '+++ b/f.txt',
        '@@@ -3,1 -4,0 +4,3 @@@ l',
        '++EVIL',
        ' +from-parent-2',
        '+ from-parent-1',
        '- removed-from-1',
        ' -removed-from-2',
        '\\ No newline at end of file',
        'diff --cc s.txt',
        '--- a/s.txt',
        '+++ b/s.txt',
        '@@@ -1,0 -1,1 +1,1 @@@',
        '+ sidefile',
        '',
      ].join('\n'),
    );
    // s.txt added nothing new against both parents: no item
    expect(items).toHaveLength(1);
    expect(items[0] && 'file' in items[0] && items[0].file.path).toBe('f.txt');
    expect(text(items[0])).toBe('\n\n\nEVIL\n');
  });

  it('bytes that are not UTF-8 and NULs reach the scanner unchanged (it sniffs binaries itself)', async () => {
    const patch = Buffer.concat([
      Buffer.from('diff --git a/b.bin b/b.bin\n--- /dev/null\n+++ b/b.bin\n@@ -0,0 +1 @@\n+'),
      Buffer.from([0xff, 0x00, 0xfe, 0x0d, 0x41]),
      Buffer.from('\n'),
    ]);
    const items = await parse(patch);
    expect(items[0] && 'file' in items[0] && Buffer.from(items[0].file.data)).toEqual(
      Buffer.from([0xff, 0x00, 0xfe, 0x0d, 0x41, 0x0a]),
    );
  });

  it('added content over the limit is a visible skip, not a partial file', async () => {
    const items = await parse(
      `\x01c9\x01A\x01a\x01d\ndiff --git a/big b/big\n+++ b/big\n@@ -0,0 +1,2 @@\n+${'x'.repeat(60)}\n+${'y'.repeat(60)}\n`,
      100,
    );
    expect(items).toEqual([
      { skipped: { path: 'big', reason: 'too-large', detail: 'added content over 100 bytes in commit c9' } },
    ]);
  });

  it('a line that looks like a header inside a hunk is content; a header after it starts a new file', async () => {
    const items = await parse(
      'diff --git a/a b/a\n+++ b/a\n@@ -0,0 +1,2 @@\n++++ b/other\n+diff --git a/x b/x\ndiff --git a/b b/b\n+++ b/b\n@@ -0,0 +1 @@\n+bee\n',
    );
    expect(items.map((i) => ('file' in i ? [i.file.path, text(i)] : i))).toEqual([
      ['a', '+++ b/other\ndiff --git a/x b/x\n'],
      ['b', 'bee\n'],
    ]);
  });
});
