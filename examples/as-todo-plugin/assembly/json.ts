// Just enough JSON for the scan protocol: read the batch header, write the findings. AssemblyScript has no
// JSON in its standard library, and a general parser would be most of this plugin's size.

export class FileEntry {
  constructor(
    public path: string,
    public size: i64,
  ) {}
}

export class Header {
  files: FileEntry[] = [];
  /** Byte offset where the first file's content starts (just past the header's newline). */
  contentStart: i32 = 0;
  /** Set when the header is malformed. AssemblyScript's `throw` is an abort (a trap), so errors are values. */
  error: string | null = null;
}

class Reader {
  i: i32 = 0;
  error: string | null = null;
  constructor(public s: Uint8Array) {}

  /** Records the first error and jumps to the end, so every loop of the callers stops. */
  fail(what: string): void {
    if (this.error == null) this.error = `scan header: ${what} at byte ${this.i}`;
    this.i = this.s.length;
  }

  ws(): void {
    while (this.i < this.s.length) {
      const c = this.s[this.i];
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      this.i++;
    }
  }

  peek(): u8 {
    this.ws();
    if (this.i >= this.s.length) {
      this.fail('unexpected end');
      return 0;
    }
    return this.s[this.i];
  }

  expect(c: u8): void {
    if (this.peek() !== c) this.fail(`expected '${String.fromCharCode(c)}'`);
    this.i++;
  }

  string(): string {
    this.expect(0x22);
    const start = this.i;
    let plain = true;
    while (this.i < this.s.length && this.s[this.i] !== 0x22) {
      if (this.s[this.i] === 0x5c) {
        plain = false;
        this.i++;
      }
      this.i++;
    }
    if (this.i >= this.s.length) {
      this.fail('unterminated string');
      return '';
    }
    const end = this.i;
    this.i++;
    const raw = String.UTF8.decodeUnsafe(this.s.dataStart + start, end - start);
    return plain ? raw : unescapeJson(raw);
  }

  integer(): i64 {
    this.ws();
    let n: i64 = 0;
    const start = this.i;
    while (this.i < this.s.length && this.s[this.i] >= 0x30 && this.s[this.i] <= 0x39) {
      n = n * 10 + i64(this.s[this.i] - 0x30);
      this.i++;
    }
    if (this.i === start) this.fail('expected a non-negative integer');
    return n;
  }

  /** Skips any value: objects and arrays by counting brackets outside strings. */
  skip(): void {
    const c = this.peek();
    if (c === 0x22) {
      this.string();
      return;
    }
    if (c === 0x7b || c === 0x5b) {
      let depth = 0;
      do {
        const d = this.s[this.i];
        if (d === 0x22) {
          this.string();
          continue;
        }
        if (d === 0x7b || d === 0x5b) depth++;
        else if (d === 0x7d || d === 0x5d) depth--;
        this.i++;
      } while (depth > 0 && this.i < this.s.length);
      if (depth !== 0) this.fail('unbalanced brackets');
      return;
    }
    while (this.i < this.s.length) {
      const d = this.s[this.i];
      if (d === 0x2c || d === 0x7d || d === 0x5d || d === 0x20 || d === 0x0a) break;
      this.i++;
    }
  }
}

function unescapeJson(raw: string): string {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charAt(i);
    if (c !== '\\') {
      out.push(c);
      continue;
    }
    i++;
    const e = raw.charAt(i);
    if (e === 'n') out.push('\n');
    else if (e === 't') out.push('\t');
    else if (e === 'r') out.push('\r');
    else if (e === 'b') out.push('\b');
    else if (e === 'f') out.push('\f');
    else if (e === 'u') {
      out.push(String.fromCharCode(i32(parseInt(raw.substr(i + 1, 4), 16))));
      i += 4;
    } else out.push(e);
  }
  return out.join('');
}

function readFile(r: Reader): FileEntry {
  let path = '';
  let size: i64 = -1;
  r.expect(0x7b);
  if (r.peek() === 0x7d) r.fail('empty file entry');
  while (true) {
    const key = r.string();
    r.expect(0x3a);
    if (key === 'path') path = r.string();
    else if (key === 'size') size = r.integer();
    else r.skip();
    if (r.peek() === 0x2c) {
      r.i++;
      continue;
    }
    r.expect(0x7d);
    break;
  }
  if (path.length === 0 || size < 0) r.fail('a file entry needs "path" and "size"');
  return new FileEntry(path, size);
}

export function readHeader(input: Uint8Array): Header {
  const h = new Header();
  const nl = input.indexOf(0x0a);
  if (nl < 0) {
    h.error = 'scan header: no newline after the JSON header line';
    return h;
  }
  const r = new Reader(input.subarray(0, nl));
  h.contentStart = nl + 1;
  r.expect(0x7b);
  if (r.peek() !== 0x7d) {
    while (true) {
      const key = r.string();
      r.expect(0x3a);
      if (key === 'files') {
        r.expect(0x5b);
        if (r.peek() !== 0x5d) {
          while (true) {
            h.files.push(readFile(r));
            if (r.peek() === 0x2c) {
              r.i++;
              continue;
            }
            break;
          }
        }
        r.expect(0x5d);
      } else r.skip();
      if (r.peek() === 0x2c) {
        r.i++;
        continue;
      }
      break;
    }
  }
  r.expect(0x7d);
  h.error = r.error;
  return h;
}

/** A JSON string literal, quotes included. */
export function quote(s: string): string {
  const out: string[] = ['"'];
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c !== 0x22 && c !== 0x5c) continue;
    out.push(s.substring(from, i));
    if (c === 0x22) out.push('\\"');
    else if (c === 0x5c) out.push('\\\\');
    else if (c === 0x0a) out.push('\\n');
    else if (c === 0x09) out.push('\\t');
    else if (c === 0x0d) out.push('\\r');
    else out.push(`\\u${c.toString(16).padStart(4, '0')}`);
    from = i + 1;
  }
  out.push(s.substring(from));
  out.push('"');
  return out.join('');
}
