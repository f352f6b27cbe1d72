/**
 * Debian's `docker-registry` (distribution 2.8) on 127.0.0.1 with temp storage, plus `TokenGate`, a front that
 * demands the distribution bearer-token flow (401 + `WWW-Authenticate: Bearer realm=…`, a token endpoint taking
 * Basic credentials) and forwards authorised requests to the registry.
 */
import { existsSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { freePort, httpOk, type Launched, launch } from './launch.js';

export const REGISTRY_BIN = '/usr/bin/docker-registry';

export class DockerRegistry {
  url = '';
  host = '';
  #proc: Launched | undefined;

  constructor(readonly dir: string) {}

  async start(): Promise<this> {
    if (!existsSync(REGISTRY_BIN))
      throw new Error(`${REGISTRY_BIN} is missing: apt-get install -y docker-registry (scripts/apt-packages-test.txt)`);
    const port = await freePort();
    this.host = `127.0.0.1:${port}`;
    this.url = `http://${this.host}`;
    const config = path.join(this.dir, 'config.yml');
    writeFileSync(
      config,
      [
        'version: 0.1',
        'log:',
        '  level: error',
        'storage:',
        '  filesystem:',
        `    rootdirectory: ${path.join(this.dir, 'data')}`,
        'http:',
        `  addr: ${this.host}`,
        '',
      ].join('\n'),
    );
    this.#proc = await launch(REGISTRY_BIN, ['serve', config], () => httpOk(`${this.url}/v2/`));
    return this;
  }

  stop(): Promise<void> {
    return this.#proc?.stop() ?? Promise.resolve();
  }
}

export class TokenGate {
  url = '';
  host = '';
  log: { method: string; url: string; authorization?: string }[] = [];
  readonly token = `gate-token-${Math.random().toString(36).slice(2)}`;
  readonly server: http.Server;

  constructor(
    readonly upstream: string,
    readonly username: string,
    readonly password: string,
  ) {
    this.server = http.createServer((req, res) => this.#handle(req, res));
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.host = `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    this.url = `http://${this.host}`;
    return this;
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse) {
    this.log.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization });
    const u = new URL(req.url ?? '/', this.url);
    if (u.pathname === '/token') {
      const expected = `Basic ${Buffer.from(`${this.username}:${this.password}`).toString('base64')}`;
      if (req.headers.authorization !== expected) return void res.writeHead(401).end('{"errors":[{"code":"DENIED"}]}');
      return void res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ token: this.token, scope: u.searchParams.get('scope') }));
    }
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      const repo = /^\/v2\/(.+?)\/(manifests|blobs|tags)\//.exec(u.pathname)?.[1] ?? '';
      const action = req.method === 'GET' || req.method === 'HEAD' ? 'pull' : 'pull,push';
      res.writeHead(401, {
        'content-type': 'application/json',
        'www-authenticate': `Bearer realm="${this.url}/token",service="test-registry",scope="repository:${repo}:${action}"`,
      });
      return void res.end('{"errors":[{"code":"UNAUTHORIZED"}]}');
    }
    const headers = { ...req.headers };
    delete headers.authorization;
    const up = http.request(`${this.upstream}${req.url}`, { method: req.method, headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.writeHead(502).end());
    req.pipe(up);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}
