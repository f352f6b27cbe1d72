// A tiny wasmci scan plugin: TODO / FIXME markers and forbidden words. It speaks the same scan protocol as the
// secrets scanner, so every wasmci report, baseline and CI integration works with it unchanged. Copy this
// directory to start your own plugin: change RULES and `scanLine`, keep the protocol plumbing.
import { Config, Host, Memory } from '@extism/as-pdk';
import { error_set } from '@extism/as-pdk/lib/env';
import { quote, readHeader } from './json';

const NAME = 'todo-markers';
const VERSION = '0.1.0';

class Rule {
  constructor(
    public id: string,
    public description: string,
    public severity: string,
    public tags: string[],
  ) {}

  json(): string {
    const tags = this.tags.map<string>((t) => quote(t)).join(',');
    return `{"id":${quote(this.id)},"description":${quote(this.description)},"severity":${quote(this.severity)},"tags":[${tags}]}`;
  }
}

const TODO = new Rule('todo-marker', 'TODO marker left in the code', 'info', ['todo']);
const FIXME = new Rule('fixme-marker', 'FIXME marker: known broken code', 'low', ['todo']);
const FORBIDDEN = new Rule('forbidden-word', 'Forbidden word (plugin config "forbidden_words")', 'medium', ['policy']);
const RULES: Rule[] = [TODO, FIXME, FORBIDDEN];

/** Used when the config does not set `forbidden_words` (a comma-separated list, matched case-insensitively). */
const DEFAULT_FORBIDDEN = 'DO NOT MERGE,DO NOT COMMIT';
/** A marker's finding carries the comment after it, capped, so the fingerprint survives line moves. */
const MAX_TEXT_BYTES = 120;

class Finding {
  constructor(
    public rule: Rule,
    public path: string,
    public line: i32,
    public startColumn: i32,
    public endColumn: i32,
    public text: string,
  ) {}

  json(): string {
    const r = this.rule;
    return (
      `{"rule_id":${quote(r.id)},"description":${quote(r.description)},"severity":${quote(r.severity)},` +
      `"path":${quote(this.path)},"start_line":${this.line},"end_line":${this.line},` +
      `"start_column":${this.startColumn},"end_column":${this.endColumn},` +
      `"secret":${quote(this.text)},"match":${quote(this.text)},"tags":[${r.tags.map<string>((t) => quote(t)).join(',')}]}`
    );
  }
}

function isWordByte(c: u8): bool {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}

function lower(c: u8): u8 {
  return c >= 0x41 && c <= 0x5a ? c + 32 : c;
}

/** Does `word` (ASCII bytes) occur at `buf[at]` as a whole word? */
function wordAt(buf: Uint8Array, at: i32, end: i32, word: Uint8Array, ignoreCase: bool): bool {
  const n = word.length;
  if (at + n > end) return false;
  if (at > 0 && isWordByte(buf[at - 1])) return false;
  for (let k = 0; k < n; k++) {
    const c = buf[at + k];
    if (ignoreCase ? lower(c) !== lower(word[k]) : c !== word[k]) return false;
  }
  return at + n >= end || !isWordByte(buf[at + n]);
}

/** 1-based column in characters: UTF-8 continuation bytes do not start a character. */
function column(buf: Uint8Array, lineStart: i32, at: i32): i32 {
  let col = 1;
  for (let k = lineStart; k < at; k++) if ((buf[k] & 0xc0) !== 0x80) col++;
  return col;
}

function text(buf: Uint8Array, from: i32, to: i32): string {
  while (to > from && (buf[to - 1] === 0x20 || buf[to - 1] === 0x09 || buf[to - 1] === 0x0d)) to--;
  if (to - from > MAX_TEXT_BYTES) {
    to = from + MAX_TEXT_BYTES;
    while (to > from && (buf[to] & 0xc0) === 0x80) to--; // never cut a character in half
  }
  return String.UTF8.decodeUnsafe(buf.dataStart + from, to - from);
}

function ascii(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s));
}

const TODO_BYTES = ascii('TODO');
const FIXME_BYTES = ascii('FIXME');

function forbiddenWords(): Uint8Array[] {
  const configured = Config.get('forbidden_words');
  const list = (configured == null ? DEFAULT_FORBIDDEN : configured).split(',');
  const out: Uint8Array[] = [];
  for (let i = 0; i < list.length; i++) {
    const w = list[i].trim();
    if (w.length > 0) out.push(ascii(w));
  }
  return out;
}

function scanLine(
  buf: Uint8Array,
  start: i32,
  end: i32,
  line: i32,
  path: string,
  words: Uint8Array[],
  out: Finding[],
): void {
  for (let at = start; at < end; at++) {
    const c = buf[at];
    if (c === 0x54 && wordAt(buf, at, end, TODO_BYTES, false)) {
      out.push(new Finding(TODO, path, line, column(buf, start, at), column(buf, start, end) - 1, text(buf, at, end)));
      return; // one marker per line: the rest of the line is its text
    }
    if (c === 0x46 && wordAt(buf, at, end, FIXME_BYTES, false)) {
      out.push(new Finding(FIXME, path, line, column(buf, start, at), column(buf, start, end) - 1, text(buf, at, end)));
      return;
    }
    for (let w = 0; w < words.length; w++) {
      const word = words[w];
      if (lower(c) === lower(word[0]) && wordAt(buf, at, end, word, true)) {
        const col = column(buf, start, at);
        out.push(new Finding(FORBIDDEN, path, line, col, col + word.length - 1, text(buf, at, at + word.length)));
        at += word.length - 1;
        break;
      }
    }
  }
}

function fail(message: string): i32 {
  error_set(Memory.allocateString(message).offset);
  return 1;
}

/** Routes AssemblyScript aborts (failed asserts, out-of-bounds) to Extism's error instead of a bare trap. */
// biome-ignore lint/correctness/noUnusedVariables: the abort handler, wired in by asconfig.json's "use"
function abortHandler(message: string | null, fileName: string | null, line: u32, column: u32): void {
  const msg = `${message == null ? 'abort' : message} (${fileName == null ? '?' : fileName}:${line}:${column})`;
  error_set(Memory.allocateString(msg).offset);
  unreachable();
}

export function describe(): i32 {
  const rules = RULES.map<string>((r) => r.json()).join(',');
  Host.output(
    ascii(`{"name":${quote(NAME)},"version":${quote(VERSION)},"kind":"scan","protocol":1,"rules":[${rules}]}`),
  );
  return 0;
}

export function scan(): i32 {
  const input = Host.input();
  const header = readHeader(input);
  const bad = header.error;
  if (bad != null) return fail(bad);
  const words = forbiddenWords();
  const findings: Finding[] = [];
  let off = header.contentStart;
  for (let f = 0; f < header.files.length; f++) {
    const file = header.files[f];
    const end = off + i32(file.size);
    if (end > input.length)
      return fail(`scan input: ${file.path} needs ${file.size} bytes, only ${input.length - off} left`);
    let lineStart = off;
    let line = 1;
    for (let i = off; i <= end; i++) {
      if (i === end || input[i] === 0x0a) {
        scanLine(input, lineStart, i, line, file.path, words, findings);
        line++;
        lineStart = i + 1;
      }
    }
    off = end;
  }
  Host.output(ascii(`{"findings":[${findings.map<string>((x) => x.json()).join(',')}],"errors":[]}`));
  return 0;
}
