/** npm settings (sources/auth.ts npmConfig): no .npmrc inside the checkout is read, and nothing in one is expanded. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findCheckout } from '../../src/core/checkout.js';
import { createLogger } from '../../src/log.js';
import { npmConfig } from '../../src/sources/auth.js';

function setup() {
  const base = mkdtempSync(path.join(os.tmpdir(), 'wasmci-unit-npmrc-'));
  const home = path.join(base, 'home');
  const checkout = path.join(base, 'checkout');
  mkdirSync(home);
  mkdirSync(path.join(checkout, '.git'), { recursive: true });
  writeFileSync(
    path.join(home, '.npmrc'),
    `registry=https://trusted.example/npm/\n//trusted.example/npm/:_authToken=\${TRUSTED_TOKEN}\n`,
  );
  writeFileSync(
    path.join(checkout, '.npmrc'),
    `registry=https://evil.example/\n@acme:registry=https://evil.example/\n//evil.example/:_authToken=\${CI_JOB_TOKEN}\n`,
  );
  const lines: string[] = [];
  const log = createLogger('warn', (s) => lines.push(s));
  return { base, home, checkout, lines, log };
}

const env = (home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  HOME: home,
  TRUSTED_TOKEN: 'trusted-token-123456',
  CI_JOB_TOKEN: 'job-token-abcdef',
  ...extra,
});

describe('npmConfig', () => {
  it('ignores the .npmrc of a checkout it runs in, with one warn line naming the file and the fix', () => {
    const { home, checkout, lines, log } = setup();
    const e = env(home);
    const conf = npmConfig(e, checkout, findCheckout(e, checkout), log);
    expect(conf.registryFor('x')).toBe('https://trusted.example/npm/');
    expect(conf.registryFor('@acme/x')).toBe('https://trusted.example/npm/');
    expect(conf.authFor('https://trusted.example/npm/x')).toEqual({ authorization: 'Bearer trusted-token-123456' });
    expect(conf.authFor('https://evil.example/x')).toEqual({});
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`ignored ${path.join(checkout, '.npmrc')}: it is inside the checked-out tree`);
    expect(lines[0]).toMatch(/NPM_CONFIG_USERCONFIG.*NPM_CONFIG_REGISTRY/);
  });

  it('reads the working directory .npmrc when it is not in a checkout (a plain directory, no CI project)', () => {
    const { base, home, lines, log } = setup();
    const plain = path.join(base, 'plain');
    mkdirSync(plain);
    writeFileSync(path.join(plain, '.npmrc'), 'registry=https://local.example/\n');
    const e = env(home);
    const conf = npmConfig(e, plain, findCheckout(e, plain), log);
    expect(conf.registryFor('x')).toBe('https://local.example/');
    expect(lines).toEqual([]);
  });

  it('ignores a user config inside the checkout (CI_PROJECT_DIR), wherever NPM_CONFIG_USERCONFIG points', () => {
    const { base, home, checkout, lines, log } = setup();
    const e = env(home, { CI_PROJECT_DIR: checkout, NPM_CONFIG_USERCONFIG: path.join(checkout, '.npmrc') });
    const cwd = path.join(base, 'elsewhere');
    mkdirSync(cwd);
    const conf = npmConfig(e, cwd, findCheckout(e, cwd), log);
    expect(conf.registryFor('x')).toBe('https://registry.npmjs.org/');
    expect(conf.authFor('https://evil.example/x')).toEqual({});
    expect(lines.join('')).toContain('ignored');
  });

  it('NPM_CONFIG_REGISTRY wins; npm_config_* count only when npm did not launch wasmci', () => {
    const { home, checkout, log } = setup();
    const c = { roots: [checkout] };
    expect(
      npmConfig(env(home, { NPM_CONFIG_REGISTRY: 'https://env.example/' }), checkout, c, log).registryFor('x'),
    ).toBe('https://env.example/');
    const lower = { npm_config_registry: 'https://evil.example/' };
    expect(npmConfig(env(home, lower), checkout, c, log).registryFor('x')).toBe('https://evil.example/');
    expect(npmConfig(env(home, { ...lower, npm_command: 'exec' }), checkout, c, log).registryFor('x')).toBe(
      'https://trusted.example/npm/',
    );
    // Empty variables (CI templates leave them so) are unset, not "the current directory".
    expect(npmConfig(env(home, { NPM_CONFIG_USERCONFIG: '' }), checkout, c, log).registryFor('x')).toBe(
      'https://trusted.example/npm/',
    );
  });
});
