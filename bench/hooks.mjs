// Server-side push protection latency: how much longer a `git push` takes when the bare repository's
// hooks/pre-receive runs `wasmci hook pre-receive` (the bundled secrets plugin), for a push of 1 commit and of
// 1 000 commits. Each commit of the generated history changes 2 small source files (~12 added lines of code-like
// text, no secrets), so every commit's patch is scanned. Measured as push-with-hook minus push-without-hook to a
// fresh bare repository (same objects, same transport), median of RUNS; clean pushes, so the hook accepts.
//   node bench/hooks.mjs [--runs N]          (also part of `npm run bench` extras)
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT, WORK } from './config.mjs';
import { GNU_TIME, median } from './lib/measure.mjs';

const WASMCI = path.join(ROOT, 'runner/dist/wasmci.cjs');
const SECRETS_WASM = path.join(ROOT, 'plugins/secrets/dist/secrets.wasm');
const ENV = {
  ...process.env,
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'Bench',
  GIT_AUTHOR_EMAIL: 'bench@example.test',
  GIT_COMMITTER_NAME: 'Bench',
  GIT_COMMITTER_EMAIL: 'bench@example.test',
};

const git = (cwd, args, input) => execFileSync('git', args, { cwd, env: ENV, input, maxBuffer: 1 << 28 });

/** A deterministic little source file: ~6 lines that differ per commit. */
function source(i, f) {
  const lines = [`// module ${f} revision ${i}`];
  for (let k = 0; k < 5; k++)
    lines.push(`export const value_${f}_${k} = compute(${(i * 31 + k * 7) % 997}, "item-${i}-${k}");`);
  return `${lines.join('\n')}\n`;
}

/** `count` commits on top of `from` in `repo`, written with fast-import (1 000 `git commit`s would take minutes). */
function generate(repo, count, from, startAt) {
  const out = [];
  let t = 1_700_000_000;
  for (let i = startAt; i < startAt + count; i++) {
    const msg = `change ${i}\n`;
    out.push(
      `commit refs/heads/main\ncommitter Bench <bench@example.test> ${t++} +0000\ndata ${Buffer.byteLength(msg)}\n${msg}`,
    );
    if (i === startAt) out.push(`from ${from}\n`);
    for (const f of [i % 50, (i * 7 + 3) % 50]) {
      const body = source(i, f);
      out.push(`M 100644 inline src/mod${f}.js\ndata ${Buffer.byteLength(body)}\n${body}\n`);
    }
  }
  git(repo, ['fast-import', '--quiet'], out.join(''));
  return git(repo, ['rev-parse', 'main']).toString().trim();
}

function bareServer(dir) {
  rmSync(dir, { recursive: true, force: true });
  git(path.dirname(dir), ['init', '-q', '--bare', '-b', 'main', dir]);
}

/** The hook, run under GNU time: its own wall and CPU seconds land in `timeFile` (CPU time is what load hides least). */
function installHook(dir, timeFile) {
  const hook = path.join(dir, 'hooks/pre-receive');
  writeFileSync(
    hook,
    `#!/bin/sh\nexec ${GNU_TIME} -f '%e %U %S' -o '${timeFile}' '${process.execPath}' '${WASMCI}' hook pre-receive --timeout 600\n`,
  );
  chmodSync(hook, 0o755);
}

/** Seconds for `git push` of `tip` to a fresh server that already has `base`. */
function timePush(client, server, base, tip, withHook) {
  bareServer(server);
  git(client, ['push', '-q', server, `${base}:refs/heads/main`]);
  // the hook goes in after the base: the pushed range is exactly the new commits
  const timeFile = path.join(path.dirname(server), 'hook-time.txt');
  rmSync(timeFile, { force: true });
  if (withHook) installHook(server, timeFile);
  const t0 = process.hrtime.bigint();
  const r = spawnSync('git', ['push', '-q', server, `${tip}:refs/heads/main`], {
    cwd: client,
    env: ENV,
    encoding: 'utf8',
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`push failed (${withHook ? 'with' : 'without'} hook): ${r.stderr.slice(-500)}`);
  if (!withHook) return { ms };
  const [wall, user, sys] = readFileSync(timeFile, 'utf8').trim().split('\n').pop().split(' ').map(Number);
  return { ms, hookWallMs: wall * 1000, hookCpuMs: (user + sys) * 1000 };
}

export async function runHooksBench(log = console.log, runs = 3) {
  if (!existsSync(WASMCI)) throw new Error(`${WASMCI} is missing: node scripts/build.mjs`);
  if (!existsSync(SECRETS_WASM)) throw new Error(`${SECRETS_WASM} is missing: bash plugins/secrets/build.sh`);
  const dir = path.join(WORK, 'hooks');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const client = path.join(dir, 'client');
  git(dir, ['init', '-q', '-b', 'main', client]);
  for (let f = 0; f < 50; f++) {
    mkdirSync(path.join(client, 'src'), { recursive: true });
    writeFileSync(path.join(client, `src/mod${f}.js`), source(0, f));
  }
  git(client, ['add', '-A']);
  git(client, ['commit', '-q', '-m', 'base']);
  const base = git(client, ['rev-parse', 'HEAD']).toString().trim();
  const rows = [];
  let start = 1;
  for (const count of [1, 1000]) {
    git(client, ['update-ref', 'refs/heads/main', base]);
    const tip = generate(client, count, base, start);
    start += count;
    const server = path.join(dir, `server-${count}.git`);
    const without = [];
    const withHook = [];
    for (let i = 0; i < runs; i++) {
      without.push(timePush(client, server, base, tip, false).ms);
      withHook.push(timePush(client, server, base, tip, true));
    }
    const row = {
      commits: count,
      pushWithoutHookMs: median(without),
      pushWithHookMs: median(withHook.map((w) => w.ms)),
      hookWallMs: median(withHook.map((w) => w.hookWallMs)),
      hookCpuMs: median(withHook.map((w) => w.hookCpuMs)),
      loadAverage: os.loadavg()[0],
      runs,
    };
    row.hookLatencyMs = row.pushWithHookMs - row.pushWithoutHookMs;
    rows.push(row);
    log(
      `  pre-receive: ${count} commit(s): push ${row.pushWithoutHookMs.toFixed(0)} ms without hook, ${row.pushWithHookMs.toFixed(0)} ms with (hook ${row.hookWallMs.toFixed(0)} ms wall, ${row.hookCpuMs.toFixed(0)} ms CPU)`,
    );
  }
  rmSync(dir, { recursive: true, force: true });
  return rows;
}

function table(rows) {
  const out = [
    '| push | git push, no hook (ms) | git push, wasmci pre-receive (ms) | added latency (ms) | hook wall (ms) | hook CPU (ms) | load avg |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  const f = (n) => n.toFixed(0);
  for (const r of rows) {
    out.push(
      `| ${r.commits} commit${r.commits === 1 ? '' : 's'} | ${f(r.pushWithoutHookMs)} | ${f(r.pushWithHookMs)} | ${f(r.hookLatencyMs)} | ${f(r.hookWallMs)} | ${f(r.hookCpuMs)} | ${r.loadAverage.toFixed(1)} |`,
    );
  }
  return out.join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--runs');
  const runs = i > 0 ? Number(process.argv[i + 1]) : 3;
  const rows = await runHooksBench(console.log, runs);
  console.log(`\npre-receive hook latency (median of ${runs}; ${os.availableParallelism()} cores, shared)\n`);
  console.log(table(rows));
}
