/**
 * Added content from `git log -p`, one file of one commit at a time: for history (`--history`), for a merge
 * request (`--diff BASE`: every commit of `BASE..HEAD`, so a secret added and removed again inside the merge
 * request is still seen) and for a push (every commit it brings); and from `git diff --cached` (`--staged`). Only added lines are sent to the plugin, at their real line numbers in that commit's
 * file: every other line is blank, so a finding's line and column are right without mapping them back.
 * Rules that keep the gate whole: lines are split on LF only, as bytes (a lone CR stays inside its line instead
 * of ending the hunk); merge commits show, in git's dense combined format (`--cc`), the lines that are new
 * against every parent (an evil merge, a conflict resolution) and no line that came in through a merged
 * branch's own commits. Memory is bounded by one file's additions (`maxBytes`).
 *
 * Why `--cc` and not `--diff-merges=remerge`: a remerge re-runs the merge, which runs the merge drivers that
 * `.gitattributes` names (`merge=x` with a `merge.x.driver` command in a hostile repository's config) and writes
 * temporary objects into the repository; the combined diff only compares trees.
 */
import type { CommitInfo, SkippedFile } from '../../core/model.js';
import { type Repo, DIFF_FLAGS, gitRecords, unquotePath } from '../git.js';

export interface PatchFile {
  path: string;
  data: Uint8Array;
  commit?: CommitInfo;
}

export type PatchItem = { file: PatchFile } | { skipped: SkippedFile };

/** Marks a commit header line in `git log` output: a diff line never starts with \x01 (they start with + - @ d i ...). */
const COMMIT_MARK = '\x01';
export const LOG_FORMAT = `--format=${COMMIT_MARK}%H${COMMIT_MARK}%an${COMMIT_MARK}%ae${COMMIT_MARK}%aI`;

const PLUS = 0x2b;
const MINUS = 0x2d;
const SPACE = 0x20;
const BACKSLASH = 0x5c;
const NEWLINE = Buffer.from('\n');

interface Current {
  path?: string;
  binary: boolean;
  lines: { n: number; text: Buffer }[];
  bytes: number;
  tooLarge: boolean;
}

function stripPrefix(p: string): string {
  const u = unquotePath(p);
  return u.startsWith('b/') ? u.slice(2) : u;
}

/** Builds the new file's text with only the added lines filled in. */
function render(lines: { n: number; text: Buffer }[]): Uint8Array {
  const out: Buffer[] = [];
  let at = 1;
  for (const l of lines) {
    if (l.n > at) out.push(Buffer.alloc(l.n - at, '\n'));
    out.push(l.text, NEWLINE);
    at = l.n + 1;
  }
  return Buffer.concat(out);
}

const startsWith = (line: Buffer, s: string) => line.length >= s.length && line.toString('latin1', 0, s.length) === s;

/**
 * A hunk header, `@@ -a,b +c,d @@` for one parent or `@@@ -a,b -c,d +e,f @@@` (n+1 `@`) for a merge of n: the
 * number of parents (the width of each line's prefix) and the first line number in the new file.
 */
export function hunkHeader(line: string): { parents: number; newLine: number } | undefined {
  let at = 0;
  while (line.charCodeAt(at) === 0x40) at++;
  if (at < 2) return undefined;
  const parents = at - 1;
  const m = new RegExp(`^@{${at}} (?:-\\d+(?:,\\d+)? ){${parents}}\\+(\\d+)(?:,\\d+)? @{${at}}(?: |$)`).exec(line);
  return m ? { parents, newLine: Number(m[1]) } : undefined;
}

/** A line of a hunk with `parents` prefix columns: removed, in the new file (context), added, or not a hunk line. */
function hunkLine(line: Buffer, parents: number): 'removed' | 'context' | 'added' | 'none' {
  if (line.length < parents) return 'none';
  let plus = 0;
  let minus = 0;
  for (let i = 0; i < parents; i++) {
    const c = line[i];
    if (c === PLUS) plus++;
    else if (c === MINUS) minus++;
    else if (c !== SPACE) return 'none';
  }
  if (minus > 0) return 'removed';
  // new against every parent; a line some parent already had came from that parent's own commits
  return plus === parents ? 'added' : 'context';
}

export async function* parsePatch(chunks: AsyncIterable<Buffer[]>, maxBytes: number): AsyncGenerator<PatchItem> {
  let commit: CommitInfo | undefined;
  let cur: Current | undefined;
  let parents = 0; // > 0 while in a hunk
  let newLine = 0;

  function* flush(): Generator<PatchItem> {
    const c = cur;
    cur = undefined;
    parents = 0;
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

  for await (const chunk of chunks) {
    for (const line of chunk) {
      if (line[0] === 1) {
        yield* flush();
        const [sha = '', author, email, date] = line.toString('utf8').slice(1).split(COMMIT_MARK);
        commit = { sha, author, email, date };
        continue;
      }
      if (!cur && !startsWith(line, 'diff --')) continue;
      if (parents > 0 && cur) {
        const kind = hunkLine(line, parents);
        if (kind === 'added') {
          if (!cur.tooLarge) {
            const text = line.subarray(parents);
            cur.bytes += text.length + 1;
            if (cur.bytes > maxBytes) {
              cur.tooLarge = true;
              cur.lines = [];
            } else cur.lines.push({ n: newLine, text });
          }
          newLine++;
          continue;
        }
        if (kind === 'context') {
          newLine++;
          continue;
        }
        if (kind === 'removed' || line[0] === BACKSLASH /* \ No newline at end of file */) continue;
        parents = 0; // anything else ends the hunk
      }
      const s = line.toString('utf8');
      if (s.startsWith('diff --git ') || s.startsWith('diff --cc ') || s.startsWith('diff --combined ')) {
        yield* flush();
        cur = { binary: false, lines: [], bytes: 0, tooLarge: false };
        continue;
      }
      if (!cur) continue;
      if (s.startsWith('@@')) {
        const h = hunkHeader(s);
        if (h) {
          parents = h.parents;
          newLine = h.newLine;
        }
        continue;
      }
      if (s.startsWith('+++ ')) {
        const p = s.slice(4);
        if (p !== '/dev/null') cur.path = stripPrefix(p);
        continue;
      }
      // not printed with --text; kept so that a git that prints it anyway still yields a visible skip
      if (s.startsWith('Binary files ')) {
        const m = / and (.+) differ$/.exec(s);
        if (m && m[1] !== '/dev/null') cur.path = stripPrefix(m[1] as string);
        cur.binary = true;
      }
    }
  }
  yield* flush();
}

/** Longest line kept whole: the content limit plus room for a merge's prefix columns and for any header line. */
const maxLine = (maxBytes: number) => Math.max(maxBytes, 65536) + 64;

/**
 * Every commit's patch, newest first; merges in the dense combined format. `range` is a revision range
 * (`main..HEAD`), a ref, or `--all`.
 */
export function historyLines(
  repo: Repo,
  range: string,
  maxBytes: number,
  limits: readonly string[] = [],
): AsyncGenerator<Buffer[]> {
  // `limits` are `--since=`/`--until=`/`--max-count=` with checked values (scan/gitlab-variables.ts)
  const safe = limits.filter((l) => /^--(since|until|max-count)=[A-Za-z0-9:.,+\-/ ]{1,64}$/.test(l));
  return gitRecords(repo, ['log', '-p', '--cc', ...DIFF_FLAGS, LOG_FORMAT, ...safe, range, '--'], {
    sep: 0x0a,
    maxRecord: maxLine(maxBytes),
  });
}

/** What a merge request adds: the patch of every commit in `BASE..HEAD` (those reachable from HEAD, not BASE). */
export function diffLines(repo: Repo, base: string, maxBytes: number): AsyncGenerator<Buffer[]> {
  return historyLines(repo, `${base}..HEAD`, maxBytes);
}

/**
 * What the next commit adds: the index against HEAD (`git diff --cached`; before the first commit git compares
 * with the empty tree, as documented for an unborn HEAD). It reads GIT_INDEX_FILE when git set one for a hook
 * (`git commit -a` and `git commit PATH` commit a temporary index). No commit header: findings carry no commit.
 */
export function stagedLines(repo: Repo, maxBytes: number): AsyncGenerator<Buffer[]> {
  return gitRecords(repo, ['diff', '--cached', ...DIFF_FLAGS, '--'], { sep: 0x0a, maxRecord: maxLine(maxBytes) });
}

/** Commits a push brings: reachable from a tip, from none of `exclude` (revisions, or `--all` / `--remotes`). */
export interface PushRange {
  tips: string[];
  exclude: string[];
  /** The scanned directory is a server's git dir (pre-receive), not a work tree (pre-push). */
  server?: boolean;
}

/**
 * Every commit a push introduces, with its patch: `git log TIPS --not EXCLUDE` — for a server, EXCLUDE is `--all`
 * (what it already has, refs not yet updated while pre-receive runs), so new branches, force pushes and tags
 * are covered alike and a commit already on another branch is not scanned again.
 */
export function pushLines(repo: Repo, range: PushRange, maxBytes: number): AsyncGenerator<Buffer[]> {
  return gitRecords(
    repo,
    ['log', '-p', '--cc', ...DIFF_FLAGS, LOG_FORMAT, ...range.tips, '--not', ...range.exclude, '--'],
    { sep: 0x0a, maxRecord: maxLine(maxBytes) },
  );
}
