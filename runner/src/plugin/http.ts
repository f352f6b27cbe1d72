/**
 * Performs a plugin's http_request on the host side. The rule it keeps: a plugin reaches only a granted host, only
 * once per request (no retries: a verifier's repeated login attempts could lock an account), and never a second
 * host: redirects are never followed (the 3xx is the answer). Per host, at most PER_HOST_CONCURRENCY requests at a
 * time and one start per PER_HOST_INTERVAL_MS (10/s); a 429 pauses that host for Retry-After and the request is
 * sent once more only when the wait fits the budget and RETRY_AFTER_MAX_MS (a 429 was not a login attempt: the
 * vendor did not look at the credential). Each request has a time limit; a gate may have a total budget, after which
 * every request fails fast with `budget`. Bodies are capped raw and decoded here (transport.ts decodeBody), never by
 * an HTTP library. `resolve` routes a granted host to another base URL (loopback only: tests, air-gapped mirrors).
 * A request that does not complete is answered with a short reason (`timeout`, `rate-limited`, `network refused`,
 * `budget`) that the worker hands the plugin as a status-0 body.
 */
import http from 'node:http';
import https from 'node:https';
import { decodeBody } from '../sources/transport.js';
import type { HttpRequest, HttpResponse } from './messages.js';
import { hostAllowed } from './policy.js';

export const PER_HOST_CONCURRENCY = 2;
export const PER_HOST_INTERVAL_MS = 100;
/** Default per-request limit: a vendor's "who am I" answers in well under a second; 10 s allows a slow network. */
export const REQUEST_TIMEOUT_MS = 10_000;
/** The longest Retry-After waited for once; longer ones make the answer `rate-limited`. */
export const RETRY_AFTER_MAX_MS = 30_000;

export type GateReason = 'timeout' | 'rate-limited' | 'network refused' | 'budget';

export interface GateOptions {
  allowedHosts: readonly string[];
  /** Host (lower case) -> base URL the request goes to instead (scheme, host, port, optional path prefix). */
  resolve?: ReadonlyMap<string, string>;
  requestTimeoutMs?: number;
  maxBytes: number;
  /** Total time for every request through this gate, from its creation; none: unbounded. */
  budgetMs?: number;
  perHostConcurrency?: number;
  perHostIntervalMs?: number;
}

interface HostState {
  active: number;
  /** Earliest start of the next request (rate limit, Retry-After pause). */
  next: number;
  wake: (() => void)[];
}

/** Retry-After as milliseconds (seconds or an HTTP date); undefined when absent or unreadable. */
export function retryAfterMs(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\s*\d+\s*$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

/** Parses `HOST=BASE_URL`: the base must be http(s) on a loopback address. */
export function parseResolve(spec: string): [string, string] | string {
  const i = spec.indexOf('=');
  if (i <= 0) return 'expected HOST=BASE_URL';
  const host = spec.slice(0, i).trim().toLowerCase();
  let base: URL;
  try {
    base = new URL(spec.slice(i + 1).trim());
  } catch {
    return 'the base URL is not a URL';
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') return 'the base URL must be http:// or https://';
  const h = base.hostname.replace(/^\[|\]$/g, '');
  if (!(h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h)))
    return 'the base URL must be on loopback (127.0.0.1, ::1, localhost)';
  if (base.username || base.password || base.search || base.hash)
    return 'the base URL must not carry credentials, a query or a fragment';
  if (!/^[a-z0-9.-]+$/.test(host)) return `${host} is not a host name`;
  return [host, base.href.replace(/\/$/, '')];
}

export class HttpGate {
  readonly #o: GateOptions;
  readonly #hosts = new Map<string, HostState>();
  readonly #deadline: number;

  constructor(o: GateOptions) {
    this.#o = o;
    this.#deadline = o.budgetMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + o.budgetMs;
  }

  /** One plugin request, answered with the vendor's response or a reason. Never throws. */
  async request(req: HttpRequest): Promise<HttpResponse> {
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      return { error: 'invalid url', reason: 'network refused' };
    }
    const host = url.hostname.toLowerCase();
    if (!hostAllowed(host, this.#o.allowedHosts))
      return { error: `${host} was not granted`, reason: 'network refused' };
    const state = this.#state(host);
    for (let attempt = 0; ; attempt++) {
      if (!(await this.#acquire(state))) return { error: 'the verification budget is spent', reason: 'budget' };
      let res: HttpResponse;
      try {
        res = await this.#send(url, req);
      } finally {
        this.#release(state);
      }
      if ('error' in res || res.status !== 429) return res;
      const wait = retryAfterMs(res.headers['retry-after']);
      if (wait !== undefined) state.next = Math.max(state.next, Date.now() + wait);
      const fits = wait !== undefined && wait <= RETRY_AFTER_MAX_MS && Date.now() + wait < this.#deadline;
      if (attempt > 0 || !fits) return res;
    }
  }

  #state(host: string): HostState {
    let s = this.#hosts.get(host);
    if (!s) {
      s = { active: 0, next: 0, wake: [] };
      this.#hosts.set(host, s);
    }
    return s;
  }

  async #acquire(s: HostState): Promise<boolean> {
    const conc = this.#o.perHostConcurrency ?? PER_HOST_CONCURRENCY;
    for (;;) {
      const now = Date.now();
      if (now >= this.#deadline) return false;
      if (s.active < conc && now >= s.next) {
        s.active++;
        s.next = now + (this.#o.perHostIntervalMs ?? PER_HOST_INTERVAL_MS);
        return true;
      }
      if (s.next > this.#deadline) return false;
      const wait = s.active < conc ? s.next - now : this.#deadline - now;
      await new Promise<void>((r) => {
        const done = () => {
          clearTimeout(t);
          r();
        };
        const t = setTimeout(done, Math.min(wait, 2_147_483_647));
        s.wake.push(done);
      });
    }
  }

  #release(s: HostState): void {
    s.active--;
    for (const w of s.wake.splice(0)) w();
  }

  #send(url: URL, req: HttpRequest): Promise<HttpResponse> {
    const base = this.#o.resolve?.get(url.hostname.toLowerCase());
    const target = base ? new URL(`${base}${url.pathname}${url.search}`) : url;
    const left = this.#deadline - Date.now();
    const limit = this.#o.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    const timeout = Math.min(limit, left);
    const lib = target.protocol === 'http:' ? http : https;
    const max = this.#o.maxBytes;
    return new Promise((resolve) => {
      let settled = false;
      const finish = (r: HttpResponse) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(r);
      };
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers ?? {})) if (typeof v === 'string') headers[k] = v;
      // Compressed answers are decoded here, within the cap.
      headers['accept-encoding'] = 'gzip, deflate, br';
      let r: http.ClientRequest;
      try {
        r = lib.request(target, { method: req.method, headers, agent: false });
      } catch (err) {
        finish({ error: (err as Error).message, reason: 'network refused' });
        return;
      }
      const timer = setTimeout(() => {
        finish({ error: `no answer within ${timeout} ms`, reason: timeout < limit ? 'budget' : 'timeout' });
        r.destroy();
      }, timeout);
      r.on('error', (err) => finish({ error: err.message, reason: 'network refused' }));
      r.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > max) {
            finish({ error: `response body over ${max} bytes`, reason: 'network refused' });
            res.destroy();
            return;
          }
          chunks.push(c);
        });
        res.on('error', (err) => finish({ error: err.message, reason: 'network refused' }));
        res.on('end', () => {
          let body: Buffer;
          try {
            body = decodeBody(Buffer.concat(chunks), res.headers['content-encoding'], max, target.hostname);
          } catch (err) {
            finish({ error: (err as Error).message, reason: 'network refused' });
            return;
          }
          const h: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h[k] = String(v);
          finish({ status: res.statusCode ?? 0, headers: h, body: new Uint8Array(body) });
        });
      });
      if (req.body) r.end(Buffer.from(req.body));
      else r.end();
    });
  }
}
