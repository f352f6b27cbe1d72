/**
 * `npm:<name>@<version|dist-tag>`: the package document from the configured registry (.npmrc, scope-aware), the
 * tarball it names (checked against the document's `dist.integrity`), and the plugin inside it. The registry's
 * `_authToken` is sent only to URLs under that registry's `//host/path/`.
 */
import { createHash } from 'node:crypto';
import { RuntimeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { NpmConfig } from './auth.js';
import { MAX_PLUGIN_BYTES } from './limits.js';
import { HttpStatusError, httpRequest } from './transport.js';

function npmError(err: unknown, name: string, version: string, registry: string, hasToken: boolean): Error {
  if (!(err instanceof HttpStatusError)) return err as Error;
  if (err.status === 401)
    return new RuntimeError(
      `the npm registry ${registry} rejected the credentials for ${name} (HTTP 401)`,
      hasToken
        ? 'the _authToken in .npmrc was rejected: renew it'
        : `add //host/:_authToken=… for ${registry} to .npmrc`,
    );
  if (err.status === 403)
    return new RuntimeError(
      `the npm registry ${registry} refused access to ${name} (HTTP 403)`,
      'the token lacks read access to this package or scope',
    );
  if (err.status === 404)
    return new RuntimeError(
      `no npm package ${name}${version ? ` version ${version}` : ''} in ${registry} (HTTP 404)`,
      'check the name, the version and the registry (registry= / @scope:registry= in .npmrc)',
    );
  return new RuntimeError(`the npm registry ${registry} answered HTTP ${err.status} for ${name}`);
}

function checkIntegrity(bytes: Uint8Array, integrity: string | undefined, shasum: string | undefined, what: string) {
  const sri = integrity?.split(/\s+/).find((s) => /^sha(512|384|256)-/.test(s));
  if (sri) {
    const [algo, expected] = [sri.slice(0, sri.indexOf('-')), sri.slice(sri.indexOf('-') + 1)];
    if (createHash(algo).update(bytes).digest('base64') !== expected)
      throw new RuntimeError(`${what}: the tarball does not match its registry integrity ${algo}`, 'it was altered');
  } else if (shasum) {
    if (createHash('sha1').update(bytes).digest('hex') !== shasum)
      throw new RuntimeError(`${what}: the tarball does not match its registry shasum`, 'it was altered');
  }
}

export async function downloadNpm(
  name: string,
  version: string,
  conf: NpmConfig,
  log: Logger,
  offline: boolean,
): Promise<{ tarball: Uint8Array; url: string; version: string }> {
  const registry = conf.registryFor(name);
  const docUrl = `${registry}${name.replace('/', '%2f')}`;
  const docAuth = conf.authFor(docUrl);
  let doc: { versions?: Record<string, { dist?: { tarball?: string; integrity?: string; shasum?: string } }> };
  let distTags: Record<string, string> = {};
  try {
    const res = await httpRequest(docUrl, {
      headers: { accept: 'application/json', ...docAuth },
      credentialHeaders: Object.keys(docAuth),
      log,
      offline,
    });
    doc = JSON.parse(res.body.toString('utf8'));
    distTags = (doc as { 'dist-tags'?: Record<string, string> })['dist-tags'] ?? {};
  } catch (err) {
    if (err instanceof SyntaxError)
      throw new RuntimeError(`the npm registry ${registry} sent invalid JSON for ${name}`);
    throw npmError(err, name, '', registry, Object.keys(docAuth).length > 0);
  }
  const exact = doc.versions?.[version] ? version : distTags[version];
  const dist = exact ? doc.versions?.[exact]?.dist : undefined;
  if (!exact || !dist?.tarball)
    throw new RuntimeError(
      `npm package ${name} has no version or dist-tag ${version} in ${registry}`,
      `published versions: ${
        Object.keys(doc.versions ?? {})
          .slice(-10)
          .join(', ') || 'none'
      }`,
    );
  const tarAuth = conf.authFor(dist.tarball);
  try {
    const res = await httpRequest(dist.tarball, {
      headers: tarAuth,
      credentialHeaders: Object.keys(tarAuth),
      log,
      offline,
      progress: `${name}@${exact}`,
      maxBytes: MAX_PLUGIN_BYTES,
    });
    checkIntegrity(res.body, dist.integrity, dist.shasum, `npm:${name}@${exact}`);
    return { tarball: res.body, url: dist.tarball, version: exact };
  } catch (err) {
    throw npmError(err, name, exact, registry, Object.keys(tarAuth).length > 0);
  }
}
