import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, runCli, secretsWasm, tempDir } from './helpers/cli.js';

const probe = () => fixture('probe.wasm');

describe('wasmci call: input and output', () => {
  it('round-trips --input bytes through a plugin to stdout', async () => {
    const r = await runCli(['call', fixture('echo.wasm'), 'echo', '--input', 'héllo wörld']);
    expect(r.code).toBe(0);
    expect(r.stdout.toString('utf8')).toBe('héllo wörld');
  });

  it('reads --input-file and --stdin as raw bytes', async () => {
    const dir = tempDir();
    const bin = Buffer.from([0, 1, 2, 255, 254, 10, 13]);
    writeFileSync(path.join(dir, 'in.bin'), bin);
    const a = await runCli(['call', probe(), 'echo', '--input-file', path.join(dir, 'in.bin')]);
    expect(a.code).toBe(0);
    expect(Buffer.compare(a.stdout, bin)).toBe(0);
    const b = await runCli(['call', probe(), 'echo', '--stdin'], { stdin: 'from stdin' });
    expect(b.stdout.toString()).toBe('from stdin');
  });

  it('refuses two inputs at once as a usage error', async () => {
    const r = await runCli(['call', probe(), 'echo', '--input', 'a', '--stdin']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/one way/);
  });

  it('prints the version', async () => {
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.toString().trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('wasmci call: config', () => {
  it('passes --config, --config-json and --env into the plugin config', async () => {
    const a = await runCli(['call', probe(), 'config', '--input', 'k', '--config', 'k=v=1']);
    expect(a.stdout.toString()).toBe('v=1');
    const b = await runCli(['call', probe(), 'config', '--input', 'n', '--config-json', '{"n":42}']);
    expect(b.stdout.toString()).toBe('42');
    const c = await runCli(['call', probe(), 'config', '--input', 'MY_VAR', '--env', 'MY_VAR'], {
      env: { MY_VAR: 'from-env' },
    });
    expect(c.stdout.toString()).toBe('from-env');
  });

  it('rejects malformed config flags with exit 2', async () => {
    expect((await runCli(['call', probe(), 'config', '--config', 'novalue'])).code).toBe(2);
    expect((await runCli(['call', probe(), 'config', '--config-json', '[1]'])).code).toBe(2);
    const r = await runCli(['call', probe(), 'config', '--env', 'WASMCI_SURELY_UNSET_VAR']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/WASMCI_SURELY_UNSET_VAR/);
  });

  it('gives the plugin no host environment', async () => {
    const r = await runCli(['call', probe(), 'env_dump'], { env: { SECRET_TOKEN: 'leak-me-please' } });
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe('');
  });
});

describe('wasmci call: mounts', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir();
    mkdirSync(path.join(dir, 'data'));
    writeFileSync(path.join(dir, 'data/inside.txt'), 'inside');
    writeFileSync(path.join(dir, 'outside.txt'), 'outside');
    symlinkSync(path.join(dir, 'outside.txt'), path.join(dir, 'data/link-out'));
    symlinkSync('/etc', path.join(dir, 'data/etc-dir'));
  });

  it('reads a file in a mounted directory (minism --allow-paths form)', async () => {
    const r = await runCli(
      ['call', probe(), 'read_file', '--input', '/mnt/inside.txt', '--allow-paths', '{"data":"/mnt"}'],
      {
        cwd: dir,
      },
    );
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe('inside');
  });

  it('cannot read outside the mount: .., absolute paths, symlinks out', async () => {
    for (const p of [
      '/mnt/../outside.txt',
      '/outside.txt',
      `${dir}/outside.txt`,
      '/mnt/link-out',
      '/mnt/etc-dir/passwd',
    ]) {
      const r = await runCli(['call', probe(), 'read_file', '--input', p, '--allow-path', `${dir}/data:/mnt`]);
      expect(r.code, p).toBe(3);
      expect(r.stdout.toString(), p).not.toContain('outside');
      expect(r.stdout.toString(), p).not.toContain('root:');
    }
  });

  it('cannot read any file without a mount', async () => {
    const r = await runCli(['call', probe(), 'read_file', '--input', '/etc/passwd']);
    expect(r.code).toBe(3);
    expect(r.stdout.length).toBe(0);
  });

  it('read-only mounts refuse writes; read-write mounts accept them', async () => {
    const ro = await runCli([
      'call',
      probe(),
      'write_file',
      '--input',
      '/mnt/new.txt\nx',
      '--allow-path',
      `${dir}/data:/mnt:ro`,
    ]);
    expect(ro.code).toBe(3);
    expect(ro.stderr).toMatch(/Read-only file system/);
    expect(existsSync(path.join(dir, 'data/new.txt'))).toBe(false);
    const roJson = await runCli([
      'call',
      probe(),
      'write_file',
      '--input',
      '/mnt/inside.txt\nclobbered',
      '--allow-paths',
      JSON.stringify({ [`${dir}/data`]: '/mnt:ro' }),
    ]);
    expect(roJson.code).toBe(3);
    expect(readFileSync(path.join(dir, 'data/inside.txt'), 'utf8')).toBe('inside');
    const rw = await runCli([
      'call',
      probe(),
      'write_file',
      '--input',
      '/mnt/new.txt\nx',
      '--allow-path',
      `${dir}/data:/mnt`,
    ]);
    expect(rw.code).toBe(0);
    expect(readFileSync(path.join(dir, 'data/new.txt'), 'utf8')).toBe('x');
  });

  it('lists a mounted directory', async () => {
    const r = await runCli(['call', probe(), 'list_dir', '--input', '/mnt', '--allow-path', `${dir}/data:/mnt:ro`]);
    expect(r.code).toBe(0);
    expect(r.stdout.toString().split('\n')).toContain('inside.txt');
  });

  it('rejects a mount of a missing directory as a usage error', async () => {
    const r = await runCli(['call', probe(), 'echo', '--allow-path', `${dir}/nope:/mnt`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/does not exist/);
    expect((await runCli(['call', probe(), 'echo', '--allow-paths', '{not json'])).code).toBe(2);
  });
});

describe('wasmci call: limits and faults', () => {
  it('stops a plugin that loops forever at --timeout, exit 3', async () => {
    const r = await runCli(['call', probe(), 'spin', '--timeout', '700']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/timeout.*700 ms/);
    expect(r.durationMs).toBeLessThan(15_000);
  });

  it("caps the plugin's own linear memory at --memory-max", async () => {
    const wat = await runCli(['call', fixture('grow.wasm'), 'grow', '--memory-max', '32']);
    expect(wat.code).toBe(3);
    expect(wat.stderr).toMatch(/memory-limit/);
    const big = await runCli(['call', probe(), 'alloc_mb', '--input', '100', '--memory-max', '64']);
    expect(big.code).toBe(3);
    expect(big.stderr).toMatch(/memory-limit.*64 MiB/);
    const ok = await runCli(['call', probe(), 'alloc_mb', '--input', '40', '--memory-max', '64']);
    expect(ok.code).toBe(0);
    expect(ok.stdout.toString()).toBe('allocated 40 MiB');
  });

  it('caps the tables of a plugin: huge declared tables are refused, grown ones stop at the cap (no crash)', async () => {
    // Both aborted the whole process (exit 134, V8 out of heap) before tables were capped.
    const big = await runCli(['call', fixture('tablebig.wasm'), 'run']);
    expect(big.signal).toBeNull();
    expect(big.code, big.stderr).toBe(3);
    expect(big.stderr).toMatch(/memory-limit.*tables need 80000000 entries at start, over the limit of 100000/);
    const grow = await runCli(['call', fixture('tablegrow.wasm'), 'grow']);
    expect(grow.signal).toBeNull();
    expect(grow.code, grow.stderr).toBe(3);
    expect(grow.stderr).toMatch(/memory-limit.*tables reached their limit/);
    expect(grow.peakRssMiB).toBeLessThan(250);
  });

  it('reports a trap with the panic message, exit 3, no stack trace', async () => {
    const r = await runCli(['call', probe(), 'panic']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/trap.*probe panicked on purpose/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('reports an error the plugin sets', async () => {
    const r = await runCli(['call', probe(), 'fail_with', '--input', 'custom failure']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/plugin-error.*custom failure/);
  });

  it('keeps an error message the plugin set just before trapping', async () => {
    const r = await runCli(['call', fixture('errtrap.wasm'), 'throw']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/trap.*the plugin had reported: hi/);
  });

  it('names the missing function and lists the exports', async () => {
    const r = await runCli(['call', probe(), 'no_such_fn']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/no function "no_such_fn".*echo/);
  });

  it('rejects bytes that are not wasm, and a missing file', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'bad.wasm'), 'not wasm at all');
    const bad = await runCli(['call', path.join(dir, 'bad.wasm'), 'x']);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/not a WebAssembly module/);
    const truncated = readFileSync(probe()).subarray(0, 5000);
    writeFileSync(path.join(dir, 'trunc.wasm'), truncated);
    const t = await runCli(['call', path.join(dir, 'trunc.wasm'), 'echo']);
    expect(t.code).toBe(3);
    expect(t.stderr).toMatch(/invalid-wasm/);
    const missing = await runCli(['call', path.join(dir, 'missing.wasm'), 'x']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/does not exist/);
  });

  it('caps output at --max-output', async () => {
    const r = await runCli(['call', probe(), 'big_output', '--input', '3', '--max-output', '2']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/output-limit/);
    expect(r.stdout.length).toBe(0);
  });

  it('reports proc_exit with its code', async () => {
    const r = await runCli(['call', probe(), 'exit_code', '--input', '4']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/exited with code 4/);
  });

  it('caps plugin log volume per call', async () => {
    const r = await runCli(['call', probe(), 'log_spam', '--input', '20000', '--log-level', 'info']);
    expect(r.code).toBe(0);
    expect(r.stderr.length).toBeLessThan(2 * 1024 * 1024);
    expect(r.stderr).toMatch(/log output over/);
  });

  it('routes plugin logs to stderr by --log-level and keeps stdout clean', async () => {
    const quiet = await runCli([
      'call',
      probe(),
      'log_error_line',
      '--input',
      'plugin says hi',
      '--log-level',
      'error',
    ]);
    expect(quiet.stdout.toString()).toBe('logged');
    expect(quiet.stderr).toMatch(/plugin says hi/);
    const wasi = await runCli(['call', probe(), 'stderr_write', '--input', 'to stderr', '--wasi']);
    expect(wasi.stdout.toString()).toBe('ok');
    expect(wasi.stderr).toMatch(/to stderr/);
  });

  it('checks a --sha256 pin', async () => {
    const sha = createHash('sha256').update(readFileSync(probe())).digest('hex');
    expect((await runCli(['call', probe(), 'echo', '--input', 'x', '--sha256', sha])).code).toBe(0);
    const bad = await runCli(['call', probe(), 'echo', '--sha256', '0'.repeat(64)]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/hash mismatch.*pins 0000/);
  });
});

describe('wasmci call: http grants', () => {
  let server: http.Server;
  let url: string;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/redirect') {
        res.writeHead(302, { location: 'http://localhost.invalid/elsewhere' });
        res.end();
        return;
      }
      res.end('pong');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('denies http_request to a host that was not granted', async () => {
    const r = await runCli(['call', probe(), 'http_get', '--input', `${url}/ping`]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/not granted.*--allow-host 127\.0\.0\.1/);
  });

  it('allows a granted host and never follows a redirect to another host', async () => {
    const ok = await runCli(['call', probe(), 'http_get', '--input', `${url}/ping`, '--allow-host', '127.0.0.1']);
    expect(ok.code).toBe(0);
    expect(ok.stdout.toString()).toBe('200 pong');
    const redirect = await runCli([
      'call',
      probe(),
      'http_get',
      '--input',
      `${url}/redirect`,
      '--allow-host',
      '127.0.0.1',
    ]);
    // No redirect is followed at all (plugin/http.ts): the plugin sees the 302 itself, the other host nothing.
    expect(redirect.stdout.toString()).toBe('302 ');
  });
});

describe('the seed invocation', () => {
  it('scans a file read through a mounted folder with the secrets plugin', async () => {
    expect(existsSync(secretsWasm), `${secretsWasm} missing: run npm run build`).toBe(true);
    const dir = tempDir();
    mkdirSync(path.join(dir, 'secrets'));
    // A synthetic GitLab token assembled at run time so this file holds no token-shaped literal.
    const token = `glpat-${'Xy7kQ2mZ9pLw4RtV8nBc'}`;
    writeFileSync(path.join(dir, 'secrets/some.secrets.txt'), `gitlab_token = "${token}"\n`);
    const r = await runCli(
      [
        'call',
        secretsWasm,
        'scan',
        '--input',
        'some.secrets.txt',
        '--log-level',
        'error',
        '--allow-paths',
        '{"secrets":"/mnt"}',
      ],
      { cwd: dir },
    );
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.toString());
    expect(out.findings.length).toBeGreaterThan(0);
    expect(out.findings[0].path).toBe('some.secrets.txt');
    expect(out.findings.map((f: { secret: string }) => f.secret)).toContain(token);
    expect(readdirSync(path.join(dir, 'secrets'))).toEqual(['some.secrets.txt']);
  });
});
