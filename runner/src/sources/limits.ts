/**
 * Size caps for everything a registry or a bundle can make the runner hold or inflate. A hostile origin can send a
 * few MB that inflate to GBs (a gzip bomb in a bundle, a `content-encoding: gzip` manifest): every cap here applies
 * to DECODED bytes and is checked while they stream, so memory stays bounded by the cap, never by the input.
 * The one place these numbers live; README ("Plugin references") documents them.
 */
export const MiB = 1024 * 1024;

/**
 * A plugin's wasm, and a download that carries one (a .wasm, a bundle, an npm tarball, an OCI blob): 256 MiB. The
 * bundled secrets plugin is 0.5 MB; a module 500× that is not a CI step anyone runs, and a cap this size keeps a
 * hostile download well under the runner's other memory (the plugin itself is capped at 256 MiB by default).
 */
export const MAX_PLUGIN_BYTES = 256 * MiB;

/**
 * A JSON document: an OCI manifest (registries cap them at 4 MiB), an npm packument (a plugin package with a
 * hundred versions is well under 1 MiB), a token answer, GitLab's upload answer: 16 MiB.
 */
export const MAX_DOCUMENT_BYTES = 16 * MiB;

/** A bundle's metadata file (`wasmci-plugin.json`, `package.json`): 1 MiB, tar's own cap for its metadata entries. */
export const MAX_METADATA_BYTES = 1 * MiB;

/**
 * A bundle's whole tar stream, inflated: 512 MiB (the plugin cap plus as much again for READMEs, sources and
 * other files). Entries that are not needed are skipped as they stream, never held; this cap bounds the CPU a bomb
 * costs (inflating 512 MiB takes about a second), which a skipped entry would otherwise make unbounded.
 */
export const MAX_BUNDLE_INFLATED_BYTES = 512 * MiB;

/** `256 MiB`: caps in messages. */
export function mib(bytes: number): string {
  return `${Math.round((bytes / MiB) * 10) / 10} MiB`;
}
