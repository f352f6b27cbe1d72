/**
 * Identity of a finding. Fingerprints derive from the path, the rule and a hash of the secret — never the line or
 * the commit — so a finding keeps its id when lines move, commits are rebased or squashed, and baselines and ignore
 * files keep working. Neither value reveals the secret.
 */
import { createHash } from 'node:crypto';

export function secretHash(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function fingerprint(path: string, ruleId: string, secretSha: string): string {
  return createHash('sha256').update(`${path}\0${ruleId}\0${secretSha}`, 'utf8').digest('hex');
}
