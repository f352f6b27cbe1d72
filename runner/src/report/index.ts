/**
 * The report registry: one module per format, each a pure function ScanResult -> text. Writing is atomic.
 * Formats: json (this file's sibling json.ts); gitlab, codequality, sarif, junit and text are added by their
 * own modules and registered in RENDERERS.
 */
import { UsageError } from '../errors.js';
import type { ScanResult } from '../scan/model.js';
import { writeFileAtomic } from './atomic.js';
import { renderJson } from './json.js';

export interface ReportOptions {
  /** Show secrets redacted (the default everywhere; only --no-redact turns it off). */
  redact: boolean;
  /** Environment to read CI metadata from (CI_COMMIT_SHA, ...). */
  env?: NodeJS.ProcessEnv;
}

export type Renderer = (result: ScanResult, opts: ReportOptions) => string;

export const RENDERERS: Record<string, Renderer> = {
  json: renderJson,
};

export function reportFormats(): string[] {
  return Object.keys(RENDERERS);
}

export function renderReport(format: string, result: ScanResult, opts: ReportOptions): string {
  const r = RENDERERS[format];
  if (!r) throw new UsageError(`unknown report format "${format}"`, `use one of: ${reportFormats().join(', ')}`);
  return r(result, opts);
}

/** Renders first, then writes atomically: a failure in either leaves no partial file. */
export async function writeReport(format: string, file: string, result: ScanResult, opts: ReportOptions): Promise<void> {
  await writeFileAtomic(file, renderReport(format, result, opts));
}
