/**
 * Ids that other systems track findings by (GitLab vulnerability ids, Code Quality and SARIF fingerprints). They
 * derive from the finding's fingerprint — path, rule and secret hash, never the line — so GitLab and GitHub see
 * the same finding across pipelines, line moves and rebases.
 */
import { createHash } from 'node:crypto';
import type { Finding } from '../core/model.js';

/** wasmci's UUID namespace (a random v4, fixed forever: changing it would re-open every tracked finding). */
const NAMESPACE = '0af09f94-f9aa-4168-9aa0-655a1776e9a9';

/** RFC 9562 UUIDv5 (SHA-1, name-based): the same name always gives the same UUID. */
export function uuidV5(name: string, namespace = NAMESPACE): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const h = createHash('sha1').update(ns).update(name, 'utf8').digest();
  h[6] = ((h[6] as number) & 0x0f) | 0x50;
  h[8] = ((h[8] as number) & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/**
 * One key per finding, unique within the list: the fingerprint, and for the second and later findings with the
 * same fingerprint (the same secret twice in one file) `fingerprint:N` in file order. Reports that must not
 * repeat an id (GitLab, Code Quality) use these.
 */
export function occurrenceKeys(findings: readonly Finding[]): string[] {
  const seen = new Map<string, number>();
  return findings.map((f) => {
    const n = (seen.get(f.fingerprint) ?? 0) + 1;
    seen.set(f.fingerprint, n);
    return n === 1 ? f.fingerprint : `${f.fingerprint}:${n}`;
  });
}
