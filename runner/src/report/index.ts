/**
 * The report registry: one module per format, each a pure function (scan results, options) -> text, and the one
 * place that knows the format names. Writing is atomic: a crash leaves the previous file or none, never half.
 * A renderer takes a list so `wasmci run` can put several scans (one per step) into one report; `wasmci scan`
 * passes one.
 */
import { UsageError } from '../errors.js';
import type { ScanResult } from '../core/model.js';
import type { Checkout } from '../core/checkout.js';
import { renderCodeQuality } from './codequality.js';
import { renderGitlab } from './gitlab.js';
import { renderJson } from './json.js';
import { renderJunit } from './junit.js';
import { toProjectPaths } from './paths.js';
import { renderSarif } from './sarif.js';
import { writeTarget } from './target.js';
import { renderText } from './text.js';

export interface ReportOptions {
  /** Show secrets redacted (the default everywhere; only --no-redact turns it off). */
  redact: boolean;
  /** Environment to read CI metadata from (CI_COMMIT_SHA, ...). */
  env?: NodeJS.ProcessEnv;
  /** ANSI colour in the text report; decide with `colorFor(process.stdout)` (text.ts), never for a file. */
  color?: boolean;
}

export type Renderer = (results: readonly ScanResult[], opts: ReportOptions) => string;

/** wasmci's own JSON keeps its single-result shape (baselines and merge-reports read it); several become an array. */
const json: Renderer = (results, opts) =>
  results.length === 1
    ? renderJson(results[0] as ScanResult, opts)
    : `[\n${results.map((r) => renderJson(r, opts).trimEnd()).join(',\n')}\n]\n`;

export const RENDERERS: Record<string, Renderer> = {
  json,
  text: renderText,
  gitlab: renderGitlab,
  codequality: renderCodeQuality,
  sarif: renderSarif,
  junit: renderJunit,
};

/** Formats read by other tools (GitLab, GitHub, SARIF viewers), whose paths are relative to the project root. */
const PROJECT_PATHS = new Set(['gitlab', 'codequality', 'sarif', 'junit']);

export function reportFormats(): string[] {
  return Object.keys(RENDERERS);
}

export function renderReport(format: string, result: ScanResult | readonly ScanResult[], opts: ReportOptions): string {
  const r = RENDERERS[format];
  if (!r) throw new UsageError(`unknown report format "${format}"`, `use one of: ${reportFormats().join(', ')}`);
  const results = Array.isArray(result) ? (result as readonly ScanResult[]) : [result as ScanResult];
  if (results.length === 0) throw new UsageError(`a ${format} report needs at least one scan result`);
  return r(PROJECT_PATHS.has(format) ? results.map((x) => toProjectPaths(x, opts.env)) : results, opts);
}

/** Where reports land: `-` is stdout (the caller's writer); the checkout decides which links are followed. */
export interface ReportDestination {
  checkout?: Checkout;
  toStdout: (data: string) => Promise<void>;
}

/**
 * Renders first, then writes (atomically for files; see target.ts for links, FIFOs and devices): a failure in
 * either leaves no partial file, and an unwritable target is an error naming the path, the cause and the fix.
 */
export async function writeReport(
  format: string,
  file: string,
  result: ScanResult | readonly ScanResult[],
  opts: ReportOptions,
  dest: ReportDestination,
): Promise<void> {
  const text = renderReport(format, result, opts);
  await writeTarget(file, text, { what: `${format} report`, ...dest });
}
