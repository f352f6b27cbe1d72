/**
 * What git hands a push hook, parsed: ref update lines on stdin and push options in the environment. Rule: only
 * what git itself writes is read — `old new ref` (pre-receive) or `local-ref local-sha remote-ref remote-sha`
 * (pre-push) lines of hex object names — anything else is refused, never passed on to git as a revision (an
 * object name that started with "-" would be an option). Pure: no I/O, so unit tests cover every rule.
 */
import { UsageError } from '../errors.js';
import { printable } from '../log.js';
import type { PushRange } from '../scan/targets/patch.js';

/** A full object name: 40 hex digits (SHA-1) or 64 (SHA-256). */
const OID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** git's "no object": a ref that did not exist before (old) or is being deleted (new). */
export const isZero = (oid: string) => /^0+$/.test(oid);

export interface RefUpdate {
  ref: string;
  old: string;
  new: string;
}

function oid(v: string | undefined, line: string, hook: string): string {
  if (!v || !OID.test(v)) {
    throw new UsageError(
      `${hook}: "${printable(line.slice(0, 200))}" is not a ref update line git writes`,
      hook === 'pre-receive'
        ? 'git writes "<old-sha> <new-sha> <ref>" lines on the hook\'s stdin; run it from hooks/pre-receive'
        : 'git writes "<local-ref> <local-sha> <remote-ref> <remote-sha>" lines on the hook\'s stdin; run it from hooks/pre-push',
    );
  }
  return v;
}

/** A hook's stdin as its non-blank lines (a trailing CR dropped). */
const lines = (input: string) =>
  input
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.trim() !== '');

/** pre-receive's stdin: one `<old> <new> <ref>` line per updated ref. */
export function parseReceiveLines(input: string): RefUpdate[] {
  return lines(input).map((line) => {
    const [old, nu, ref, ...rest] = line.split(' ');
    if (!ref || rest.length) oid(undefined, line, 'pre-receive');
    return { old: oid(old, line, 'pre-receive'), new: oid(nu, line, 'pre-receive'), ref: ref as string };
  });
}

/** pre-push's stdin: one `<local-ref> <local-sha> <remote-ref> <remote-sha>` line per ref to update. */
export function parsePushLines(input: string): RefUpdate[] {
  return lines(input).map((line) => {
    const [, local, ref, remote, ...rest] = line.split(' ');
    if (!ref || rest.length) oid(undefined, line, 'pre-push');
    return { new: oid(local, line, 'pre-push'), ref: ref as string, old: oid(remote, line, 'pre-push') };
  });
}

/**
 * The commits a server receives: every new tip (deletions bring nothing), not reachable from any ref it already
 * has (`--all`: during pre-receive no ref has moved yet). This one rule covers new branches, fast-forwards, force
 * pushes and tags, and scans a commit pushed to two branches at once only once.
 */
export function receiveRange(updates: RefUpdate[]): PushRange {
  const tips = [...new Set(updates.filter((u) => !isZero(u.new)).map((u) => u.new))];
  return { tips, exclude: ['--all'], server: true };
}

/**
 * The commits a client is about to push: every new tip, not reachable from the remote's old tips the client
 * knows (`known`: those it has the commit of) nor from any remote-tracking ref (`--remotes`), so a new branch
 * scans only the commits that no remote has seen.
 */
export function prePushRange(updates: RefUpdate[], known: (oid: string) => boolean): PushRange {
  const tips = [...new Set(updates.filter((u) => !isZero(u.new)).map((u) => u.new))];
  const olds = [...new Set(updates.filter((u) => !isZero(u.old) && known(u.old)).map((u) => u.old))];
  return { tips, exclude: [...olds, '--remotes'] };
}

/** The push options git hands pre-receive (`git push -o X`; only sent when receive.advertisePushOptions is on). */
export function pushOptions(env: NodeJS.ProcessEnv): string[] {
  const n = Number(env.GIT_PUSH_OPTION_COUNT ?? 0);
  if (!Number.isInteger(n) || n <= 0) return [];
  return Array.from({ length: Math.min(n, 1000) }, (_, i) => env[`GIT_PUSH_OPTION_${i}`] ?? '');
}

export const SKIP_OPTION = 'wasmci.skip';

/**
 * Whether this push skips the scan: the pusher asked (`-o wasmci.skip`) AND the server allows it
 * (`WASMCI_ALLOW_SKIP=1` in the hook's environment, which the server's admin sets, never the pusher).
 */
export function skipDecision(env: NodeJS.ProcessEnv): 'skip' | 'refused' | 'none' {
  if (!pushOptions(env).includes(SKIP_OPTION)) return 'none';
  return env.WASMCI_ALLOW_SKIP === '1' ? 'skip' : 'refused';
}
