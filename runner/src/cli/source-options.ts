/**
 * Flags that say where a plugin comes from and how it is verified; shared by every command that names a plugin.
 * loadPlugin() is the one adapter from these flags to resolvePlugin().
 */
import type { Command } from 'commander';
import type { Logger } from '../log.js';
import { type ResolvedPlugin, type ResolveOptions, resolvePlugin } from '../sources/index.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

export interface SourceFlags {
  wasmUrl?: string;
  sha256?: string;
  offline?: boolean;
  cacheDir?: string;
  lockfile?: string;
  frozen?: boolean;
  gitlabUrl?: string;
  authHeader?: string[];
}

/** `single`: the command names one plugin, so --wasm-url and --sha256 make sense. */
export function addSourceOptions(cmd: Command, { single = true } = {}): Command {
  if (single)
    cmd
      .option('--wasm-url <url>', 'fetch the plugin from this URL instead (the positional name is then only a label)')
      .option('--sha256 <hex>', 'refuse the plugin unless its sha256 matches');
  return cmd
    .option('--offline', 'never touch the network; use only the cache (also WASMCI_OFFLINE=1)')
    .option(
      '--cache-dir <dir>',
      'plugin cache (default: WASMCI_CACHE_DIR, $CI_PROJECT_DIR/.wasmci-cache in CI, else ~/.cache/wasmci); one inside the checkout serves only digests pinned outside it',
    )
    .option(
      '--lockfile <file>',
      'lockfile pinning plugin references to sha256 (default: WASMCI_LOCKFILE, ./wasmci.lock when present); one inside the checkout only refuses',
    )
    .option('--frozen', 'refuse any plugin the lockfile does not pin')
    .option('--gitlab-url <url>', 'GitLab instance for gitlab: references (default: CI_API_V4_URL)')
    .option(
      '--auth-header <NAME=VALUE>',
      "header sent with the plugin download, to the reference's host only (repeatable)",
      collect,
    );
}

export function resolveOptions(flags: SourceFlags, log: Logger): ResolveOptions {
  return {
    sha256: flags.sha256,
    offline: flags.offline || process.env.WASMCI_OFFLINE === '1' || process.env.WASMCI_OFFLINE === 'true',
    cacheDir: flags.cacheDir,
    lockfile: flags.lockfile,
    frozen: flags.frozen,
    gitlabUrl: flags.gitlabUrl,
    authHeaders: flags.authHeader,
    log,
  };
}

export function loadPlugin(ref: string, flags: SourceFlags, log: Logger): Promise<ResolvedPlugin> {
  return resolvePlugin(flags.wasmUrl ?? ref, resolveOptions(flags, log));
}
