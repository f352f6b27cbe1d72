/**
 * Deterministic split of a scan across CI jobs (`--shard INDEX/TOTAL`, GitLab `parallel:`): a file belongs to the
 * shard its path hashes to, so every job agrees without talking to the others and the union of the shards is
 * exactly the unsharded scan.
 */
import { createHash } from 'node:crypto';
import { UsageError } from '../errors.js';

export interface Shard {
  /** 1-based, like GitLab's CI_NODE_INDEX. */
  index: number;
  total: number;
}

export function parseShard(spec: string, from = '--shard'): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(spec.trim());
  const index = m ? Number(m[1]) : Number.NaN;
  const total = m ? Number(m[2]) : Number.NaN;
  if (!m || total < 1 || index < 1 || index > total) {
    throw new UsageError(`${from} must be INDEX/TOTAL with 1 <= INDEX <= TOTAL, got "${spec}"`, 'e.g. --shard 2/4');
  }
  return { index, total };
}

/** --shard, else GitLab's parallel: variables, else no sharding. */
export function shardFrom(flag: string | undefined, env: NodeJS.ProcessEnv): Shard | undefined {
  if (flag) return parseShard(flag);
  const { CI_NODE_INDEX: i, CI_NODE_TOTAL: t } = env;
  if (i && t && t !== '1') return parseShard(`${i}/${t}`, 'CI_NODE_INDEX/CI_NODE_TOTAL');
  return undefined;
}

export function inShard(path: string, shard: Shard | undefined): boolean {
  if (!shard || shard.total === 1) return true;
  const h = createHash('sha1').update(path, 'utf8').digest().readUInt32BE(0);
  return h % shard.total === shard.index - 1;
}
