/**
 * Where credentials come from, and which origin each belongs to. Every value found here is registered with
 * redactValue() before it is used, so no log line or error can show it.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { redactValue } from '../log.js';

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

const withSlash = (u: string) => (u.endsWith('/') ? u : `${u}/`);
const nerfDart = (u: string) => {
  const url = new URL(u);
  return `//${url.host}${withSlash(url.pathname)}`;
};

/** User ~/.npmrc (or NPM_CONFIG_USERCONFIG), then the project's .npmrc, then npm_config_registry. */
export function npmConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): NpmConfig {
  const user = env.NPM_CONFIG_USERCONFIG ?? env.npm_config_userconfig ?? path.join(env.HOME || os.homedir(), '.npmrc');
  const conf = { ...readIni(user, env), ...readIni(path.join(cwd, '.npmrc'), env) };
  const envRegistry = env.NPM_CONFIG_REGISTRY ?? env.npm_config_registry;
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

/** WASMCI_OCI_USERNAME/PASSWORD, else `auths[host].auth` in $DOCKER_CONFIG/config.json or ~/.docker/config.json. */
export function ociCredentials(registry: string, env: NodeJS.ProcessEnv = process.env): BasicCredentials | undefined {
  if (env.WASMCI_OCI_USERNAME && env.WASMCI_OCI_PASSWORD) {
    redactValue(env.WASMCI_OCI_PASSWORD);
    return { username: env.WASMCI_OCI_USERNAME, password: env.WASMCI_OCI_PASSWORD };
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
