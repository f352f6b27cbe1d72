/**
 * Findings carry paths relative to the scanned directory (`wasmci scan src` reports `app.ts`). GitLab, GitHub and
 * SARIF viewers resolve paths against the project root, and fingerprints must not depend on which directory was
 * named on the command line, so both use the PROJECT directory: CI_PROJECT_DIR (GitLab), GITHUB_WORKSPACE
 * (GitHub), else the top of the git work tree around the scanned directory (found without git), else the working
 * directory when it holds the scanned one (core/checkout.ts projectDir). A scan outside the project keeps its paths.
 */
import path from 'node:path';
import { projectPrefix } from '../core/checkout.js';
import type { ScanResult } from '../core/model.js';

export function toProjectPaths(result: ScanResult, env?: NodeJS.ProcessEnv): ScanResult {
  const prefix = projectPrefix(result.target.root, env ?? process.env);
  if (!prefix) return result;
  const rebase = (p: string) => path.posix.join(prefix, p);
  return {
    ...result,
    findings: result.findings.map((f) => ({ ...f, path: rebase(f.path) })),
    skipped: result.skipped.map((s) => ({ ...s, path: rebase(s.path) })),
    errors: result.errors.map((e) => (e.path ? { ...e, path: rebase(e.path) } : e)),
  };
}
