/**
 * Plugin reference -> verified wasm bytes: the single entry point every command uses.
 *
 *   parse the reference -> lockfile pin (--frozen: required) -> cache (by pinned digest; by reference when the
 *   reference is immutable or we are offline) -> fetch (gitlab | npm | oci | url | file) -> unpack a bundle ->
 *   verify against the pin -> store in the cache.
 *
 * A lockfile or a cache inside the checked-out tree can REFUSE bytes, never SUPPLY them (core/checkout.ts): a
 * merge request can commit both, e.g. its own wasm in `.wasmci-cache` plus a `wasmci.lock` pinning it. So cached
 * bytes are served only for a digest from a TRUSTED pin (--sha256, an `oci://…@sha256:` reference, a lockfile
 * outside the checkout) or through the index of a cache outside it (a seed, ~/.cache/wasmci); otherwise they come
 * from the origin, and an in-tree lockfile still checks them (a mismatch is an error: narrowing is allowed).
 *
 * Tokens go only to the origin they belong to (see auth.ts, transport.ts); nothing here logs a header value.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { RuntimeError, UsageError } from '../errors.js';
import { type Checkout, findCheckout, inCheckout } from '../core/checkout.js';
import { type Logger, printable } from '../log.js';
import { extractPlugin, isGzip } from './archive.js';
import { gitlabHeaders, type Headers, type NpmConfig, npmConfig, ociCredentials, parseAuthHeaders } from './auth.js';
import { defaultCacheDir, PluginCache, seedDirs, sha256Hex } from './cache.js';
import { downloadGitlab } from './gitlab.js';
import { type LockEntry, lockfilePath, readLockfile } from './lockfile.js';
import { MAX_PLUGIN_BYTES } from './limits.js';
import { downloadNpm } from './npm.js';
import { OciClient, wasmLayerDigest } from './oci.js';
import { cacheKey, isImmutable, parseReference, type Reference, redactUrl } from './reference.js';
import { HttpStatusError, httpRequest } from './transport.js';

export { sha256Hex } from './cache.js';

export interface ResolveOptions {
  /** Expected sha256 (hex) of the wasm: a mismatch is an error, never a warning. */
  sha256?: string;
  offline?: boolean;
  log: Logger;
  /** --cache-dir; default: WASMCI_CACHE_DIR, the CI project dir, or the XDG cache. */
  cacheDir?: string;
  /** --lockfile; default: WASMCI_LOCKFILE or ./wasmci.lock (checked when it exists). */
  lockfile?: string;
  /** Refuse any reference the lockfile does not pin. */
  frozen?: boolean;
  /** false: ignore the lockfile's pins (`pull --lock` re-pinning on purpose). */
  useLockfile?: boolean;
  /** --gitlab-url; default CI_API_V4_URL. */
  gitlabUrl?: string;
  /** --auth-header NAME=VALUE, sent to the reference's own host only. */
  authHeaders?: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** The untrusted tree; default findCheckout(env, cwd). */
  checkout?: Checkout;
}

export interface ResolvedPlugin {
  bytes: Uint8Array;
  /** Computed when first read unless a pin or the cache checked it: read it before `bytes` are compiled in place. */
  readonly sha256: string;
  size: number;
  /** The reference as the user wrote it. */
  ref: string;
  /** Where the bytes came from (path or URL, never with credentials). */
  origin: string;
  kind: Reference['kind'];
  /** Served from the cache (or a seed) without a network call. */
  cached: boolean;
  immutable: boolean;
}

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

export interface PinSource {
  sha256: string;
  from: string;
}

export interface Pins {
  /** What the bytes must match: --sha256 and the lockfile, which must agree. */
  check?: PinSource;
  /** The same digest when it comes from outside the checkout: only then may cached bytes be served by it. */
  trusted?: PinSource;
}

/**
 * The pins for a reference: --sha256 and the lockfile must agree; --frozen requires the lockfile's. A lockfile
 * inside the checkout still checks and refuses (and satisfies --frozen), but is not trusted to choose bytes.
 */
export async function pinsFor(
  ref: string,
  opts: ResolveOptions,
  env: NodeJS.ProcessEnv,
  cwd: string,
  checkout: Checkout,
): Promise<Pins> {
  const file = lockfilePath(opts.lockfile, env, cwd);
  const lock = opts.useLockfile === false ? undefined : await readLockfile(file);
  if (opts.lockfile && !lock && !opts.frozen && opts.useLockfile !== false)
    throw new UsageError(`lockfile ${file} does not exist`);
  const entry: LockEntry | undefined = lock?.plugins[ref];
  if (opts.frozen) {
    if (!lock) throw new UsageError(`--frozen: no lockfile at ${file}`, `create it with \`wasmci pull --lock ${ref}\``);
    if (!entry)
      throw new UsageError(`--frozen: ${ref} is not pinned in ${file}`, `pin it with \`wasmci pull --lock ${ref}\``);
  }
  const flag = opts.sha256?.toLowerCase();
  if (flag && !/^[a-f0-9]{64}$/.test(flag)) throw new UsageError(`--sha256 ${opts.sha256} is not 64 hex digits`);
  if (flag && entry && flag !== entry.sha256)
    throw new UsageError(`--sha256 ${flag} disagrees with ${file}, which pins ${ref} to ${entry.sha256}`);
  const fromLock = entry ? { sha256: entry.sha256, from: file } : undefined;
  const fromFlag = flag ? { sha256: flag, from: '--sha256' } : undefined;
  const lockTrusted = fromLock && !inCheckout(checkout, file);
  return { check: fromLock ?? fromFlag, trusted: lockTrusted ? fromLock : fromFlag };
}

function mismatch(ref: string, got: string, pin: PinSource): RuntimeError {
  return new RuntimeError(
    `hash mismatch: plugin ${ref} has sha256 ${got}, but ${pin.from} pins ${pin.sha256}`,
    pin.from === '--sha256'
      ? 'the plugin changed since the hash was taken: check its origin before updating --sha256'
      : `the published plugin changed since it was locked: verify it, then re-pin with \`wasmci pull --lock ${ref}\``,
  );
}

function gitlabApiFor(opts: ResolveOptions, env: NodeJS.ProcessEnv): string | undefined {
  return opts.gitlabUrl ?? env.CI_API_V4_URL;
}

/** GitLab tokens also go with a plain URL that points into that GitLab's API (the seed's --wasm-url form). */
function urlHeaders(url: URL, explicit: Headers, opts: ResolveOptions, env: NodeJS.ProcessEnv): Headers {
  if (Object.keys(explicit).length) return explicit;
  const api = gitlabApiFor(opts, env);
  if (!api) return {};
  try {
    const base = new URL(api);
    if (url.origin === base.origin && url.pathname.startsWith(base.pathname.replace(/\/?$/, '/')))
      return gitlabHeaders({}, env);
  } catch {}
  return {};
}

async function fetchRef(
  ref: Reference,
  opts: ResolveOptions,
  env: NodeJS.ProcessEnv,
  npm: NpmConfig | undefined,
): Promise<{ bytes: Uint8Array; origin: string; manifest?: Buffer }> {
  const offline = !!opts.offline;
  const explicit = parseAuthHeaders(opts.authHeaders);
  switch (ref.kind) {
    case 'file':
      try {
        return { bytes: await readFile(ref.path), origin: ref.path };
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new UsageError(
          `plugin file ${ref.raw} ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})`}`,
          'pass a path to a .wasm file, an https:// URL, or gitlab:/npm:/oci:// reference',
        );
      }
    case 'gitlab': {
      const res = await downloadGitlab(ref, gitlabHeaders(explicit, env), opts.log, offline);
      return { bytes: res.bytes, origin: res.url };
    }
    case 'npm': {
      const res = await downloadNpm(ref.name, ref.version, npm as NpmConfig, opts.log, offline);
      return { bytes: res.tarball, origin: res.url };
    }
    case 'oci': {
      const creds = ociCredentials(ref.registry, env, opts.log);
      const client = new OciClient(ref.registry, ref.repository, creds, opts.log, offline, env);
      const res = await client.pull(ref.digest ?? (ref.tag as string));
      return { bytes: res.wasm, origin: res.url, manifest: res.manifest };
    }
    case 'url': {
      const headers = urlHeaders(ref.url, explicit, opts, env);
      try {
        const res = await httpRequest(ref.url, {
          headers,
          credentialHeaders: Object.keys(headers),
          log: opts.log,
          offline,
          progress: redactUrl(ref.url),
          maxBytes: MAX_PLUGIN_BYTES,
        });
        return { bytes: res.body, origin: redactUrl(ref.url) };
      } catch (err) {
        if (err instanceof HttpStatusError) {
          const hint: Record<number, string> = {
            401: 'the server wants credentials: pass --auth-header NAME=VALUE (or WASMCI_GITLAB_TOKEN for a GitLab URL)',
            403: 'the credentials do not grant access to this file',
            404: 'check the URL',
          };
          throw new RuntimeError(
            `could not download plugin ${redactUrl(ref.url)}: HTTP ${err.status}`,
            hint[err.status],
          );
        }
        throw err;
      }
    }
  }
}

/** An `oci://…@sha256:` reference from any cache: the manifest blob by its digest, then its wasm layer by its own. */
async function ociFromCache(cache: PluginCache, ref: Reference): Promise<Uint8Array | undefined> {
  if (ref.kind !== 'oci' || !ref.digest) return undefined;
  const manifest = await cache.getBlob(ref.digest.slice('sha256:'.length));
  if (!manifest) return undefined;
  return cache.getBlob(wasmLayerDigest(manifest, ref.raw).slice('sha256:'.length));
}

export async function resolvePlugin(raw: string, opts: ResolveOptions): Promise<ResolvedPlugin> {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const checkout = opts.checkout ?? findCheckout(env, cwd);
  // A file named like a short reference (`secrets@1.2.0`) wins over WASMCI_DEFAULT_SOURCE — but one the checkout
  // holds would let a merge request swap the registry plugin for its own file: that ambiguity is refused.
  const fileWins = (p: string) => {
    if (!existsSync(p)) return false;
    if (env.WASMCI_DEFAULT_SOURCE && inCheckout(checkout, p))
      throw new UsageError(
        `plugin ${raw} names both a file in the checked-out tree (${printable(p)}) and a package through WASMCI_DEFAULT_SOURCE`,
        `a file the tree holds cannot stand in for a registry reference: write ./${raw} to mean the file, or remove it`,
      );
    return true;
  };
  const ref = parseReference(
    raw,
    { gitlabUrl: gitlabApiFor(opts, env), defaultProject: env.CI_PROJECT_ID, defaultSource: env.WASMCI_DEFAULT_SOURCE },
    fileWins,
  );
  const pins = await pinsFor(raw, opts, env, cwd, checkout);
  const pin = pins.check;
  const immutable = isImmutable(ref);
  const done = (bytes: Uint8Array, origin: string, cached: boolean, known?: string): ResolvedPlugin => {
    if (!WASM_MAGIC.every((b, i) => bytes[i] === b))
      throw new RuntimeError(
        `plugin ${raw} (from ${origin}) is not a WebAssembly module`,
        bytes[0] === 0x3c
          ? 'the server sent an HTML/XML page (a login or error page?): check the URL and credentials'
          : 'check that the reference names a .wasm file or a plugin bundle',
      );
    // Hashed here only to check a pin; otherwise when first read (a scan reads only the bytes: hashing the 4.9 MB
    // secrets plugin was 13 ms of every scan's start). `known`: a digest the cache has just verified.
    let sha256 = known;
    if (pin) {
      sha256 ??= sha256Hex(bytes);
      if (pin.sha256 !== sha256) throw mismatch(raw, sha256, pin);
    }
    return {
      bytes,
      get sha256() {
        sha256 ??= sha256Hex(bytes);
        return sha256;
      },
      size: bytes.length,
      ref: raw,
      origin,
      kind: ref.kind,
      cached,
      immutable,
    };
  };
  const unpack = async (bytes: Uint8Array, label: string) =>
    isGzip(bytes) ? (await extractPlugin(bytes, label)).wasm : bytes;

  if (ref.kind === 'file') {
    const { bytes, origin } = await fetchRef(ref, opts, env, undefined);
    return done(await unpack(bytes, raw), origin, false);
  }

  // Read once: its warning about an in-tree .npmrc is printed once, and the cache key and the download agree.
  const npm = ref.kind === 'npm' ? npmConfig(env, cwd, checkout, opts.log) : undefined;
  const cache = new PluginCache(opts.cacheDir ? opts.cacheDir : defaultCacheDir(env), seedDirs(env), opts.log, (d) =>
    inCheckout(checkout, d),
  );
  const key = cacheKey(ref, npm && ref.kind === 'npm' ? npm.registryFor(ref.name) : undefined);
  if (pins.trusted) {
    const bytes = await cache.getBlob(pins.trusted.sha256);
    if (bytes)
      return done(
        bytes,
        (await cache.getIndex(key))?.origin ?? `cache:sha256:${pins.trusted.sha256}`,
        true,
        pins.trusted.sha256,
      );
  }
  const byDigest = await ociFromCache(cache, ref);
  if (byDigest) return done(byDigest, `cache:${ref.kind === 'oci' ? ref.digest : ''}`, true);
  if (immutable || opts.offline) {
    const hit = await cache.lookup(key);
    if (hit) {
      if (!immutable) opts.log.info(`offline: using the cached copy of ${raw} from ${hit.entry.fetchedAt}`);
      return done(hit.bytes, hit.entry.origin, true, hit.entry.sha256);
    }
  }
  if (opts.offline) {
    const inTree = cache.untrustedRoots;
    if (inTree.length)
      throw new UsageError(
        `offline: plugin ${raw} is not in a trusted cache; ${inTree.map(printable).join(', ')} is inside the checked-out tree, which a merge request can write, so its bytes are used only for a digest pinned outside it`,
        `pin the plugin from outside the checkout (--sha256 <hex>, or --lockfile / WASMCI_LOCKFILE outside it), or point --cache-dir / WASMCI_CACHE_DIR or WASMCI_SEED_CACHE at a cache outside it (\`wasmci pull ${raw}\` fills one)`,
      );
    throw new UsageError(
      `offline: plugin ${raw} is not in the cache (${cache.dir}${cache.seeds.length ? ` or ${cache.seeds.join(', ')}` : ''})`,
      `fetch it once while online with \`wasmci pull ${raw}\`, or point --cache-dir / WASMCI_CACHE_DIR at a cache that has it`,
    );
  }

  const fetched = await fetchRef(ref, opts, env, npm);
  const wasm = await unpack(fetched.bytes, raw);
  const result = done(wasm, fetched.origin, false);
  try {
    await cache.putBlob(wasm);
    // The manifest too, under its own digest: an `@sha256:` reference is then served by digests alone.
    if (fetched.manifest && ref.kind === 'oci' && ref.digest) await cache.putBlob(fetched.manifest);
    await cache.putIndex({ key, sha256: result.sha256, size: result.size, origin: fetched.origin });
  } catch (err) {
    // A read-only or full cache must not fail the job: the verified bytes are in hand.
    opts.log.warn(`could not write the plugin cache ${cache.dir}: ${(err as Error).message}`);
  }
  return result;
}
