/**
 * `wasmci pull REF…`: fetch plugins into the cache ahead of time (image baking, air-gapped runners, a warm
 * GitLab `cache:`); with --lock, pin each reference in the lockfile to what was fetched.
 */
import { type Command, Option } from 'commander';
import { UsageError } from '../errors.js';
import { createLogger, LOG_LEVELS, type LogLevel } from '../log.js';
import { resolvePlugin } from '../sources/index.js';
import { lockfilePath, updateLockfile } from '../sources/lockfile.js';
import { writeStdout } from './io.js';
import { addSourceOptions, resolveOptions, type SourceFlags } from './source-options.js';

interface PullFlags extends SourceFlags {
  lock?: boolean;
  logLevel?: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('pull')
    .description('fetch plugins into the verified cache; --lock pins them in the lockfile')
    .argument('<refs...>', 'plugin references: gitlab:…, npm:…, oci://…, https://…, or files')
    .option('--lock', 'write each reference with its sha256, size and origin to the lockfile')
    .addOption(new Option('--log-level <level>', 'log level').choices([...LOG_LEVELS]).default('warn'));
  addSourceOptions(cmd, { single: false });
  cmd.action(async (refs: string[], flags: PullFlags) => {
    const log = createLogger((flags.logLevel ?? 'warn') as LogLevel);
    if (flags.lock && flags.frozen) throw new UsageError('--lock updates the lockfile; --frozen forbids that');
    const base = resolveOptions(flags, log);
    const entries: Record<string, { sha256: string; size: number; resolved: string }> = {};
    for (const ref of refs) {
      // Re-locking is an explicit decision to take what the registry serves now: the old pin is not applied.
      const r = await resolvePlugin(ref, flags.lock ? { ...base, useLockfile: false } : base);
      entries[ref] = { sha256: r.sha256, size: r.size, resolved: r.origin };
      await writeStdout(`${r.sha256}  ${String(r.size).padStart(9)}  ${ref}${r.cached ? '  (cached)' : ''}\n`);
    }
    if (flags.lock) {
      const file = lockfilePath(flags.lockfile);
      await updateLockfile(file, entries);
      log.info(`pinned ${refs.length} plugin(s) in ${file}`);
    }
  });
}
