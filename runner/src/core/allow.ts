/**
 * Inline allow comments: a line containing `wasmci:allow` (or gitleaks' `gitleaks:allow`, so existing annotations
 * keep working) suppresses findings that start on that line. Found by a byte search before the batch leaves the
 * main thread, so the file's bytes need not be kept while the plugin works.
 */
const SUFFIX = Buffer.from(':allow');
const PREFIXES = [Buffer.from('wasmci'), Buffer.from('gitleaks')];

/** 1-based line numbers carrying an allow marker; undefined (the usual case) when there is none. */
export function allowedLines(data: Uint8Array): Set<number> | undefined {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let lines: Set<number> | undefined;
  // One pass for the common suffix, then a look at what precedes it.
  let at = buf.indexOf(SUFFIX);
  while (at >= 0) {
    if (PREFIXES.some((p) => at >= p.length && buf.subarray(at - p.length, at).equals(p))) {
      lines ??= new Set();
      lines.add(lineOf(buf, at));
    }
    at = buf.indexOf(SUFFIX, at + SUFFIX.length);
  }
  return lines;
}

function lineOf(buf: Buffer, offset: number): number {
  let line = 1;
  let at = buf.indexOf(10);
  while (at >= 0 && at < offset) {
    line++;
    at = buf.indexOf(10, at + 1);
  }
  return line;
}
