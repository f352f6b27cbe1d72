/** JSON Schema validation of report files against the schemas in runner/test/schemas (see SOURCE.md there). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS: under NodeNext its default import is the module object on some tool chains.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as unknown as (
  ajv: Ajv,
) => Ajv;

const dir = path.resolve(import.meta.dirname, '../schemas');

function load(rel: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(dir, rel), 'utf8'));
}

export type Validate = (data: unknown) => ErrorObject[];

function compile(schema: Record<string, unknown>): Validate {
  // strict: false — third-party schemas use keywords ajv's strict mode rejects (e.g. `$ref` beside siblings);
  // unicodeRegExp: false — the SARIF schema's `language` pattern has a stray `]` that only non-unicode RegExp accepts.
  const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
  addFormats(ajv);
  const v = ajv.compile(schema);
  return (data) => (v(data) ? [] : [...(v.errors ?? [])]);
}

export const validateGitlabSecretDetection: Validate = compile(
  load('gitlab/15.2.1/secret-detection-report-format.json'),
);

/** The SARIF schema is draft-04: only its root `id` differs from draft-07 for ajv (see SOURCE.md). */
export const validateSarif: Validate = (() => {
  const { id, $schema: _draft04, ...rest } = load('sarif/sarif-2.1.0-rtm.5.json');
  return compile({ ...rest, $id: id });
})();

/**
 * GitLab Code Quality: GitLab documents no JSON schema, only the fields it requires of each issue
 * (docs: ci/testing/code_quality, "Code Quality report format"). This is that list, plus the severity enum.
 */
export const validateCodeQuality: Validate = compile({
  type: 'array',
  items: {
    type: 'object',
    required: ['description', 'check_name', 'fingerprint', 'severity', 'location'],
    properties: {
      description: { type: 'string', minLength: 1 },
      check_name: { type: 'string', minLength: 1 },
      fingerprint: { type: 'string', minLength: 1 },
      severity: { enum: ['info', 'minor', 'major', 'critical', 'blocker'] },
      location: {
        type: 'object',
        required: ['path', 'lines'],
        properties: {
          path: { type: 'string', minLength: 1 },
          lines: {
            type: 'object',
            required: ['begin'],
            properties: { begin: { type: 'integer', minimum: 1 }, end: { type: 'integer', minimum: 1 } },
          },
        },
      },
    },
  },
});
