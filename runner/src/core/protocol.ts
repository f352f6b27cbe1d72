/**
 * The scan protocol at the edge between the runner and an untrusted plugin: encoding a batch, and validating the
 * plugin's answers (`scan`, `describe`) into the findings model. Nothing past this file re-checks plugin output.
 * An error message that quotes the answer quotes it through printable() (log.ts): it ends up in logs and reports.
 */
import { printable } from '../log.js';
import { type PluginDescription, type RuleInfo, SEVERITIES, type Severity } from './model.js';

/** One file of a batch: its path as reported in findings, its bytes, and (history scans) its commit. */
export interface BatchFile {
  path: string;
  data: Uint8Array;
  commit?: string;
}

/** A batch's first line: the files (path, size, commit) in the order their bytes follow, and the plugin options. */
export function headerLine(
  files: { path: string; size: number; commit?: string }[],
  options: Record<string, unknown> = {},
): string {
  return `${JSON.stringify({ files, options })}\n`;
}

/** Header line + raw bytes back to back: one allocation, so the buffer can be handed to a worker as is. */
export function encodeBatch(files: BatchFile[], options: Record<string, unknown> = {}): Uint8Array<ArrayBuffer> {
  const header = headerLine(
    files.map((f) =>
      f.commit ? { path: f.path, size: f.data.length, commit: f.commit } : { path: f.path, size: f.data.length },
    ),
    options,
  );
  const headerLen = Buffer.byteLength(header);
  let total = headerLen;
  for (const f of files) total += f.data.length;
  const out = new Uint8Array(new ArrayBuffer(total));
  Buffer.from(out.buffer).write(header, 0, 'utf8');
  let off = headerLen;
  for (const f of files) {
    out.set(f.data, off);
    off += f.data.length;
  }
  return out;
}

/** A finding exactly as the plugin reported it (validated), before the runner enriches it. */
export interface RawFinding {
  ruleId: string;
  description: string;
  severity: Severity;
  path: string;
  startLine: number;
  endLine: number;
  startColumn: number;
  endColumn: number;
  secret: string;
  match: string;
  entropy?: number;
  tags: string[];
  confidence?: string;
  commit?: string;
}

export interface ScanAnswer {
  findings: RawFinding[];
  errors: { path?: string; message: string }[];
}

export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

function str(o: Obj, key: string, where: string, optional = false): string | undefined {
  const v = o[key];
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'string') throw new ProtocolError(`${where}: "${key}" must be a string`);
  return v;
}

function pos(o: Obj, key: string, where: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new ProtocolError(
      `${where}: "${key}" must be a positive integer (1-based), got ${printable(String(JSON.stringify(v)))}`,
    );
  }
  return v;
}

export function parseSeverity(v: unknown, where: string): Severity {
  const s = typeof v === 'string' ? v.toLowerCase() : v;
  if (!(SEVERITIES as readonly unknown[]).includes(s)) {
    throw new ProtocolError(
      `${where}: severity must be one of ${SEVERITIES.join(', ')}, got ${printable(String(JSON.stringify(v)))}`,
    );
  }
  return s as Severity;
}

function tags(o: Obj, where: string): string[] {
  const t = o.tags ?? [];
  if (!Array.isArray(t) || !t.every((x) => typeof x === 'string')) {
    throw new ProtocolError(`${where}: "tags" must be an array of strings`);
  }
  return t as string[];
}

function finding(v: unknown, i: number, paths: ReadonlySet<string>): RawFinding {
  const where = `findings[${i}]`;
  if (!isObj(v)) throw new ProtocolError(`${where} is not an object`);
  const path = str(v, 'path', where) as string;
  if (!paths.has(path)) throw new ProtocolError(`${where}: path "${printable(path)}" was not in the batch`);
  const f: RawFinding = {
    ruleId: str(v, 'rule_id', where) as string,
    description: str(v, 'description', where, true) ?? '',
    severity: parseSeverity(v.severity, where),
    path,
    startLine: pos(v, 'start_line', where),
    endLine: pos(v, 'end_line', where),
    startColumn: pos(v, 'start_column', where),
    endColumn: pos(v, 'end_column', where),
    secret: str(v, 'secret', where) as string,
    match: str(v, 'match', where, true) ?? '',
    tags: tags(v, where),
  };
  if (!f.ruleId) throw new ProtocolError(`${where}: "rule_id" is empty`);
  if (f.endLine < f.startLine) throw new ProtocolError(`${where}: end_line ${f.endLine} is before start_line`);
  if (v.entropy !== undefined && v.entropy !== null) {
    if (typeof v.entropy !== 'number' || !Number.isFinite(v.entropy))
      throw new ProtocolError(`${where}: "entropy" must be a number`);
    f.entropy = v.entropy;
  }
  const confidence = v.confidence === null ? undefined : str(v, 'confidence', where, true);
  if (confidence) f.confidence = confidence;
  const commit = v.commit === null ? undefined : str(v, 'commit', where, true);
  if (commit) f.commit = commit;
  return f;
}

/** Validates a `scan` answer. `paths` are the batch's paths: a finding elsewhere is a lie, not a finding. */
/**
 * The paths a scan answer reports findings in, read leniently (the worker uses it to search allow comments only where
 * they can matter); undefined when the answer is not the expected shape, which parseScanOutput then reports.
 */
export function reportedPaths(bytes: Uint8Array): Set<string> | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
    const fs: unknown = parsed?.findings ?? [];
    if (!Array.isArray(fs)) return undefined;
    return new Set(fs.map((f) => (typeof f?.path === 'string' ? f.path : '')));
  } catch {
    return undefined;
  }
}

export function parseScanOutput(bytes: Uint8Array, paths: ReadonlySet<string>): ScanAnswer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (err) {
    throw new ProtocolError(`the scan output is not JSON (${printable((err as Error).message)})`);
  }
  if (!isObj(parsed)) throw new ProtocolError('the scan output is not a JSON object');
  const fs = parsed.findings ?? [];
  const es = parsed.errors ?? [];
  if (!Array.isArray(fs)) throw new ProtocolError('"findings" must be an array');
  if (!Array.isArray(es)) throw new ProtocolError('"errors" must be an array');
  return {
    findings: fs.map((f, i) => finding(f, i, paths)),
    errors: es.map((e, i) => {
      if (!isObj(e)) throw new ProtocolError(`errors[${i}] is not an object`);
      const message = str(e, 'message', `errors[${i}]`) as string;
      const path = str(e, 'path', `errors[${i}]`, true);
      return path ? { path, message } : { message };
    }),
  };
}

/** Validates a `describe` answer; plugins without `describe` get `fallback`. */
export function parseDescribe(bytes: Uint8Array): PluginDescription {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new ProtocolError(`the describe output is not JSON (${printable((err as Error).message)})`);
  }
  if (!isObj(parsed)) throw new ProtocolError('the describe output is not a JSON object');
  const kind = parsed.kind ?? 'scan';
  if (kind !== 'scan' && kind !== 'call') throw new ProtocolError(`describe: "kind" must be "scan" or "call"`);
  const rules = parsed.rules ?? [];
  if (!Array.isArray(rules)) throw new ProtocolError('describe: "rules" must be an array');
  return {
    name: str(parsed, 'name', 'describe') as string,
    version: str(parsed, 'version', 'describe', true) ?? 'unknown',
    kind,
    protocol: typeof parsed.protocol === 'number' ? parsed.protocol : 1,
    rules: rules.map((r, i): RuleInfo => {
      const where = `describe.rules[${i}]`;
      if (!isObj(r)) throw new ProtocolError(`${where} is not an object`);
      return {
        id: str(r, 'id', where) as string,
        description: str(r, 'description', where, true) ?? '',
        severity: parseSeverity(r.severity, where),
        tags: tags(r, where),
        ...optionalText(r, 'remediation', where),
        ...httpsUrl(r, 'docs', where),
        ...gitleaksId(r, where),
        ...(r.replaces_builtin === true ? { replacesBuiltin: true } : {}),
      };
    }),
    ...verifyHosts(parsed.verify_hosts),
  };
}

const VERIFY_HOST = /^(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)+$/;
/** At most this many: the grant is shown by `inspect` and checked per request. */
const VERIFY_HOSTS_MAX = 500;

/** `verify_hosts`: exact names or `*.domain` (never a bare `*`), lower case; a grant only `--verify` gives. */
function verifyHosts(v: unknown): { verifyHosts?: string[] } {
  if (v === undefined) return {};
  if (!Array.isArray(v) || v.length > VERIFY_HOSTS_MAX) {
    throw new ProtocolError(`describe: "verify_hosts" must be a list of at most ${VERIFY_HOSTS_MAX} host names`);
  }
  for (const h of v) {
    if (typeof h !== 'string' || !VERIFY_HOST.test(h)) {
      throw new ProtocolError(
        `describe: verify_hosts entry ${printable(JSON.stringify(h) ?? '')} is not a host name or *.domain pattern`,
      );
    }
  }
  return v.length ? { verifyHosts: v as string[] } : {};
}

/** An optional string field, kept only when non-empty (plugin text: reports escape it like any other). */
function optionalText(o: Record<string, unknown>, key: 'remediation', where: string): { remediation?: string } {
  const v = str(o, key, where, true);
  return v ? { [key]: v.slice(0, 2000) } : {};
}

/** The gitleaks rule id of a rule: an identifier value in GitLab reports, so only a plain id. */
function gitleaksId(o: Record<string, unknown>, where: string): { gitleaks?: string } {
  const v = str(o, 'gitleaks', where, true);
  if (!v) return {};
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/.test(v)) throw new ProtocolError(`${where}.gitleaks must be a rule id`);
  return { gitleaks: v };
}

/**
 * Whether `v` has a space or a C0/C1 control character. One regex test and a plain loop: a callback and a regex per
 * character of 1 103 rules' links was ~16 ms of every scan's start (CPU profile of a one-file scan).
 */
function hasControlOrSpace(v: string): boolean {
  if (/\s/u.test(v)) return true;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true;
  }
  return false;
}

/** An optional documentation link: reports turn it into a clickable URL, so only https:// without spaces or controls. */
function httpsUrl(o: Record<string, unknown>, key: 'docs', where: string): { docs?: string } {
  const v = str(o, key, where, true);
  if (!v) return {};
  if (!v.startsWith('https://') || v.length > 508 || v.length < 9 || hasControlOrSpace(v))
    throw new ProtocolError(`${where}.${key} must be an https:// URL without spaces`);
  return { [key]: v };
}
