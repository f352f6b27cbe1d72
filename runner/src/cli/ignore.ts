/**
 * `wasmci ignore add|list|remove`: the triage loop on `.wasmciignore` (hashes only, never secrets; updates are
 * atomic). A fingerprint may be given exactly as the text output prints it (its first 16 hex digits): `add`
 * resolves a prefix against the findings of a JSON report (`--from`) or, without one, of a fresh scan of `--path`
 * with the bundled plugin; `remove` against the file's own entries. A prefix that matches several is a usage error
 * listing them. Everything printed from the file goes through printable(): the file is the tree's, and the default
 * `.wasmciignore` is read and rewritten only as a regular file (`editedFile`).
 */
import path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { createLogger, printable } from '../log.js';
import { scan } from '../scan/index.js';
import {
  addIgnoreEntries,
  isPrefix,
  loadIgnoreFile,
  parseIgnoreFile,
  readIgnoreText,
  refuseIrregularIgnoreFile,
  removeIgnoreEntries,
  resolvePrefix,
} from '../scan/ignore-file.js';
import { loadJsonReport } from '../scan/merge.js';
import { writeStdout } from './io.js';
import { loadPlugin } from './source-options.js';

interface AddFlags {
  file: string;
  reason?: string;
  from?: string;
  path?: string;
  plugin?: string;
}

/** The fingerprints prefixes are resolved against: a report's findings, or a fresh scan's. */
async function candidates(flags: AddFlags, file: string): Promise<{ fps: string[]; where: string }> {
  if (flags.from) {
    const { result } = await loadJsonReport(path.resolve(flags.from));
    return { fps: result.findings.map((f) => f.fingerprint), where: `in ${printable(flags.from)}` };
  }
  const dir = flags.path ?? path.dirname(file);
  const log = createLogger('error');
  const result = await scan(
    {
      path: dir,
      cwd: process.cwd(),
      grants: {},
      ignoreFile: '/dev/null',
      ...(flags.plugin ? { plugin: flags.plugin } : {}),
    },
    { log, env: process.env, loadPlugin: async (ref) => (await loadPlugin(ref, {}, log)).bytes },
  );
  return { fps: result.findings.map((f) => f.fingerprint), where: `in a scan of ${printable(dir)}` };
}

/**
 * The ignore file a command edits or lists. The default `.wasmciignore` is the checkout's and may be anything a
 * commit put there: as a symlink, `list` would print and `add` copy into the tree the file it points at (the atomic
 * rewrite then replaces the link with a regular file holding that text), and a FIFO would block. So it goes through
 * the scan's check (`refuseIrregularIgnoreFile`); a file named with --file is the user's choice.
 */
function editedFile(cmd: Command): string {
  const file = path.resolve(cmd.opts<{ file: string }>().file);
  if (cmd.getOptionValueSource('file') === 'default')
    refuseIrregularIgnoreFile(
      path.dirname(file),
      file,
      'replace it with a regular file, or name the file to edit with --file',
    );
  return file;
}

export function register(program: Command): void {
  const ignore = program.command('ignore').description('manage the ignore file of reviewed findings');
  ignore
    .command('add')
    .description('add findings (fingerprints as printed, or secret:<sha256>) to the ignore file')
    .argument('<entries...>', 'fingerprints from the scan output (16 digits are enough) or report, or secret:<sha256>')
    .option('--file <file>', 'the ignore file', '.wasmciignore')
    .option('--reason <text>', 'why these are accepted (written as a comment)')
    .option('--from <report.json>', 'resolve short fingerprints against this JSON report (default: scan --path)')
    .option('--path <dir>', "directory to scan to resolve short fingerprints (default: the ignore file's directory)")
    .option('--plugin <ref>', 'scan plugin for that scan (default: the bundled secrets plugin)')
    .action(async (entries: string[], flags: AddFlags, cmd: Command) => {
      const file = editedFile(cmd);
      const text = await readIgnoreText(file);
      const present = parseIgnoreFile(text, file)
        .filter((e) => e.kind === 'fingerprint')
        .map((e) => e.hash);
      const full: string[] = [];
      const short: string[] = [];
      for (const e of entries) (isPrefix(e) ? short : full).push(e);
      const alreadyThere: string[] = [];
      const toResolve = short.filter((p) => {
        const hit = present.filter((h) => h.startsWith(p.trim().toLowerCase()));
        if (hit.length === 1) alreadyThere.push(hit[0] as string);
        return hit.length !== 1;
      });
      if (toResolve.length) {
        const c = await candidates(flags, file);
        for (const p of toResolve) full.push(resolvePrefix(p, c.fps, c.where));
      }
      const { added, present: dup } = await addIgnoreEntries(file, [...full, ...alreadyThere], flags.reason);
      const lines = [
        ...added.map((a) => `added ${a}`),
        ...dup.map((p) => `already present ${printable(p)}`),
        `${printable(file)}: ${added.length} added`,
      ];
      await writeStdout(`${lines.join('\n')}\n`);
    });
  ignore
    .command('list')
    .description('list the entries of the ignore file with their line and comment')
    .option('--file <file>', 'the ignore file', '.wasmciignore')
    .action(async (_flags: { file: string }, cmd: Command) => {
      const file = editedFile(cmd);
      const text = await readIgnoreText(file);
      const entries = await loadIgnoreFile(file, false);
      const lines = text.split(/\r?\n/);
      const out = entries.map((e) => {
        const comment = /(?:^|\s)#(.*)$/.exec(lines[e.line - 1] ?? '')?.[1]?.trim();
        return `${String(e.line).padStart(4)}  ${e.kind === 'secret' ? `secret:${e.hash}` : e.hash}${comment ? `  # ${printable(comment)}` : ''}`;
      });
      out.push(`${printable(file)}: ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}`);
      await writeStdout(`${out.join('\n')}\n`);
    });
  ignore
    .command('remove')
    .description('remove entries (fingerprints, unique prefixes of them, or secret:<sha256>) from the ignore file')
    .argument('<entries...>', 'fingerprints or prefixes as `wasmci ignore list` shows them')
    .option('--file <file>', 'the ignore file', '.wasmciignore')
    .action(async (entries: string[], _flags: { file: string }, cmd: Command) => {
      const file = editedFile(cmd);
      const { removed } = await removeIgnoreEntries(file, entries);
      if (!removed.length) throw new UsageError('nothing removed');
      const lines = [
        ...removed.map((e) => `removed ${e.kind === 'secret' ? `secret:${e.hash}` : e.hash} (line ${e.line})`),
        `${printable(file)}: ${removed.length} removed`,
      ];
      await writeStdout(`${lines.join('\n')}\n`);
    });
  for (const c of ignore.commands) c.exitOverride();
}
