/**
 * The runner's own diagnostics, always on stderr so stdout stays the plugin's or the report's.
 * Secrets and tokens are registered with `redactValue` and masked in every line written here.
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
    if (rank[l] <= rank[logger.level]) write(`wasmci ${l}: ${maskSecrets(msg)}\n`);
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
 * Untrusted text (a plugin's log line, a file name from the scanned repository) made safe for one line of a CI
 * log: control characters, DEL, C1 controls and bidi overrides are escaped, so such text can neither start a line
 * of its own (a forged runner message, a GitHub `::workflow-command::`, a GitLab `section_start` marker) nor
 * move the cursor or hide what follows.
 */
export function printable(text: string): string {
  let out = '';
  for (const ch of text) {
    const c = ch.codePointAt(0) as number;
    const control = (c < 0x20 && c !== 0x09) || (c >= 0x7f && c <= 0x9f);
    const bidi = (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
    if (!control && !bidi) out += ch;
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else out += c <= 0xff ? `\\x${c.toString(16).padStart(2, '0')}` : `\\u${c.toString(16)}`;
  }
  return out;
}
