/**
 * `wasmci hook install|uninstall pre-commit|pre-push`: a small POSIX sh hook in the repository's hooks dir. Rules:
 * never lose a hook that was there — a foreign hook is renamed to `<name>.wasmci-chained`, called first with the
 * same arguments and stdin, and its failure ends the hook with its status; uninstall puts it back. Nothing is
 * overwritten without --force (only a stale `.wasmci-chained` file can be). The hook runs wasmci by the absolute
 * paths known now (node and the CLI), so it neither depends on the PATH of a GUI git client nor downloads anything
 * at commit time; when those paths are gone it says how to reinstall or bypass instead of silently passing.
 */
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { printable } from '../log.js';

export const CLIENT_HOOKS = ['pre-commit', 'pre-push'] as const;
export type ClientHook = (typeof CLIENT_HOOKS)[number];

/** The line that marks a hook as ours (uninstall removes only such a file). */
export const MARKER = '# wasmci-hook v1';
export const CHAINED = '.wasmci-chained';

/** Single-quoted for sh: the only character that needs care inside '...' is ' itself. */
export const shQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * How the hook starts wasmci. From an installed wasmci (node_modules/.bin, a global install, a checkout's build):
 * node's and the CLI's absolute paths, so the version that was installed runs. From npx's temporary cache
 * (`/_npx/` in the path, cleaned by npm at will) an absolute path would break later: `npx --no-install wasmci`
 * then, which runs the project's own wasmci and never downloads one at commit time. A single executable is its
 * own command.
 */
export function cliCommand(execPath: string, script: string | undefined): { argv: string[]; npx: boolean } {
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return path.resolve(p);
    }
  };
  if (!script || real(script) === real(execPath)) return { argv: [real(execPath)], npx: false };
  const cli = real(script);
  if (cli.includes(`${path.sep}_npx${path.sep}`)) return { argv: ['npx', '--no-install', 'wasmci'], npx: true };
  return { argv: [real(execPath), cli], npx: false };
}

const HINTS: Record<ClientHook, string> = {
  'pre-commit': 'bypass once: git commit --no-verify',
  'pre-push': 'bypass once: git push --no-verify',
};

/** The hook's text. `extra` are arguments for `wasmci hook <name>` (e.g. --plugin FILE), already absolute. */
export function hookScript(name: ClientHook, cmd: { argv: string[]; npx: boolean }, extra: string[]): string {
  const missing = (p: string) =>
    `if [ ! -e ${shQuote(p)} ]; then\n` +
    `  echo ${shQuote(`wasmci ${name} hook: ${p} is gone; reinstall: wasmci hook install ${name}; or ${HINTS[name]}`)} >&2\n` +
    '  exit 1\nfi\n';
  const run = [...cmd.argv, 'hook', name, ...extra].map(shQuote).join(' ');
  // pre-push hands its ref lines on stdin: both hooks need them, so they are kept in a file (exact bytes)
  const stdin = name === 'pre-push';
  return [
    '#!/bin/sh',
    MARKER,
    `# Scans ${name === 'pre-commit' ? 'the staged changes' : 'the commits being pushed'} for secrets (installed by \`wasmci hook install ${name}\`;`,
    `# \`wasmci hook uninstall ${name}\` removes it and restores a hook it chained). ${HINTS[name]}.`,
    '# A reviewed false positive: put wasmci:allow in a comment on that line.',
    `chained="$(dirname -- "$0")/${name}${CHAINED}"`,
    stdin ? 'input=$(mktemp) || exit 1\ntrap \'rm -f "$input"\' EXIT\ncat >"$input"' : '',
    `if [ -x "$chained" ]; then\n  "$chained" "$@"${stdin ? ' <"$input"' : ''} || exit $?\nfi`,
    cmd.npx ? '' : cmd.argv.map(missing).join('').trimEnd(),
    `${run}${name === 'pre-push' ? ' "$@" <"$input"' : ''}`,
    '',
  ]
    .filter((l) => l !== '')
    .join('\n')
    .concat('\n');
}

function entry(p: string): ReturnType<typeof lstatSync> | undefined {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}

const ours = (p: string) => {
  try {
    return readFileSync(p, 'utf8').slice(0, 4096).split('\n').includes(MARKER);
  } catch {
    return false;
  }
};

/** Written beside, executable from the start, then renamed over: git never runs half a hook or a non-executable one. */
function writeHook(file: string, script: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, script, { mode: 0o755, flag: 'wx' });
    renameSync(tmp, file);
  } finally {
    rmSync(tmp, { force: true });
  }
}

export interface InstallResult {
  file: string;
  chained?: string;
  action: 'installed' | 'updated';
}

/** Installs (or updates) the hook in `dir`; a foreign hook there is chained. */
export function installHook(dir: string, name: ClientHook, script: string, force: boolean): InstallResult {
  try {
    mkdirSync(dir, { recursive: true });
    if (!lstatSync(dir).isDirectory()) throw new Error('not a directory');
  } catch (err) {
    throw new UsageError(
      `the hooks directory ${printable(dir)} cannot be used (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      'check core.hooksPath (git config --show-origin core.hooksPath)',
    );
  }
  const file = path.join(dir, name);
  const chained = file + CHAINED;
  const st = entry(file);
  if (st?.isDirectory()) {
    throw new UsageError(`${printable(file)} is a directory`, 'remove it, or point core.hooksPath elsewhere');
  }
  if (st && ours(file)) {
    writeHook(file, script);
    return { file, action: 'updated', ...(existsSync(chained) ? { chained } : {}) };
  }
  if (st) {
    if (entry(chained) && !force) {
      throw new UsageError(
        `${printable(file)} is not wasmci's hook, and ${printable(path.basename(chained))} (a hook chained by an earlier install) is still there`,
        `look at both; --force chains ${name} and overwrites the old ${path.basename(chained)}`,
      );
    }
    rmSync(chained, { force: true });
    renameSync(file, chained); // a symlink stays a symlink; its mode is kept: git ran it only if executable
  }
  writeHook(file, script);
  return { file, action: 'installed', ...(st ? { chained } : {}) };
}

/** Removes our hook from `dir` and puts back the hook it chained. */
export function uninstallHook(dir: string, name: ClientHook): { file: string; restored?: string; removed: boolean } {
  const file = path.join(dir, name);
  const chained = file + CHAINED;
  if (!entry(file)) {
    if (entry(chained)) {
      renameSync(chained, file);
      return { file, restored: file, removed: false };
    }
    return { file, removed: false };
  }
  if (!ours(file)) {
    throw new UsageError(
      `${printable(file)} was not installed by wasmci (no "${MARKER}" line): left as it is`,
      'remove it yourself if it should go',
    );
  }
  if (entry(chained)) {
    renameSync(chained, file);
    return { file, restored: file, removed: true };
  }
  rmSync(file);
  return { file, removed: true };
}
