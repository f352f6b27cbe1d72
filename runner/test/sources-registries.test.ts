/**
 * npm: references against verdaccio 6.8.0, oci:// references and `publish --oci` against Debian's docker-registry
 * (directly, and behind a bearer-token gate), and plugin bundles (.tar.gz) from any source.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, runCli, tempDir } from './helpers/cli.js';
import { DockerRegistry, TokenGate } from './servers/docker-registry.js';
import { GitlabTestServer } from './servers/gitlab.js';
import { Verdaccio } from './servers/verdaccio.js';

let probe: Buffer;

function env(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    HOME: home,
    WASMCI_CACHE_DIR: tempDir('wasmci-cache-'),
    WASMCI_HTTP_RETRY_BASE_MS: '20',
    WASMCI_OCI_USERNAME: '',
    WASMCI_OCI_PASSWORD: '',
    DOCKER_CONFIG: path.join(home, '.docker'),
    NPM_CONFIG_USERCONFIG: path.join(home, '.npmrc'),
    npm_config_userconfig: path.join(home, '.npmrc'),
    NPM_CONFIG_REGISTRY: '',
    npm_config_registry: '',
    CI_API_V4_URL: '',
    WASMCI_SEED_CACHE: '',
    HTTP_PROXY: '',
    http_proxy: '',
    ...extra,
  };
}

beforeAll(() => {
  probe = readFileSync(fixture('probe.wasm'));
});

describe('npm: references (verdaccio)', () => {
  let reg: Verdaccio;
  let home: string;

  beforeAll(async () => {
    reg = await new Verdaccio(tempDir('wasmci-verdaccio-')).start();
    // 1.0.0 has no plugin in it; 1.0.1 names its wasm in package.json (wasmci.plugin).
    reg.publishPackage({ name: 'probe-plugin', version: '1.0.0' }, { 'README.md': 'no plugin here' });
    reg.publishPackage(
      { name: 'probe-plugin', version: '1.0.1', wasmci: { plugin: 'dist/probe.wasm' } },
      { 'dist/probe.wasm': probe },
    );
    home = tempDir('wasmci-home-');
    reg.publishPackage(
      { name: '@private/probe', version: '2.0.0' },
      { 'wasmci-plugin.json': JSON.stringify({ wasm: 'plugin.wasm' }), 'plugin.wasm': probe },
    );
    writeFileSync(
      path.join(home, '.npmrc'),
      `registry=${reg.url}\n@private:registry=${reg.url}\n${reg.nerfDart}:_authToken=\${VERDACCIO_TOKEN}\n`,
    );
  }, 120_000);

  afterAll(async () => {
    await reg?.stop();
  });

  it('fetches a package whose package.json names the wasm, and a scoped private one with the .npmrc token', async () => {
    const e = env(home, { VERDACCIO_TOKEN: reg.token });
    const pub = await runCli(['call', 'npm:probe-plugin@1.0.1', 'echo', '--input', 'from npm'], { env: e });
    expect(pub.code, pub.stderr).toBe(0);
    expect(pub.stdout.toString()).toBe('from npm');
    const priv = await runCli(['call', 'npm:@private/probe@2.0.0', 'echo', '--input', 'private'], { env: e });
    expect(priv.code, priv.stderr).toBe(0);
    expect(priv.stdout.toString()).toBe('private');
    // Exact version: the second pull is served from the cache.
    const again = await runCli(['pull', 'npm:@private/probe@2.0.0'], { env: e });
    expect(again.stdout.toString()).toMatch(/\(cached\)/);
  });

  it('resolves a dist-tag, and explains a missing version, a package without a plugin, and a missing token', async () => {
    const e = env(home, { VERDACCIO_TOKEN: reg.token });
    const tag = await runCli(['pull', 'npm:probe-plugin@latest'], { env: e });
    expect(tag.code, tag.stderr).toBe(0);
    expect(tag.stdout.toString().slice(0, 64)).toBe(
      (await import('node:crypto')).createHash('sha256').update(probe).digest('hex'),
    );
    const missing = await runCli(['pull', 'npm:probe-plugin@9.9.9'], { env: e });
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/has no version or dist-tag 9\.9\.9/);
    const empty = await runCli(['pull', 'npm:probe-plugin@1.0.0'], { env: e });
    expect(empty.code).toBe(3);
    expect(empty.stderr).toMatch(/holds 0 \.wasm files/);
    const anon = await runCli(['pull', 'npm:@private/probe@2.0.0'], { env: env(home, { VERDACCIO_TOKEN: '' }) });
    expect(anon.code).toBe(3);
    expect(anon.stderr).toMatch(/HTTP 40[13]/);
    const nope = await runCli(['pull', 'npm:no-such-plugin@1.0.0'], { env: e });
    expect(nope.code).toBe(3);
    expect(nope.stderr).toMatch(/no npm package no-such-plugin/);
    for (const r of [tag, missing, empty, anon, nope]) expect(r.stderr).not.toContain(reg.token);
  });
});

describe('oci:// references (docker-registry)', () => {
  let registry: DockerRegistry;
  let gate: TokenGate;
  let home: string;

  beforeAll(async () => {
    registry = await new DockerRegistry(tempDir('wasmci-registry-')).start();
    gate = await new TokenGate(registry.url, 'ci-user', 'oci-password-7f3e2d').start();
    home = tempDir('wasmci-home-');
  }, 60_000);

  afterAll(async () => {
    await gate?.close();
    await registry?.stop();
  });

  it('publish --oci pushes a Wasm artifact that oci:// references run, by tag and by digest', async () => {
    const e = env(home);
    const push = await runCli(
      ['publish', fixture('probe.wasm'), '--oci', `oci://${registry.host}/plugins/probe:1.0.0`],
      { env: e },
    );
    expect(push.code, push.stderr).toBe(0);
    const [layer, pinned] = push.stdout.toString().trim().split(/\s+/);
    expect(pinned).toMatch(new RegExp(`^oci://${registry.host}/plugins/probe@sha256:[a-f0-9]{64}$`));
    const manifest = (await (
      await fetch(`${registry.url}/v2/plugins/probe/manifests/1.0.0`, {
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
      })
    ).json()) as { config: { mediaType: string }; layers: { mediaType: string; digest: string }[] };
    expect(manifest.config.mediaType).toBe('application/vnd.wasm.config.v0+json');
    expect(manifest.layers).toEqual([
      expect.objectContaining({ mediaType: 'application/wasm', digest: `sha256:${layer}` }),
    ]);

    const byTag = await runCli(['call', `oci://${registry.host}/plugins/probe:1.0.0`, 'echo', '--input', 'oci tag'], {
      env: e,
    });
    expect(byTag.code, byTag.stderr).toBe(0);
    expect(byTag.stdout.toString()).toBe('oci tag');
    const byDigest = await runCli(['pull', pinned as string], { env: e });
    expect(byDigest.code, byDigest.stderr).toBe(0);
    expect(byDigest.stdout.toString().slice(0, 64)).toBe(layer);
    // A digest is immutable: served from the cache with the registry stopped-equivalent (offline).
    const cached = await runCli(['pull', pinned as string, '--offline'], { env: e });
    expect(cached.stdout.toString()).toMatch(/\(cached\)/);
    const missing = await runCli(['pull', `oci://${registry.host}/plugins/probe:9.9.9`], { env: e });
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/no manifest 9\.9\.9 in OCI repository/);
  });

  it('refuses an OCI artifact without a wasm layer', async () => {
    const e = env(home);
    const blob = Buffer.from('not wasm');
    const { createHash } = await import('node:crypto');
    const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
    const start = await fetch(`${registry.url}/v2/plugins/image/blobs/uploads/`, { method: 'POST' });
    const loc = new URL(start.headers.get('location') as string, registry.url);
    loc.searchParams.set('digest', digest);
    expect((await fetch(loc, { method: 'PUT', body: blob })).status).toBe(201);
    const manifest = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest, size: blob.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest, size: blob.length }],
    };
    const put = await fetch(`${registry.url}/v2/plugins/image/manifests/v1`, {
      method: 'PUT',
      headers: { 'content-type': manifest.mediaType },
      body: JSON.stringify(manifest),
    });
    expect(put.status).toBe(201);
    const r = await runCli(['pull', `oci://${registry.host}/plugins/image:v1`], { env: e });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/is not a Wasm artifact/);
    expect(r.stderr).toMatch(/application\/vnd\.oci\.image\.layer\.v1\.tar/);
  });

  it('follows the bearer-token flow with credentials from env or ~/.docker/config.json, never showing them', async () => {
    const ref = `oci://${gate.host}/gated/probe:1.0.0`;
    // Environment credentials go only to the registry WASMCI_OCI_REGISTRY names (hostile-sources.test.ts).
    const creds = {
      WASMCI_OCI_USERNAME: 'ci-user',
      WASMCI_OCI_PASSWORD: gate.password,
      WASMCI_OCI_REGISTRY: gate.host,
    };
    const push = await runCli(['publish', fixture('probe.wasm'), '--oci', ref], { env: env(home, creds) });
    expect(push.code, push.stderr).toBe(0);
    expect(
      gate.log.some((l) => l.url.startsWith('/token?') && l.url.includes('scope=repository%3Agated%2Fprobe')),
    ).toBe(true);

    const fromEnv = await runCli(['call', ref, 'echo', '--input', 'gated'], { env: env(home, creds) });
    expect(fromEnv.code, fromEnv.stderr).toBe(0);
    expect(fromEnv.stdout.toString()).toBe('gated');

    const dockerHome = tempDir('wasmci-home-');
    mkdirSync(path.join(dockerHome, '.docker'));
    const auth = Buffer.from(`ci-user:${gate.password}`).toString('base64');
    writeFileSync(path.join(dockerHome, '.docker/config.json'), JSON.stringify({ auths: { [gate.host]: { auth } } }));
    const fromConfig = await runCli(['pull', ref], { env: env(dockerHome) });
    expect(fromConfig.code, fromConfig.stderr).toBe(0);

    const wrong = await runCli(['pull', ref, '--log-level', 'debug'], {
      env: env(home, { ...creds, WASMCI_OCI_PASSWORD: 'wrong-password-123' }),
    });
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toMatch(/refused the credentials/);
    expect(wrong.stderr).toMatch(/WASMCI_OCI_USERNAME/);
    const anon = await runCli(['pull', ref], { env: env(tempDir()) });
    expect(anon.code).toBe(3);
    expect(anon.stderr).toMatch(/refused anonymous access/);
    for (const r of [push, fromEnv, fromConfig, wrong, anon]) {
      expect(r.stderr).not.toContain(gate.password);
      expect(r.stderr).not.toContain('wrong-password-123');
      expect(r.stderr).not.toContain(gate.token);
    }
  });
});

describe('plugin bundles (.tar.gz)', () => {
  async function bundle(files: Record<string, Buffer | string>): Promise<Buffer> {
    const dir = tempDir('wasmci-bundle-');
    mkdirSync(path.join(dir, 'secrets-1.0.0'));
    for (const [n, d] of Object.entries(files)) writeFileSync(path.join(dir, 'secrets-1.0.0', n), d);
    const out = path.join(dir, 'bundle.tar.gz');
    await tar.c({ gzip: true, file: out, cwd: dir }, ['secrets-1.0.0']);
    return readFileSync(out);
  }

  it('runs the wasm named by wasmci-plugin.json from a file or a registry, and refuses a tampered one', async () => {
    const { createHash } = await import('node:crypto');
    const sha = createHash('sha256').update(probe).digest('hex');
    const good = await bundle({
      'wasmci-plugin.json': JSON.stringify({ name: 'probe', wasm: 'probe.wasm', sha256: sha }),
      'probe.wasm': probe,
      'other.wasm': readFileSync(fixture('echo.wasm')),
    });
    const dir = tempDir();
    writeFileSync(path.join(dir, 'probe.tar.gz'), good);
    const home = tempDir();
    const local = await runCli(['call', path.join(dir, 'probe.tar.gz'), 'echo', '--input', 'bundled'], {
      env: env(home),
    });
    expect(local.code, local.stderr).toBe(0);
    expect(local.stdout.toString()).toBe('bundled');

    const gl = await new GitlabTestServer().start();
    try {
      gl.projects.push({ id: '1', path: 'g/p', public: true });
      gl.seed('1', 'probe', '1.0.0', 'probe.tar.gz', good);
      const remote = await runCli(['pull', 'gitlab:1/probe@1.0.0/probe.tar.gz', '--gitlab-url', gl.origin], {
        env: env(home),
      });
      expect(remote.code, remote.stderr).toBe(0);
      expect(remote.stdout.toString().slice(0, 64)).toBe(sha);
    } finally {
      await gl.close();
    }

    const tampered = await bundle({
      'wasmci-plugin.json': JSON.stringify({ wasm: 'probe.wasm', sha256: sha }),
      'probe.wasm': readFileSync(fixture('echo.wasm')),
    });
    writeFileSync(path.join(dir, 'tampered.tar.gz'), tampered);
    const bad = await runCli(['pull', path.join(dir, 'tampered.tar.gz')], { env: env(home) });
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/does not match the sha256 in wasmci-plugin\.json/);
  });
});
