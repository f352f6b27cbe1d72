/**
 * A GitLab-API test server for the generic package registry, following GitLab's documented semantics:
 *  - auth headers PRIVATE-TOKEN / DEPLOY-TOKEN / JOB-TOKEN; an unknown token is 401; a known token without access
 *    to the project is 403; no token on a private project is 404 (GitLab hides private projects);
 *  - GET/HEAD {api}/projects/:id/packages/generic/:name/:version/:file answers 302 to a second "object storage"
 *    server (another port, a signed URL) that records every request and must never see a token;
 *  - PUT …?select=package_file stores the file and answers 201 JSON with file_sha256;
 *  - faults on demand: HTTP errors (503 + Retry-After), truncated bodies (Content-Length larger than what is
 *    sent), slow responses.
 * Projects are addressed by id or URL-encoded path. Every request is logged.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LoggedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  at: number;
}

export interface Token {
  header: 'PRIVATE-TOKEN' | 'DEPLOY-TOKEN' | 'JOB-TOKEN';
  value: string;
  /** Project ids it may read / write. */
  read: string[];
  write: string[];
}

export interface Project {
  id: string;
  path: string;
  public: boolean;
}

export interface Fault {
  /** Applies to requests whose path contains this. */
  match: string;
  /** How many requests it affects. */
  times: number;
  status?: number;
  retryAfter?: number;
  /** Send only half the body but declare the whole length. */
  truncate?: boolean;
  delayMs?: number;
}

function listen(server: http.Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
}

class FaultList {
  list: Fault[] = [];
  take(path: string): Fault | undefined {
    const f = this.list.find((x) => x.times > 0 && path.includes(x.match));
    if (f) f.times--;
    return f;
  }
}

/** Sends a body, honouring a fault (status, delay, truncation). Returns false when the fault answered. */
async function applyFault(res: http.ServerResponse, fault: Fault | undefined, body: Buffer): Promise<boolean> {
  if (!fault) return true;
  if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
  if (fault.status) {
    res.writeHead(fault.status, {
      'content-type': 'application/json',
      ...(fault.retryAfter !== undefined ? { 'retry-after': String(fault.retryAfter) } : {}),
    });
    res.end(JSON.stringify({ message: `${fault.status} injected` }));
    return false;
  }
  if (fault.truncate) {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) });
    res.write(body.subarray(0, Math.floor(body.length / 2)));
    setTimeout(() => res.socket?.destroy(), 20);
    return false;
  }
  return true;
}

export class ObjectStorage {
  log: LoggedRequest[] = [];
  faults = new FaultList();
  objects = new Map<string, Buffer>();
  url = '';
  readonly server = http.createServer((req, res) => void this.#handle(req, res));

  async start(): Promise<this> {
    this.url = await listen(this.server);
    return this;
  }

  put(data: Buffer): string {
    const key = `bucket/${randomBytes(8).toString('hex')}`;
    this.objects.set(key, data);
    return key;
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse) {
    this.log.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, at: Date.now() });
    const u = new URL(req.url ?? '/', this.url);
    const data = this.objects.get(u.pathname.slice(1));
    if (!data || !u.searchParams.get('X-Amz-Signature')) {
      res.writeHead(403, { 'content-type': 'application/xml' }).end('<Error><Code>AccessDenied</Code></Error>');
      return;
    }
    if (!(await applyFault(res, this.faults.take(u.pathname), data))) return;
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(data.length) });
    res.end(req.method === 'HEAD' ? undefined : data);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

interface StoredFile {
  data: Buffer;
  key: string;
  sha256: string;
}

export class GitlabTestServer {
  log: LoggedRequest[] = [];
  faults = new FaultList();
  storage = new ObjectStorage();
  tokens: Token[] = [];
  projects: Project[] = [];
  files = new Map<string, StoredFile[]>();
  /** Answer uploads with this file_sha256 instead of the real one (a registry or proxy that altered the file). */
  lieAboutSha256: string | undefined;
  origin = '';
  readonly server = http.createServer((req, res) => void this.#handle(req, res));

  get api(): string {
    return `${this.origin}/api/v4`;
  }

  async start(): Promise<this> {
    await this.storage.start();
    this.origin = await listen(this.server);
    return this;
  }

  /** Puts a file straight into the registry (as if published earlier). */
  seed(projectId: string, name: string, version: string, file: string, data: Buffer): void {
    const key = this.storage.put(data);
    const id = `${projectId}/${name}/${version}/${file}`;
    const list = this.files.get(id) ?? [];
    list.push({ data, key, sha256: createHash('sha256').update(data).digest('hex') });
    this.files.set(id, list);
  }

  #project(idOrPath: string): Project | undefined {
    const decoded = decodeURIComponent(idOrPath);
    return this.projects.find((p) => p.id === decoded || p.path === decoded);
  }

  #send(res: http.ServerResponse, status: number, body: unknown) {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse) {
    this.log.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, at: Date.now() });
    const u = new URL(req.url ?? '/', this.origin);
    const m = /^\/api\/v4\/projects\/([^/]+)\/packages\/generic\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(u.pathname);
    if (!m) return this.#send(res, 404, { error: '404 Not Found' });
    const fault = this.faults.take(u.pathname);
    if (!(await applyFault(res, fault, Buffer.alloc(0)))) return;
    const [, projectRaw, name, version, file] = m.map((s) => decodeURIComponent(s ?? ''));
    const project = this.#project(projectRaw as string);
    // Authentication first: a token that is sent must be valid.
    const sent = (['private-token', 'deploy-token', 'job-token'] as const)
      .map((h) => ({ h, v: req.headers[h] }))
      .find((x) => typeof x.v === 'string');
    let token: Token | undefined;
    if (sent) {
      token = this.tokens.find((t) => t.header.toLowerCase() === sent.h && t.value === sent.v);
      if (!token) return this.#send(res, 401, { message: '401 Unauthorized' });
    }
    if (!project) return this.#send(res, 404, { message: '404 Project Not Found' });
    const write = req.method === 'PUT';
    if (!token && (write || !project.public))
      return this.#send(res, write ? 401 : 404, { message: '404 Project Not Found' });
    if (token && !(write ? token.write : token.read).includes(project.id) && !(project.public && !write))
      return this.#send(res, 403, { message: '403 Forbidden' });
    const id = `${project.id}/${name}/${version}/${file}`;
    if (write) {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const data = Buffer.concat(chunks);
      this.seed(project.id, name as string, version as string, file as string, data);
      const stored = this.files.get(id)?.at(-1) as StoredFile;
      if (u.searchParams.get('select') !== 'package_file') return this.#send(res, 201, { message: '201 Created' });
      return this.#send(res, 201, {
        id: this.files.size,
        package_id: 1,
        file_name: file,
        size: data.length,
        file_md5: null,
        file_sha1: createHash('sha1').update(data).digest('hex'),
        file_sha256: this.lieAboutSha256 ?? stored.sha256,
      });
    }
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return this.#send(res, 405, { message: '405 Method Not Allowed' });
    const latest = this.files.get(id)?.at(-1);
    if (!latest) return this.#send(res, 404, { message: '404 Package Not Found' });
    const sig = randomBytes(8).toString('hex');
    res.writeHead(302, { location: `${this.storage.url}/${latest.key}?X-Amz-Expires=60&X-Amz-Signature=${sig}` }).end();
  }

  /** Requests (on either server) that carried a token header or an authorization header. */
  storageRequestsWithCredentials(): LoggedRequest[] {
    return this.storage.log.filter((r) =>
      Object.keys(r.headers).some((h) => ['private-token', 'deploy-token', 'job-token', 'authorization'].includes(h)),
    );
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
    await this.storage.close();
  }
}
