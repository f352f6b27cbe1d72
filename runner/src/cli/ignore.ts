/** `wasmci ignore add FINGERPRINT...`: record reviewed findings in `.wasmciignore` (hashes only, never secrets). */
import path from 'node:path';
import type { Command } from 'commander';
import { addIgnoreEntries } from '../scan/ignore-file.js';
import { writeStdout } from './io.js';

export function register(program: Command): void {
  const ignore = program.command('ignore').description('manage the ignore file of reviewed findings');
  ignore
    .command('add')
    .description('add finding fingerprints (or secret:<sha256>) to the ignore file')
    .argument('<entries...>', 'fingerprints from the scan output or report, or secret:<sha256>')
    .option('--file <file>', 'the ignore file', '.wasmciignore')
    .option('--reason <text>', 'why these are accepted (written as a comment)')
    .action(async (entries: string[], flags: { file: string; reason?: string }) => {
      const file = path.resolve(flags.file);
      const { added, present } = await addIgnoreEntries(file, entries, flags.reason);
      const lines = [
        ...added.map((a) => `added ${a}`),
        ...present.map((p) => `already present ${p}`),
        `${file}: ${added.length} added`,
      ];
      await writeStdout(`${lines.join('\n')}\n`);
    });
  for (const c of ignore.commands) c.exitOverride();
}
