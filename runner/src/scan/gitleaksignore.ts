/**
 * `.gitleaksignore`: gitleaks' ignore file, honoured so teams moving from gitleaks keep their reviewed findings. One
 * fingerprint per line, `file:rule:line` (a files scan) or `commit:file:rule:line` (a git scan), `#` comments. The
 * rule is ours or the gitleaks id of ours (`describe`'s `gitleaks`). It only drops findings, each counted in the
 * suppression summary; a line that is not a fingerprint is exit 2 naming the file and line. gitleaks fingerprints
 * break on every rebase and line move (wasmci's own `.wasmciignore` does not): they are kept for migration.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { printable } from '../log.js';
import type { Finding } from '../core/model.js';

export const GITLEAKSIGNORE = '.gitleaksignore';

interface Entry {
  commit?: string;
  file: string;
  rule: string;
  line: number;
}

/** One fingerprint; the file may itself hold colons, so it is split from both ends. */
export function parseGitleaksFingerprint(raw: string, where: string): Entry {
  const parts = raw.split(':');
  const bad = () =>
    new UsageError(
      `${where}: "${printable(raw)}" is not a gitleaks fingerprint (file:rule:line or commit:file:rule:line)`,
      'copy the Fingerprint field of a gitleaks report, or remove the line',
    );
  if (parts.length < 3) throw bad();
  const lineText = parts.pop() as string;
  const rule = parts.pop() as string;
  if (!/^\d+$/.test(lineText) || !rule) throw bad();
  const commit = parts.length > 1 && /^[0-9a-f]{7,64}$/i.test(parts[0] as string) ? parts.shift() : undefined;
  const file = parts.join(':');
  if (!file) throw bad();
  return { ...(commit ? { commit: commit.toLowerCase() } : {}), file, rule, line: Number(lineText) };
}

export class GitleaksIgnore {
  readonly entries: Entry[];

  constructor(text: string, shown: string) {
    this.entries = [];
    text.split(/\r?\n/).forEach((l, i) => {
      const t = l.replace(/(^|\s)#.*$/, '').trim();
      if (t) this.entries.push(parseGitleaksFingerprint(t, `${shown}:${i + 1}`));
    });
  }

  static load(file: string, shown: string): GitleaksIgnore {
    return new GitleaksIgnore(readFileSync(file, 'utf8'), shown);
  }

  /** Whether an entry names this finding; `alias` is the gitleaks id of the finding's rule, if it has one. */
  matches(f: Finding, alias?: string): boolean {
    const sha = f.commit?.sha.toLowerCase();
    return this.entries.some(
      (e) =>
        e.line === f.startLine &&
        e.file === f.path &&
        (e.rule === f.ruleId || (alias !== undefined && e.rule === alias)) &&
        // like gitleaks: a commit entry names a finding of a git scan, a commit-less one a finding of a files scan
        (e.commit === undefined ? sha === undefined : !!sha?.startsWith(e.commit)),
    );
  }
}
