/**
 * Where the bundled secrets plugin lives when `--plugin` is not given: inside the single executable (the SEA asset
 * `secrets.wasm`, so a downloaded `wasmci-linux-x64` needs no other file), next to a checkout's or an npm
 * package's build, in the image (beside the seed cache), or in the image's fixed location. The one place that
 * knows these paths.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { UsageError } from '../errors.js';

/** The SEA asset name scripts/sea.mjs stores the plugin under. */
export const SEA_PLUGIN_ASSET = 'secrets.wasm';

/**
 * The secrets plugin embedded in the single executable, or undefined outside one. `node:sea` exists from Node
 * 20.12 / 21.7; on an older Node 20 there is no executable to be inside, hence the guarded require.
 */
export function embeddedScanPlugin(): Uint8Array | undefined {
  let sea: { isSea(): boolean; getAsset(name: string): ArrayBuffer } | undefined;
  try {
    sea = createRequire(path.join(import.meta.dirname ?? process.cwd(), 'wasmci.cjs'))('node:sea');
  } catch {
    return undefined;
  }
  if (!sea?.isSea?.()) return undefined;
  try {
    return new Uint8Array(sea.getAsset(SEA_PLUGIN_ASSET));
  } catch {
    return undefined; // an executable built without the asset falls back to the files below
  }
}

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
