/**
 * Flags that say where a plugin comes from and how it is verified; shared by every command that names a plugin.
 */
import type { Command } from 'commander';
import type { Logger } from '../log.js';
import { type ResolvedPlugin, resolvePlugin } from '../sources/index.js';

export interface SourceFlags {
  wasmUrl?: string;
  sha256?: string;
  offline?: boolean;
}

export function addSourceOptions(cmd: Command): Command {
  return cmd
    .option('--wasm-url <url>', 'fetch the plugin from this URL instead (the positional name is then only a label)')
    .option('--sha256 <hex>', 'refuse the plugin unless its sha256 matches')
    .option('--offline', 'never touch the network (also WASMCI_OFFLINE=1)');
}

export function loadPlugin(ref: string, flags: SourceFlags, log: Logger): Promise<ResolvedPlugin> {
  return resolvePlugin(flags.wasmUrl ?? ref, {
    sha256: flags.sha256,
    offline: flags.offline || process.env.WASMCI_OFFLINE === '1',
    log,
  });
}
