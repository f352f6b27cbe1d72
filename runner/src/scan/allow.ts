/**
 * Inline allow comments: a line containing `wasmci:allow` (or gitleaks' `gitleaks:allow`, so existing annotations
 * keep working) suppresses findings that start on that line. Found by a byte search before the batch leaves the
 * main thread, so the file's bytes need not be kept while the plugin works.
 */
const MARKERS = [Buffer.from('wasmci:allow'), Buffer.from('gitleaks:allow')];

/** 1-based line numbers carrying an allow marker; undefined (the usual case) when there is none. */
export function allowedLines(data: Uint8Array): Set<number> | undefined {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let lines: Set<number> | undefined;
  for (const m of MARKERS) {
    let at = buf.indexOf(m);
    while (at >= 0) {
      lines ??= new Set();
      lines.add(lineOf(buf, at));
      at = buf.indexOf(m, at + m.length);
    }
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
