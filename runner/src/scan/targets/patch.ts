/**
 * Added content from git patches (`git diff` for merge requests, `git log -p` for history), one file at a time.
 * Only added lines are sent to the plugin, at their real line numbers in the new file: every other line is blank,
 * so a finding's line and column are right without mapping them back. Memory is bounded by one file's additions.
 */
import type { CommitInfo, SkippedFile } from '../../core/model.js';
import { DIFF_FLAGS, gitLines, unquotePath } from '../git.js';

export interface PatchFile {
  path: string;
  data: Uint8Array;
  commit?: CommitInfo;
}

export type PatchItem = { file: PatchFile } | { skipped: SkippedFile };

/** Marks a commit header line in `git log` output: a diff line never starts with \x01 (they start with + - @ d i ...). */
const COMMIT_MARK = '\x01';
export const LOG_FORMAT = `--format=${COMMIT_MARK}%H${COMMIT_MARK}%an${COMMIT_MARK}%ae${COMMIT_MARK}%aI`;

interface Current {
  path?: string;
  binary: boolean;
  lines: { n: number; text: string }[];
  bytes: number;
  tooLarge: boolean;
}

function stripPrefix(p: string): string {
  const u = unquotePath(p);
  return u.startsWith('b/') ? u.slice(2) : u;
}

/** Builds the new file's text with only the added lines filled in. */
function render(lines: { n: number; text: string }[]): Uint8Array {
  const out: string[] = [];
  let at = 1;
  for (const l of lines) {
    while (at < l.n) {
      out.push('');
      at++;
    }
    out.push(l.text);
    at++;
  }
  return Buffer.from(`${out.join('\n')}\n`, 'utf8');
}

export async function* parsePatch(lines: AsyncIterable<string>, maxBytes: number): AsyncGenerator<PatchItem> {
  let commit: CommitInfo | undefined;
  let cur: Current | undefined;
  let inHunk = false;
  let newLine = 0;

  function* flush(): Generator<PatchItem> {
    const c = cur;
    cur = undefined;
    inHunk = false;
    if (!c?.path) return;
    if (c.binary) {
      yield { skipped: { path: c.path, reason: 'binary', ...(commit ? { detail: `commit ${commit.sha}` } : {}) } };
    } else if (c.tooLarge) {
      yield {
        skipped: {
          path: c.path,
          reason: 'too-large',
          detail: `added content over ${maxBytes} bytes${commit ? ` in commit ${commit.sha}` : ''}`,
        },
      };
    } else if (c.lines.length > 0) {
      yield { file: { path: c.path, data: render(c.lines), ...(commit ? { commit } : {}) } };
    }
  }

  for await (const line of lines) {
    if (line.startsWith(COMMIT_MARK)) {
      yield* flush();
      const [sha = '', author, email, date] = line.slice(1).split(COMMIT_MARK);
      commit = { sha, author, email, date };
      continue;
    }
    if (line.startsWith('diff --git ')) {
      yield* flush();
      cur = { binary: false, lines: [], bytes: 0, tooLarge: false };
      continue;
    }
    if (!cur) continue;
    if (inHunk) {
      const c = line.charCodeAt(0);
      if (c === 43 /* + */) {
        if (!cur.tooLarge) {
          const text = line.slice(1);
          cur.bytes += text.length + 1;
          if (cur.bytes > maxBytes) {
            cur.tooLarge = true;
            cur.lines = [];
          } else cur.lines.push({ n: newLine, text });
        }
        newLine++;
        continue;
      }
      if (c === 45 /* - */ || c === 92 /* \ No newline */) continue;
      if (c === 32 /* context */) {
        newLine++;
        continue;
      }
      inHunk = false; // anything else ends the hunk
    }
    if (line.startsWith('@@ ')) {
      const m = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(line);
      if (m) {
        newLine = Number(m[1]);
        inHunk = true;
      }
      continue;
    }
    if (line.startsWith('+++ ')) {
      const p = line.slice(4);
      if (p !== '/dev/null') cur.path = stripPrefix(p);
      continue;
    }
    if (line.startsWith('Binary files ')) {
      const m = / and (.+) differ$/.exec(line);
      if (m && m[1] !== '/dev/null') cur.path = stripPrefix(m[1] as string);
      cur.binary = true;
    }
  }
  yield* flush();
}

/** What a merge request adds: `git diff BASE...HEAD` (BASE's merge base with HEAD, so a moved target branch is fine). */
export function diffLines(cwd: string, base: string): AsyncGenerator<string> {
  return gitLines(cwd, ['diff', ...DIFF_FLAGS, `${base}...HEAD`, '--']);
}

/** Every commit's patch, newest first. `range` is a revision range (`main..HEAD`), a ref, or `--all`. */
export function historyLines(cwd: string, range: string): AsyncGenerator<string> {
  return gitLines(cwd, ['log', '-p', ...DIFF_FLAGS, LOG_FORMAT, range, '--']);
}
