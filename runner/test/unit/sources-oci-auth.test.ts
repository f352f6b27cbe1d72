/** OCI credentials (sources/auth.ts): scoped to the registry WASMCI_OCI_REGISTRY names; realms on its host only. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { hostKey, ociCredentials, realmMayGetCredentials } from '../../src/sources/auth.js';

const none = mkdtempSync(path.join(os.tmpdir(), 'wasmci-unit-oci-'));
const creds = { WASMCI_OCI_USERNAME: 'u', WASMCI_OCI_PASSWORD: 'password-123456', DOCKER_CONFIG: none, HOME: none };

describe('hostKey', () => {
  it('compares hosts as URLs do: case, default port', () => {
    expect(hostKey('Registry.Example.com:443')).toBe('registry.example.com');
    expect(hostKey('registry.example.com:5000')).toBe('registry.example.com:5000');
    expect(hostKey('127.0.0.1:80', 'http:')).toBe('127.0.0.1');
  });
});

describe('ociCredentials', () => {
  it('sends environment credentials only to the registry WASMCI_OCI_REGISTRY names', () => {
    const scoped = { ...creds, WASMCI_OCI_REGISTRY: 'reg.example.com, other.example:5000' };
    expect(ociCredentials('reg.example.com', scoped)).toEqual({ username: 'u', password: 'password-123456' });
    expect(ociCredentials('REG.example.com:443', scoped)).toBeDefined();
    expect(ociCredentials('other.example:5000', scoped)).toBeDefined();
    expect(ociCredentials('other.example', scoped)).toBeUndefined();
    expect(ociCredentials('evil.example', scoped)).toBeUndefined();
  });

  it('without WASMCI_OCI_REGISTRY sends them nowhere and warns once per process', () => {
    const lines: string[] = [];
    const log = createLogger('warn', (s) => lines.push(s));
    expect(ociCredentials('reg.example.com', creds, log)).toBeUndefined();
    expect(ociCredentials('reg.example.com', creds, log)).toBeUndefined();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/not sent: name the registry they belong to with WASMCI_OCI_REGISTRY=host\[:port\]/);
  });

  it('docker config.json credentials stay keyed by their host', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wasmci-unit-docker-'));
    mkdirSync(dir, { recursive: true });
    const auth = Buffer.from('d:docker-password-1').toString('base64');
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ auths: { 'reg.example.com': { auth } } }));
    expect(ociCredentials('reg.example.com', { DOCKER_CONFIG: dir })).toEqual({
      username: 'd',
      password: 'docker-password-1',
    });
    expect(ociCredentials('evil.example', { DOCKER_CONFIG: dir })).toBeUndefined();
  });
});

describe('realmMayGetCredentials', () => {
  it('allows the registry host only, or hosts in WASMCI_OCI_TOKEN_HOSTS', () => {
    expect(realmMayGetCredentials('reg.example.com', new URL('https://reg.example.com/token'), {})).toBe(true);
    expect(realmMayGetCredentials('reg.example.com', new URL('https://reg.example.com:443/token'), {})).toBe(true);
    expect(realmMayGetCredentials('reg.example.com', new URL('https://auth.example.com/token'), {})).toBe(false);
    expect(realmMayGetCredentials('127.0.0.1:5000', new URL('http://127.0.0.1:5001/token'), {})).toBe(false);
    expect(realmMayGetCredentials('127.0.0.1:5000', new URL('http://127.0.0.1:5000/token'), {})).toBe(true);
    const allow = { WASMCI_OCI_TOKEN_HOSTS: 'auth.docker.io,gitlab.example.com' };
    expect(realmMayGetCredentials('registry-1.docker.io', new URL('https://auth.docker.io/token'), allow)).toBe(true);
    expect(realmMayGetCredentials('reg.example.com', new URL('https://gitlab.example.com/jwt/auth'), allow)).toBe(true);
    expect(realmMayGetCredentials('reg.example.com', new URL('https://evil.example/jwt/auth'), allow)).toBe(false);
  });
});
