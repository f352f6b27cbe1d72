// Synthetic credentials in the formats the vendors document (prefix, alphabet, length, checksum), and decoys:
// strings that look secret-ish but are not secrets. Every value is generated from the seeded Rng; none is real.
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { ALPHA, base62, crc32 } from './rng.mjs';

const { alnum, base62: b62, hex, HEX, b64, b64url, upper, digits, lower, base32 } = ALPHA;

/** `prefix` + 30 random base62 + 6-char base62 CRC32 of the random part (GitHub's and npm's documented layout). */
function crcToken(r, prefix) {
  const random = r.str(b62, 30);
  return `${prefix}${random}${base62(crc32(random), 6)}`;
}

const b64u = (buf) => Buffer.from(buf).toString('base64url');

/** A URL with a password: the password is the secret a scanner must report (`core`), alone or with the URL. */
function urlItem(name, build, password) {
  return { name, value: build(password), core: password };
}

function jwt(r) {
  const header = b64u(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const now = 1_700_000_000 + r.int(0, 30_000_000);
  const payload = b64u(
    JSON.stringify({ sub: r.str(digits, 10), name: r.pick(['svc-deploy', 'ci-bot', 'api-gateway']), iat: now }),
  );
  return `${header}.${payload}.${b64u(r.bytes(32))}`;
}

function pem(label, body) {
  const lines = body.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----`;
}

// Key material: node:crypto keys are not seedable, except Ed25519/EC whose private part we derive from the Rng.
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

function ed25519(r) {
  const seed = r.bytes(32);
  const key = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const pub = createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(-32);
  return { key, seed, pub };
}

/** OpenSSH's private key format (PROTOCOL.key), unencrypted Ed25519: what `ssh-keygen -t ed25519` writes. */
function opensshKey(r) {
  const { seed, pub } = ed25519(r);
  const u32 = (n) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const str = (s) => {
    const b = Buffer.from(s);
    return Buffer.concat([u32(b.length), b]);
  };
  const pubBlob = Buffer.concat([str('ssh-ed25519'), str(pub)]);
  const check = r.bytes(4);
  let priv = Buffer.concat([
    check,
    check,
    str('ssh-ed25519'),
    str(pub),
    str(Buffer.concat([seed, pub])),
    str(`${r.pick(['deploy', 'ci', 'build'])}@${r.pick(['runner', 'bastion', 'laptop'])}`),
  ]);
  for (let i = 1; priv.length % 8; i++) priv = Buffer.concat([priv, Buffer.from([i])]);
  const blob = Buffer.concat([
    Buffer.from('openssh-key-v1\0'),
    str('none'),
    str('none'),
    str(''),
    u32(1),
    str(pubBlob),
    str(priv),
  ]);
  const lines = blob.toString('base64').match(/.{1,70}/g) ?? [];
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----`;
}

function ecKey(r) {
  // SEC1 ECPrivateKey for P-256 without the optional public key; node:crypto derives it on export.
  const d = r.bytes(32);
  d[0] = (d[0] % 0x7f) + 1; // keep d below the group order
  const der = Buffer.concat([Buffer.from('30310201010420', 'hex'), d, Buffer.from('a00a06082a8648ce3d030107', 'hex')]);
  const key = createPrivateKey({ key: der, format: 'der', type: 'sec1' });
  return key.export({ format: 'pem', type: 'sec1' }).toString().trim();
}

function rsaKey(type) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return privateKey.export({ format: 'pem', type }).toString().trim();
}

/**
 * Each format: `family` (what a scanner's rule is about), `items(r)` -> the values planted together (e.g. an AWS key
 * id and its secret), each with the variable name a developer would use. `multiline` values are PEM blocks.
 */
export const FORMATS = [
  {
    family: 'aws',
    items: (r) => [
      { name: 'AWS_ACCESS_KEY_ID', value: `AKIA${r.str('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16)}` },
      { name: 'AWS_SECRET_ACCESS_KEY', value: r.str(b64, 40) },
    ],
  },
  {
    family: 'aws-session',
    items: (r) => [{ name: 'AWS_ACCESS_KEY_ID', value: `ASIA${r.str('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16)}` }],
  },
  { family: 'github-pat', items: (r) => [{ name: 'GITHUB_TOKEN', value: crcToken(r, 'ghp_') }] },
  { family: 'github-oauth', items: (r) => [{ name: 'GH_OAUTH_TOKEN', value: crcToken(r, 'gho_') }] },
  { family: 'github-app', items: (r) => [{ name: 'GITHUB_APP_TOKEN', value: crcToken(r, 'ghs_') }] },
  { family: 'github-refresh', items: (r) => [{ name: 'GH_REFRESH_TOKEN', value: crcToken(r, 'ghr_') }] },
  {
    family: 'github-fine-grained',
    items: (r) => [{ name: 'GH_PAT', value: `github_pat_${r.str(alnum, 22)}_${r.str(alnum, 59)}` }],
  },
  { family: 'gitlab-pat', items: (r) => [{ name: 'GITLAB_TOKEN', value: `glpat-${r.str(b64url, 20)}` }] },
  { family: 'gitlab-runner', items: (r) => [{ name: 'RUNNER_TOKEN', value: `glrt-${r.str(b64url, 20)}` }] },
  { family: 'gitlab-deploy', items: (r) => [{ name: 'GITLAB_DEPLOY_TOKEN', value: `gldt-${r.str(b64url, 20)}` }] },
  { family: 'gitlab-trigger', items: (r) => [{ name: 'TRIGGER_TOKEN', value: `glptt-${r.str(hex, 40)}` }] },
  {
    family: 'slack-bot',
    items: (r) => [
      { name: 'SLACK_BOT_TOKEN', value: `xoxb-${r.str(digits, 12)}-${r.str(digits, 13)}-${r.str(alnum, 24)}` },
    ],
  },
  {
    family: 'slack-user',
    items: (r) => [
      {
        name: 'SLACK_USER_TOKEN',
        value: `xoxp-${r.str(digits, 12)}-${r.str(digits, 12)}-${r.str(digits, 13)}-${r.str(hex, 32)}`,
      },
    ],
  },
  {
    family: 'slack-webhook',
    items: (r) => [
      {
        name: 'SLACK_WEBHOOK_URL',
        value: `https://hooks.slack.com/services/T${r.str(upper + digits, 10)}/B${r.str(upper + digits, 10)}/${r.str(alnum, 24)}`,
      },
    ],
  },
  { family: 'stripe', items: (r) => [{ name: 'STRIPE_SECRET_KEY', value: `sk_live_${r.str(alnum, 99)}` }] },
  { family: 'stripe-restricted', items: (r) => [{ name: 'STRIPE_API_KEY', value: `rk_live_${r.str(alnum, 24)}` }] },
  { family: 'stripe-webhook', items: (r) => [{ name: 'STRIPE_WEBHOOK_SECRET', value: `whsec_${r.str(alnum, 32)}` }] },
  {
    family: 'openai',
    items: (r) => [{ name: 'OPENAI_API_KEY', value: `sk-proj-${r.str(b64url, 74)}T3BlbkFJ${r.str(b64url, 74)}` }],
  },
  {
    family: 'openai-legacy',
    items: (r) => [{ name: 'OPENAI_KEY', value: `sk-${r.str(alnum, 20)}T3BlbkFJ${r.str(alnum, 20)}` }],
  },
  {
    family: 'anthropic',
    items: (r) => [{ name: 'ANTHROPIC_API_KEY', value: `sk-ant-api03-${r.str(b64url, 93)}AA` }],
  },
  { family: 'npm', items: (r) => [{ name: 'NPM_TOKEN', value: crcToken(r, 'npm_') }] },
  {
    family: 'pypi',
    items: (r) => [{ name: 'PYPI_API_TOKEN', value: `pypi-AgEIcHlwaS5vcmc${r.str(b64url, 70)}` }],
  },
  { family: 'gcp-api-key', items: (r) => [{ name: 'GOOGLE_API_KEY', value: `AIza${r.str(b64url, 35)}` }] },
  { family: 'twilio', items: (r) => [{ name: 'TWILIO_API_KEY', value: `SK${r.str(hex, 32)}` }] },
  {
    family: 'sendgrid',
    items: (r) => [{ name: 'SENDGRID_API_KEY', value: `SG.${r.str(b64url, 22)}.${r.str(b64url, 43)}` }],
  },
  { family: 'datadog', items: (r) => [{ name: 'DD_API_KEY', value: r.str(hex, 32) }] },
  { family: 'huggingface', items: (r) => [{ name: 'HF_TOKEN', value: `hf_${r.str(upper + lower, 34)}` }] },
  { family: 'shopify', items: (r) => [{ name: 'SHOPIFY_ACCESS_TOKEN', value: `shpat_${r.str(hex, 32)}` }] },
  { family: 'shopify-shared', items: (r) => [{ name: 'SHOPIFY_SHARED_SECRET', value: `shpss_${r.str(hex, 32)}` }] },
  { family: 'digitalocean', items: (r) => [{ name: 'DIGITALOCEAN_TOKEN', value: `dop_v1_${r.str(hex, 64)}` }] },
  { family: 'vault', items: (r) => [{ name: 'VAULT_TOKEN', value: `hvs.${r.str(b64url, 90)}` }] },
  { family: 'mailgun', items: (r) => [{ name: 'MAILGUN_API_KEY', value: `key-${r.str(hex, 32)}` }] },
  {
    family: 'telegram',
    items: (r) => [{ name: 'TELEGRAM_BOT_TOKEN', value: `${r.int(100000000, 7999999999)}:AA${r.str(b64url, 33)}` }],
  },
  {
    family: 'azure-storage',
    items: (r) => [
      urlItem(
        'AZURE_STORAGE_CONNECTION_STRING',
        (key) =>
          `DefaultEndpointsProtocol=https;AccountName=${r.str(lower + digits, 12)};AccountKey=${key};EndpointSuffix=core.windows.net`,
        r.bytes(64).toString('base64'),
      ),
    ],
  },
  {
    family: 'azure-ad-client-secret',
    items: (r) => [{ name: 'AZURE_CLIENT_SECRET', value: `${r.str(alnum, 3)}8Q~${r.str(`${alnum}_~.-`, 34)}` }],
  },
  { family: 'alibaba', items: (r) => [{ name: 'ALIBABA_ACCESS_KEY_ID', value: `LTAI${r.str(alnum, 20)}` }] },
  {
    family: 'atlassian',
    items: (r) => [{ name: 'JIRA_API_TOKEN', value: `ATATT3xFfGF0${r.str(b64url, 171)}=${r.str(HEX, 8)}` }],
  },
  { family: 'linear', items: (r) => [{ name: 'LINEAR_API_KEY', value: `lin_api_${r.str(alnum, 40)}` }] },
  {
    family: 'postman',
    items: (r) => [{ name: 'POSTMAN_API_KEY', value: `PMAK-${r.str(hex, 24)}-${r.str(hex, 34)}` }],
  },
  { family: 'doppler', items: (r) => [{ name: 'DOPPLER_TOKEN', value: `dp.pt.${r.str(alnum, 43)}` }] },
  { family: 'pulumi', items: (r) => [{ name: 'PULUMI_ACCESS_TOKEN', value: `pul-${r.str(hex, 40)}` }] },
  {
    family: 'terraform-cloud',
    items: (r) => [{ name: 'TFE_TOKEN', value: `${r.str(alnum, 14)}.atlasv1.${r.str(alnum, 67)}` }],
  },
  { family: 'sentry', items: (r) => [{ name: 'SENTRY_AUTH_TOKEN', value: `sntryu_${r.str(hex, 64)}` }] },
  { family: 'newrelic', items: (r) => [{ name: 'NEW_RELIC_API_KEY', value: `NRAK-${r.str(upper + digits, 27)}` }] },
  {
    family: 'grafana',
    items: (r) => [{ name: 'GRAFANA_TOKEN', value: `glsa_${r.str(alnum, 32)}_${r.str(hex, 8)}` }],
  },
  { family: 'dockerhub', items: (r) => [{ name: 'DOCKERHUB_TOKEN', value: `dckr_pat_${r.str(b64url, 27)}` }] },
  { family: 'rubygems', items: (r) => [{ name: 'GEM_HOST_API_KEY', value: `rubygems_${r.str(hex, 48)}` }] },
  { family: 'square', items: (r) => [{ name: 'SQUARE_ACCESS_TOKEN', value: `EAAA${r.str(b64url, 60)}` }] },
  {
    family: 'braintree',
    items: (r) => [
      { name: 'BRAINTREE_TOKEN', value: `access_token$production$${r.str(lower + digits, 16)}$${r.str(hex, 32)}` },
    ],
  },
  {
    family: 'age',
    items: (r) => [{ name: 'SOPS_AGE_KEY', value: `AGE-SECRET-KEY-1${r.str('QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L', 58)}` }],
  },
  { family: 'nuget', items: (r) => [{ name: 'NUGET_API_KEY', value: `oy2${r.str(lower + digits, 43)}` }] },
  { family: 'buildkite', items: (r) => [{ name: 'BUILDKITE_API_TOKEN', value: `bkua_${r.str(hex, 40)}` }] },
  {
    family: 'mailchimp',
    items: (r) => [{ name: 'MAILCHIMP_API_KEY', value: `${r.str(hex, 32)}-us${r.int(1, 21)}` }],
  },
  { family: 'databricks', items: (r) => [{ name: 'DATABRICKS_TOKEN', value: `dapi${r.str(hex, 32)}` }] },
  { family: 'supabase', items: (r) => [{ name: 'SUPABASE_ACCESS_TOKEN', value: `sbp_${r.str(hex, 40)}` }] },
  { family: 'groq', items: (r) => [{ name: 'GROQ_API_KEY', value: `gsk_${r.str(alnum, 52)}` }] },
  { family: 'replicate', items: (r) => [{ name: 'REPLICATE_API_TOKEN', value: `r8_${r.str(alnum, 37)}` }] },
  { family: 'jwt', items: (r) => [{ name: 'AUTH_TOKEN', value: jwt(r) }] },
  {
    family: 'postgres-url',
    items: (r) => [
      urlItem(
        'DATABASE_URL',
        (pw) =>
          `postgres://${r.pick(['app', 'svc_orders', 'billing'])}:${pw}@${r.pick(['db.internal', '10.0.3.17', 'pg-prod.cluster-x.eu-west-1.rds.amazonaws.com'])}:5432/${r.pick(['orders', 'app', 'main'])}`,
        r.str(alnum, 20),
      ),
    ],
  },
  {
    family: 'mongodb-url',
    items: (r) => [
      urlItem(
        'MONGO_URI',
        (pw) => `mongodb+srv://${r.pick(['admin', 'api'])}:${pw}@cluster0.${r.str(lower + digits, 5)}.mongodb.net/prod`,
        r.str(alnum, 18),
      ),
    ],
  },
  {
    family: 'redis-url',
    items: (r) => [urlItem('REDIS_URL', (pw) => `redis://default:${pw}@redis-prod.internal:6379/0`, r.str(alnum, 24))],
  },
  {
    family: 'generic-password',
    items: (r) => [{ name: 'DB_PASSWORD', value: `${r.str(alnum, 10)}!${r.str(alnum, 6)}#${r.str(digits, 3)}` }],
  },
  {
    family: 'private-key-rsa',
    multiline: true,
    items: () => [{ name: 'RSA_PRIVATE_KEY', value: rsaKey('pkcs1') }],
  },
  { family: 'private-key-pkcs8', multiline: true, items: () => [{ name: 'PRIVATE_KEY', value: rsaKey('pkcs8') }] },
  { family: 'private-key-ec', multiline: true, items: (r) => [{ name: 'EC_PRIVATE_KEY', value: ecKey(r) }] },
  {
    family: 'private-key-openssh',
    multiline: true,
    items: (r) => [{ name: 'SSH_PRIVATE_KEY', value: opensshKey(r) }],
  },
  // GCP service-account JSON is its own context (a whole file); its secret is the private key inside.
  {
    family: 'gcp-service-account',
    multiline: true,
    file: 'gcp',
    items: () => [{ name: 'private_key', value: rsaKey('pkcs8') }],
  },
];

/** Decoys: a good scanner reports none of them. Each is a line-level value with a variable name for context. */
export function decoys(r) {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pubPem = publicKey.export({ format: 'pem', type: 'spki' }).toString().trim();
  const { pub } = ed25519(r);
  const sshPub = Buffer.concat([
    Buffer.from('0000000b', 'hex'),
    Buffer.from('ssh-ed25519'),
    Buffer.from('00000020', 'hex'),
    pub,
  ]);
  const dollar = '$'; // the decoys below are literal `${VAR}` references, not template strings
  return [
    { kind: 'aws-doc-example', name: 'AWS_ACCESS_KEY_ID', value: 'AKIAIOSFODNN7EXAMPLE' },
    { kind: 'aws-doc-example', name: 'AWS_SECRET_ACCESS_KEY', value: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
    { kind: 'env-reference', name: 'GITHUB_TOKEN', value: `${dollar}{GITHUB_TOKEN}` },
    { kind: 'ci-reference', name: 'NPM_TOKEN', value: `${dollar}{{ secrets.NPM_TOKEN }}` },
    { kind: 'placeholder', name: 'OPENAI_API_KEY', value: '<your-openai-api-key>' },
    { kind: 'placeholder', name: 'STRIPE_SECRET_KEY', value: 'sk_live_xxxxxxxxxxxxxxxxxxxxxxxx' },
    { kind: 'placeholder', name: 'GITHUB_TOKEN', value: 'ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' },
    { kind: 'placeholder', name: 'API_KEY', value: 'your-api-key-here' },
    { kind: 'placeholder', name: 'DB_PASSWORD', value: 'changeme' },
    { kind: 'placeholder', name: 'ADMIN_PASSWORD', value: '********' },
    {
      kind: 'placeholder',
      name: 'SLACK_WEBHOOK_URL',
      value: 'https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX',
    },
    { kind: 'placeholder', name: 'TWILIO_ACCOUNT_SID', value: 'ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX' },
    { kind: 'placeholder', name: 'DATABASE_URL', value: 'postgres://user:password@localhost:5432/mydb' },
    {
      kind: 'env-reference',
      name: 'DATABASE_URL',
      value: `postgres://${dollar}{DB_USER}:${dollar}{DB_PASSWORD}@db:5432/app`,
    },
    { kind: 'code-reference', name: 'stripeKey', value: 'process.env.STRIPE_SECRET_KEY', bare: true },
    { kind: 'sha256', name: 'checksum_sha256', value: r.str(hex, 64) },
    { kind: 'git-sha', name: 'gitHead', value: r.str(hex, 40) },
    {
      kind: 'uuid',
      name: 'requestId',
      value: `${r.str(hex, 8)}-${r.str(hex, 4)}-4${r.str(hex, 3)}-a${r.str(hex, 3)}-${r.str(hex, 12)}`,
    },
    { kind: 'integrity', name: 'integrity', value: `sha512-${r.bytes(64).toString('base64')}` },
    { kind: 'docker-digest', name: 'image', value: `node@sha256:${r.str(hex, 64)}` },
    { kind: 'regex-literal', name: 'GITHUB_TOKEN_PATTERN', value: '/ghp_[A-Za-z0-9]{36}/', bare: true },
    { kind: 'regex-literal', name: 'AWS_KEY_RE', value: "new RegExp('AKIA[0-9A-Z]{16}')", bare: true },
    { kind: 'publishable-key', name: 'STRIPE_PUBLISHABLE_KEY', value: `pk_live_${r.str(alnum, 24)}` },
    {
      kind: 'oauth-client-id',
      name: 'GOOGLE_CLIENT_ID',
      value: `${r.str(digits, 12)}-${r.str(lower + digits, 32)}.apps.googleusercontent.com`,
    },
    {
      kind: 'data-uri',
      name: 'logo',
      value: `data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAA${r.bytes(90).toString('base64')}`,
    },
    { kind: 'ssh-public-key', name: 'SSH_PUBLIC_KEY', value: `ssh-ed25519 ${sshPub.toString('base64')} deploy@ci` },
    { kind: 'public-key-pem', name: 'JWT_PUBLIC_KEY', value: pubPem, multiline: true },
    {
      kind: 'certificate',
      name: 'TLS_CERT',
      value: pem('CERTIFICATE', `MIIDdzCCAl+gAwIBAgIE${r.bytes(600).toString('base64')}`),
      multiline: true,
    },
    {
      kind: 'doc-private-key',
      name: 'PRIVATE_KEY',
      value: '-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----',
      multiline: true,
    },
    { kind: 'ansible-vault', name: 'db_password', value: `$ANSIBLE_VAULT;1.1;AES256 ${r.str(hex, 64)}` },
    { kind: 'boolean', name: 'secret', value: 'false', bare: true },
    { kind: 'redacted', name: 'AWS_SECRET_ACCESS_KEY', value: '[REDACTED]' },
    { kind: 'base32-otp-label', name: 'totp_issuer', value: `ACME-${r.str(base32, 4)}` },
  ];
}
