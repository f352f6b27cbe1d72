/**
 * `.wasmciignore`: findings the team has reviewed and accepted. One entry per line — a finding's fingerprint
 * (64 hex digits; that secret in that file under that rule) or `secret:<sha256 of the secret>` (that secret
 * anywhere) — with `#` comments. Entries hold hashes only, never secrets, so the file can be committed.
 * The file is the tree's: a line quoted in an error goes through printable() (log.ts).
 */
import { lstatSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import { printable } from '../log.js';
import { writeFileAtomic } from '../core/atomic.js';
import type { Finding } from '../core/model.js';
import { legacyFingerprint } from './fingerprint.js';
import { isTreeFile } from './gitleaks-files.js';

export interface IgnoreEntry {
  kind: 'fingerprint' | 'secret';
  hash: string;
  line: number;
  /** The entry as written, for stale-entry warnings. */
  text: string;
}

const HEX64 = /^[0-9a-f]{64}$/;

export function parseIgnoreEntry(raw: string, where: string): Omit<IgnoreEntry, 'line'> {
  const text = raw.trim();
  const lower = text.toLowerCase();
  if (lower.startsWith('secret:')) {
    const hash = lower.slice('secret:'.length).trim();
    if (!HEX64.test(hash)) throw new UsageError(`${where}: "${printable(text)}" is not secret:<64 hex digits>`);
    return { kind: 'secret', hash, text };
  }
  if (!HEX64.test(lower)) {
    throw new UsageError(
      `${where}: "${printable(text)}" is neither a fingerprint (64 hex digits) nor secret:<sha256>`,
      'copy the fingerprint from the scan output or the JSON report',
    );
  }
  return { kind: 'fingerprint', hash: lower, text };
}

export function parseIgnoreFile(text: string, file: string): IgnoreEntry[] {
  const out: IgnoreEntry[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const content = raw.replace(/(^|\s)#.*$/, '').trim();
    if (!content) return;
    out.push({ ...parseIgnoreEntry(content, `${file}:${i + 1}`), line: i + 1 });
  });
  return out;
}

/** Reads an ignore file; a missing default file is no entries, a missing explicit one is an error. */
export async function loadIgnoreFile(file: string, explicit: boolean): Promise<IgnoreEntry[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !explicit) return [];
    throw new UsageError(`ignore file ${file} cannot be read (${code})`);
  }
  return parseIgnoreFile(text, file);
}

export class IgnoreList {
  readonly #fingerprints = new Map<string, IgnoreEntry>();
  readonly #secrets = new Map<string, IgnoreEntry>();
  readonly #used = new Set<IgnoreEntry>();

  constructor(readonly entries: IgnoreEntry[]) {
    for (const e of entries) (e.kind === 'fingerprint' ? this.#fingerprints : this.#secrets).set(e.hash, e);
  }

  matches(f: Finding): boolean {
    return this.match(f) !== undefined;
  }

  /** How an entry matches `f`: by its fingerprint, its secret, or its pre-project-relative fingerprint. */
  match(f: Finding): 'fingerprint' | 'secret' | 'legacy' | undefined {
    let e = this.#fingerprints.get(f.fingerprint);
    let how: 'fingerprint' | 'secret' | 'legacy' = 'fingerprint';
    if (!e) {
      e = this.#secrets.get(f.secretHash);
      how = 'secret';
    }
    if (!e) {
      e = this.#fingerprints.get(legacyFingerprint(f));
      how = 'legacy';
    }
    if (!e) return undefined;
    this.#used.add(e);
    return how;
  }

  /** Entries no finding matched: the secret was removed or the file moved; the entry can go. */
  stale(): IgnoreEntry[] {
    return this.entries.filter((e) => !this.#used.has(e));
  }
}

/** The shortest prefix accepted: the text output prints 16 hex digits; fewer than 8 would invite collisions. */
export const MIN_PREFIX = 8;
const HEX_PREFIX = /^[0-9a-f]+$/;

/** Whether `v` is a fingerprint prefix (hex, at least MIN_PREFIX digits, shorter than a whole fingerprint). */
export function isPrefix(v: string): boolean {
  const t = v.trim().toLowerCase();
  return t.length >= MIN_PREFIX && t.length < 64 && HEX_PREFIX.test(t);
}

/**
 * A fingerprint prefix (as the text output prints it, 16 hex digits) resolved against `candidates`: the one full
 * fingerprint it starts, or a UsageError naming what it matches (none, or several: listed so the user can pick).
 */
export function resolvePrefix(v: string, candidates: Iterable<string>, where: string): string {
  const t = v.trim().toLowerCase();
  if (!isPrefix(t)) {
    throw new UsageError(
      `"${printable(v)}" is not a fingerprint: give the 64 hex digits, a prefix of at least ${MIN_PREFIX} (the text output prints 16), or secret:<sha256>`,
      'copy the fingerprint from the scan output or the JSON report',
    );
  }
  const hits = [...new Set([...candidates].filter((c) => c.startsWith(t)))].sort();
  if (hits.length === 1) return hits[0] as string;
  if (hits.length === 0)
    throw new UsageError(
      `no finding ${where} has a fingerprint starting with ${t}`,
      'copy it from the latest scan output, or give the whole fingerprint from the JSON report',
    );
  throw new UsageError(
    `${t} is ambiguous: ${hits.length} fingerprints ${where} start with it: ${hits.join(', ')}`,
    'give more digits (or the whole fingerprint)',
  );
}

/**
 * The tree's own `.wasmciignore` (under `root`) is used only as a regular file inside the tree, as `.gitleaksignore`
 * is (`isTreeFile`): a symlink could point at a host file whose first bad line an error would quote (the job's
 * /proc/self/environ holds its token) or, for `wasmci ignore add`, whose text would be copied into the tree; a FIFO
 * would block. Missing is fine. Throws a usage error whose hint is `fix` (the flag that picks another file).
 */
export function refuseIrregularIgnoreFile(root: string, file: string, fix: string): void {
  try {
    lstatSync(file);
  } catch {
    return; // missing (`ignore add` creates it) or unreachable: the reader's own error says which
  }
  if (!isTreeFile(root, file))
    throw new UsageError(
      `${printable(file)} is not a regular file (a symlink, directory or device): the tree's ignore file is read only as a plain file`,
      fix,
    );
}

/** Reads an ignore file for an update: '' when missing; a directory or unreadable file is a clear UsageError. */
export async function readIgnoreText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return '';
    throw new UsageError(
      `ignore file ${printable(file)} cannot be read (${code === 'EISDIR' ? 'it is a directory' : code})`,
      'name a file with --file, e.g. --file .wasmciignore',
    );
  }
}

/** Appends entries (with an optional reason comment) to an ignore file, atomically, skipping ones already there. */
export async function addIgnoreEntries(
  file: string,
  values: string[],
  reason?: string,
): Promise<{ added: string[]; present: string[] }> {
  const text = await readIgnoreText(file);
  const existing = new Set(parseIgnoreFile(text, file).map((e) => `${e.kind}:${e.hash}`));
  const added: string[] = [];
  const present: string[] = [];
  for (const v of values) {
    const e = parseIgnoreEntry(v, 'argument');
    const key = `${e.kind}:${e.hash}`;
    if (existing.has(key)) {
      present.push(v);
      continue;
    }
    existing.add(key);
    added.push(e.kind === 'secret' ? `secret:${e.hash}` : e.hash);
  }
  if (added.length === 0) return { added, present };
  // One line, printable: a reason must not break the file's line structure or carry control characters.
  const comment = reason
    ? printable(reason.replace(/[\r\n]+/g, ' '))
    : `added ${new Date().toISOString().slice(0, 10)}`;
  const lines = added.map((a) => `${a}  # ${comment}`);
  const head = text === '' ? '# wasmci ignore file: reviewed findings (fingerprints or secret:<sha256>)\n' : '';
  const sep = text && !text.endsWith('\n') ? '\n' : '';
  await writeFileAtomic(file, `${text}${sep}${head}${lines.join('\n')}\n`);
  return { added, present };
}

/**
 * Removes entries (full fingerprints, unique prefixes of the file's fingerprints, or secret:<sha256>) from an
 * ignore file, atomically; every other line, comments included, stays as it was.
 */
export async function removeIgnoreEntries(file: string, values: string[]): Promise<{ removed: IgnoreEntry[] }> {
  const text = await readIgnoreText(file);
  if (text === '') throw new UsageError(`ignore file ${printable(file)} does not exist or is empty`);
  const entries = parseIgnoreFile(text, file);
  const fps = entries.filter((e) => e.kind === 'fingerprint').map((e) => e.hash);
  const keys = new Set<string>();
  for (const v of values) {
    const t = v.trim().toLowerCase();
    if (t.startsWith('secret:') || HEX64.test(t)) {
      const e = parseIgnoreEntry(t, 'argument');
      if (!entries.some((x) => x.kind === e.kind && x.hash === e.hash))
        throw new UsageError(
          `${printable(v)} is not in ${printable(file)}`,
          'see the entries with `wasmci ignore list`',
        );
      keys.add(`${e.kind}:${e.hash}`);
    } else keys.add(`fingerprint:${resolvePrefix(t, fps, `in ${printable(file)}`)}`);
  }
  const removed = entries.filter((e) => keys.has(`${e.kind}:${e.hash}`));
  const drop = new Set(removed.map((e) => e.line));
  const lines = text.split('\n');
  const kept = lines.filter((_, i) => !drop.has(i + 1));
  await writeFileAtomic(file, kept.join('\n'));
  return { removed };
}
