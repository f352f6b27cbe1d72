/**
 * GitLab's generic package registry: download `GET {api}/projects/{id}/packages/generic/{pkg}/{ver}/{file}`
 * (often a redirect to object storage: the token stays with the API host) and upload
 * `PUT …?select=package_file` (the answer's `file_sha256` is checked against what was sent).
 */
import { RuntimeError, UsageError } from '../errors.js';
import type { Logger } from '../log.js';
import { gitlabCredentialName, type Headers } from './auth.js';
import { sha256Hex } from './cache.js';
import { MAX_PLUGIN_BYTES } from './limits.js';
import { HttpStatusError, httpRequest } from './transport.js';

export interface GitlabPackage {
  api: string;
  project: string;
  package: string;
  version: string;
  file: string;
}

export function packageUrl(p: GitlabPackage): string {
  const seg = encodeURIComponent;
  return `${p.api}/projects/${p.project}/packages/generic/${seg(p.package)}/${seg(p.version)}/${seg(p.file)}`;
}

function describe(p: GitlabPackage): string {
  return `package ${p.package} version ${p.version} (file ${p.file}) in project ${decodeURIComponent(p.project)} at ${p.api}`;
}

/** 401, 403 and 404 each say what to check; anything else says what the server answered. */
export function gitlabError(err: unknown, p: GitlabPackage, headers: Headers, action: 'download' | 'upload'): Error {
  if (!(err instanceof HttpStatusError)) return err as Error;
  const who = gitlabCredentialName(headers);
  switch (err.status) {
    case 401:
      return new RuntimeError(
        `GitLab rejected the credentials for ${describe(p)} (HTTP 401)`,
        `the token was rejected: check ${who} — it may be expired, revoked or mistyped`,
      );
    case 403:
      return new RuntimeError(
        `GitLab refused to ${action} ${describe(p)} (HTTP 403)`,
        action === 'download'
          ? `${who} lacks read_package_registry, or this job's project is not allowed to access project ${decodeURIComponent(p.project)} (Settings > CI/CD > Job token permissions allowlist)`
          : `${who} lacks write_package_registry (job tokens can only publish to their own project)`,
      );
    case 404:
      return new RuntimeError(
        `no ${describe(p)} (HTTP 404)`,
        Object.keys(headers).length
          ? 'check the package name, version, file name and project id; a private project also answers 404 to a token that cannot see it'
          : 'check the names and the project; if the project is private, set WASMCI_GITLAB_TOKEN (or run in CI with CI_JOB_TOKEN)',
      );
    default:
      return new RuntimeError(
        `GitLab answered HTTP ${err.status} to the ${action} of ${describe(p)}`,
        err.status >= 500 ? 'the server kept failing after retries: try again later' : err.body.slice(0, 300),
      );
  }
}

export async function downloadGitlab(
  p: GitlabPackage,
  headers: Headers,
  log: Logger,
  offline: boolean,
): Promise<{ bytes: Uint8Array; url: string }> {
  const url = packageUrl(p);
  try {
    const res = await httpRequest(url, {
      headers,
      credentialHeaders: Object.keys(headers),
      log,
      offline,
      progress: `${p.package}@${p.version}`,
      maxBytes: MAX_PLUGIN_BYTES,
    });
    return { bytes: res.body, url };
  } catch (err) {
    throw gitlabError(err, p, headers, 'download');
  }
}

/** True when the file already exists in that version (HEAD without following the storage redirect). */
export async function gitlabFileExists(p: GitlabPackage, headers: Headers, log: Logger): Promise<boolean> {
  try {
    await httpRequest(packageUrl(p), {
      method: 'HEAD',
      headers,
      credentialHeaders: Object.keys(headers),
      followRedirects: false,
      log,
    });
    return true;
  } catch (err) {
    if (err instanceof HttpStatusError && err.status === 404) return false;
    throw gitlabError(err, p, headers, 'download');
  }
}

export async function publishGitlab(
  p: GitlabPackage,
  bytes: Uint8Array,
  headers: Headers,
  log: Logger,
): Promise<{ sha256: string; url: string }> {
  const url = `${packageUrl(p)}?select=package_file`;
  const sha256 = sha256Hex(bytes);
  let body: Buffer;
  try {
    body = (
      await httpRequest(url, {
        method: 'PUT',
        headers: { ...headers, 'content-type': 'application/octet-stream' },
        credentialHeaders: Object.keys(headers),
        body: bytes,
        log,
      })
    ).body;
  } catch (err) {
    throw gitlabError(err, p, headers, 'upload');
  }
  let answer: { file_sha256?: unknown };
  try {
    answer = JSON.parse(body.toString('utf8'));
  } catch {
    throw new RuntimeError(`GitLab's answer to the upload of ${describe(p)} is not JSON`, 'is --gitlab-url the API?');
  }
  if (typeof answer.file_sha256 !== 'string')
    throw new RuntimeError(`GitLab's answer to the upload of ${describe(p)} has no file_sha256`);
  if (answer.file_sha256.toLowerCase() !== sha256)
    throw new RuntimeError(
      `GitLab stored ${describe(p)} with sha256 ${answer.file_sha256}, but ${sha256} was sent`,
      'the upload was altered in transit or by a proxy: do not use this version; publish again with --force',
    );
  return { sha256, url: packageUrl(p) };
}

export function requireToken(headers: Headers, what: string): void {
  if (!Object.keys(headers).length)
    throw new UsageError(
      `${what} needs a GitLab token`,
      'set WASMCI_GITLAB_TOKEN (api or write_package_registry scope), or run in GitLab CI (CI_JOB_TOKEN)',
    );
}
