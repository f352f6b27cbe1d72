/**
 * CI integrations after a scan: GitHub Actions annotations, summary and outputs when GITHUB_ACTIONS=true, and
 * nothing anywhere else (GitLab reads report files from `artifacts:reports`; its log sections are ci/gitlab.ts).
 */
import type { ScanResult } from '../../core/model.js';
import { createLogger } from '../../log.js';

export interface CiOptions {
  redact: boolean;
  /** The main report file, exposed as the GitHub output `report`. */
  reportFile?: string;
  env?: NodeJS.ProcessEnv;
}

export function inGithubActions(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.GITHUB_ACTIONS === 'true';
}

export async function publishCi(results: readonly ScanResult[], opts: CiOptions): Promise<void> {
  if (!inGithubActions(opts.env ?? process.env)) return;
  // Loaded only inside GitHub Actions: @actions/core pulls in an HTTP client that is most of the bundle's weight.
  const { publishGithub } = await import('./github.js');
  try {
    await publishGithub(results, opts);
  } catch (err) {
    // GITHUB_OUTPUT / GITHUB_STEP_SUMMARY name files the runner made; one missing or unwritable (a container
    // without the runner's mount, a read-only path) costs the step outputs, not the scan: findings and reports
    // are already out, so this is a warning, never a crash or a changed exit code.
    createLogger('warn').warn(
      `GitHub step outputs or summary not written: ${(err as Error).message}; check GITHUB_OUTPUT and GITHUB_STEP_SUMMARY (the runner's file command paths must be mounted and writable)`,
    );
  }
}
