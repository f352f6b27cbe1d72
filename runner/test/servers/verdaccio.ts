/**
 * verdaccio 6.8.0 from node_modules with a temp config on 127.0.0.1: `@private/*` needs a login, everything else is
 * public; no uplinks (nothing leaves the machine). `publishPackage` uses the real `npm publish`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, httpOk, type Launched, launch } from './launch.js';

const root = path.resolve(import.meta.dirname, '../../..');

export class Verdaccio {
  url = '';
  token = '';
  #proc: Launched | undefined;

  constructor(readonly dir: string) {}

  async start(): Promise<this> {
    const port = await freePort();
    this.url = `http://127.0.0.1:${port}/`;
    const config = path.join(this.dir, 'config.yaml');
    writeFileSync(
      config,
      [
        `storage: ${path.join(this.dir, 'storage')}`,
        'auth:',
        '  htpasswd:',
        `    file: ${path.join(this.dir, 'htpasswd')}`,
        '    max_users: 10',
        'uplinks: {}',
        'packages:',
        "  '@private/*':",
        '    access: $authenticated',
        '    publish: $authenticated',
        "  '**':",
        '    access: $all',
        '    publish: $authenticated',
        `listen: 127.0.0.1:${port}`,
        'log: { type: stdout, format: pretty, level: error }',
        '',
      ].join('\n'),
    );
    this.#proc = await launch(
      process.execPath,
      [path.join(root, 'node_modules/verdaccio/bin/verdaccio'), '--config', config],
      () => httpOk(`${this.url}-/ping`),
    );
    const res = await fetch(`${this.url}-/user/org.couchdb.user:tester`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'tester', password: 'tester-password-1' }),
    });
    const body = (await res.json()) as { token?: string };
    if (!body.token) throw new Error(`verdaccio user creation failed: ${JSON.stringify(body)}`);
    this.token = body.token;
    return this;
  }

  /** The `//host:port/` key npm uses for this registry's credentials. */
  get nerfDart(): string {
    return `//${new URL(this.url).host}/`;
  }

  /** Publishes a package made of `files` with the real npm client. */
  publishPackage(pkg: Record<string, unknown>, files: Record<string, Buffer | string>, tag = 'latest'): void {
    const dir = path.join(this.dir, `pkg-${String(pkg.name).replace(/[@/]/g, '_')}-${pkg.version}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify(pkg));
    for (const [name, data] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      writeFileSync(path.join(dir, name), data);
    }
    const npmrc = path.join(this.dir, 'publish.npmrc');
    writeFileSync(npmrc, `${this.nerfDart}:_authToken=${this.token}\n`);
    execFileSync('npm', ['publish', '--registry', this.url, '--userconfig', npmrc, '--tag', tag, '--ignore-scripts'], {
      cwd: dir,
      stdio: 'pipe',
      env: { ...process.env, npm_config_cache: path.join(this.dir, 'npm-cache'), npm_config_audit: 'false' },
    });
  }

  stop(): Promise<void> {
    return this.#proc?.stop() ?? Promise.resolve();
  }
}
