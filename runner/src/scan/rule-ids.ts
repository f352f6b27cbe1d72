/**
 * Rule ids named in plugin config (`disable`: ids or `tag:x`, separated by commas, spaces or newlines; `severity`:
 * a JSON object id -> severity) are checked against the plugin's catalogue: a typo would otherwise silently
 * disable nothing, or leave a rule at its old severity. From flags or a trusted config, an unknown id is a usage
 * error naming the closest id (edit distance); from a config in the checked-out tree, a warning (such a setting
 * can only narrow the scan, and failing the pipeline over it would let the tree break the job). Pure.
 */
import type { RuleInfo } from '../core/model.js';

/** Levenshtein distance, two rows: ids are short (< 64 characters) and the catalogue a few hundred. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const sub = (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      cur.push(Math.min(sub, (prev[j] as number) + 1, (cur[j - 1] as number) + 1));
    }
    prev = cur;
  }
  return prev[b.length] as number;
}

/** The closest known name, when it is close enough to be the one meant (a third of the length, at least 2). */
export function closest(name: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const k of known) {
    const d = editDistance(name, k);
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

export function disableIds(value: string): string[] {
  return value
    .split(/[,\s]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The ids a `severity` value names; not JSON is left to the plugin, which reports it. */
export function severityIds(value: string): string[] {
  try {
    const v = JSON.parse(value) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? Object.keys(v) : [];
  } catch {
    return [];
  }
}

/** Rule ids a custom-rules TOML (plugin config `rules`, `gitleaks_config`) declares: `id = "..."`. */
export function declaredIds(toml: string | undefined): string[] {
  if (!toml) return [];
  return [...toml.matchAll(/^\s*id\s*=\s*["']([^"'\n]+)["']/gm)].map((m) => m[1] as string);
}

export interface UnknownRuleId {
  key: 'disable' | 'severity';
  id: string;
  suggestion?: string;
}

/** The ids in `config.disable` / `config.severity` that no rule (or, for `tag:x`, no rule's tag) has. */
export function unknownRuleIds(config: Record<string, string>, rules: readonly RuleInfo[]): UnknownRuleId[] {
  const ids = new Set([
    ...rules.map((r) => r.id),
    ...declaredIds(config.rules),
    ...declaredIds(config.gitleaks_config),
  ]);
  const tags = new Set(rules.flatMap((r) => r.tags ?? []));
  const out: UnknownRuleId[] = [];
  for (const id of config.disable ? disableIds(config.disable) : []) {
    if (id.startsWith('tag:')) {
      const t = id.slice(4);
      if (!tags.has(t)) {
        const s = closest(t, tags);
        out.push({ key: 'disable', id, ...(s ? { suggestion: `tag:${s}` } : {}) });
      }
    } else if (!ids.has(id)) {
      const s = closest(id, ids);
      out.push({ key: 'disable', id, ...(s ? { suggestion: s } : {}) });
    }
  }
  for (const id of config.severity ? severityIds(config.severity) : []) {
    if (!ids.has(id)) {
      const s = closest(id, ids);
      out.push({ key: 'severity', id, ...(s ? { suggestion: s } : {}) });
    }
  }
  return out;
}

/** One phrase per unknown id: `disable: "aws-acess-key-id" (did you mean aws-access-key-id?)`. */
export function describeUnknown(u: UnknownRuleId): string {
  return `${u.key}: no rule "${u.id}"${u.suggestion ? ` (did you mean ${u.suggestion}?)` : ''}`;
}
