/**
 * plugin/http.ts, the host side of a plugin's http_request: Retry-After parsing, --resolve parsing, and the gate's
 * limits against a real server on 127.0.0.1 (per-host concurrency, no redirect followed, budget, body cap).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpGate, parseResolve, retryAfterMs } from '../../src/plugin/http.js';

describe('helpers', () => {
  it('reads Retry-After as seconds or a date', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(undefined)).toBeUndefined();
  });
  it('parses HOST=BASE_URL, loopback only', () => {
    expect(parseResolve('Api.X.com=http://localhost:8/p/')).toEqual(['api.x.com', 'http://localhost:8/p']);
    expect(parseResolve('a.b=https://[::1]:9')).toEqual(['a.b', 'https://[::1]:9']);
    expect(parseResolve('a.b=http://192.168.0.1')).toMatch(/loopback/);
    expect(parseResolve('a.b=http://127.0.0.1/?q=1')).toMatch(/query/);
    expect(parseResolve('=http://127.0.0.1')).toMatch(/HOST=BASE_URL/);
  });
});

describe('HttpGate against a loopback server', () => {
  let server: http.Server;
  let base = '';
  let active = 0;
  let peak = 0;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      active++;
      peak = Math.max(peak, active);
      const done = (status: number, body: Buffer | string, headers: http.OutgoingHttpHeaders = {}) => {
        active--;
        res.writeHead(status, headers);
        res.end(body);
      };
      if (req.url === '/slow') return void setTimeout(() => done(200, 'late'), 150);
      if (req.url === '/moved') return done(301, '', { location: 'http://127.0.0.2:1/x' });
      if (req.url === '/bomb') return done(200, gzipSync(Buffer.alloc(4 << 20)), { 'content-encoding': 'gzip' });
      if (req.url === '/gz') return done(200, gzipSync('hello'), { 'content-encoding': 'gzip' });
      done(200, 'ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const gate = (o: Partial<ConstructorParameters<typeof HttpGate>[0]> = {}) =>
    new HttpGate({
      allowedHosts: ['vendor.test'],
      resolve: new Map([['vendor.test', base]]),
      maxBytes: 1 << 20,
      perHostIntervalMs: 0,
      ...o,
    });
  const get = (g: HttpGate, p: string) => g.request({ url: `https://vendor.test${p}`, method: 'GET', headers: {} });

  it('holds per-host concurrency at 2', async () => {
    peak = 0;
    const g = gate();
    const all = await Promise.all([1, 2, 3, 4, 5].map(() => get(g, '/slow')));
    expect(all.every((r) => 'status' in r && r.status === 200)).toBe(true);
    expect(peak).toBe(2);
  });

  it('never follows a redirect, refuses ungranted hosts, decodes within the cap', async () => {
    const g = gate();
    expect(await get(g, '/moved')).toMatchObject({ status: 301 });
    expect(await g.request({ url: 'https://other.test/', method: 'GET', headers: {} })).toMatchObject({
      reason: 'network refused',
    });
    const gz = await get(g, '/gz');
    expect('body' in gz && Buffer.from(gz.body).toString()).toBe('hello');
    expect(await get(g, '/bomb')).toMatchObject({ reason: 'network refused' });
  });

  it('a spent budget fails fast with "budget"', async () => {
    const g = gate({ budgetMs: 50 });
    await new Promise((r) => setTimeout(r, 80));
    const t = Date.now();
    expect(await get(g, '/')).toMatchObject({ reason: 'budget' });
    expect(Date.now() - t).toBeLessThan(50);
  });

  it('a per-request limit gives "timeout"', async () => {
    expect(await get(gate({ requestTimeoutMs: 50 }), '/slow')).toMatchObject({ reason: 'timeout' });
  });
});
