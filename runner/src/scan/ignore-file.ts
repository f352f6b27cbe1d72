/**
 * `.wasmciignore`: findings the team has reviewed and accepted. One entry per line — a finding's fingerprint
 * (64 hex digits; that secret in that file under that rule) or `secret:<sha256 of the secret>` (that secret
 * anywhere) — with `#` comments. Entries hold hashes only, never secrets, so the file can be committed.
 * The file is the tree's: a line quoted in an error goes through printable() (log.ts).
 */
import { readFile } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import { printable } from '../log.js';
import { writeFileAtomic } from '../core/atomic.js';
import type { Finding } from '../core/model.js';

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
    const e = this.#fingerprints.get(f.fingerprint) ?? this.#secrets.get(f.secretHash);
    if (e) this.#used.add(e);
    return !!e;
  }

  /** Entries no finding matched: the secret was removed or the file moved; the entry can go. */
  stale(): IgnoreEntry[] {
    return this.entries.filter((e) => !this.#used.has(e));
  }
}

/** Appends entries (with an optional reason comment) to an ignore file, atomically, skipping ones already there. */
export async function addIgnoreEntries(
  file: string,
  values: string[],
  reason?: string,
): Promise<{ added: string[]; present: string[] }> {
  let text = '';
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
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
  const comment = reason ? `${reason.replace(/[\r\n]+/g, ' ')}` : `added ${new Date().toISOString().slice(0, 10)}`;
  const lines = added.map((a) => `${a}  # ${comment}`);
  const head = text === '' ? '# wasmci ignore file: reviewed findings (fingerprints or secret:<sha256>)\n' : '';
  const sep = text && !text.endsWith('\n') ? '\n' : '';
  await writeFileAtomic(file, `${text}${sep}${head}${lines.join('\n')}\n`);
  return { added, present };
}
