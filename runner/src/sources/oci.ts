/**
 * Wasm OCI artifacts (`oci://host/repo:tag|@sha256:…`): the manifest's `application/wasm` layer, fetched and checked
 * against its digest; and the push of one (blob upload POST+PUT, wasm config, manifest PUT). Registry auth is
 * the distribution flow: a 401 with `WWW-Authenticate: Bearer realm=…` trades the credentials for a token;
 * `Basic` sends them directly. Plain http is used only for loopback registries. Credentials are the registry's own
 * (auth.ts scopes them to its host) and go to a realm only on that host or one in WASMCI_OCI_TOKEN_HOSTS: the
 * registry picks the realm, and a registry a hostile reference names would otherwise collect them.
 */
import { RuntimeError, UsageError } from '../errors.js';
import { type Logger, printable, redactValue } from '../log.js';
import { type BasicCredentials, realmMayGetCredentials } from './auth.js';
import { sha256Hex } from './cache.js';
import { MAX_PLUGIN_BYTES } from './limits.js';
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

/**
 * The digest (`sha256:<hex>`) of a manifest's wasm layer. Pure: also what a cached manifest is read with, so an
 * `@sha256:` reference is served from any cache by digests alone (the manifest's own, then the layer's).
 */
export function wasmLayerDigest(manifestBytes: Uint8Array, what: string): string {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(Buffer.from(manifestBytes).toString('utf8'));
  } catch {
    throw new RuntimeError(`the manifest of ${what} is not JSON`);
  }
  const layer = manifest?.layers?.find((l) => WASM_LAYER_TYPES.includes(l.mediaType));
  if (!layer)
    throw new RuntimeError(
      `${what} is not a Wasm artifact: no layer of type ${WASM_LAYER_TYPES.join(' or ')}`,
      `its layers: ${printable((manifest?.layers ?? []).map((l) => l.mediaType).join(', ') || 'none')} (an image index or container image is not a plugin)`,
    );
  if (typeof layer.digest !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(layer.digest))
    throw new RuntimeError(`${what}: unsupported layer digest ${printable(String(layer.digest))}`);
  return layer.digest;
}

export class OciClient {
  readonly base: string;
  #auth: string | undefined;
  /** The token service is on a host the credentials may not go to: it was asked anonymously. */
  #withheldFrom: string | undefined;

  constructor(
    readonly registry: string,
    readonly repository: string,
    readonly creds: BasicCredentials | undefined,
    readonly log: Logger,
    readonly offline = false,
    readonly env: NodeJS.ProcessEnv = process.env,
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
      throw new RuntimeError(
        `OCI registry ${this.registry} asks for unsupported auth "${printable(challenge.slice(0, 60))}"`,
      );
    let realm: URL;
    try {
      realm = new URL(params.realm);
    } catch {
      throw new RuntimeError(
        `OCI registry ${this.registry} names an invalid token service "${printable(params.realm)}"`,
      );
    }
    if (params.service) realm.searchParams.set('service', params.service);
    realm.searchParams.set('scope', params.scope ?? `repository:${this.repository}:${actions}`);
    let credentials = basic;
    if (basic && !realmMayGetCredentials(this.registry, realm, this.env)) {
      credentials = undefined;
      this.#withheldFrom = realm.host;
      this.log.warn(
        `the token service of ${printable(this.registry)} is on another host, ${printable(realm.host)}: the credentials were not sent there (asking for an anonymous token); if that host is this registry's token service, add it to WASMCI_OCI_TOKEN_HOSTS`,
      );
    }
    let res: HttpResponse;
    try {
      res = await httpRequest(realm, {
        headers: credentials ? { authorization: credentials } : {},
        credentialHeaders: ['authorization'],
        log: this.log,
        offline: this.offline,
      });
    } catch (err) {
      if (err instanceof HttpStatusError && (err.status === 401 || err.status === 403)) throw this.#denied(err.status);
      throw err;
    }
    let body: { token?: unknown; access_token?: unknown } = {};
    try {
      body = JSON.parse(res.body.toString('utf8')) ?? {};
    } catch {}
    const token = body.token ?? body.access_token;
    if (typeof token !== 'string' || !token)
      throw new RuntimeError(`the token service of ${this.registry} returned no token`);
    redactValue(token);
    this.#auth = `Bearer ${token}`;
  }

  #denied(status: number): RuntimeError {
    if (this.#withheldFrom)
      return new RuntimeError(
        `OCI registry ${this.registry} refused anonymous access for ${this.repository} (HTTP ${status}); its credentials were not sent to its token service on ${printable(this.#withheldFrom)}, another host`,
        `if ${printable(this.#withheldFrom)} is this registry's token service, allow it: WASMCI_OCI_TOKEN_HOSTS=${printable(this.#withheldFrom)}`,
      );
    return new RuntimeError(
      `OCI registry ${this.registry} refused ${this.creds ? 'the credentials' : 'anonymous access'} for ${this.repository} (HTTP ${status})`,
      this.creds
        ? 'check WASMCI_OCI_USERNAME/WASMCI_OCI_PASSWORD or the auths entry in ~/.docker/config.json, and the repository permissions'
        : 'set WASMCI_OCI_USERNAME, WASMCI_OCI_PASSWORD and WASMCI_OCI_REGISTRY=host[:port] (the registry they belong to), or log in with docker/podman (~/.docker/config.json)',
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

  async pull(reference: string): Promise<{ wasm: Uint8Array; url: string; manifestDigest: string; manifest: Buffer }> {
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
    const digest = wasmLayerDigest(res.body, `${this.label}:${reference}`);
    let blob: HttpResponse;
    try {
      blob = await this.request(`/blobs/${digest}`, {
        progress: `${this.label}:${reference}`,
        maxBytes: MAX_PLUGIN_BYTES,
      });
    } catch (err) {
      throw this.#statusError(err, `blob ${digest}`);
    }
    if (`sha256:${sha256Hex(blob.body)}` !== digest)
      throw new RuntimeError(`the wasm layer of ${this.label}:${reference} does not match its digest ${digest}`);
    return { wasm: blob.body, url: `${this.base}/blobs/${digest}`, manifestDigest, manifest: res.body };
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
