/**
 * gitlab: references, the cache and the lockfile, against the GitLab-API test server and its object storage.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fixture, runCli, tempDir } from './helpers/cli.js';
import { GitlabTestServer } from './servers/gitlab.js';
import { ForwardProxy } from './servers/proxy.js';

const JOB_TOKEN = 'job-token-4f1c9a2e77';
const PRIVATE_TOKEN = 'glpat-private-9b8c7d6e5f';
const DEPLOY_TOKEN = 'gldt-deploy-1a2b3c4d5e';
const OTHER_TOKEN = 'glpat-other-project-0000';

let gl: GitlabTestServer;
let probe: Buffer;
let home: string;
let cache: string;

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    HOME: home,
    WASMCI_CACHE_DIR: cache,
    CI_API_V4_URL: gl.api,
    CI_JOB_TOKEN: '',
    CI_PROJECT_ID: '',
    WASMCI_GITLAB_TOKEN: '',
    WASMCI_GITLAB_DEPLOY_TOKEN: '',
    WASMCI_HTTP_RETRY_BASE_MS: '20',
    WASMCI_DEFAULT_SOURCE: '',
    WASMCI_SEED_CACHE: '',
    WASMCI_OFFLINE: '',
    HTTP_PROXY: '',
    HTTPS_PROXY: '',
    http_proxy: '',
    https_proxy: '',
    NO_PROXY: '',
    no_proxy: '',
    ...extra,
  };
}

const blobs = (dir: string) => readdirSync(path.join(dir, 'blobs/sha256'));
const allTokens = [JOB_TOKEN, PRIVATE_TOKEN, DEPLOY_TOKEN, OTHER_TOKEN];

beforeAll(async () => {
  probe = readFileSync(fixture('probe.wasm'));
  gl = await new GitlabTestServer().start();
  gl.projects.push({ id: '42', path: 'group/plugins', public: false }, { id: '7', path: 'other/thing', public: false });
  gl.tokens.push(
    { header: 'JOB-TOKEN', value: JOB_TOKEN, read: ['42'], write: ['42'] },
    { header: 'PRIVATE-TOKEN', value: PRIVATE_TOKEN, read: ['42'], write: ['42'] },
    { header: 'DEPLOY-TOKEN', value: DEPLOY_TOKEN, read: ['42'], write: [] },
    { header: 'PRIVATE-TOKEN', value: OTHER_TOKEN, read: ['7'], write: ['7'] },
  );
  gl.seed('42', 'probe', '1.0.0', 'probe.wasm', probe);
});

afterAll(async () => {
  await gl?.close();
});

beforeEach(() => {
  home = tempDir('wasmci-home-');
  cache = tempDir('wasmci-cache-');
});

describe('gitlab: download', () => {
  it('fetches through the object-storage redirect, never forwarding the token, then serves from cache', async () => {
    const apiBefore = gl.log.length;
    const storageBefore = gl.storage.log.length;
    const ref = 'gitlab:42/probe@1.0.0';
    const first = await runCli(['call', ref, 'echo', '--input', 'hello'], { env: env({ CI_JOB_TOKEN: JOB_TOKEN }) });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout.toString()).toBe('hello');
    const apiReqs = gl.log.slice(apiBefore);
    expect(apiReqs).toHaveLength(1);
    expect(apiReqs[0]?.headers['job-token']).toBe(JOB_TOKEN);
    expect(gl.storage.log.length - storageBefore).toBe(1);
    expect(gl.storageRequestsWithCredentials()).toEqual([]);
    expect(JSON.stringify(gl.storage.log)).not.toContain(JOB_TOKEN);
    expect(blobs(cache)).toHaveLength(1);

    // Second run: an exact version is immutable, so no request at all (asserted on both servers' logs).
    const second = await runCli(['call', ref, 'echo', '--input', 'again'], { env: env({ CI_JOB_TOKEN: JOB_TOKEN }) });
    expect(second.code).toBe(0);
    expect(second.stdout.toString()).toBe('again');
    expect(gl.log.length - apiBefore).toBe(1);
    expect(gl.storage.log.length - storageBefore).toBe(1);
  });

  it('sends PRIVATE-TOKEN, DEPLOY-TOKEN and --auth-header from their sources, to the API host only', async () => {
    const cases: [Record<string, string>, string[], string, string][] = [
      [{ WASMCI_GITLAB_TOKEN: PRIVATE_TOKEN }, [], 'private-token', PRIVATE_TOKEN],
      [{ WASMCI_GITLAB_DEPLOY_TOKEN: DEPLOY_TOKEN }, [], 'deploy-token', DEPLOY_TOKEN],
      [
        { CI_JOB_TOKEN: 'ignored-because-explicit' },
        ['--auth-header', `PRIVATE-TOKEN=${PRIVATE_TOKEN}`],
        'private-token',
        PRIVATE_TOKEN,
      ],
    ];
    for (const [extra, flags, header, value] of cases) {
      cache = tempDir('wasmci-cache-');
      const before = gl.log.length;
      const r = await runCli(['pull', 'gitlab:group/plugins/probe@1.0.0', ...flags], { env: env(extra) });
      expect(r.code, r.stderr).toBe(0);
      expect(gl.log[before]?.headers[header]).toBe(value);
      expect(gl.log[before]?.url).toContain('/projects/group%2Fplugins/packages/generic/probe/1.0.0/probe.wasm');
    }
    expect(gl.storageRequestsWithCredentials()).toEqual([]);
  });

  it('gives 401, 403 and 404 distinct messages that say what to check, without the token', async () => {
    const bad = await runCli(['pull', 'gitlab:42/probe@1.0.0'], {
      env: env({ CI_JOB_TOKEN: 'job-token-wrong-123456' }),
    });
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/HTTP 401/);
    expect(bad.stderr).toMatch(/token was rejected: check the JOB-TOKEN \(CI_JOB_TOKEN\)/);

    const forbidden = await runCli(['pull', 'gitlab:42/probe@1.0.0'], {
      env: env({ WASMCI_GITLAB_TOKEN: OTHER_TOKEN }),
    });
    expect(forbidden.code).toBe(3);
    expect(forbidden.stderr).toMatch(/HTTP 403/);
    expect(forbidden.stderr).toMatch(/read_package_registry/);
    expect(forbidden.stderr).toMatch(/allowlist/);

    const missing = await runCli(['pull', 'gitlab:42/probe@9.9.9'], { env: env({ CI_JOB_TOKEN: JOB_TOKEN }) });
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/no package probe version 9\.9\.9 \(file probe\.wasm\) in project 42/);

    const anonymous = await runCli(['pull', 'gitlab:42/probe@1.0.0'], { env: env() });
    expect(anonymous.code).toBe(3);
    expect(anonymous.stderr).toMatch(/HTTP 404/);
    expect(anonymous.stderr).toMatch(/set WASMCI_GITLAB_TOKEN/);

    for (const r of [bad, forbidden, missing, anonymous]) for (const t of allTokens) expect(r.stderr).not.toContain(t);
  });

  it('resolves CI_PROJECT_ID, the short form through WASMCI_DEFAULT_SOURCE, and the seed --wasm-url form', async () => {
    const a = await runCli(['pull', 'gitlab:probe@1.0.0'], {
      env: env({ CI_PROJECT_ID: '42', CI_JOB_TOKEN: JOB_TOKEN }),
    });
    expect(a.code, a.stderr).toBe(0);
    const b = await runCli(['pull', 'probe@1.0.0'], {
      env: env({ WASMCI_DEFAULT_SOURCE: 'gitlab:group/plugins', CI_JOB_TOKEN: JOB_TOKEN }),
      cwd: home,
    });
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout.toString()).toContain(a.stdout.toString().slice(0, 64));
    // The seed pipeline's form: the token goes to the API URL (it is that GitLab's), not to storage.
    const before = gl.log.length;
    const url = `${gl.api}/projects/42/packages/generic/probe/1.0.0/probe.wasm`;
    const c = await runCli(['call', 'probe.wasm', 'echo', '--input', 'seed', '--wasm-url', url], {
      env: env({ CI_JOB_TOKEN: JOB_TOKEN }),
    });
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout.toString()).toBe('seed');
    expect(gl.log[before]?.headers['job-token']).toBe(JOB_TOKEN);
    expect(gl.storageRequestsWithCredentials()).toEqual([]);
    const short = await runCli(['pull', 'probe@1.0.0'], { env: env(), cwd: home });
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/WASMCI_DEFAULT_SOURCE/);
  });

  it('refuses plain http to a non-loopback host and malformed references with exit 2', async () => {
    const http = await runCli(['pull', 'http://example.com/x.wasm'], { env: env() });
    expect(http.code).toBe(2);
    expect(http.stderr).toMatch(/plain http/);
    const gitlab = await runCli(['pull', 'gitlab:42/probe'], { env: env() });
    expect(gitlab.code).toBe(2);
    expect(gitlab.stderr).toMatch(/no version/);
    const noApi = await runCli(['pull', 'gitlab:42/probe@1.0.0'], { env: env({ CI_API_V4_URL: '' }) });
    expect(noApi.code).toBe(2);
    expect(noApi.stderr).toMatch(/--gitlab-url/);
  });
});

describe('gitlab: transport faults', () => {
  it('retries 503s, honouring Retry-After', async () => {
    gl.faults.list.push({ match: '/probe/1.0.0/', times: 2, status: 503, retryAfter: 1 });
    const before = gl.log.length;
    const r = await runCli(['pull', 'gitlab:42/probe@1.0.0', '--log-level', 'warn'], {
      env: env({ CI_JOB_TOKEN: JOB_TOKEN }),
    });
    expect(r.code, r.stderr).toBe(0);
    const reqs = gl.log.slice(before);
    expect(reqs).toHaveLength(3);
    expect((reqs[1]?.at ?? 0) - (reqs[0]?.at ?? 0)).toBeGreaterThanOrEqual(900);
    expect(r.stderr).toMatch(/HTTP 503; retry 1 of/);
    expect(r.stderr).not.toContain(JOB_TOKEN);
  });

  it('gives up after the retries with a message about the server', async () => {
    gl.faults.list.push({ match: '/probe/1.0.0/', times: 10, status: 503 });
    const r = await runCli(['pull', 'gitlab:42/probe@1.0.0'], {
      env: env({ CI_JOB_TOKEN: JOB_TOKEN, WASMCI_HTTP_RETRIES: '2' }),
    });
    gl.faults.list = [];
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/HTTP 503/);
    expect(r.stderr).toMatch(/try again later/);
  });

  it('detects a truncated body (Content-Length larger than sent) and re-fetches it', async () => {
    gl.storage.faults.list.push({ match: '/bucket/', times: 1, truncate: true });
    const before = gl.storage.log.length;
    const r = await runCli(['call', 'gitlab:42/probe@1.0.0', 'echo', '--input', 'whole'], {
      env: env({ CI_JOB_TOKEN: JOB_TOKEN }),
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.toString()).toBe('whole');
    expect(gl.storage.log.length - before).toBe(2);

    gl.storage.faults.list.push({ match: '/bucket/', times: 10, truncate: true });
    const broken = await runCli(['pull', 'gitlab:42/probe@1.0.0'], {
      env: env({ CI_JOB_TOKEN: JOB_TOKEN, WASMCI_HTTP_RETRIES: '1', WASMCI_CACHE_DIR: tempDir() }),
    });
    gl.storage.faults.list = [];
    expect(broken.code).toBe(3);
    expect(broken.stderr).toMatch(/broke mid-transfer|cut short/);
  });

  it('waits for a slow server within the timeout and fails clearly beyond it', async () => {
    gl.faults.list.push({ match: '/probe/1.0.0/', times: 1, delayMs: 300 });
    const ok = await runCli(['pull', 'gitlab:42/probe@1.0.0'], {
      env: env({ CI_JOB_TOKEN: JOB_TOKEN, WASMCI_HTTP_TIMEOUT_MS: '3000' }),
    });
    expect(ok.code, ok.stderr).toBe(0);
    gl.faults.list.push({ match: '/probe/1.0.0/', times: 5, delayMs: 1500 });
    const slow = await runCli(['pull', 'gitlab:42/probe@1.0.0'], {
      env: env({
        CI_JOB_TOKEN: JOB_TOKEN,
        WASMCI_HTTP_TIMEOUT_MS: '400',
        WASMCI_HTTP_RETRIES: '1',
        WASMCI_CACHE_DIR: tempDir(),
      }),
    });
    gl.faults.list = [];
    expect(slow.code).toBe(3);
    expect(slow.stderr).toMatch(/timed out/);
  });

  it('goes through HTTP_PROXY, and around it for NO_PROXY hosts', async () => {
    const proxy = await new ForwardProxy().start();
    try {
      const r = await runCli(['pull', 'gitlab:42/probe@1.0.0'], {
        env: env({ CI_JOB_TOKEN: JOB_TOKEN, HTTP_PROXY: proxy.url, http_proxy: proxy.url }),
      });
      expect(r.code, r.stderr).toBe(0);
      const hostOf = (u: string) => new URL(u).host;
      expect(proxy.log).toEqual([
        { method: 'CONNECT', target: hostOf(gl.api) },
        { method: 'CONNECT', target: hostOf(gl.storage.url) },
      ]);
      const n = proxy.log.length;
      const direct = await runCli(['pull', 'gitlab:42/probe@1.0.0'], {
        env: env({
          CI_JOB_TOKEN: JOB_TOKEN,
          HTTP_PROXY: proxy.url,
          NO_PROXY: '127.0.0.1',
          WASMCI_CACHE_DIR: tempDir(),
        }),
      });
      expect(direct.code, direct.stderr).toBe(0);
      expect(proxy.log.length).toBe(n);
    } finally {
      await proxy.close();
    }
  });
});

describe('gitlab: progress and content checks', () => {
  it('prints a few plain progress lines for a large download in a CI log (no TTY)', async () => {
    // A valid module: the wasm header plus one 5 MiB custom section.
    const payload = Buffer.alloc(5 * 1024 * 1024, 7);
    const size = payload.length + 2;
    const leb = [(size & 0x7f) | 0x80, ((size >> 7) & 0x7f) | 0x80, ((size >> 14) & 0x7f) | 0x80, (size >> 21) & 0x7f];
    const big = Buffer.concat([Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0, ...leb, 1, 0x78]), payload]);
    gl.seed('42', 'big', '1.0.0', 'big.wasm', big);
    const r = await runCli(['pull', 'gitlab:42/big@1.0.0'], { env: env({ CI_JOB_TOKEN: JOB_TOKEN }) });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toBe('wasmci: downloading big@1.0.0 (5.0 MiB)');
    expect(lines.slice(1).map((l) => l.replace(/ \(.*/, ''))).toEqual([
      'wasmci: big@1.0.0: 25%',
      'wasmci: big@1.0.0: 50%',
      'wasmci: big@1.0.0: 75%',
      'wasmci: big@1.0.0: 100%',
    ]);
    const small = await runCli(['pull', 'gitlab:42/probe@1.0.0'], { env: env({ CI_JOB_TOKEN: JOB_TOKEN }) });
    expect(small.stderr).toBe('');
  });

  it('refuses a download that is not wasm (an HTML login page) with a pointed hint', async () => {
    gl.seed('42', 'html', '1.0.0', 'html.wasm', Buffer.from('<!DOCTYPE html><title>Sign in</title>'));
    const r = await runCli(['call', 'gitlab:42/html@1.0.0', 'echo'], { env: env({ CI_JOB_TOKEN: JOB_TOKEN }) });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/is not a WebAssembly module/);
    expect(r.stderr).toMatch(/HTML\/XML page/);
    expect(readdirSync(cache)).not.toContain('blobs');
  });
});

describe('cache', () => {
  it('detects a corrupted entry, removes it and re-fetches', async () => {
    const e = env({ CI_JOB_TOKEN: JOB_TOKEN });
    expect((await runCli(['pull', 'gitlab:42/probe@1.0.0'], { env: e })).code).toBe(0);
    const [blob] = blobs(cache);
    writeFileSync(path.join(cache, 'blobs/sha256', blob as string), 'not the plugin');
    const before = gl.log.length;
    const r = await runCli(['call', 'gitlab:42/probe@1.0.0', 'echo', '--input', 'fixed'], { env: e });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.toString()).toBe('fixed');
    expect(r.stderr).toMatch(/corrupted/);
    expect(gl.log.length - before).toBe(1);
    expect(readFileSync(path.join(cache, 'blobs/sha256', blob as string)).equals(probe)).toBe(true);
  });

  it('--offline never touches the network: fails clearly when not cached, works once pulled', async () => {
    const before = gl.log.length + gl.storage.log.length;
    const miss = await runCli(['call', 'gitlab:42/probe@1.0.0', 'echo', '--offline'], {
      env: env({ CI_JOB_TOKEN: JOB_TOKEN }),
    });
    expect(miss.code).toBe(2);
    expect(miss.stderr).toMatch(/offline: plugin gitlab:42\/probe@1\.0\.0 is not in the cache/);
    expect(miss.stderr).toMatch(/wasmci pull/);
    expect(gl.log.length + gl.storage.log.length).toBe(before);
    expect((await runCli(['pull', 'gitlab:42/probe@1.0.0'], { env: env({ CI_JOB_TOKEN: JOB_TOKEN }) })).code).toBe(0);
    const after = gl.log.length + gl.storage.log.length;
    const hit = await runCli(['call', 'gitlab:42/probe@1.0.0', 'echo', '--input', 'off'], {
      env: env({ WASMCI_OFFLINE: '1', CI_API_V4_URL: gl.api }),
    });
    expect(hit.code, hit.stderr).toBe(0);
    expect(hit.stdout.toString()).toBe('off');
    expect(gl.log.length + gl.storage.log.length).toBe(after);
  });

  it('finds a plugin in a read-only seed cache (WASMCI_SEED_CACHE) without configuration or network', async () => {
    const seed = tempDir('wasmci-seed-');
    expect(
      (await runCli(['pull', 'gitlab:42/probe@1.0.0', '--cache-dir', seed], { env: env({ CI_JOB_TOKEN: JOB_TOKEN }) }))
        .code,
    ).toBe(0);
    const before = gl.log.length;
    const r = await runCli(['call', 'gitlab:42/probe@1.0.0', 'echo', '--input', 'baked'], {
      env: env({ WASMCI_SEED_CACHE: seed }),
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.toString()).toBe('baked');
    expect(gl.log.length).toBe(before);
  });

  it('several pull processes into one cache at once end with one valid entry', async () => {
    const runs = await Promise.all(
      Array.from({ length: 5 }, () =>
        runCli(['pull', 'gitlab:42/probe@1.0.0'], { env: env({ CI_JOB_TOKEN: JOB_TOKEN }) }),
      ),
    );
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const entries = readdirSync(path.join(cache, 'blobs/sha256'));
    expect(entries).toHaveLength(1);
    expect(readFileSync(path.join(cache, 'blobs/sha256', entries[0] as string)).equals(probe)).toBe(true);
    expect(readdirSync(path.join(cache, 'index')).filter((f) => !f.endsWith('.json'))).toEqual([]);
    const index = readdirSync(path.join(cache, 'index'));
    expect(index).toHaveLength(1);
    expect(JSON.parse(readFileSync(path.join(cache, 'index', index[0] as string), 'utf8')).sha256).toBe(entries[0]);
  });
});

describe('lockfile', () => {
  it('pull --lock pins; runs check the pin; a changed upload is a hash mismatch; --frozen refuses unpinned refs', async () => {
    const project = tempDir('wasmci-project-');
    gl.seed('42', 'moving', '2.0.0', 'moving.wasm', probe);
    const e = env({ CI_JOB_TOKEN: JOB_TOKEN });
    const lock = await runCli(['pull', '--lock', 'gitlab:42/moving@2.0.0'], { env: e, cwd: project });
    expect(lock.code, lock.stderr).toBe(0);
    const written = JSON.parse(readFileSync(path.join(project, 'wasmci.lock'), 'utf8'));
    expect(written.plugins['gitlab:42/moving@2.0.0']).toEqual({
      sha256: lock.stdout.toString().slice(0, 64),
      size: probe.length,
      resolved: `${gl.api}/projects/42/packages/generic/moving/2.0.0/moving.wasm`,
    });
    expect(JSON.stringify(written)).not.toContain(JOB_TOKEN);

    // Someone re-uploads different bytes under the same version; a fresh cache (another runner) fetches them.
    gl.seed('42', 'moving', '2.0.0', 'moving.wasm', readFileSync(fixture('echo.wasm')));
    cache = tempDir('wasmci-cache-');
    const changed = await runCli(['call', 'gitlab:42/moving@2.0.0', 'echo', '--input', 'x'], {
      env: env({ CI_JOB_TOKEN: JOB_TOKEN }),
      cwd: project,
    });
    expect(changed.code).toBe(3);
    expect(changed.stderr).toMatch(
      /hash mismatch: plugin gitlab:42\/moving@2\.0\.0 has sha256 [a-f0-9]{64}, but .*wasmci\.lock pins/,
    );
    expect(changed.stderr).toMatch(/wasmci pull --lock/);

    const frozen = await runCli(['call', 'gitlab:42/probe@1.0.0', 'echo', '--frozen'], { env: e, cwd: project });
    expect(frozen.code).toBe(2);
    expect(frozen.stderr).toMatch(/--frozen: gitlab:42\/probe@1\.0\.0 is not pinned/);
    const nolock = await runCli(['call', fixture('echo.wasm'), 'echo', '--frozen'], { env: e, cwd: tempDir() });
    expect(nolock.code).toBe(2);
    expect(nolock.stderr).toMatch(/--frozen: no lockfile/);
  });

  it('a pinned plugin already in the cache runs with no network call even for a mutable URL', async () => {
    const project = tempDir('wasmci-project-');
    const url = `${gl.api}/projects/42/packages/generic/probe/1.0.0/probe.wasm`;
    const e = env({ CI_JOB_TOKEN: JOB_TOKEN });
    expect((await runCli(['pull', '--lock', url], { env: e, cwd: project })).code).toBe(0);
    const before = gl.log.length;
    const r = await runCli(['call', url, 'echo', '--input', 'pinned', '--frozen'], { env: e, cwd: project });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.toString()).toBe('pinned');
    expect(gl.log.length).toBe(before);
  });
});

describe('publish and inspect', () => {
  it('uploads with select=package_file, verifies file_sha256, refuses to overwrite unless --force', async () => {
    const e = env({ WASMCI_GITLAB_TOKEN: PRIVATE_TOKEN });
    const args = [
      'publish',
      fixture('probe.wasm'),
      '--package',
      'fresh',
      '--version',
      '0.1.0',
      '--project',
      'group/plugins',
    ];
    const first = await runCli(args, { env: e });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout.toString()).toMatch(/^[a-f0-9]{64} {2}gitlab:group\/plugins\/fresh@0\.1\.0\n$/);
    const put = gl.log.filter((l) => l.method === 'PUT').at(-1);
    expect(put?.url).toBe(
      '/api/v4/projects/group%2Fplugins/packages/generic/fresh/0.1.0/fresh.wasm?select=package_file',
    );
    expect(gl.files.get('42/fresh/0.1.0/fresh.wasm')?.[0]?.data.equals(probe)).toBe(true);

    const again = await runCli(args, { env: e });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already has a file fresh\.wasm/);
    expect(again.stderr).toMatch(/--force/);
    expect(gl.files.get('42/fresh/0.1.0/fresh.wasm')).toHaveLength(1);
    const forced = await runCli([...args, '--force'], { env: e });
    expect(forced.code, forced.stderr).toBe(0);
    expect(gl.files.get('42/fresh/0.1.0/fresh.wasm')).toHaveLength(2);

    // And it can be called back by reference.
    const call = await runCli(['call', 'gitlab:group/plugins/fresh@0.1.0', 'echo', '--input', 'round trip'], {
      env: e,
    });
    expect(call.stdout.toString()).toBe('round trip');
  });

  it('fails when the registry reports another sha256, and without a token or with a read-only one', async () => {
    gl.lieAboutSha256 = '0'.repeat(64);
    const lie = await runCli(
      ['publish', fixture('probe.wasm'), '--package', 'liar', '--version', '1.0.0', '--project', '42'],
      { env: env({ WASMCI_GITLAB_TOKEN: PRIVATE_TOKEN }) },
    );
    gl.lieAboutSha256 = undefined;
    expect(lie.code).toBe(3);
    expect(lie.stderr).toMatch(/stored .* with sha256 0{64}, but [a-f0-9]{64} was sent/);
    const none = await runCli(
      ['publish', fixture('probe.wasm'), '--package', 'x', '--version', '1', '--project', '42'],
      { env: env() },
    );
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/needs a GitLab token/);
    const ro = await runCli(['publish', fixture('probe.wasm'), '--package', 'x', '--version', '1', '--project', '42'], {
      env: env({ WASMCI_GITLAB_DEPLOY_TOKEN: DEPLOY_TOKEN }),
    });
    expect(ro.code).toBe(3);
    expect(ro.stderr).toMatch(/HTTP 403/);
    expect(ro.stderr).toMatch(/write_package_registry/);
    expect(ro.stderr).not.toContain(DEPLOY_TOKEN);
    const notWasm = await runCli(
      ['publish', path.join(import.meta.dirname, 'call.test.ts'), '--package', 'x', '--version', '1'],
      { env: env() },
    );
    expect(notWasm.code).toBe(2);
    expect(notWasm.stderr).toMatch(/neither a \.wasm module nor a plugin bundle/);
  });

  it('inspect shows sha256, size, exports and imports of a gitlab: plugin', async () => {
    const r = await runCli(['inspect', 'gitlab:42/probe@1.0.0', '--json'], { env: env({ CI_JOB_TOKEN: JOB_TOKEN }) });
    expect(r.code, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout.toString());
    expect(info.size).toBe(probe.length);
    expect(info.sha256).toMatch(/^[a-f0-9]{64}$/);
    expect(info.exports).toEqual(expect.arrayContaining(['echo', 'config', 'read_file']));
    expect(info.imports).toEqual(expect.arrayContaining(['extism:host/env.input_length']));
    expect(info.describe).toBeUndefined();
  });
});
