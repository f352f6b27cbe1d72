/**
 * Identity of a finding. Fingerprints derive from the path relative to the PROJECT (the CI project directory or
 * the repository's top; see report/paths.ts), the rule and a hash of the secret — never the line, the commit or
 * the directory named on the command line — so `scan .` and `scan src` give a finding the same id, which it keeps
 * when lines move or commits are rebased, and baselines and ignore files keep working. Neither value reveals the
 * secret.
 *
 * Compatibility: before this version the path was relative to the scanned directory. For a scan of the project's
 * top both are the same; for a scan of a subdirectory, `legacyFingerprint` gives the old id, which baselines and
 * ignore files still match (with a warning naming the file to update) for one release.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';

export function secretHash(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function fingerprint(path: string, ruleId: string, secretSha: string): string {
  return createHash('sha256').update(`${path}\0${ruleId}\0${secretSha}`, 'utf8').digest('hex');
}

/** A finding's path (relative to the scanned directory) as the project sees it: `prefix` is scanned dir's place. */
export function projectPath(prefix: string, p: string): string {
  return prefix ? path.posix.join(prefix, p) : p;
}

/** The id the finding had before fingerprints were project-relative (path relative to the scanned directory). */
export function legacyFingerprint(f: { path: string; ruleId: string; secretHash: string }): string {
  return fingerprint(f.path, f.ruleId, f.secretHash);
}
