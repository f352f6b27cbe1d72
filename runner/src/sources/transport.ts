/**
 * All registry HTTP goes through here (got 14): retries with exponential back-off on 5xx/429 and network errors
 * (Retry-After honoured), connect and per-attempt timeouts, HTTP(S)_PROXY/NO_PROXY (got does not read them), a body
 * size cap, progress, and credentials that never leave their origin: got drops `authorization` on a cross-host
 * redirect but keeps custom headers such as JOB-TOKEN, so every header named in `credentialHeaders` is removed
 * before a redirect to another origin (GitLab sends package downloads to object storage that way).
 *
 * The size cap holds for the DECODED body: got's own decompression buffers whatever a `content-encoding: gzip`
 * body inflates to (a 2 MB answer can be 2 GB) and its progress events stop once the decoded size passes the
 * declared length, so got gets `decompress: false` and the body is decoded here, refused past `maxBytes`
 * (limits.ts: 16 MiB for documents by default, 256 MiB for plugin downloads).
 */
import type { Agent as HttpAgent } from 'node:http';
import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync, type ZlibOptions } from 'node:zlib';
// got and hpagent are loaded on first use: most runs never touch the network (cached or local plugins), and
// loading them is a large share of the CLI's start-up time.
import type { Agents, Method, RequestError } from 'got';
import { getProxyForUrl } from 'proxy-from-env';
import { RuntimeError, UsageError } from '../errors.js';
import { type Logger, printable } from '../log.js';
import { MAX_DOCUMENT_BYTES, mib } from './limits.js';
import { createProgress } from './progress.js';
import { checkTransportUrl, redactUrl } from './reference.js';

export interface HttpRequestOptions {
  method?: Method;
  headers?: Record<string, string>;
  /** Names of headers in `headers` that are credentials for the request's origin only. */
  credentialHeaders?: string[];
  body?: Uint8Array;
  followRedirects?: boolean;
  /** Label for the progress display; no progress without it. */
  progress?: string;
  /** Cap on the body, raw and decoded (default MAX_DOCUMENT_BYTES; plugin downloads pass MAX_PLUGIN_BYTES). */
  maxBytes?: number;
  log: Logger;
  offline?: boolean;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** The final URL after redirects (without credentials). */
  url: string;
}

/** A registry answered with an error status: the caller turns it into a message that says what to check. */
export class HttpStatusError extends Error {
  override name = 'HttpStatusError';
  constructor(
    readonly status: number,
    readonly url: string,
    readonly headers: Record<string, string | string[] | undefined>,
    readonly body: string,
  ) {
    super(`${url} answered HTTP ${status}`);
  }
}

/** Refused before it is held: the body (declared, received or decoded) is larger than the caller's cap. */
function tooLarge(shown: string, what: string, max: number): RuntimeError {
  return new RuntimeError(
    `${shown}: the response ${what} more than ${mib(max)}, the cap for this download`,
    'refused without holding it: a registry does not send plugins or documents that large (a decompression bomb?); check the reference and the registry',
  );
}

/**
 * The body as the server meant it: `content-encoding` gzip, deflate or br decoded here, never past `max` decoded
 * bytes (zlib stops at `maxOutputLength`, so memory stays at the cap whatever the ratio).
 */
export function decodeBody(raw: Buffer, encoding: string | undefined, max: number, shown: string): Buffer {
  const coding = (encoding ?? '').trim().toLowerCase();
  if (coding === '' || coding === 'identity') return raw;
  const opts: ZlibOptions = { maxOutputLength: max };
  try {
    if (coding === 'gzip' || coding === 'x-gzip') return gunzipSync(raw, opts);
    if (coding === 'br') return brotliDecompressSync(raw, opts);
    if (coding === 'deflate') {
      // RFC 9110 deflate is the zlib format; some servers send raw deflate.
      try {
        return inflateSync(raw, opts);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw err;
        return inflateRawSync(raw, opts);
      }
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
      throw tooLarge(shown, `(content-encoding ${coding}, ${raw.length} bytes) inflates to`, max);
    throw new RuntimeError(`${shown}: the ${coding}-encoded response is corrupt (${(err as Error).message})`);
  }
  throw new RuntimeError(
    `${shown}: the response has content-encoding "${printable(coding)}", which wasmci does not decode`,
    'the server should send gzip, deflate, br or no encoding',
  );
}

function envNumber(name: string, fallback: number): number {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v >= 0 && process.env[name] !== '' ? v : fallback;
}

const agents = new Map<string, HttpAgent>();

/** The proxy agent for a URL (undefined: connect directly), honouring NO_PROXY. */
async function agentFor(url: URL): Promise<Agents | undefined> {
  const proxy = getProxyForUrl(url.toString());
  if (!proxy) return undefined;
  const key = `${url.protocol}${proxy}`;
  let agent = agents.get(key);
  if (!agent) {
    const { HttpProxyAgent, HttpsProxyAgent } = await import('hpagent');
    const options = { proxy, keepAlive: true, maxSockets: 16 };
    agent = url.protocol === 'https:' ? new HttpsProxyAgent(options) : new HttpProxyAgent(options);
    agents.set(key, agent);
  }
  return (url.protocol === 'https:' ? { https: agent } : { http: agent }) as Agents;
}

function networkReason(err: RequestError): string {
  const code = err.code;
  if (err.name === 'TimeoutError') return `timed out (${err.message})`;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found (DNS)';
  if (code === 'ECONNRESET' || err.name === 'ReadError') return `the connection broke mid-transfer (${err.message})`;
  if (code?.startsWith('ERR_TLS') || code?.includes('CERT')) return `TLS failure (${code})`;
  return err.message;
}

export async function httpRequest(target: string | URL, opts: HttpRequestOptions): Promise<HttpResponse> {
  const url = new URL(String(target));
  const shown = redactUrl(url);
  if (opts.offline)
    throw new UsageError(`offline: ${shown} is needed and not cached`, 'run `wasmci pull <ref>` while online first');
  checkTransportUrl(url, 'URL');
  const method = opts.method ?? 'GET';
  const credentials = new Set((opts.credentialHeaders ?? []).map((h) => h.toLowerCase()));
  const retries = envNumber('WASMCI_HTTP_RETRIES', 4);
  const base = envNumber('WASMCI_HTTP_RETRY_BASE_MS', 1000);
  const progress = opts.progress ? createProgress(opts.progress, opts.log) : undefined;
  const max = opts.maxBytes ?? MAX_DOCUMENT_BYTES;
  opts.log.debug(`${method} ${shown}`);
  const { default: got, HTTPError, RequestError } = await import('got');
  const agent = await agentFor(url);
  const request = got(url, {
    method,
    // Compression is welcome (documents shrink), but decoded here under the cap, not by got.
    headers: { 'accept-encoding': 'gzip, deflate, br', ...opts.headers },
    body: opts.body ? Buffer.from(opts.body) : undefined,
    agent,
    followRedirect: opts.followRedirects ?? true,
    maxRedirects: 10,
    responseType: 'buffer',
    decompress: false,
    timeout: {
      connect: envNumber('WASMCI_HTTP_CONNECT_TIMEOUT_MS', 15_000),
      request: envNumber('WASMCI_HTTP_TIMEOUT_MS', 300_000),
    },
    retry: {
      limit: retries,
      methods: ['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS'],
      statusCodes: [408, 429, 500, 502, 503, 504, 521, 522, 524],
      // got's default backoff is fixed at 1 s steps; base it on WASMCI_HTTP_RETRY_BASE_MS, keep Retry-After.
      calculateDelay: ({ attemptCount, retryAfter, computedValue }) => {
        if (computedValue === 0) return 0;
        if (retryAfter) return computedValue;
        return Math.min(base * 2 ** (attemptCount - 1), 30_000) + Math.random() * (base / 4);
      },
    },
    hooks: {
      beforeRedirect: [
        async (next) => {
          const to = next.url as URL;
          checkTransportUrl(to, 'redirect target');
          if (to.origin !== url.origin) {
            for (const name of Object.keys(next.headers))
              if (credentials.has(name.toLowerCase())) delete next.headers[name];
            delete next.headers.authorization;
          }
          next.agent = (await agentFor(to)) ?? {};
          opts.log.debug(`redirected to ${redactUrl(to)}`);
        },
      ],
      beforeRetry: [
        (err, count) => {
          const why = err instanceof HTTPError ? `HTTP ${err.response.statusCode}` : networkReason(err);
          opts.log.warn(`${method} ${shown}: ${why}; retry ${count} of ${retries}`);
        },
      ],
    },
  });
  // With decompress off, got counts raw bytes and reports the declared length (`total`) before the first one, and
  // every chunk of a body without one: the raw cap holds before anything is held.
  let refused: RuntimeError | undefined;
  request.on('downloadProgress', (p) => {
    if (refused) return;
    if ((p.total ?? 0) > max || p.transferred > max) {
      refused = tooLarge(shown, p.total && p.total > max ? `declares ${p.total} bytes,` : 'is', max);
      request.cancel(refused.message);
      return;
    }
    progress?.update(p.transferred, p.total);
  });
  try {
    const res = await request;
    const declared = Number(res.headers['content-length']);
    if (method !== 'HEAD' && Number.isFinite(declared) && res.rawBody.length !== declared)
      throw new RuntimeError(
        `${shown}: got ${res.rawBody.length} of ${declared} bytes`,
        'the download was cut short: retry',
      );
    const encoding = method === 'HEAD' ? undefined : res.headers['content-encoding'];
    const body = decodeBody(res.rawBody, encoding, max, shown);
    return { status: res.statusCode, headers: res.headers, body, url: redactUrl(res.url) };
  } catch (err) {
    if (refused) throw refused;
    if (err instanceof HTTPError) {
      const r = err.response;
      let raw = Buffer.isBuffer(r.rawBody) ? r.rawBody : Buffer.from(String(r.body ?? ''));
      try {
        raw = decodeBody(raw, r.headers['content-encoding'], 64 * 1024, shown);
      } catch {
        raw = Buffer.alloc(0); // an error page that does not decode says nothing useful
      }
      throw new HttpStatusError(r.statusCode, redactUrl(r.url), r.headers, raw.toString('utf8', 0, 2000));
    }
    if (err instanceof RequestError) {
      throw new RuntimeError(
        `${method} ${shown} failed: ${networkReason(err)}`,
        'check the network, proxy settings (HTTPS_PROXY/NO_PROXY) and the URL; retries were exhausted',
      );
    }
    throw err;
  } finally {
    progress?.done();
  }
}
