/** Plugin reference parsing (sources/reference.ts): every form, its validation, immutability and cache identity. */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cacheKey, isImmutable, parseReference, redactUrl } from '../../src/sources/reference.js';

const ctx = { gitlabUrl: 'https://gitlab.example.com', defaultProject: '42' };
const never = () => false;
const parse = (raw: string, c: Parameters<typeof parseReference>[1] = ctx) => parseReference(raw, c, never);

describe('parseReference', () => {
  it('parses gitlab:, npm:, oci:// and URL references', () => {
    expect(parse('gitlab:group/plugins/secrets@1.2.0')).toMatchObject({
      kind: 'gitlab',
      api: 'https://gitlab.example.com/api/v4',
      project: 'group%2Fplugins',
      package: 'secrets',
      version: '1.2.0',
      file: 'secrets.wasm',
    });
    expect(parse('gitlab:secrets@1.2.0/x.tar.gz')).toMatchObject({ project: '42', file: 'x.tar.gz' });
    expect(parse('npm:@acme/secrets@1.2.0')).toMatchObject({ kind: 'npm', name: '@acme/secrets', version: '1.2.0' });
    expect(parse('oci://reg.example.com:5000/ns/secrets:1.2.0')).toMatchObject({
      kind: 'oci',
      registry: 'reg.example.com:5000',
      repository: 'ns/secrets',
      tag: '1.2.0',
    });
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(parse(`oci://reg.example.com/ns/secrets@${digest}`)).toMatchObject({ digest, tag: undefined });
    expect(parse('oci://reg.example.com/ns/secrets')).toMatchObject({ tag: 'latest' });
    expect(parse('https://example.com/x.wasm')).toMatchObject({ kind: 'url' });
    expect(parse('./x.wasm')).toEqual({ kind: 'file', raw: './x.wasm', path: path.resolve('x.wasm') });
  });

  it('expands short names through WASMCI_DEFAULT_SOURCE, but a file of that name wins', () => {
    expect(parse('secrets@1.2.0', { ...ctx, defaultSource: 'oci://reg.example.com/ns/' })).toMatchObject({
      kind: 'oci',
      raw: 'secrets@1.2.0',
      repository: 'ns/secrets',
      tag: '1.2.0',
    });
    expect(parseReference('secrets@1.2.0', ctx, () => true)).toMatchObject({ kind: 'file' });
    expect(() => parse('secrets@1.2.0')).toThrow(/neither a file nor a reference with a source/);
  });

  it('refuses what could walk a path, ranges, plain http off loopback and malformed digests', () => {
    expect(() => parse('gitlab:1/p@../x')).toThrow(/not a valid version/);
    expect(() => parse('gitlab:a/../b/p@1.0.0')).toThrow(/neither a project id/);
    expect(() => parse('npm:x@^1.0.0')).toThrow(/is not an exact version or dist-tag/);
    expect(() => parse('http://example.com/x.wasm')).toThrow(/plain http/);
    expect(parse('http://127.0.0.1:8080/x.wasm')).toMatchObject({ kind: 'url' });
    expect(() => parse('oci://reg.example.com/ns/p@sha256:abc')).toThrow(/not a sha256/);
    expect(() => parse('gitlab:1/p@1.0.0', {})).toThrow(/no GitLab API URL/);
  });
});

describe('isImmutable and cacheKey', () => {
  it('treats exact versions and digests as immutable, tags and URLs as not', () => {
    expect(isImmutable(parse('gitlab:1/p@1.0.0'))).toBe(true);
    expect(isImmutable(parse('gitlab:1/p@latest'))).toBe(false);
    expect(isImmutable(parse('npm:p@1.0.0'))).toBe(true);
    expect(isImmutable(parse('npm:p@next'))).toBe(false);
    expect(isImmutable(parse('oci://r.example/p:1.0.0'))).toBe(false);
    expect(isImmutable(parse(`oci://r.example/p@sha256:${'b'.repeat(64)}`))).toBe(true);
    expect(isImmutable(parse('https://example.com/x.wasm'))).toBe(false);
  });

  it('keys the cache by what decides the bytes, never by credentials', () => {
    expect(cacheKey(parse('npm:p@1.0.0'), 'https://r.example/')).toBe('npm https://r.example/ p 1.0.0');
    expect(cacheKey(parse('https://u:pw@example.com/x.wasm?token=t'))).toBe('url https://example.com/x.wasm');
    expect(redactUrl('https://u:pw@example.com/a?t=1')).toBe('https://example.com/a');
  });
});
