/** Test plugins compiled from Rust source with Debian's rustc: no crates, so each takes a second or two. */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

/** Compiles a no-crate Rust plugin (wasm32-wasi) into `outDir`; returns the .wasm path. */
export function compileRustPlugin(source: string, outDir: string): string {
  const out = path.join(outDir, `${path.basename(source, '.rs')}.wasm`);
  const flags = ['--target', 'wasm32-wasi', '--crate-type', 'cdylib', '-O', '-C', 'panic=abort', '-C', 'strip=symbols'];
  execFileSync('/usr/bin/rustc', [...flags, source, '-o', out], { stdio: 'inherit' });
  return out;
}
