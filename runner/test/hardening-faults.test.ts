/**
 * Faults: a registry that drops the connection mid-download, a slow-loris server, 429 with Retry-After, a plugin
 * with the wrong hash, a full disk under the cache and under a report, two jobs racing on a cold cache, SIGTERM in
 * the middle of a scan. Each must fail (or recover) cleanly: a clear message, the right exit code, no partial file,
 * no temp file, and the planted token in no byte produced. (sources-gitlab.test.ts covers 503 + Retry-After, a
 * truncated body, a server slower than the timeout, a corrupted cache entry and concurrent pulls.)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, repoRoot, tempDir } from './helpers/cli.js';
import { compileRustPlugin, leaked, producedBytes, runMeasured } from './helpers/hardening.js';
import { fakeFixtureToken } from './helpers/secrets.js';

const TOKEN = `wasmci-planted-${Math.random().toString(36).slice(2)}-token`;
const FORMATS = ['json', 'text', 'gitlab', 'codequality', 'sarif', 'junit'];

let probe: Buffer;
let server: http.Server;
let base: string;
const hits: Record<string, number[]> = {};

beforeAll(async () => {
  probe = readFileSync(fixture('probe.wasm'));
  server = http.createServer((req, res) => {
    const route = (req.url ?? '/').split('?')[0] as string;
    hits[route] = [...(hits[route] ?? []), Date.now()];
    const n = hits[route].length;
    if (route === '/drop.wasm') {
      // declares the whole length, sends a third, then the connection dies: every time
      res.writeHead(200, { 'content-length': String(probe.length) });
      res.write(probe.subarray(0, Math.floor(probe.length / 3)));
      setTimeout(() => res.socket?.destroy(), 10);
    } else if (route === '/slow.wasm') {
      // slow loris: headers, then one byte every 200 ms
      res.writeHead(200, { 'content-length': String(probe.length) });
      let i = 0;
      const t = setInterval(() => {
        if (res.destroyed || i >= probe.length) return clearInterval(t);
        res.write(probe.subarray(i, i + 1));
        i++;
      }, 200);
      res.on('close', () => clearInterval(t));
    } else if (route === '/busy.wasm' && n === 1) {
      res.writeHead(429, { 'retry-after': '1' }).end('slow down');
    } else if (route === '/late.wasm') {
      setTimeout(() => res.writeHead(200, { 'content-length': String(probe.length) }).end(probe), 400);
    } else {
      res.writeHead(200, { 'content-length': String(probe.length) }).end(probe);
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function env(cache: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    WASMCI_CACHE_DIR: cache,
    WASMCI_HTTP_RETRY_BASE_MS: '20',
    WASMCI_HTTP_RETRIES: '2',
    CI_API_V4_URL: '',
    HTTP_PROXY: '',
    HTTPS_PROXY: '',
    http_proxy: '',
    https_proxy: '',
    ...extra,
  };
}

const callArgs = (route: string) => [
  'call',
  `${base}${route}`,
  'echo',
  '--input',
  'ok',
  '--auth-header',
  `X-Planted=${TOKEN}`,
  '--log-level',
  'debug',
];

/** Files in the cache that are not whole, verified entries (temp files, partial blobs). */
function cacheLitter(cache: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.tmp') || e.name.startsWith('.')) out.push(p);
    }
  };
  walk(cache);
  return out;
}

const blobs = (cache: string) =>
  existsSync(path.join(cache, 'blobs/sha256')) ? readdirSync(path.join(cache, 'blobs/sha256')) : [];

/** A tiny tmpfs (root can mount one here; CI runs as root on the same kind of machine). */
function tinyFs(sizeKiB: number): { dir: string; unmount(): void } {
  const dir = tempDir('wasmci-tinyfs-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKiB}k`, 'tmpfs', dir]);
  return { dir, unmount: () => execFileSync('umount', ['-l', dir]) };
}

describe('network faults', () => {
  it('a registry that dies mid-download every time: exit 3, a clear message, nothing cached', async () => {
    const cache = tempDir('wasmci-cache-');
    const r = await runMeasured(callArgs('/drop.wasm'), { env: env(cache) });
    console.log(`mid-download drop: ${r.durationMs} ms, peak RSS ${r.peakRssMiB} MiB`);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/broke mid-transfer|cut short/);
    expect(hits['/drop.wasm']?.length).toBe(3); // first try + 2 retries
    expect(blobs(cache)).toEqual([]);
    expect(cacheLitter(cache)).toEqual([]);
    expect(leaked(producedBytes(r, [cache]), [TOKEN])).toEqual([]);
  });

  it('a slow-loris server is cut off by the per-attempt timeout', async () => {
    const cache = tempDir('wasmci-cache-');
    const r = await runMeasured(callArgs('/slow.wasm'), {
      env: env(cache, { WASMCI_HTTP_TIMEOUT_MS: '1500', WASMCI_HTTP_RETRIES: '1' }),
    });
    console.log(`slow loris: ${r.durationMs} ms, peak RSS ${r.peakRssMiB} MiB`);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/timed out/);
    expect(r.durationMs).toBeLessThan(15_000);
    expect(blobs(cache)).toEqual([]);
    expect(cacheLitter(cache)).toEqual([]);
    expect(leaked(producedBytes(r, [cache]), [TOKEN])).toEqual([]);
  });

  it('429 with Retry-After: waits as told, then succeeds', async () => {
    const cache = tempDir('wasmci-cache-');
    const r = await runMeasured(callArgs('/busy.wasm'), { env: env(cache) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.toString()).toBe('ok');
    const [first, second] = hits['/busy.wasm'] as number[];
    expect((second as number) - (first as number)).toBeGreaterThanOrEqual(900);
    expect(r.stderr).toMatch(/HTTP 429; retry 1 of/);
    expect(leaked(producedBytes(r, [cache]), [TOKEN])).toEqual([]);
  });

  it('a plugin with the wrong hash is refused and never cached', async () => {
    const cache = tempDir('wasmci-cache-');
    const wrong = 'ab'.repeat(32);
    const r = await runMeasured([...callArgs('/ok.wasm'), '--sha256', wrong], { env: env(cache) });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(new RegExp(`hash mismatch: .* pins ${wrong}`));
    expect(blobs(cache)).toEqual([]);
    expect(leaked(producedBytes(r, [cache]), [TOKEN])).toEqual([]);
  });

  it('two jobs racing on one cold cache both succeed and leave one whole entry', async () => {
    const cache = tempDir('wasmci-cache-');
    const runs = await Promise.all([0, 1, 2].map(() => runMeasured(callArgs('/late.wasm'), { env: env(cache) })));
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.toString()).toBe('ok');
    }
    expect(blobs(cache)).toHaveLength(1);
    expect(readFileSync(path.join(cache, 'blobs/sha256', blobs(cache)[0] as string)).equals(probe)).toBe(true);
    expect(cacheLitter(cache)).toEqual([]);
    for (const r of runs) expect(leaked(producedBytes(r, [cache]), [TOKEN])).toEqual([]);
  });
});

describe('disk full', () => {
  it('a full cache disk: the plugin still runs, with a warning; no partial entry or temp file', async () => {
    // the secrets plugin (~1 MB) cannot fit in a 256 KiB tmpfs
    const secrets = readFileSync(path.join(repoRoot, 'plugins/secrets/dist/secrets.wasm'));
    const big = http.createServer((_req, res) =>
      res.writeHead(200, { 'content-length': String(secrets.length) }).end(secrets),
    );
    await new Promise<void>((r) => big.listen(0, '127.0.0.1', r));
    const fs = tinyFs(256);
    try {
      const url = `http://127.0.0.1:${(big.address() as AddressInfo).port}/secrets.wasm`;
      const r = await runMeasured(['call', url, 'describe', '--auth-header', `X-Planted=${TOKEN}`], {
        env: env(fs.dir),
      });
      console.log(`full cache disk: ${r.durationMs} ms, peak RSS ${r.peakRssMiB} MiB`);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout.toString()).name).toBe('secrets');
      expect(r.stderr).toMatch(/could not write the plugin cache .*ENOSPC/);
      expect(blobs(fs.dir)).toEqual([]);
      expect(cacheLitter(fs.dir)).toEqual([]);
      expect(leaked(producedBytes(r, [fs.dir]), [TOKEN])).toEqual([]);
    } finally {
      fs.unmount();
      big.closeAllConnections();
      big.close();
    }
  });

  it('a full report disk: exit 3 naming the file and the cause; no partial report or temp file', async () => {
    const repo = tempDir('wasmci-full-');
    const tokens: string[] = [];
    for (let i = 0; i < 400; i++) {
      const t = fakeFixtureToken('H');
      tokens.push(t);
      writeFileSync(path.join(repo, `f${i}.txt`), `${t}\n`);
    }
    const fs = tinyFs(64);
    try {
      const r = await runMeasured(
        ['scan', repo, '--plugin', fixture('scanfix.wasm'), '--report', `sarif=${fs.dir}/r.sarif`, '--format', 'json'],
        { timeoutMs: 60_000 },
      );
      console.log(`full report disk: ${r.durationMs} ms, peak RSS ${r.peakRssMiB} MiB`);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/ENOSPC/);
      expect(r.stderr).toContain('r.sarif');
      expect(readdirSync(fs.dir)).toEqual([]);
      expect(leaked(producedBytes(r, [fs.dir]), tokens)).toEqual([]);
    } finally {
      fs.unmount();
    }
  });
});

describe('interrupted', () => {
  it('SIGTERM mid-scan: exit 130, no report file and no temp file in any format', async () => {
    const plugin = compileRustPlugin(path.join(repoRoot, 'runner/test/fixtures/hostile/scanhostile.rs'), tempDir());
    const repo = tempDir('wasmci-term-');
    const out = tempDir('wasmci-term-out-');
    const token = fakeFixtureToken('H');
    writeFileSync(path.join(repo, 'a.txt'), `${token}\n`);
    writeFileSync(path.join(repo, 'b.txt'), 'HOSTILE_SPIN\n');
    mkdirSync(path.join(out, 'nested'));
    const r = await runMeasured(
      [
        'scan',
        repo,
        '--plugin',
        plugin,
        '--timeout',
        '60000',
        ...FORMATS.flatMap((f) => ['--report', `${f}=${out}/nested/r.${f}`]),
      ],
      { timeoutMs: 30_000, onStart: (child) => setTimeout(() => child.kill('SIGTERM'), 1500) },
    );
    console.log(`SIGTERM mid-scan: ${r.durationMs} ms, peak RSS ${r.peakRssMiB} MiB`);
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/interrupted by SIGTERM/);
    expect(r.durationMs).toBeLessThan(10_000);
    expect(readdirSync(path.join(out, 'nested'))).toEqual([]);
    expect(leaked(producedBytes(r, [out]), [token])).toEqual([]);
  });
});
