/**
 * The runner's own diagnostics, always on stderr so stdout stays the plugin's or the report's.
 * Secrets and tokens are registered with `redactValue` and masked in every line written here.
 *
 * The one gate for untrusted text (a plugin's words, the checked-out tree's names and settings) on its way to a
 * CI log is `printable()`: everything else here (log lines, `printableLines`, `logJson`) is built on it. A
 * diagnostic is one line by construction, so each log line is passed through it whole: our own words are plain
 * text and come out unchanged, and an untrusted part that a caller forgot to escape cannot slip through.
 */
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const rank: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3, trace: 4 };
const masked = new Set<string>();

/** Never print this value (a token, a password) in any log line. Short values are ignored: they would mask noise. */
export function redactValue(value: string | undefined): void {
  if (value && value.length >= 6) masked.add(value);
}

export function maskSecrets(line: string): string {
  let out = line;
  for (const v of masked) if (out.includes(v)) out = out.split(v).join('[REDACTED]');
  return out;
}

export interface Logger {
  level: LogLevel;
  error(msg: string): void;
  warn(msg: string): void;
  info(msg: string): void;
  debug(msg: string): void;
  trace(msg: string): void;
  enabled(level: LogLevel): boolean;
}

export function createLogger(
  level: LogLevel = 'warn',
  write: (s: string) => void = (s) => process.stderr.write(s),
): Logger {
  const emit = (l: LogLevel) => (msg: string) => {
    if (rank[l] <= rank[logger.level]) write(`wasmci ${l}: ${printable(maskSecrets(msg))}\n`);
  };
  const logger: Logger = {
    level,
    error: emit('error'),
    warn: emit('warn'),
    info: emit('info'),
    debug: emit('debug'),
    trace: emit('trace'),
    enabled: (l) => rank[l] <= rank[logger.level],
  };
  return logger;
}

export function isLogLevel(v: string): v is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(v);
}

/**
 * Unicode's Bidi_Control set (ALM, LRM, RLM, the embeddings and overrides U+202A–U+202E, the isolates
 * U+2066–U+2069): invisible, and able to show a line in another order than it is read (CVE-2021-42574).
 */
const BIDI_CONTROL = new Set([
  0x061c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069,
]);

/** Escaped on top of the C0/C1 controls: bidi controls, and U+2028/U+2029, which some viewers break lines at. */
function needsEscape(c: number): boolean {
  return (c < 0x20 && c !== 0x09) || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029 || BIDI_CONTROL.has(c);
}

function escapeChar(c: number): string {
  if (c === 0x0a) return '\\n';
  if (c === 0x0d) return '\\r';
  return c <= 0xff ? `\\x${c.toString(16).padStart(2, '0')}` : `\\u${c.toString(16).padStart(4, '0')}`;
}

/**
 * Untrusted text (a plugin's log line or error message, its describe() answer or export names, a file name or a
 * setting from the scanned repository) made safe for any place in one line of a CI log:
 * - control characters (C0 but tab, DEL, C1 — the 8-bit CSI U+009B too), U+2028/U+2029 and bidi controls are
 *   escaped (`\n`, `\r`, `\x1b`, `\u202e`), so the text can neither end the line (a forged runner message, a
 *   GitHub `::workflow-command::`, a GitLab `section_start:` marker, which needs a raw CR and ESC) nor move the
 *   cursor, retitle the terminal or hide what follows;
 * - `##[` becomes `##\x5b`: the GitHub runner still takes the legacy `##[command]` form ANYWHERE in a line
 *   (`##[add-mask]`, `##[set-output]`), not only at its start;
 * - a leading `::` (after spaces) becomes `\x3a:`: GitHub takes `::command::` after leading whitespace, so text
 *   that a caller puts at a line's start (a file name heading its findings, a step name in a summary) must not
 *   begin with it.
 * The result contains none of these, so printable(printable(x)) === printable(x): a message escaped where it
 * was built can safely be escaped again where it is printed. The text stays readable: nothing is dropped.
 */
export function printable(text: string): string {
  let out = '';
  for (const ch of text) {
    const c = ch.codePointAt(0) as number;
    out += needsEscape(c) ? escapeChar(c) : ch;
  }
  out = out.replaceAll('##[', '##\\x5b');
  return out.replace(/^(\s*)::/u, '$1\\x3a:');
}

/**
 * Untrusted text of several lines (a plugin's answer printed to the log, a library's multi-line message): each
 * line made printable(), the line breaks kept (`\r\n` ends a line like `\n`; a lone `\r` is escaped).
 */
export function printableLines(text: string): string {
  return text
    .split(/\r?\n/)
    .map((line) => printable(line))
    .join('\n');
}

/** Characters JSON.stringify leaves raw that printable() would escape, and the legacy GitHub command opener. */
const JSON_UNSAFE = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|##\[/gu;

/**
 * JSON for stdout, where it lands in a CI log: the same value as JSON.stringify (JSON.parse gives it back
 * exactly), but DEL, C1 and bidi controls, U+2028/U+2029 and the `[` of `##[` are written as `\uXXXX` escapes.
 * JSON.stringify already escapes C0 controls, and outside strings JSON has no `#` and no line starting with `::`.
 */
export function logJson(value: unknown, space?: number): string {
  return JSON.stringify(value, null, space).replace(JSON_UNSAFE, (m) =>
    m === '##[' ? '##\\u005b' : `\\u${(m.codePointAt(0) as number).toString(16).padStart(4, '0')}`,
  );
}
