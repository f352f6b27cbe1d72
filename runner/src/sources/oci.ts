/**
 * Wasm OCI artifacts (`oci://host/repo:tag|@sha256:…`): the manifest's `application/wasm` layer, fetched and checked
 * against its digest; and the push of one (blob upload POST+PUT, wasm config, manifest PUT). Registry auth is
 * the distribution flow: a 401 with `WWW-Authenticate: Bearer realm=…` trades the credentials for a token;
 * `Basic` sends them directly. Plain http is used only for loopback registries.
 */
import { RuntimeError, UsageError } from '../errors.js';
import { type Logger, redactValue } from '../log.js';
import type { BasicCredentials } from './auth.js';
import { sha256Hex } from './cache.js';
import { isLoopback } from './reference.js';
import { HttpStatusError, type HttpRequestOptions, type HttpResponse, httpRequest } from './transport.js';

export const WASM_LAYER_TYPES = ['application/wasm', 'application/vnd.wasm.content.layer.v1+wasm'];
export const WASM_CONFIG_TYPE = 'application/vnd.wasm.config.v0+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const ACCEPT = [OCI_MANIFEST, 'application/vnd.docker.distribution.manifest.v2+json'].join(', ');

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}
interface Manifest {
  mediaType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
}

function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const scheme = header.slice(0, header.indexOf(' ')).toLowerCase() || header.toLowerCase();
  const params: Record<string, string> = {};
  for (const m of header.matchAll(/([a-zA-Z_]+)="([^"]*)"/g)) params[(m[1] as string).toLowerCase()] = m[2] as string;
  return { scheme, params };
}

export class OciClient {
  readonly base: string;
  #auth: string | undefined;

  constructor(
    readonly registry: string,
    readonly repository: string,
    readonly creds: BasicCredentials | undefined,
    readonly log: Logger,
    readonly offline = false,
  ) {
    const host = new URL(`http://${registry}`).hostname;
    this.base = `${isLoopback(host) ? 'http' : 'https'}://${registry}/v2/${repository}`;
  }

  get label(): string {
    return `${this.registry}/${this.repository}`;
  }

  async #authenticate(challenge: string, actions: string): Promise<void> {
    const { scheme, params } = parseChallenge(challenge);
    const basic = this.creds
      ? `Basic ${Buffer.from(`${this.creds.username}:${this.creds.password}`).toString('base64')}`
      : undefined;
    if (basic) redactValue(basic.slice(6));
    if (scheme === 'basic') {
      if (!basic) throw this.#denied(401);
      this.#auth = basic;
      return;
    }
    if (scheme !== 'bearer' || !params.realm)
      throw new RuntimeError(`OCI registry ${this.registry} asks for unsupported auth "${challenge.slice(0, 60)}"`);
    const realm = new URL(params.realm);
    if (params.service) realm.searchParams.set('service', params.service);
    realm.searchParams.set('scope', params.scope ?? `repository:${this.repository}:${actions}`);
    let res: HttpResponse;
    try {
      res = await httpRequest(realm, {
        headers: basic ? { authorization: basic } : {},
        credentialHeaders: ['authorization'],
        log: this.log,
        offline: this.offline,
      });
    } catch (err) {
      if (err instanceof HttpStatusError && (err.status === 401 || err.status === 403)) throw this.#denied(err.status);
      throw err;
    }
    const body = JSON.parse(res.body.toString('utf8')) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new RuntimeError(`the token service of ${this.registry} returned no token`);
    redactValue(token);
    this.#auth = `Bearer ${token}`;
  }

  #denied(status: number): RuntimeError {
    return new RuntimeError(
      `OCI registry ${this.registry} refused ${this.creds ? 'the credentials' : 'anonymous access'} for ${this.repository} (HTTP ${status})`,
      this.creds
        ? 'check WASMCI_OCI_USERNAME/WASMCI_OCI_PASSWORD or the auths entry in ~/.docker/config.json, and the repository permissions'
        : 'set WASMCI_OCI_USERNAME and WASMCI_OCI_PASSWORD, or log in with docker/podman (~/.docker/config.json)',
    );
  }

  /** A request to the registry, authenticating once on a 401 challenge. */
  async request(
    pathOrUrl: string,
    opts: Omit<HttpRequestOptions, 'log'> & { actions?: string } = {},
  ): Promise<HttpResponse> {
    const url = /^https?:\/\//.test(pathOrUrl) ? pathOrUrl : `${this.base}${pathOrUrl}`;
    const send = () =>
      httpRequest(url, {
        ...opts,
        headers: { ...opts.headers, ...(this.#auth ? { authorization: this.#auth } : {}) },
        credentialHeaders: ['authorization'],
        log: this.log,
        offline: this.offline,
      });
    try {
      return await send();
    } catch (err) {
      if (!(err instanceof HttpStatusError) || err.status !== 401) throw err;
      const challenge = err.headers['www-authenticate'];
      if (!challenge || this.#auth?.startsWith('Basic')) throw this.#denied(401);
      await this.#authenticate(String(challenge), opts.actions ?? 'pull');
      try {
        return await send();
      } catch (again) {
        if (again instanceof HttpStatusError && (again.status === 401 || again.status === 403))
          throw this.#denied(again.status);
        throw again;
      }
    }
  }

  #statusError(err: unknown, what: string): Error {
    if (!(err instanceof HttpStatusError)) return err as Error;
    if (err.status === 403) return this.#denied(403);
    if (err.status === 404)
      return new RuntimeError(`no ${what} in OCI repository ${this.label} (HTTP 404)`, 'check the repository and tag');
    return new RuntimeError(
      `OCI registry ${this.registry} answered HTTP ${err.status} for ${what}`,
      err.body.slice(0, 300),
    );
  }

  async pull(reference: string): Promise<{ wasm: Uint8Array; url: string; manifestDigest: string }> {
    let res: HttpResponse;
    try {
      res = await this.request(`/manifests/${reference}`, { headers: { accept: ACCEPT } });
    } catch (err) {
      throw this.#statusError(err, `manifest ${reference}`);
    }
    const manifestDigest = `sha256:${sha256Hex(res.body)}`;
    if (reference.startsWith('sha256:') && reference !== manifestDigest)
      throw new RuntimeError(
        `the manifest of ${this.label}@${reference} does not match its digest`,
        'the registry sent altered data',
      );
    let manifest: Manifest;
    try {
      manifest = JSON.parse(res.body.toString('utf8'));
    } catch {
      throw new RuntimeError(`the manifest of ${this.label}:${reference} is not JSON`);
    }
    const layer = manifest.layers?.find((l) => WASM_LAYER_TYPES.includes(l.mediaType));
    if (!layer)
      throw new RuntimeError(
        `${this.label}:${reference} is not a Wasm artifact: no layer of type ${WASM_LAYER_TYPES.join(' or ')}`,
        `its layers: ${(manifest.layers ?? []).map((l) => l.mediaType).join(', ') || 'none'} (an image index or container image is not a plugin)`,
      );
    if (!/^sha256:[a-f0-9]{64}$/.test(layer.digest))
      throw new RuntimeError(`${this.label}: unsupported layer digest ${layer.digest}`);
    let blob: HttpResponse;
    try {
      blob = await this.request(`/blobs/${layer.digest}`, { progress: `${this.label}:${reference}` });
    } catch (err) {
      throw this.#statusError(err, `blob ${layer.digest}`);
    }
    if (`sha256:${sha256Hex(blob.body)}` !== layer.digest)
      throw new RuntimeError(`the wasm layer of ${this.label}:${reference} does not match its digest ${layer.digest}`);
    return { wasm: blob.body, url: `${this.base}/blobs/${layer.digest}`, manifestDigest };
  }

  async #pushBlob(bytes: Uint8Array): Promise<Descriptor> {
    const digest = `sha256:${sha256Hex(bytes)}`;
    const actions = 'pull,push';
    try {
      await this.request(`/blobs/${digest}`, { method: 'HEAD', actions });
      return { mediaType: '', digest, size: bytes.length };
    } catch (err) {
      if (!(err instanceof HttpStatusError) || err.status !== 404) throw this.#statusError(err, `blob ${digest}`);
    }
    try {
      const start = await this.request('/blobs/uploads/', { method: 'POST', actions, followRedirects: false });
      const location = start.headers.location;
      if (typeof location !== 'string') throw new RuntimeError(`${this.registry} gave no upload location`);
      const target = new URL(location, this.base);
      target.searchParams.set('digest', digest);
      await this.request(target.toString(), {
        method: 'PUT',
        actions,
        headers: { 'content-type': 'application/octet-stream' },
        body: bytes,
      });
    } catch (err) {
      throw this.#statusError(err, `upload of ${digest}`);
    }
    return { mediaType: '', digest, size: bytes.length };
  }

  async push(tag: string, wasm: Uint8Array, title: string): Promise<{ manifestDigest: string; layerDigest: string }> {
    const layer = { ...(await this.#pushBlob(wasm)), mediaType: 'application/wasm' };
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'wasm',
        os: 'wasip1',
        layerDigests: [layer.digest],
        created: new Date().toISOString(),
      }),
    );
    const configDesc = { ...(await this.#pushBlob(config)), mediaType: WASM_CONFIG_TYPE };
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: WASM_CONFIG_TYPE,
        config: configDesc,
        layers: [{ ...layer, annotations: { 'org.opencontainers.image.title': title } }],
      }),
    );
    try {
      await this.request(`/manifests/${tag}`, {
        method: 'PUT',
        actions: 'pull,push',
        headers: { 'content-type': OCI_MANIFEST },
        body: manifest,
      });
    } catch (err) {
      throw this.#statusError(err, `manifest ${tag}`);
    }
    return { manifestDigest: `sha256:${sha256Hex(manifest)}`, layerDigest: layer.digest };
  }
}

export function requireTag(tag: string | undefined, raw: string): string {
  if (!tag) throw new UsageError(`${raw}: publishing needs a tag`, 'write oci://host/repository:tag');
  return tag;
}
