// Builds the clean corpus: `npm install` of pinned packages (no scripts, no lockfile) into a scratch dir, then the
// installed tree is moved to corpus/clean. It is not left under a `node_modules` path because gitleaks and
// secretlint skip such paths by default, and the point is to measure scanning of these bytes. Cached across runs.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CORPUS, PACKAGES, TARGETS } from './config.mjs';
import { MB, totalBytes } from './lib/fsutil.mjs';

const META = path.join(CORPUS, 'clean.json');

export function ensureCorpus(log = console.error) {
  const want = JSON.stringify(PACKAGES);
  if (existsSync(META) && existsSync(TARGETS.clean)) {
    const meta = JSON.parse(readFileSync(META, 'utf8'));
    if (JSON.stringify(meta.packages) === want) {
      log(`corpus: cached (${(meta.bytes / MB).toFixed(0)} MB in ${path.relative(process.cwd(), TARGETS.clean)})`);
      return meta;
    }
  }
  log(`corpus: installing ${PACKAGES.length} packages from the npm registry (no scripts) ...`);
  const t0 = Date.now();
  const scratch = path.join(CORPUS, 'install');
  rmSync(scratch, { recursive: true, force: true });
  rmSync(TARGETS.clean, { recursive: true, force: true });
  rmSync(META, { force: true });
  mkdirSync(scratch, { recursive: true });
  writeFileSync(path.join(scratch, 'package.json'), '{"name":"wasmci-bench-corpus","private":true}\n');
  execFileSync(
    'npm',
    [
      'install',
      '--no-save',
      '--ignore-scripts',
      '--no-package-lock',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      ...PACKAGES,
    ],
    { cwd: scratch, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const nm = path.join(scratch, 'node_modules');
  rmSync(path.join(nm, '.bin'), { recursive: true, force: true });
  rmSync(path.join(nm, '.package-lock.json'), { force: true });
  renameSync(nm, TARGETS.clean);
  rmSync(scratch, { recursive: true, force: true });
  const meta = { packages: PACKAGES, bytes: totalBytes(TARGETS.clean), builtAt: new Date().toISOString() };
  writeFileSync(META, `${JSON.stringify(meta, null, 2)}\n`);
  log(`corpus: ${(meta.bytes / MB).toFixed(0)} MB installed in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return meta;
}

if (import.meta.url === `file://${process.argv[1]}`) ensureCorpus();
