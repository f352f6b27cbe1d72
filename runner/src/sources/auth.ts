/**
 * Where credentials come from, and which origin each belongs to. Every value found here is registered with
 * redactValue() before it is used, so no log line or error can show it.
 */
import { readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Checkout, inCheckout } from '../core/checkout.js';
import { UsageError } from '../errors.js';
import { type Logger, printable, redactValue } from '../log.js';

export type Headers = Record<string, string>;

/** `--auth-header NAME=VALUE` (repeatable; minism/simplism parity). */
export function parseAuthHeaders(specs: string[] = []): Headers {
  const out: Headers = {};
  for (const spec of specs) {
    const i = spec.indexOf('=');
    const name = spec.slice(0, i).trim();
    if (i <= 0 || !/^[A-Za-z0-9-]+$/.test(name))
      throw new UsageError('--auth-header must be NAME=VALUE', 'e.g. --auth-header "PRIVATE-TOKEN=$MY_TOKEN"');
    const value = spec.slice(i + 1);
    redactValue(value);
    redactValue(value.replace(/^(Bearer|Basic)\s+/i, ''));
    out[name] = value;
  }
  return out;
}

/** GitLab: explicit headers win; then a personal/project token, a deploy token, the CI job token. */
export function gitlabHeaders(explicit: Headers, env: NodeJS.ProcessEnv = process.env): Headers {
  if (Object.keys(explicit).length) return explicit;
  const pick: [string, string | undefined][] = [
    ['PRIVATE-TOKEN', env.WASMCI_GITLAB_TOKEN],
    ['DEPLOY-TOKEN', env.WASMCI_GITLAB_DEPLOY_TOKEN],
    ['JOB-TOKEN', env.CI_JOB_TOKEN],
  ];
  for (const [name, value] of pick) {
    if (value) {
      redactValue(value);
      return { [name]: value };
    }
  }
  return {};
}

/** Which variable a GitLab credential came from, for messages ("the token was rejected: check …"). */
export function gitlabCredentialName(headers: Headers): string {
  const names = Object.keys(headers).map((h) => h.toUpperCase());
  if (names.includes('PRIVATE-TOKEN')) return 'the PRIVATE-TOKEN (WASMCI_GITLAB_TOKEN or --auth-header)';
  if (names.includes('DEPLOY-TOKEN')) return 'the DEPLOY-TOKEN (WASMCI_GITLAB_DEPLOY_TOKEN or --auth-header)';
  if (names.includes('JOB-TOKEN')) return 'the JOB-TOKEN (CI_JOB_TOKEN)';
  if (names.length) return `the ${names.join(', ')} header`;
  return 'no token (set WASMCI_GITLAB_TOKEN, or run in GitLab CI where CI_JOB_TOKEN is set)';
}

// ---------- npm ----------

export interface NpmConfig {
  /** Registry for a package name (scope-aware), always ending in '/'. */
  registryFor(name: string): string;
  /** The auth header for a URL, by npm's longest `//host/path/` prefix rule; undefined for other hosts. */
  authFor(url: string): Headers;
}

/** An .npmrc as key/value pairs, `${VAR}` expanded from the environment: only ever called on a trusted file. */
function readIni(file: string, env: NodeJS.ProcessEnv): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return {};
  }
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const t = line.trim();
    if (!t || t.startsWith('#') || t.startsWith(';')) continue;
    const i = t.indexOf('=');
    if (i <= 0) continue;
    const key = t.slice(0, i).trim();
    let value = t.slice(i + 1).trim();
    if (/^".*"$/.test(value)) value = value.slice(1, -1);
    out[key] = value.replace(/\$\{([A-Za-z0-9_]+)\}/g, (_, v: string) => env[v] ?? '');
  }
  return out;
}

const isFile = (f: string) => {
  try {
    return statSync(f).isFile();
  } catch {
    return false;
  }
};
const withSlash = (u: string) => (u.endsWith('/') ? u : `${u}/`);
const nerfDart = (u: string) => {
  const url = new URL(u);
  return `//${url.host}${withSlash(url.pathname)}`;
};

export const NPMRC_FIX =
  // biome-ignore lint/suspicious/noTemplateCurlyInString: npm's own ${VAR} syntax, shown as written in an .npmrc
  'configure npm outside the checkout: ~/.npmrc or NPM_CONFIG_USERCONFIG=<a file outside it> (registry=, @scope:registry=, //host/:_authToken=${VAR}), or NPM_CONFIG_REGISTRY=<url>';

/**
 * npm settings for `npm:` references, read only from files the pipeline controls. An .npmrc is a credential map
 * (`//host/:_authToken=${CI_JOB_TOKEN}`) and a choice of plugin bytes (`registry=`): one inside the checkout was
 * written by whoever opened the merge request, so it is never read (a warn line says so) and `${VAR}` is never
 * expanded from it. Read: the user config (NPM_CONFIG_USERCONFIG, else ~/.npmrc), then a `.npmrc` in the working
 * directory when that is not in the checkout, then NPM_CONFIG_REGISTRY. The lower-case npm_config_* variables
 * are what npm exports to the programs it launches (`npx wasmci`), computed from the project .npmrc too: they
 * count only when npm did not launch wasmci (npm_command unset).
 */
export function npmConfig(
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
  checkout: Checkout = { roots: [] },
  log?: Logger,
): NpmConfig {
  const fromNpm = !!env.npm_command;
  const lower = (name: string) => (fromNpm ? undefined : env[`npm_config_${name}`]);
  const userFile = env.NPM_CONFIG_USERCONFIG || lower('userconfig') || path.join(env.HOME || os.homedir(), '.npmrc');
  const files = [userFile, path.join(cwd, '.npmrc')];
  const conf: Record<string, string> = {};
  for (const file of new Set(files.map((f) => path.resolve(f)))) {
    if (!isFile(file)) continue;
    if (inCheckout(checkout, file)) {
      log?.warn(
        `ignored ${printable(file)}: it is inside the checked-out tree, which a merge request can write, so it may not choose the npm registry or its credentials; ${NPMRC_FIX}`,
      );
      continue;
    }
    Object.assign(conf, readIni(file, env));
  }
  const envRegistry = env.NPM_CONFIG_REGISTRY || lower('registry');
  if (envRegistry) conf.registry = envRegistry;
  const tokens: [string, string][] = [];
  for (const [k, v] of Object.entries(conf)) {
    if (k.startsWith('//') && k.endsWith(':_authToken') && v) {
      redactValue(v);
      tokens.push([withSlash(k.slice(0, -':_authToken'.length)), v]);
    }
  }
  tokens.sort((a, b) => b[0].length - a[0].length);
  return {
    registryFor(name) {
      const scope = name.startsWith('@') ? name.slice(0, name.indexOf('/')) : undefined;
      return withSlash((scope && conf[`${scope}:registry`]) || conf.registry || 'https://registry.npmjs.org/');
    },
    authFor(url): Headers {
      const dart = nerfDart(url);
      const hit = tokens.find(([prefix]) => dart.startsWith(prefix));
      return hit ? { authorization: `Bearer ${hit[1]}` } : {};
    },
  };
}

// ---------- OCI ----------

export interface BasicCredentials {
  username: string;
  password: string;
}

/** `host[:port]` as URLs compare it: lower case, no default port (`Registry.example.com:443` = `registry.example.com`). */
export function hostKey(hostPort: string, protocol = 'https:'): string {
  try {
    return new URL(`${protocol}//${hostPort.trim()}`).host;
  } catch {
    return hostPort.trim().toLowerCase();
  }
}

const hostList = (v: string | undefined) =>
  (v ?? '')
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((h) => hostKey(h));

/**
 * Whether a token service (the `realm` of a registry's Bearer challenge) may receive the registry's Basic
 * credentials: only on the registry's own host, or on a host the pipeline allows in WASMCI_OCI_TOKEN_HOSTS
 * (Docker Hub's realm is auth.docker.io, GitLab's is the GitLab host, not registry.gitlab.com). The registry
 * chooses the realm, so without this rule a registry a reference names could send the credentials anywhere.
 */
export function realmMayGetCredentials(registry: string, realm: URL, env: NodeJS.ProcessEnv = process.env): boolean {
  const realmHost = realm.host;
  return realmHost === hostKey(registry, realm.protocol) || hostList(env.WASMCI_OCI_TOKEN_HOSTS).includes(realmHost);
}

let unscopedWarned = false;

/**
 * Credentials for one registry. WASMCI_OCI_USERNAME/PASSWORD belong to the host named by WASMCI_OCI_REGISTRY
 * (`host[:port]`, comma-separated for several) and go to no other: a reference (which a repository's config may
 * choose) naming another registry gets none, and without WASMCI_OCI_REGISTRY they are not sent at all (warned
 * once). Else `auths[host].auth` in $DOCKER_CONFIG/config.json or ~/.docker/config.json, which is keyed by host.
 */
export function ociCredentials(
  registry: string,
  env: NodeJS.ProcessEnv = process.env,
  log?: Logger,
): BasicCredentials | undefined {
  if (env.WASMCI_OCI_USERNAME && env.WASMCI_OCI_PASSWORD) {
    redactValue(env.WASMCI_OCI_PASSWORD);
    const scope = hostList(env.WASMCI_OCI_REGISTRY);
    if (scope.includes(hostKey(registry)))
      return { username: env.WASMCI_OCI_USERNAME, password: env.WASMCI_OCI_PASSWORD };
    if (!scope.length && !unscopedWarned) {
      unscopedWarned = true;
      log?.warn(
        'WASMCI_OCI_USERNAME/WASMCI_OCI_PASSWORD are set but not sent: name the registry they belong to with WASMCI_OCI_REGISTRY=host[:port]',
      );
    } else if (scope.length)
      log?.info(
        `WASMCI_OCI_USERNAME/PASSWORD belong to ${scope.join(', ')} (WASMCI_OCI_REGISTRY): not sent to ${printable(registry)}`,
      );
  }
  const dir = env.DOCKER_CONFIG ?? path.join(env.HOME || os.homedir(), '.docker');
  let auths: Record<string, { auth?: string }> = {};
  try {
    auths = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')).auths ?? {};
  } catch {
    return undefined;
  }
  const candidates = [registry, `https://${registry}`, `http://${registry}`, `https://${registry}/v1/`];
  for (const c of candidates) {
    const encoded = auths[c]?.auth;
    if (!encoded) continue;
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i <= 0) continue;
    redactValue(encoded);
    redactValue(decoded.slice(i + 1));
    return { username: decoded.slice(0, i), password: decoded.slice(i + 1) };
  }
  return undefined;
}
