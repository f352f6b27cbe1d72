/**
 * Issue 20: live verification through the real CLI, the real secrets plugin and fake vendors on 127.0.0.1 reached
 * with --resolve. Holds: two tokens of one provider come out active and inactive; --only-verified keeps one and
 * --fail-on applies after it; 429 (one resend after a short Retry-After, `rate-limited` after a long one), a vendor
 * that never answers (`timeout`), a redirect to another host (not followed: that host sees nothing); a scan without
 * --verify opens no connection at all, and neither does a tree `.wasmci.yml` asking for `verify: true`; every one of
 * the table's providers sends its documented request (method, path, where the token goes).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { repoRoot, runCli, secretsWasm, tempDir } from './helpers/cli.js';
import { validateGitlabSecretDetection, validateSarif } from './helpers/schemas.js';

// biome-ignore lint/suspicious/noExplicitAny: report JSON
type Json = any;

const B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
function crc32(s: string): number {
  let crc = 0xffffffff;
  for (const ch of Buffer.from(s)) {
    crc ^= ch;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return (crc ^ 0xffffffff) >>> 0;
}
/** A GitHub classic PAT with a valid checksum whose random part starts with `word` (the fake vendor's cue). */
function ghToken(word: string): string {
  const body = `${word}${'Xq7Lm2Rv9Tb4Wn8Kc3Hd6Fj1Gs5Pz0Ya'}`.slice(0, 30);
  let n = crc32(body);
  let sum = '';
  while (n > 0) {
    sum = B62[n % 62] + sum;
    n = Math.floor(n / 62);
  }
  return `ghp_${body}${sum.padStart(6, '0')}`;
}

interface Seen {
  host: string;
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
}

/** One fake vendor for every host: the first path segment (from the --resolve base) names the host asked. */
class FakeVendor {
  server!: http.Server;
  other!: http.Server;
  seen: Seen[] = [];
  connections = 0;
  otherHits = 0;
  limited = 0;
  port = 0;
  otherPort = 0;

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => this.answer(req, res));
    this.server.on('connection', () => this.connections++);
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
    // "Another host" for the redirect: a second loopback address the gate was never granted.
    this.other = http.createServer((_req, res) => {
      this.otherHits++;
      res.end('stolen');
    });
    this.other.on('connection', () => this.otherHits++);
    await new Promise<void>((r) => this.other.listen(0, '127.0.0.2', r));
    this.otherPort = (this.other.address() as AddressInfo).port;
  }

  reset(): void {
    this.seen = [];
    this.connections = 0;
    this.otherHits = 0;
    this.limited = 0;
  }

  base(host: string): string {
    return `http://127.0.0.1:${this.port}/${host}`;
  }

  answer(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = req.url ?? '/';
    const host = url.split('/')[1] ?? '';
    this.seen.push({ host, method: req.method ?? '', path: url.slice(host.length + 1), headers: req.headers });
    const auth = String(req.headers.authorization ?? '');
    const json = { 'content-type': 'application/json' };
    if (auth.includes('ghp_SLOW')) return; // never answers
    if (auth.includes('ghp_MOVED')) {
      res.writeHead(302, { location: `http://127.0.0.2:${this.otherPort}/steal` });
      res.end();
      return;
    }
    if (auth.includes('ghp_BUSY')) {
      this.limited++;
      // A short wait the first time (sent once more), then an hour (beyond any budget).
      res.writeHead(429, { 'retry-after': this.limited === 1 ? '1' : '3600' });
      res.end();
      return;
    }
    if (auth.includes('ghp_PAUSE') && this.limited++ === 0) {
      res.writeHead(429, { 'retry-after': '1' });
      res.end();
      return;
    }
    if (auth.includes('ghp_DEAD') || auth.includes('ghp_GONE')) {
      res.writeHead(auth.includes('DEAD') ? 401 : 403, json);
      res.end('{"message":"Bad credentials"}');
      return;
    }
    res.writeHead(200, json);
    res.end('{"ok":true,"success":true,"viewer":{"id":"1"},"login":"octocat"}');
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    this.other.closeAllConnections();
    return Promise.all([
      new Promise<void>((r) => this.server.close(() => r())),
      new Promise<void>((r) => this.other.close(() => r())),
    ]).then(() => undefined);
  }
}

const vendor = new FakeVendor();
beforeAll(() => vendor.start());
afterAll(() => vendor.stop());
beforeEach(() => vendor.reset());

function project(files: Record<string, string>): string {
  const dir = tempDir('wasmci-verify-');
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

async function scan(dir: string, args: string[], timeoutMs = 60_000) {
  const out = path.join(tempDir('wasmci-verify-out-'), 'report.json');
  const r = await runCli(
    ['scan', dir, '--plugin', secretsWasm, '--report', `json=${out}`, '--jobs', '1', '--log-level', 'info', ...args],
    { timeoutMs },
  );
  let report: Json;
  try {
    report = JSON.parse(readFileSync(out, 'utf8'));
  } catch {}
  return { ...r, report };
}

const status = (report: Json, file: string) =>
  report.findings.find((f: Json) => f.ruleId === 'github-pat' && f.path === file)?.verification;

/** The route to the fake GitHub (a function: the port is known once the server listens). */
const gh = () => ['--resolve', `api.github.com=${vendor.base('api.github.com')}`];

describe('scan --verify', () => {
  it('tells an active token from a rejected one; --only-verified keeps the active one, --fail-on after it', async () => {
    const live = ghToken('LIVE');
    const dead = ghToken('DEAD');
    const dir = project({ 'live.env': `GITHUB_TOKEN=${live}\n`, 'dead.env': `GITHUB_TOKEN=${dead}\n` });
    const sarif = path.join(tempDir(), 'r.sarif');
    const gitlab = path.join(tempDir(), 'gl.json');
    const r = await scan(dir, [
      '--verify',
      '--resolve',
      `api.github.com=${vendor.base('api.github.com')}`,
      '--report',
      `sarif=${sarif}`,
      '--report',
      `gitlab=${gitlab}`,
    ]);
    expect(r.code, r.stderr).toBe(1);
    expect(status(r.report, 'live.env')).toEqual({ status: 'active', provider: 'GitHub' });
    expect(status(r.report, 'dead.env')).toEqual({ status: 'inactive', provider: 'GitHub' });
    expect(r.report.verification).toMatchObject({ active: 1, inactive: 1, unknown: 0, dropped: 0 });
    // The documented request: GET /user with the token as a Bearer credential, nothing else sent.
    expect(vendor.seen.map((s) => `${s.method} ${s.host}${s.path}`).sort()).toEqual([
      'GET api.github.com/user',
      'GET api.github.com/user',
    ]);
    expect(vendor.seen.map((s) => s.headers.authorization).sort()).toEqual([`Bearer ${dead}`, `Bearer ${live}`]);
    const text = r.stdout.toString();
    expect(text).toMatch(/verified active \(GitHub\)/);
    expect(text).toMatch(/verified inactive/);
    expect(text).not.toContain(live); // redacted as ever
    const s = JSON.parse(readFileSync(sarif, 'utf8'));
    expect(s.runs[0].results.map((x: Json) => x.properties.verification).sort()).toEqual(['active', 'inactive']);
    expect(validateSarif(s)).toEqual([]);
    const g = JSON.parse(readFileSync(gitlab, 'utf8'));
    expect(validateGitlabSecretDetection(g)).toEqual([]);
    expect(g.vulnerabilities.map((v: Json) => v.details.verification.value).sort()).toEqual(['active', 'inactive']);

    vendor.reset();
    const only = await scan(dir, ['--verify', ...gh(), '--only-verified']);
    expect(only.code).toBe(1);
    expect(only.report.findings.map((f: Json) => f.path)).toEqual(['live.env']);
    expect(only.report.verification.dropped).toBe(1);

    // --fail-on counts what --only-verified kept: a dead token alone fails nothing.
    const deadOnly = project({ 'dead.env': `GITHUB_TOKEN=${dead}\n` });
    const quiet = await scan(deadOnly, ['--verify', ...gh(), '--only-verified']);
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.report.findings).toEqual([]);
    expect((await scan(deadOnly, ['--verify', ...gh()])).code).toBe(1);
  });

  it('verifies each distinct secret once, however often it is found', async () => {
    const live = ghToken('LIVE');
    const dir = project({ 'a.env': `T=${live}\n`, 'b.env': `T=${live}\nU=${live}\n` });
    const r = await scan(dir, ['--verify', ...gh()]);
    expect(r.report.findings.length).toBeGreaterThanOrEqual(2);
    expect(r.report.findings.every((f: Json) => f.verification?.status === 'active')).toBe(true);
    expect(vendor.seen).toHaveLength(1);
  });

  it('GitHub 403 stays unknown; 429 honours a short Retry-After once, a long one is rate-limited', async () => {
    const gone = ghToken('GONE');
    const pause = ghToken('PAUSE');
    const busy = ghToken('BUSY');
    const r = await scan(project({ 'g.env': `T=${gone}\n`, 'p.env': `T=${pause}\n` }), ['--verify', ...gh()]);
    // GitHub answers 403 for rate limits and SSO-enforced organisations, with a working token: not "inactive".
    expect(status(r.report, 'g.env')).toMatchObject({ status: 'unknown', reason: 'unexpected status 403' });
    // 429 then 200 after the 1 s Retry-After: sent twice in all, active.
    expect(status(r.report, 'p.env')?.status).toBe('active');
    expect(vendor.seen.filter((s) => s.headers.authorization?.includes(pause))).toHaveLength(2);

    vendor.reset();
    const b = await scan(project({ 'b.env': `T=${busy}\n` }), ['--verify', ...gh()]);
    expect(status(b.report, 'b.env')).toMatchObject({ status: 'unknown', reason: 'rate-limited' });
    // once, then once more after 1 s; the hour-long Retry-After is not waited for
    expect(vendor.seen).toHaveLength(2);
    expect(b.durationMs).toBeLessThan(30_000);
  });

  it('a vendor that never answers is a timeout; the budget bounds the whole verification', async () => {
    const slow = ghToken('SLOW');
    const r = await scan(project({ 's.env': `T=${slow}\n` }), ['--verify', ...gh(), '--verify-timeout', '3']);
    expect(r.code).toBe(1);
    expect(status(r.report, 's.env')).toMatchObject({ status: 'unknown', reason: 'timeout' });
    expect(r.durationMs).toBeLessThan(25_000);
  });

  it('a redirect to another host is not followed: that host sees no connection', async () => {
    const moved = ghToken('MOVED');
    const r = await scan(project({ 'm.env': `T=${moved}\n` }), ['--verify', ...gh()]);
    expect(status(r.report, 'm.env')).toMatchObject({ status: 'unknown', reason: 'redirect not followed' });
    expect(vendor.seen).toHaveLength(1);
    expect(vendor.otherHits).toBe(0);
  });

  it('a vendor that cannot be reached is "network refused"; a route for an undeclared host is reported unused', async () => {
    const live = ghToken('LIVE');
    const r = await scan(project({ 'a.env': `T=${live}\n` }), [
      '--verify',
      // port 1 on loopback: nothing listens there
      '--resolve',
      'api.github.com=http://127.0.0.1:1',
      '--resolve',
      `example.org=${vendor.base('example.org')}`,
    ]);
    expect(r.stderr).toMatch(/--resolve example\.org: the plugin does not verify with this host/);
    expect(vendor.connections).toBe(0);
    expect(status(r.report, 'a.env')).toMatchObject({ status: 'unknown', reason: 'network refused' });
  });
});

describe('wasmci inspect', () => {
  it('lists the hosts the plugin declares for verification', async () => {
    const r = await runCli(['inspect', secretsWasm]);
    expect(r.code, r.stderr).toBe(0);
    const line = r.stdout
      .toString()
      .split('\n')
      .find((l) => l.startsWith('verify '));
    expect(line).toMatch(/^verify +\d+ host\(s\), reached only with scan --verify: /);
    for (const h of ['api.github.com', 'sts.amazonaws.com', '*.api.mailchimp.com']) expect(line).toContain(h);
  });
});

describe('no verification unless the pipeline asks', () => {
  it('a scan without --verify opens no connection, though a route is given', async () => {
    const live = ghToken('LIVE');
    const r = await scan(project({ 'a.env': `T=${live}\n` }), gh());
    expect(r.code).toBe(1);
    expect(r.report.findings.length).toBeGreaterThan(0);
    expect(r.report.findings.every((f: Json) => f.verification === undefined)).toBe(true);
    expect(r.report.verification).toBeUndefined();
    expect(vendor.connections).toBe(0);
    expect(r.stderr).toMatch(/--resolve has no effect without --verify/);
  });

  it('hostile: a tree .wasmci.yml with scan.verify: true does not turn verification on', async () => {
    const live = ghToken('LIVE');
    const dir = project({ 'a.env': `T=${live}\n`, '.wasmci.yml': 'scan:\n  verify: true\n' });
    const r = await scan(dir, gh());
    expect(vendor.connections).toBe(0);
    expect(r.report.findings.every((f: Json) => f.verification === undefined)).toBe(true);
    expect(r.stderr).toMatch(/cannot choose scan\.verify/);
    // The same file, trusted by the pipeline, does.
    const trusted = await scan(dir, [...gh(), '--trust-config']);
    expect(status(trusted.report, 'a.env')?.status).toBe('active');
    expect(vendor.connections).toBeGreaterThan(0);
  });

  it('--only-verified without --verify is a usage error', async () => {
    const r = await scan(project({ 'a.env': 'x\n' }), ['--only-verified']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--only-verified needs --verify/);
  });

  it('--resolve accepts loopback base URLs only', async () => {
    const r = await scan(project({ 'a.env': 'x\n' }), ['--verify', '--resolve', 'api.github.com=http://10.0.0.1:80']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--resolve api\.github\.com=http:\/\/10\.0\.0\.1:80: the base URL must be on loopback/);
  });
});

/**
 * Every provider's documented request (plugins/secrets/README.md), written here independently of the Rust table:
 * the example secret is the first detected example of the rule (plugins/secrets/tests/examples.generated.json).
 */
interface Row {
  provider: string;
  rule: string;
  /** Index of the example among the rule's positive examples. */
  example?: number;
  host: string;
  method: 'GET' | 'POST';
  path: (secret: string) => string;
  /** [header, expected value] */
  auth: (secret: string) => [string, string | RegExp];
}
const b64 = (s: string) => Buffer.from(s).toString('base64');
const bearer = (s: string): [string, string] => ['authorization', `Bearer ${s}`];
const header =
  (name: string, prefix = '') =>
  (s: string): [string, string] => [name, `${prefix}${s}`];
const at = (p: string) => () => p;
const ROWS: Row[] = [
  { provider: 'GitHub', rule: 'github-pat', host: 'api.github.com', method: 'GET', path: at('/user'), auth: bearer },
  {
    provider: 'GitLab',
    rule: 'gitlab-pat',
    host: 'gitlab.com',
    method: 'GET',
    path: at('/api/v4/personal_access_tokens/self'),
    auth: header('private-token'),
  },
  {
    provider: 'Slack',
    rule: 'slack-bot-token',
    host: 'slack.com',
    method: 'GET',
    path: at('/api/auth.test'),
    auth: bearer,
  },
  {
    provider: 'Stripe',
    rule: 'stripe-secret-key',
    host: 'api.stripe.com',
    method: 'GET',
    path: at('/v1/balance'),
    auth: bearer,
  },
  {
    provider: 'OpenAI',
    rule: 'openai-api-key',
    host: 'api.openai.com',
    method: 'GET',
    path: at('/v1/models'),
    auth: bearer,
  },
  {
    provider: 'Anthropic',
    rule: 'anthropic-api-key',
    host: 'api.anthropic.com',
    method: 'GET',
    path: at('/v1/models'),
    auth: header('x-api-key'),
  },
  {
    provider: 'Hugging Face',
    rule: 'huggingface-token',
    host: 'huggingface.co',
    method: 'GET',
    path: at('/api/whoami-v2'),
    auth: bearer,
  },
  {
    provider: 'SendGrid',
    rule: 'sendgrid-api-key',
    host: 'api.sendgrid.com',
    method: 'GET',
    path: at('/v3/scopes'),
    auth: bearer,
  },
  {
    provider: 'Mailgun',
    rule: 'mailgun-private-api-key',
    host: 'api.mailgun.net',
    method: 'GET',
    path: at('/v3/domains'),
    auth: (s) => ['authorization', `Basic ${b64(`api:${s}`)}`],
  },
  {
    provider: 'npm',
    rule: 'npm-access-token',
    host: 'registry.npmjs.org',
    method: 'GET',
    path: at('/-/whoami'),
    auth: bearer,
  },
  {
    provider: 'DigitalOcean',
    rule: 'digitalocean-pat',
    host: 'api.digitalocean.com',
    method: 'GET',
    path: at('/v2/account'),
    auth: bearer,
  },
  {
    provider: 'Heroku',
    rule: 'heroku-api-key-v2',
    host: 'api.heroku.com',
    method: 'GET',
    path: at('/account'),
    auth: bearer,
  },
  {
    provider: 'Datadog',
    rule: 'datadog-api-key',
    host: 'api.datadoghq.com',
    method: 'GET',
    path: at('/api/v1/validate'),
    auth: header('dd-api-key'),
  },
  {
    provider: 'New Relic',
    rule: 'newrelic-user-api-key',
    host: 'api.newrelic.com',
    method: 'GET',
    path: at('/v2/applications.json'),
    auth: header('x-api-key'),
  },
  {
    provider: 'Sentry',
    rule: 'sentry-user-token',
    host: 'sentry.io',
    method: 'GET',
    path: at('/api/0/'),
    auth: bearer,
  },
  {
    provider: 'Discord (bot)',
    rule: 'discord-bot-token',
    host: 'discord.com',
    method: 'GET',
    path: at('/api/v10/users/@me'),
    auth: header('authorization', 'Bot '),
  },
  {
    provider: 'Discord (webhook)',
    rule: 'discord-webhook-url',
    host: 'discord.com',
    method: 'GET',
    path: (s) => `/api/webhooks/${s.split('/api/webhooks/')[1]}`,
    auth: () => ['authorization', /^$/],
  },
  {
    provider: 'Telegram',
    rule: 'telegram-bot-token',
    host: 'api.telegram.org',
    method: 'GET',
    path: (s) => `/bot${s}/getMe`,
    auth: () => ['authorization', /^$/],
  },
  {
    provider: 'Linear',
    rule: 'linear-api-key',
    host: 'api.linear.app',
    method: 'POST',
    path: at('/graphql'),
    auth: header('authorization'),
  },
  {
    provider: 'Notion',
    rule: 'notion-integration-token',
    host: 'api.notion.com',
    method: 'GET',
    path: at('/v1/users/me'),
    auth: bearer,
  },
  {
    provider: 'Postman',
    rule: 'postman-api-key',
    host: 'api.getpostman.com',
    method: 'GET',
    path: at('/me'),
    auth: header('x-api-key'),
  },
  {
    provider: 'Cloudflare',
    rule: 'cloudflare-api-token',
    host: 'api.cloudflare.com',
    method: 'GET',
    path: at('/client/v4/user/tokens/verify'),
    auth: bearer,
  },
  {
    provider: 'Netlify',
    rule: 'netlify-access-token',
    host: 'api.netlify.com',
    method: 'GET',
    path: at('/api/v1/user'),
    auth: bearer,
  },
  {
    provider: 'Vercel',
    rule: 'vercel-token',
    host: 'api.vercel.com',
    method: 'GET',
    path: at('/v2/user'),
    auth: bearer,
  },
  {
    provider: 'Mailchimp',
    rule: 'mailchimp-api-key',
    host: 'us92.api.mailchimp.com',
    method: 'GET',
    path: at('/3.0/ping'),
    auth: (s) => ['authorization', `Basic ${b64(`anystring:${s}`)}`],
  },
  {
    provider: 'Groq',
    rule: 'groq-api-key',
    host: 'api.groq.com',
    method: 'GET',
    path: at('/openai/v1/models'),
    auth: bearer,
  },
  {
    provider: 'Mistral AI',
    rule: 'mistral-api-key',
    host: 'api.mistral.ai',
    method: 'GET',
    path: at('/v1/models'),
    auth: bearer,
  },
  {
    provider: 'Replicate',
    rule: 'replicate-api-token',
    host: 'api.replicate.com',
    method: 'GET',
    path: at('/v1/account'),
    auth: bearer,
  },
  {
    provider: 'OpenRouter',
    rule: 'openrouter-api-key',
    host: 'openrouter.ai',
    method: 'GET',
    path: at('/api/v1/key'),
    auth: bearer,
  },
  { provider: 'xAI', rule: 'xai-api-key', host: 'api.x.ai', method: 'GET', path: at('/v1/api-key'), auth: bearer },
  {
    provider: 'DeepSeek',
    rule: 'deepseek-api-key',
    host: 'api.deepseek.com',
    method: 'GET',
    path: at('/user/balance'),
    auth: bearer,
  },
  {
    provider: 'ElevenLabs',
    rule: 'elevenlabs-api-key',
    host: 'api.elevenlabs.io',
    method: 'GET',
    path: at('/v1/user'),
    auth: header('xi-api-key'),
  },
  {
    provider: 'Postmark',
    rule: 'postmark-server-token',
    host: 'api.postmarkapp.com',
    method: 'GET',
    path: at('/server'),
    auth: header('x-postmark-server-token'),
  },
  {
    provider: 'Brevo',
    rule: 'brevo-api-key',
    host: 'api.brevo.com',
    method: 'GET',
    path: at('/v3/account'),
    auth: header('api-key'),
  },
  {
    provider: 'CircleCI',
    rule: 'circleci-personal-token',
    host: 'circleci.com',
    method: 'GET',
    path: at('/api/v2/me'),
    auth: header('circle-token'),
  },
  {
    provider: 'Buildkite',
    rule: 'buildkite-api-token',
    host: 'api.buildkite.com',
    method: 'GET',
    path: at('/v2/access-token'),
    auth: bearer,
  },
  {
    provider: 'Snyk',
    rule: 'snyk-api-token',
    host: 'api.snyk.io',
    method: 'GET',
    path: at('/v1/user/me'),
    auth: header('authorization', 'token '),
  },
  {
    provider: 'HCP Terraform',
    rule: 'terraform-cloud-token',
    host: 'app.terraform.io',
    method: 'GET',
    path: at('/api/v2/account/details'),
    auth: bearer,
  },
  {
    provider: 'Pulumi',
    rule: 'pulumi-access-token',
    host: 'api.pulumi.com',
    method: 'GET',
    path: at('/api/user'),
    auth: header('authorization', 'token '),
  },
  {
    provider: 'Doppler',
    rule: 'doppler-personal-token',
    host: 'api.doppler.com',
    method: 'GET',
    path: at('/v3/me'),
    auth: bearer,
  },
  {
    provider: 'Asana',
    rule: 'asana-pat',
    host: 'app.asana.com',
    method: 'GET',
    path: at('/api/1.0/users/me'),
    auth: bearer,
  },
  {
    provider: 'Airtable',
    rule: 'airtable-pat',
    host: 'api.airtable.com',
    method: 'GET',
    path: at('/v0/meta/whoami'),
    auth: bearer,
  },
  {
    provider: 'Figma',
    rule: 'figma-pat',
    host: 'api.figma.com',
    method: 'GET',
    path: at('/v1/me'),
    auth: header('x-figma-token'),
  },
  {
    provider: 'Linode',
    rule: 'linode-token',
    host: 'api.linode.com',
    method: 'GET',
    path: at('/v4/profile'),
    auth: bearer,
  },
  {
    provider: 'Vultr',
    rule: 'vultr-api-key',
    host: 'api.vultr.com',
    method: 'GET',
    path: at('/v2/account'),
    auth: bearer,
  },
  {
    provider: 'Contentful',
    rule: 'contentful-pat',
    host: 'api.contentful.com',
    method: 'GET',
    path: at('/users/me'),
    auth: bearer,
  },
  {
    provider: 'LaunchDarkly',
    rule: 'launchdarkly-key',
    example: 1,
    host: 'app.launchdarkly.com',
    method: 'GET',
    path: at('/api/v2/caller-identity'),
    auth: header('authorization'),
  },
  {
    provider: 'Honeycomb',
    rule: 'honeycomb-api-key',
    host: 'api.honeycomb.io',
    method: 'GET',
    path: at('/1/auth'),
    auth: header('x-honeycomb-team'),
  },
  {
    provider: 'Render',
    rule: 'render-api-key',
    host: 'api.render.com',
    method: 'GET',
    path: at('/v1/owners'),
    auth: bearer,
  },
];

describe('every verifier sends its documented request', () => {
  it(`${ROWS.length + 1} providers (AWS included) against the fake vendor`, async () => {
    const examples: { rule_id: string; content: string; expect: boolean }[] = JSON.parse(
      readFileSync(path.join(repoRoot, 'plugins/secrets/tests/examples.generated.json'), 'utf8'),
    );
    const files: Record<string, string> = {};
    const secrets = new Map<string, string>();
    for (const row of ROWS) {
      const ex = examples.filter((e) => e.rule_id === row.rule && e.expect)[row.example ?? 0];
      expect(ex, `an example for ${row.rule}`).toBeDefined();
      const content = (ex as { content: string }).content;
      files[`${row.rule}.env`] = `${content}\n`;
      const i = content.indexOf('=');
      secrets.set(row.rule, i > 0 ? content.slice(i + 1) : content);
    }
    // AWS: the key id and its secret key in one file make one signed STS request.
    const aws = (rule: string) => examples.find((e) => e.rule_id === rule && e.expect)?.content as string;
    files['aws.ini'] = `${aws('aws-access-key-id')}\n${aws('aws-secret-access-key')}\n`;
    const dir = project(files);
    const hosts = [...new Set([...ROWS.map((r) => r.host), 'sts.amazonaws.com'])];
    const routes = hosts.flatMap((h) => ['--resolve', `${h}=${vendor.base(h)}`]);
    const r = await scan(dir, ['--verify', ...routes, '--fail-on', 'none', '--no-redact'], 120_000);
    expect(r.code, r.stderr).toBe(0);
    const problems: string[] = [];
    for (const row of ROWS) {
      const f = r.report.findings.find((x: Json) => x.ruleId === row.rule && x.path === `${row.rule}.env`);
      if (!f) {
        problems.push(`${row.provider}: ${row.rule} not found`);
        continue;
      }
      const secret = f.secret as string;
      const want = row.path(secret);
      const hit = vendor.seen.find((s) => s.host === row.host && s.path === want);
      if (!hit) {
        problems.push(`${row.provider}: no ${row.method} ${row.host}${want} (${f.verification?.reason ?? ''})`);
        continue;
      }
      if (hit.method !== row.method) problems.push(`${row.provider}: method ${hit.method}`);
      const [name, value] = row.auth(secret);
      const got = String(hit.headers[name] ?? '');
      if (typeof value === 'string' ? got !== value : !value.test(got)) problems.push(`${row.provider}: ${name}`);
      if (f.verification?.status !== 'active') problems.push(`${row.provider}: ${JSON.stringify(f.verification)}`);
    }
    const sts = vendor.seen.filter((s) => s.host === 'sts.amazonaws.com');
    expect(sts.map((s) => `${s.method} ${s.path}`)).toEqual(['GET /?Action=GetCallerIdentity&Version=2011-06-15']);
    const keyId = aws('aws-access-key-id').split('= ')[1];
    expect(String(sts[0]?.headers.authorization)).toMatch(
      new RegExp(
        `^AWS4-HMAC-SHA256 Credential=${keyId}/\\d{8}/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature=[0-9a-f]{64}$`,
      ),
    );
    expect(
      r.report.findings.filter((f: Json) => f.path === 'aws.ini').map((f: Json) => f.verification?.status),
    ).toEqual(['active', 'active']);
    const linear = vendor.seen.find((s) => s.host === 'api.linear.app');
    expect(linear?.headers['content-type']).toBe('application/json');
    expect(problems).toEqual([]);
    // Only GET, and POST for Linear's GraphQL query: nothing that could change an account.
    expect(new Set(vendor.seen.map((s) => s.method))).toEqual(new Set(['GET', 'POST']));
    expect(vendor.otherHits).toBe(0);
  });
});
