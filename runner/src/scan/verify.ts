/**
 * Live verification (`scan --verify`): after the findings workflow, each distinct secret (rule + value) goes once to
 * the plugin's `verify` export, which asks its vendor. The rule it keeps: network happens only here, only when the
 * settled scan says verify, and only to the hosts the plugin declared in `describe` (`verify_hosts`) — the scan
 * instances themselves never get them. Every request passes one shared HttpGate (plugin/http.ts): per-host
 * concurrency and rate, a per-request limit, the total budget, no redirects, no retries. Secrets of one provider
 * family go to the same instance (so a key id and its secret key are one request), families are spread over up to
 * --jobs instances.
 */
import type { Finding, PluginDescription, Verification } from '../core/model.js';
import { VERIFICATION_STATUSES } from '../core/model.js';
import { PluginError } from '../errors.js';
import { type Logger, printable } from '../log.js';
import { type CompiledPlugin, SandboxedPlugin } from '../plugin/host.js';
import { HttpGate, REQUEST_TIMEOUT_MS } from '../plugin/http.js';
import { parseAllowedHost, type SandboxPolicy } from '../plugin/policy.js';
import type { VerifySettings } from './settle.js';

/** Other secrets of the same file handed along with each one (AWS pairs a key id with its secret key this way). */
const RELATED_MAX = 16;
/** A vendor's "who am I" answer is small; a larger body is cut off as a failed transfer. */
const VERIFY_BODY_MAX = 1024 * 1024;
/** The verify call may outlive the budget by this much: the plugin's own work after the last answer. */
const CALL_SLACK_MS = 15_000;

interface Item {
  id: string;
  rule_id: string;
  secret: string;
  related: { rule_id: string; secret: string }[];
}

export interface VerifyOptions {
  compiled: CompiledPlugin;
  policy: SandboxPolicy;
  plugin: PluginDescription;
  pluginName: string;
  exports: readonly string[];
  jobs: number;
  settings: VerifySettings;
  log: Logger;
}

const key = (f: Finding) => `${f.ruleId}\0${f.secret}`;
const fileOf = (f: Finding) => `${f.commit?.sha ?? ''}\0${f.path}`;

/** `YYYYMMDDTHHMMSSZ` (what SigV4 signs). */
export function amzDate(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** Distinct secrets with the other distinct secrets of their files, grouped by provider family (rule id prefix). */
export function verifyItems(findings: readonly Finding[]): { items: Item[]; ids: Map<string, string> } {
  const ids = new Map<string, string>();
  const byFile = new Map<string, Finding[]>();
  for (const f of findings) {
    if (!ids.has(key(f))) ids.set(key(f), String(ids.size));
    const list = byFile.get(fileOf(f)) ?? [];
    list.push(f);
    byFile.set(fileOf(f), list);
  }
  const related = new Map<string, Map<string, { rule_id: string; secret: string }>>();
  for (const list of byFile.values()) {
    for (const f of list) {
      const mine = related.get(key(f)) ?? new Map();
      for (const o of list) {
        if (key(o) !== key(f) && mine.size < RELATED_MAX) mine.set(key(o), { rule_id: o.ruleId, secret: o.secret });
      }
      related.set(key(f), mine);
    }
  }
  const items: Item[] = [];
  const done = new Set<string>();
  for (const f of findings) {
    if (done.has(key(f))) continue;
    done.add(key(f));
    items.push({
      id: ids.get(key(f)) as string,
      rule_id: f.ruleId,
      secret: f.secret,
      related: [...(related.get(key(f))?.values() ?? [])],
    });
  }
  return { items, ids };
}

/** Items split into at most `n` groups, one provider family (the rule id's first word) per group. */
export function groupByFamily(items: Item[], n: number): Item[][] {
  const families = new Map<string, Item[]>();
  for (const it of items) {
    const fam = it.rule_id.split('-')[0] ?? it.rule_id;
    families.set(fam, [...(families.get(fam) ?? []), it]);
  }
  const groups: Item[][] = Array.from({ length: Math.max(1, Math.min(n, families.size)) }, () => []);
  // Largest family first onto the smallest group.
  for (const fam of [...families.values()].sort((a, b) => b.length - a.length)) {
    const g = groups.reduce((a, b) => (b.length < a.length ? b : a));
    g.push(...fam);
  }
  return groups.filter((g) => g.length);
}

function parseResults(bytes: Uint8Array): Map<string, Verification> {
  const out = new Map<string, Verification>();
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new PluginError('plugin-error', 'the verify output is not JSON');
  }
  const results = (parsed as { results?: unknown })?.results;
  if (!Array.isArray(results)) throw new PluginError('plugin-error', 'the verify output has no "results" list');
  for (const r of results as Record<string, unknown>[]) {
    const status = r?.verification;
    if (typeof r?.id !== 'string' || !(VERIFICATION_STATUSES as readonly unknown[]).includes(status)) continue;
    const v: Verification = { status: status as Verification['status'] };
    // Plugin text: escaped and short, like every plugin string that reaches a report or log.
    if (typeof r.reason === 'string' && r.reason) v.reason = printable(r.reason).slice(0, 80);
    if (typeof r.provider === 'string' && r.provider) v.provider = printable(r.provider).slice(0, 60);
    out.set(r.id, v);
  }
  return out;
}

/** Sets `verification` on every finding. Never throws for a vendor's or the network's sake: those are `unknown`. */
export async function verifyFindings(findings: Finding[], o: VerifyOptions): Promise<void> {
  const set = (f: Finding, v: Verification) => {
    f.verification = v;
  };
  const hosts = o.plugin.verifyHosts ?? [];
  if (!o.exports.includes('verify') || !hosts.length) {
    if (findings.length)
      o.log.warn(
        `--verify: plugin ${printable(o.pluginName)} has no verifiers; every finding is "unknown: no verifier"`,
      );
    for (const f of findings) set(f, { status: 'unknown', reason: 'no verifier' });
    return;
  }
  for (const host of o.settings.resolve.keys()) {
    if (!hosts.some((h) => h === host || (h.startsWith('*.') && host.endsWith(h.slice(1))))) {
      o.log.warn(`--resolve ${host}: the plugin does not verify with this host; the route is not used`);
    }
  }
  if (!findings.length) return;
  const { items, ids } = verifyItems(findings);
  const gate = new HttpGate({
    allowedHosts: hosts,
    resolve: o.settings.resolve,
    maxBytes: VERIFY_BODY_MAX,
    budgetMs: o.settings.budgetMs,
    // One slow vendor may not eat the whole budget: each request gets at most half of it (1-10 s).
    requestTimeoutMs: Math.min(REQUEST_TIMEOUT_MS, Math.max(1000, o.settings.budgetMs / 2)),
  });
  const policy: SandboxPolicy = {
    ...o.policy,
    mounts: [],
    allowedHosts: hosts.map(parseAllowedHost),
    timeoutMs: o.settings.budgetMs + CALL_SLACK_MS,
    httpMaxBytes: VERIFY_BODY_MAX,
  };
  const now = amzDate(new Date());
  const results = new Map<string, Verification>();
  const groups = groupByFamily(items, o.jobs);
  o.log.info(
    `verifying ${items.length} distinct secret(s) with ${groups.length} instance(s), budget ${o.settings.budgetMs / 1000} s`,
  );
  await Promise.all(
    groups.map(async (group) => {
      let inst: SandboxedPlugin | undefined;
      try {
        inst = await SandboxedPlugin.start(o.compiled, policy, o.log, `${o.pluginName} verify`, gate);
        const out = await inst.call('verify', JSON.stringify({ now, secrets: group }));
        for (const [id, v] of parseResults(out)) results.set(id, v);
      } catch (err) {
        const why = err instanceof PluginError ? `plugin ${err.kind}` : 'plugin error';
        o.log.warn(`--verify: ${printable((err as Error).message)}; ${group.length} secret(s) left unknown`);
        for (const it of group) results.set(it.id, { status: 'unknown', reason: why });
      } finally {
        await inst?.close();
      }
    }),
  );
  for (const f of findings) {
    set(f, results.get(ids.get(key(f)) as string) ?? { status: 'unknown', reason: 'no answer' });
  }
}
