// Where leaked values show up in real repositories, as renderers. A "new file" context writes a whole file into a
// package directory; an "insert" context edits an existing corpus file. Each returns the lines it adds and, for
// every planted value, its 0-based line range within those lines (the planter turns that into file positions).

const lowerSnake = (name) => name.toLowerCase();
const camel = (name) => name.toLowerCase().replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
const oneLine = (v) => v.replace(/\n/g, '\\n');

/** Lines for `items`, one value per (possibly multi-line) block, with each item's line range. */
function block(items, render) {
  const lines = [];
  const spans = [];
  for (const it of items) {
    const start = lines.length;
    lines.push(...render(it).split('\n'));
    spans.push([start, lines.length - 1]);
  }
  return { lines, spans };
}

/** Surround `body` with filler lines; shift the spans accordingly. */
function frame(head, body, tail) {
  return {
    lines: [...head, ...body.lines, ...tail],
    spans: body.spans.map(([a, b]) => [a + head.length, b + head.length]),
  };
}

export const NEW_FILE = {
  env: {
    file: (r) => r.pick(['.env', '.env.production', '.env.local', 'config/.env.staging']),
    render: (items) =>
      frame(
        ['# service configuration', 'NODE_ENV=production', 'PORT=8080'],
        block(items, (it) =>
          it.value.includes('\n') ? `${it.name}="${oneLine(it.value)}"` : `${it.name}=${it.value}`,
        ),
        ['LOG_LEVEL=info', 'FEATURE_FLAGS=search,export', ''],
      ),
  },
  yaml: {
    file: (r) => r.pick(['config/production.yml', 'config/settings.yaml', 'deploy/values.yaml']),
    render: (items) =>
      frame(
        ['app:', '  name: orders-api', '  replicas: 3', '  credentials:'],
        block(items, (it) =>
          it.value.includes('\n')
            ? `    ${lowerSnake(it.name)}: |\n${it.value
                .split('\n')
                .map((l) => `      ${l}`)
                .join('\n')}`
            : `    ${lowerSnake(it.name)}: "${it.value}"`,
        ),
        ['  logging:', '    level: info', ''],
      ),
  },
  k8s: {
    encoded: true,
    file: (r) => r.pick(['k8s/secret.yaml', 'deploy/k8s/app-secret.yaml', 'manifests/secrets.yml']),
    render: (items) =>
      frame(
        [
          'apiVersion: v1',
          'kind: Secret',
          'metadata:',
          '  name: app-secrets',
          '  namespace: prod',
          'type: Opaque',
          'data:',
        ],
        block(
          items,
          (it) => `  ${lowerSnake(it.name).replace(/_/g, '-')}: ${Buffer.from(it.value).toString('base64')}`,
        ),
        [''],
      ),
  },
  dockerfile: {
    singleLineOnly: true,
    file: (r) => r.pick(['Dockerfile', 'docker/Dockerfile.prod', 'build/Dockerfile']),
    render: (items) =>
      frame(
        ['FROM node:20-alpine', 'WORKDIR /app', 'COPY package.json ./'],
        block(items, (it) => `ENV ${it.name}=${it.value}`),
        ['RUN npm ci --omit=dev', 'COPY . .', 'CMD ["node", "server.js"]', ''],
      ),
  },
  python: {
    file: (r) => r.pick(['settings_local.py', 'scripts/deploy_config.py', 'tools/upload.py']),
    render: (items) =>
      frame(
        ['import os', '', 'DEBUG = False', ''],
        block(items, (it) =>
          it.value.includes('\n') ? `${it.name} = """${it.value}"""` : `${it.name} = "${it.value}"`,
        ),
        ['', 'TIMEOUT = 30', ''],
      ),
  },
  terraform: {
    singleLineOnly: true,
    file: (r) => r.pick(['infra/main.tf', 'terraform/providers.tf']),
    render: (items) =>
      frame(
        ['terraform {', '  required_version = ">= 1.5"', '}', '', 'locals {'],
        block(items, (it) => `  ${lowerSnake(it.name)} = "${it.value}"`),
        ['}', ''],
      ),
  },
  shell: {
    singleLineOnly: true,
    file: (r) => r.pick(['scripts/deploy.sh', 'bin/release.sh', 'ci/publish.sh']),
    render: (items) =>
      frame(
        ['#!/usr/bin/env bash', 'set -euo pipefail', ''],
        block(items, (it) => `export ${it.name}="${it.value}"`),
        ['', 'node scripts/upload.js "$@"', ''],
      ),
  },
  pem: {
    multilineOnly: true,
    file: (r) => r.pick(['certs/server.key', 'keys/deploy_key', '.ssh/id_ci', 'config/jwt-private.pem']),
    render: (items) =>
      frame(
        [],
        block(items, (it) => it.value),
        [''],
      ),
  },
  gcp: {
    gcpOnly: true,
    file: (r) => r.pick(['credentials/service-account.json', 'gcp-key.json', 'config/firebase-adminsdk.json']),
    render: (items, r) => {
      const project = `${r.pick(['orders', 'billing', 'analytics'])}-prod-${r.int(100000, 999999)}`;
      const head = [
        '{',
        '  "type": "service_account",',
        `  "project_id": "${project}",`,
        `  "private_key_id": "${r.str('0123456789abcdef', 40)}",`,
      ];
      const body = block(items, (it) => `  "private_key": "${oneLine(it.value)}\\n",`);
      const tail = [
        `  "client_email": "deployer@${project}.iam.gserviceaccount.com",`,
        `  "client_id": "${r.str('0123456789', 21)}",`,
        '  "auth_uri": "https://accounts.google.com/o/oauth2/auth",',
        '  "token_uri": "https://oauth2.googleapis.com/token"',
        '}',
        '',
      ];
      return frame(head, body, tail);
    },
  },
};

/** Insert contexts: `accept(file, text)` says whether a corpus file can take the plant; `insert` edits it. */
export const INSERT = {
  json: {
    accept: (f, text) => /\.json$/.test(f.rel) && /^\{\r?\n {2}"/.test(text),
    insert: (text, items) => {
      const lines = text.split('\n');
      const body = block(items, (it) => `  "${camel(it.name)}": "${oneLine(it.value)}",`);
      lines.splice(1, 0, ...body.lines);
      return { text: lines.join('\n'), spans: body.spans.map(([a, b]) => [a + 1, b + 1]) };
    },
  },
  js: {
    accept: (f, text) => {
      if (!/\.(m?js|cjs|ts)$/.test(f.rel) || /\.min\.js$/.test(f.rel)) return false;
      const n = text.split('\n').length;
      return n > 20 && text.length / n < 100;
    },
    insert: (text, items, r) => {
      const lines = text.split('\n');
      const anchors = [];
      for (let i = 1; i < lines.length; i++)
        if (/^(const|let|var|function|export|module|class) /.test(lines[i])) anchors.push(i);
      if (anchors.length === 0) return undefined;
      const at = r.pick(anchors);
      const body = block(items, (it) =>
        it.value.includes('\n') ? `const ${it.name} = \`${it.value}\`;` : `const ${it.name} = '${it.value}';`,
      );
      lines.splice(at, 0, ...body.lines);
      return { text: lines.join('\n'), spans: body.spans.map(([a, b]) => [a + at, b + at]) };
    },
  },
  minified: {
    accept: (f, text) => /\.js$/.test(f.rel) && text.split('\n').some((l) => l.length > 4000),
    insert: (text, items, r) => {
      const lines = text.split('\n');
      const long = lines.map((l, i) => [l.length, i]).filter(([n]) => n > 4000);
      const [, at] = r.pick(long);
      const line = lines[at];
      const from = Math.floor(line.length * (0.2 + 0.6 * r.next()));
      const semi = line.indexOf(';', from);
      if (semi < 0) return undefined;
      const obj = items.map((it) => `${camel(it.name)}:"${oneLine(it.value)}"`).join(',');
      lines[at] = `${line.slice(0, semi + 1)}var __cfg${r.int(10, 99)}={${obj}};${line.slice(semi + 1)}`;
      return { text: lines.join('\n'), spans: items.map(() => [at, at]) };
    },
  },
  markdown: {
    accept: (f, text) => /\.md$/i.test(f.rel) && text.includes('\n\n'),
    insert: (text, items, r) => {
      const lines = text.split('\n');
      const blanks = [];
      for (let i = 1; i < lines.length; i++) if (lines[i] === '') blanks.push(i);
      const at = r.pick(blanks) + 1;
      const body = frame(
        ['```sh'],
        block(items, (it) =>
          it.value.includes('\n') ? `cat > key.pem <<'EOF'\n${it.value}\nEOF` : `export ${it.name}=${it.value}`,
        ),
        ['```', ''],
      );
      lines.splice(at, 0, ...body.lines);
      return { text: lines.join('\n'), spans: body.spans.map(([a, b]) => [a + at, b + at]) };
    },
  },
};

/** Contexts a format's values may go into. */
export function contextsFor(format) {
  if (format.file === 'gcp') return ['new:gcp'];
  const news = Object.entries(NEW_FILE)
    .filter(([, c]) => !c.gcpOnly && !(c.singleLineOnly && format.multiline) && !(c.multilineOnly && !format.multiline))
    .map(([k]) => `new:${k}`);
  const inserts = Object.keys(INSERT).map((k) => `insert:${k}`);
  return [...news, ...inserts];
}
