// What the benchmark scans and where it keeps its work. Change PACKAGES and the corpus is rebuilt on the next run.
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(BENCH_DIR, '..');
// Outside the repository: a 350 MB tree of third-party .js/.ts inside it would be walked by biome, tsc and every
// tool that copies the checkout (gitlab-ci-local). Cached across runs; override with WASMCI_BENCH_WORK.
export const WORK = process.env.WASMCI_BENCH_WORK ?? path.join(os.tmpdir(), 'wasmci-bench');
export const CORPUS = path.join(WORK, 'corpus');

/** Real third-party code at pinned versions (with their dependencies): ~350 MB of JS, maps, JSON, .d.ts, docs. */
export const PACKAGES = [
  'typescript@5.6.3',
  'aws-sdk@2.1692.0',
  'monaco-editor@0.52.0',
  '@fortawesome/fontawesome-free@6.6.0',
  'pdfjs-dist@4.7.76',
  'three@0.169.0',
  'rxjs@7.8.1',
  'lodash@4.17.21',
  'moment@2.30.1',
  'react-dom@18.3.1',
  'webpack@5.95.0',
  '@babel/core@7.25.8',
  '@babel/preset-env@7.25.8',
];

/** The corpus directories every contender scans (same relative paths in each). */
export const TARGETS = {
  clean: path.join(CORPUS, 'clean'),
  planted: path.join(CORPUS, 'planted'),
  sampleClean: path.join(CORPUS, 'sample-clean'),
  samplePlanted: path.join(CORPUS, 'sample-planted'),
};
export const MANIFEST = path.join(CORPUS, 'manifest.json');

export const SEED = 0x5ec7e75;
/** Each format is planted in this many different contexts. */
export const PLANTS_PER_FORMAT = 3;
/** Each decoy is planted this many times. */
export const PLANTS_PER_DECOY = 2;
/**
 * The sample: every file a plant touched plus clean files up to this size. Contenders too slow for the full
 * corpus within the time budget (gitleaks as Go->wasm runs at <1 MB/s) scan the sample instead.
 */
export const SAMPLE_BYTES = 12 * 1024 * 1024;

export const CORES = os.availableParallelism?.() ?? os.cpus().length;
/** Timed runs per contender (min/median); slow contenders may lower it, and the report says so. */
export const RUNS = Number(process.env.WASMCI_BENCH_RUNS ?? 3);
