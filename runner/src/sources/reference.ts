/**
 * Plugin reference strings -> typed references. Pure parsing: no I/O, no environment beyond what is passed in,
 * so every form is validated (with a message naming the fix) before anything touches the network.
 */
import path from 'node:path';
import { UsageError } from '../errors.js';

export type Reference =
  | { kind: 'file'; raw: string; path: string }
  | { kind: 'url'; raw: string; url: URL }
  | {
      kind: 'gitlab';
      raw: string;
      /** API base, e.g. https://gitlab.example.com/api/v4 (no trailing slash). */
      api: string;
      /** Numeric id or URL-encoded path (group%2Fproject). */
      project: string;
      package: string;
      version: string;
      file: string;
    }
  | { kind: 'npm'; raw: string; name: string; version: string }
  | { kind: 'oci'; raw: string; registry: string; repository: string; tag?: string; digest?: string };

export interface ReferenceContext {
  /** --gitlab-url, else CI_API_V4_URL. */
  gitlabUrl?: string;
  /** CI_PROJECT_ID: the project of a `gitlab:<package>@<version>` reference. */
  defaultProject?: string;
  /** WASMCI_DEFAULT_SOURCE: what a short `name@version` reference means, e.g. `gitlab:group/plugins`. */
  defaultSource?: string;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export function isLoopback(hostname: string): boolean {
  return LOOPBACK.has(hostname.toLowerCase());
}

/** https everywhere; plain http only to this machine (tests, a local mirror): a token or a plugin in clear text
 * over a network is never acceptable. */
export function checkTransportUrl(url: URL, what: string): void {
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && isLoopback(url.hostname)) return;
  if (url.protocol === 'http:')
    throw new UsageError(
      `${what} ${redactUrl(url)} uses plain http`,
      'use https:// (plain http is only accepted for 127.0.0.1, localhost and ::1)',
    );
  throw new UsageError(`${what} ${redactUrl(url)} is not an https:// URL`);
}

/** A URL fit for logs, lockfiles and errors: no user, password or query (tokens hide in all three). */
export function redactUrl(url: URL | string): string {
  const u = new URL(String(url));
  u.username = '';
  u.password = '';
  u.search = '';
  return u.toString();
}

/** Version strings GitLab's generic registry accepts (and nothing that could walk a path). */
const VERSION_RE = /^[A-Za-z0-9][A-Za-z0-9.+_-]*$/;
const PACKAGE_RE = /^[A-Za-z0-9][A-Za-z0-9._~+-]*$/;
const FILE_RE = /^[A-Za-z0-9][A-Za-z0-9._~+-]*$/;
const NPM_NAME_RE = /^(@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/;
const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export function normalizeGitlabApi(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`GitLab URL "${raw}" is not a URL`, 'e.g. --gitlab-url https://gitlab.example.com');
  }
  checkTransportUrl(url, 'GitLab URL');
  let base = `${url.origin}${url.pathname}`.replace(/\/+$/, '');
  if (!/\/api\/v4$/.test(base)) base += '/api/v4';
  return base;
}

function encodeProject(project: string): string {
  if (/^\d+$/.test(project)) return project;
  const decoded = decodeURIComponent(project);
  if (!/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(decoded) || decoded.split('/').some((s) => s === '' || s === '..'))
    throw new UsageError(`GitLab project "${project}" is neither a project id nor a group/project path`);
  return encodeURIComponent(decoded);
}

function parseGitlab(raw: string, ctx: ReferenceContext): Reference {
  const body = raw.slice('gitlab:'.length);
  const at = body.lastIndexOf('@');
  const shape = 'gitlab:<project-id-or-path>/<package>@<version>[/<file>]';
  if (at <= 0) throw new UsageError(`${raw}: no version`, `write ${shape}`);
  const before = body.slice(0, at);
  const after = body.slice(at + 1);
  const slash = before.lastIndexOf('/');
  const pkg = before.slice(slash + 1);
  let project = slash >= 0 ? before.slice(0, slash) : ctx.defaultProject;
  const [version, ...fileParts] = after.split('/');
  const file = fileParts.length ? fileParts.join('/') : `${pkg}.wasm`;
  if (!project)
    throw new UsageError(`${raw}: no project`, `write ${shape}, or run in GitLab CI where CI_PROJECT_ID is set`);
  project = encodeProject(project);
  if (!PACKAGE_RE.test(pkg)) throw new UsageError(`${raw}: "${pkg}" is not a valid package name`);
  if (!version || !VERSION_RE.test(version) || version.includes('..'))
    throw new UsageError(`${raw}: "${version}" is not a valid version`, `write ${shape}`);
  if (!FILE_RE.test(file) || file.includes('..')) throw new UsageError(`${raw}: "${file}" is not a valid file name`);
  if (!ctx.gitlabUrl)
    throw new UsageError(
      `${raw}: no GitLab API URL`,
      'pass --gitlab-url https://gitlab.example.com (in GitLab CI, CI_API_V4_URL is used)',
    );
  return { kind: 'gitlab', raw, api: normalizeGitlabApi(ctx.gitlabUrl), project, package: pkg, version, file };
}

function parseNpm(raw: string): Reference {
  const body = raw.slice('npm:'.length);
  const at = body.lastIndexOf('@');
  if (at <= 0) throw new UsageError(`${raw}: no version`, 'write npm:<name>@<version>, e.g. npm:@acme/secrets@1.2.0');
  const name = body.slice(0, at);
  const version = body.slice(at + 1);
  if (!NPM_NAME_RE.test(name)) throw new UsageError(`${raw}: "${name}" is not a valid npm package name`);
  if (!/^[A-Za-z0-9][A-Za-z0-9.+_-]*$/.test(version))
    throw new UsageError(`${raw}: "${version}" is not an exact version or dist-tag`, 'ranges are not accepted: pin it');
  return { kind: 'npm', raw, name, version };
}

function parseOci(raw: string): Reference {
  const body = raw.slice('oci://'.length);
  const slash = body.indexOf('/');
  const shape = 'oci://host[:port]/repository:tag or oci://host/repository@sha256:<hex>';
  if (slash <= 0) throw new UsageError(`${raw}: no repository`, `write ${shape}`);
  const registry = body.slice(0, slash);
  let rest = body.slice(slash + 1);
  let digest: string | undefined;
  let tag: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_RE.test(digest)) throw new UsageError(`${raw}: "${digest}" is not a sha256:<64 hex> digest`);
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon > 0) {
      tag = rest.slice(colon + 1);
      rest = rest.slice(0, colon);
    } else tag = 'latest';
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag)) throw new UsageError(`${raw}: "${tag}" is not a valid tag`);
  }
  if (!/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/.test(rest))
    throw new UsageError(`${raw}: "${rest}" is not a valid repository name`, `write ${shape}`);
  try {
    new URL(`https://${registry}/`);
  } catch {
    throw new UsageError(`${raw}: "${registry}" is not a registry host`, `write ${shape}`);
  }
  return { kind: 'oci', raw, registry, repository: rest, tag, digest };
}

/** `secrets@1.2.0` through WASMCI_DEFAULT_SOURCE (`gitlab:group/plugins`, `npm:@scope`, `oci://host/ns`). */
function expandShort(raw: string, source: string | undefined): string {
  const at = raw.lastIndexOf('@');
  const name = raw.slice(0, at);
  const version = raw.slice(at + 1);
  if (!source)
    throw new UsageError(
      `plugin ${raw} is neither a file nor a reference with a source`,
      'write gitlab:<project>/<package>@<version>, npm:<name>@<version> or oci://host/repo:tag, or set WASMCI_DEFAULT_SOURCE (e.g. gitlab:group/plugins)',
    );
  const base = source.replace(/\/+$/, '');
  if (base.startsWith('gitlab:')) return `${base}/${name}@${version}`;
  if (base.startsWith('npm:')) return `${base}/${name}@${version}`;
  if (base.startsWith('oci://')) return `${base}/${name}:${version}`;
  throw new UsageError(`WASMCI_DEFAULT_SOURCE "${source}" must start with gitlab:, npm: or oci://`);
}

const SHORT_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*@[A-Za-z0-9][A-Za-z0-9.+_-]*$/;

/**
 * Parses a reference. `exists` says whether a path names a file: a file called `secrets@1.2.0` wins over the short
 * form, so a local file is never silently replaced by a download.
 */
export function parseReference(raw: string, ctx: ReferenceContext, exists: (p: string) => boolean): Reference {
  if (raw.startsWith('gitlab:')) return parseGitlab(raw, ctx);
  if (raw.startsWith('npm:')) return parseNpm(raw);
  if (raw.startsWith('oci://')) return parseOci(raw);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new UsageError(`plugin URL ${raw} is not a valid URL`);
    }
    checkTransportUrl(url, 'plugin URL');
    return { kind: 'url', raw, url };
  }
  if (SHORT_RE.test(raw) && !exists(raw)) {
    const expanded = expandShort(raw, ctx.defaultSource);
    return { ...parseReference(expanded, ctx, () => false), raw };
  }
  return { kind: 'file', raw, path: path.resolve(raw) };
}

/**
 * Whether the reference always names the same bytes. Exact versions are treated as immutable (GitLab and npm
 * refuse or discourage re-publishing; the lockfile catches it if someone does); tags and URLs are not.
 */
export function isImmutable(ref: Reference): boolean {
  switch (ref.kind) {
    case 'gitlab':
      return ref.version !== 'latest';
    case 'npm':
      return /^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?$/.test(ref.version);
    case 'oci':
      return !!ref.digest;
    default:
      return false;
  }
}

/** The identity of a reference in the cache index: everything that decides the bytes, nothing user-specific. */
export function cacheKey(ref: Reference, npmRegistry?: string): string {
  switch (ref.kind) {
    case 'gitlab':
      return `gitlab ${ref.api} ${decodeURIComponent(ref.project)} ${ref.package} ${ref.version} ${ref.file}`;
    case 'npm':
      return `npm ${npmRegistry ?? ''} ${ref.name} ${ref.version}`;
    case 'oci':
      return `oci ${ref.registry}/${ref.repository}${ref.digest ? `@${ref.digest}` : `:${ref.tag}`}`;
    case 'url':
      return `url ${redactUrl(ref.url)}`;
    case 'file':
      return `file ${ref.path}`;
  }
}
