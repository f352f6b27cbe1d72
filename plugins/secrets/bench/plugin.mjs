// Helpers to drive dist/secrets.wasm through @extism/extism (the same runtime wasmci uses).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '..', '..', '..', 'package.json'));
const extism = require('@extism/extism');

export const wasmPath = process.env.SECRETS_WASM ?? join(here, '..', 'dist', 'secrets.wasm');

export async function load({ config = {}, allowedPaths, wasm = wasmPath } = {}) {
  const data = readFileSync(wasm);
  return extism.createPlugin({ wasm: [{ data }] }, {
    useWasi: true, runInWorker: false, config, allowedPaths, logLevel: 'error',
  });
}

/** Builds the batch input: JSON header line + raw file bytes back to back. */
export function buildBatch(files, options = {}) {
  const header = Buffer.from(JSON.stringify({
    files: files.map((f) => ({ path: f.path, size: f.data.length, ...(f.commit ? { commit: f.commit } : {}) })),
    options,
  }) + '\n');
  return Buffer.concat([header, ...files.map((f) => f.data)]);
}

/** Calls scan; with fast=true writes the input through wasmci_input_buffer and passes an empty Extism input. */
export async function scan(plugin, input, { fast = true } = {}) {
  if (fast) {
    const inst = await plugin.getInstance();
    const ex = inst.exports;
    if (typeof ex.wasmci_input_buffer === 'function') {
      const ptr = ex.wasmci_input_buffer(BigInt(input.length));
      if (ptr) {
        new Uint8Array(ex.memory.buffer, ptr >>> 0, input.length).set(input);
        return JSON.parse((await plugin.call('scan')).text());
      }
    }
  }
  const out = await plugin.call('scan', input);
  return JSON.parse(out.text());
}

export async function describe(plugin) {
  return JSON.parse((await plugin.call('describe')).text());
}
