/**
 * Where the bundled secrets plugin lives when `--plugin` is not given: next to a checkout's build, in the image
 * (beside the seed cache), or in the image's fixed location. The one place that knows these paths.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';

export const IMAGE_PLUGIN = '/usr/local/share/wasmci/plugins/secrets.wasm';

export function defaultPluginCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const here = import.meta.dirname ?? '.';
  const seeds = (env.WASMCI_SEED_CACHE ?? '').split(path.delimiter).filter(Boolean);
  return [
    // From the bundle (runner/dist/wasmci.cjs) and from source (runner/src/scan/) in a checkout.
    path.resolve(here, '../../plugins/secrets/dist/secrets.wasm'),
    path.resolve(here, '../../../plugins/secrets/dist/secrets.wasm'),
    path.resolve(here, 'plugins/secrets.wasm'),
    ...seeds.map((s) => path.resolve(s, '../plugins/secrets.wasm')),
    IMAGE_PLUGIN,
  ];
}

export function defaultScanPlugin(env: NodeJS.ProcessEnv = process.env): string {
  const candidates = defaultPluginCandidates(env);
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new UsageError(
      'the bundled secrets plugin was not found',
      `pass --plugin REF, or build it with \`bash plugins/secrets/build.sh\` (looked in: ${candidates.join(', ')})`,
    );
  }
  return found;
}
