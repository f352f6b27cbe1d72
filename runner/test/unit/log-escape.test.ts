/**
 * The one gate for untrusted text on its way to a CI log (log.ts): printable(), printableLines(), logJson() and
 * the logger that applies printable() to every line. Pure functions, no bundle needed.
 */
import { describe, expect, it } from 'vitest';
import { createLogger, logJson, printable, printableLines } from '../../src/log.js';
import { renderText } from '../../src/report/text.js';
import type { ScanResult } from '../../src/core/model.js';

/** What a CI runner or a terminal would act on, in text meant to be (part of) one line. */
function unsafe(text: string): string[] {
  const found: string[] = [];
  const control = (c: number) => (c < 0x20 && c !== 0x09) || (c >= 0x7f && c <= 0x9f);
  if ([...text].some((ch) => control(ch.codePointAt(0) as number))) found.push('control');
  if (/[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u.test(text)) found.push('bidi');
  if (/[\u2028\u2029]/u.test(text)) found.push('line separator');
  if (text.includes('##[')) found.push('##[');
  if (/^\s*::/u.test(text)) found.push('leading ::');
  return found;
}

describe('printable()', () => {
  it.each([
    ['newline', 'a\nb', 'a\\nb'],
    ['lone CR', 'a\rb', 'a\\rb'],
    ['ESC (CSI, OSC)', '\x1b[2J\x1b]0;t\x07', '\\x1b[2J\\x1b]0;t\\x07'],
    ['DEL and 8-bit CSI', '\x7f\u009b31m', '\\x7f\\x9b31m'],
    ['bidi override and isolate', 'a\u202eb\u2066c', 'a\\u202eb\\u2066c'],
    ['bidi marks (ALM, LRM, RLM)', '\u061c\u200e\u200f', '\\u061c\\u200e\\u200f'],
    ['Unicode line and paragraph separators', 'a\u2028b\u2029c', 'a\\u2028b\\u2029c'],
    ['a leading workflow command', '::add-mask::x', '\\x3a:add-mask::x'],
    ['a leading command after spaces and tabs', ' \t::error::x', ' \t\\x3a:error::x'],
    ['a legacy ##[ command anywhere', 'ok ##[add-mask]x and ###[y', 'ok ##\\x5badd-mask]x and ###\\x5by'],
    ['a GitLab section marker', 'section_start:1:x\r\x1b[0K', 'section_start:1:x\\r\\x1b[0K'],
  ])('escapes %s', (_what, input, expected) => {
    expect(printable(input)).toBe(expected);
  });

  it.each([
    ['plain text', 'token = abc  (see https://example.com/a::b)'],
    ['tabs', 'a\tb'],
    ['C++ names and IPv6 in the middle', 'std::string at ::1'],
    ['one leading colon', ':x'],
    ['non-Latin text', 'héllo wörld — שלום 日本語 🙂'],
  ])('leaves %s as it is', (_what, input) => {
    expect(printable(input)).toBe(input);
  });

  it('is safe and idempotent on any mix of hostile pieces (5000 random strings)', () => {
    const pieces = [
      '::',
      ':',
      '#',
      '##',
      '[',
      '##[',
      ' ',
      '\t',
      '\n',
      '\r',
      '\x1b',
      '\x07',
      '\x7f',
      '\u009b',
      '\u0085',
      '\u202e',
      '\u2066',
      '\u200f',
      '\u2028',
      '\\',
      'x',
      'section_start:1:x',
      'é',
      '🙂',
    ];
    let seed = 42;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    for (let i = 0; i < 5000; i++) {
      let s = '';
      const n = next() % 12;
      for (let j = 0; j < n; j++) s += pieces[next() % pieces.length];
      const once = printable(s);
      expect(unsafe(once), JSON.stringify(s)).toEqual([]);
      expect(printable(once), JSON.stringify(s)).toBe(once);
    }
  });
});

describe('printableLines()', () => {
  it('keeps line breaks (LF and CRLF) and escapes within each line', () => {
    expect(printableLines('ok\r\n::add-mask::x\n\x1b[2Jy\rz')).toBe('ok\n\\x3a:add-mask::x\n\\x1b[2Jy\\rz');
  });
});

describe('logJson()', () => {
  const value = {
    name: 'evil\n::add-mask::x\x1b]0;t\x07 \u009b31m \u202e \u2028 ##[add-mask]y \\##[z',
    list: ['::error::a', '\u0085'],
  };

  it('is JSON of the same value', () => {
    expect(JSON.parse(logJson(value, 2))).toEqual(value);
    expect(JSON.parse(logJson(value))).toEqual(value);
  });

  it('has no raw control, bidi or separator character and no ##[, on any line', () => {
    for (const line of logJson(value, 2).split('\n')) expect(unsafe(line), line).toEqual([]);
  });
});

describe('createLogger()', () => {
  it('escapes each line whole: an untrusted part cannot start a line of its own', () => {
    const out: string[] = [];
    const log = createLogger('info', (s) => out.push(s));
    log.warn('plugin x: hello\n::add-mask::SECRET\r\x1b[2J');
    expect(out).toEqual(['wasmci warn: plugin x: hello\\n::add-mask::SECRET\\r\\x1b[2J\n']);
  });
});

describe('renderText()', () => {
  it("escapes the plugin's name and version in the summary line", () => {
    const result = {
      tool: { name: 'wasmci', version: '0' },
      plugin: { name: 'p\n::error::NAME', version: '1\x1b[2J', kind: 'scan', protocol: 1, rules: [] },
      target: { root: '/x', mode: 'files' },
      findings: [],
      skipped: [],
      errors: [],
      stats: { files: 1, bytes: 1, durationMs: 1 },
    } as unknown as ScanResult;
    const text = renderText([result], { redact: true });
    for (const line of text.split('\n')) expect(unsafe(line), line).toEqual([]);
    expect(text).toContain('p\\n::error::NAME 1\\x1b[2J');
  });
});
