/**
 * Findings carry paths relative to the scanned directory (`wasmci scan src` reports `app.ts`). GitLab, GitHub and
 * SARIF viewers resolve paths against the project root, so the reports for them rebase each path onto the project
 * directory: CI_PROJECT_DIR (GitLab), GITHUB_WORKSPACE (GitHub), else the working directory. A scan outside the
 * project keeps its paths. Fingerprints are untouched: they are ids, not locations.
 */
import path from 'node:path';
import type { ScanResult } from '../core/model.js';

export function projectDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.CI_PROJECT_DIR || env.GITHUB_WORKSPACE || process.cwd());
}

export function toProjectPaths(result: ScanResult, env?: NodeJS.ProcessEnv): ScanResult {
  const prefix = path.relative(projectDir(env), path.resolve(result.target.root));
  if (!prefix || prefix.startsWith('..') || path.isAbsolute(prefix)) return result;
  const rebase = (p: string) => path.posix.join(prefix.split(path.sep).join('/'), p);
  return {
    ...result,
    findings: result.findings.map((f) => ({ ...f, path: rebase(f.path) })),
    skipped: result.skipped.map((s) => ({ ...s, path: rebase(s.path) })),
    errors: result.errors.map((e) => (e.path ? { ...e, path: rebase(e.path) } : e)),
  };
}
