/**
 * The gitleaks and GitLab config files a scan picks up from the scanned directory, turned into secrets-plugin config:
 * `.gitleaks.toml` (`gitleaks_config`) with the file its `[extend] path` names (`gitleaks_config_base`), and
 * `.gitlab/secret-detection-ruleset.toml` (`gitlab_ruleset`, as JSON). The rule they keep: a file from the checked-out
 * tree may add rules and narrow the scan, never reach outside the tree — `[extend] path` and `file` passthroughs must
 * name files inside the scanned directory (no absolute path, no `..` out, no symlink out), `url`/`git` passthroughs
 * (network) and `interpolate` (environment variables into tree text) are refused. A file that does not parse is
 * exit 2 naming the file and line; TOML parser messages are cut before their code excerpt (tree text, maybe a
 * secret) and escaped.
 */
import { lstatSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { UsageError } from '../errors.js';
import { type Logger, printable } from '../log.js';

export const GITLEAKS_TOML = '.gitleaks.toml';
export const GITLAB_RULESET = path.join('.gitlab', 'secret-detection-ruleset.toml');
/** A config file larger than this is not a config file (the default gitleaks config is ~100 KB). */
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/** What the files add to the plugin config, and which file each config key came from (for error messages). */
export interface TreeConfigs {
  config: Record<string, string>;
  files: Record<string, string>;
}

type Toml = Record<string, unknown>;

/** Parses TOML; a syntax error is a usage error naming the file and line, without the parser's excerpt. */
export function parseToml(text: string, shown: string): Toml {
  try {
    return parse(text) as Toml;
  } catch (err) {
    const line = err instanceof TomlError ? `:${err.line}` : '';
    const msg = (err as Error).message.split('\n')[0]?.replace(/^Invalid TOML document: /, '') ?? 'invalid TOML';
    throw new UsageError(`${shown}${line}: ${printable(msg)}`, 'fix the TOML syntax of that line');
  }
}

/** The 1-based line of the first `key = "value"` in `text` (for errors about that value). */
function lineOf(text: string, key: string, value: string): string {
  const i = text.split(/\r?\n/).findIndex((l) => l.trimStart().startsWith(key) && l.includes(value));
  return i >= 0 ? `:${i + 1}` : '';
}

/**
 * Reads a file a tree config names, relative to `dir`, refusing anything outside `root` (after symlinks) or not a
 * regular file. `where` is the config and line that names it.
 */
function readInside(root: string, dir: string, name: string, where: string): { file: string; text: string } {
  const fix = `name a file inside ${printable(root)} with a relative path`;
  if (path.isAbsolute(name)) throw new UsageError(`${where}: "${printable(name)}" is an absolute path`, fix);
  const file = path.resolve(dir, name);
  const rel = path.relative(root, file);
  if (rel.startsWith('..') || path.isAbsolute(rel))
    throw new UsageError(`${where}: "${printable(name)}" is outside the scanned directory`, fix);
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(file);
  } catch (err) {
    throw new UsageError(`${where}: "${printable(name)}" cannot be read (${(err as NodeJS.ErrnoException).code})`, fix);
  }
  // A symlink could point anywhere, even inside; refusing it is simpler than proving where it ends. A symlinked
  // directory on the way is caught by comparing real paths.
  if (!st.isFile() || !realInside(root, file))
    throw new UsageError(
      `${where}: "${printable(name)}" is not a regular file inside the tree (symlinks are refused)`,
      fix,
    );
  if (st.size > MAX_CONFIG_BYTES)
    throw new UsageError(`${where}: "${printable(name)}" is larger than ${MAX_CONFIG_BYTES >> 20} MiB`, fix);
  return { file, text: readFileSync(file, 'utf8') };
}

function readConfigFile(file: string, shown: string): string {
  const size = lstatSync(file).size;
  if (size > MAX_CONFIG_BYTES)
    throw new UsageError(`${shown} is larger than ${MAX_CONFIG_BYTES >> 20} MiB`, 'is it really a config file?');
  return readFileSync(file, 'utf8');
}

/** `.gitleaks.toml` at the root of the scanned directory, with its `[extend] path` base. */
export function gitleaksToml(root: string, shown: (file: string) => string): TreeConfigs | undefined {
  const file = path.join(root, GITLEAKS_TOML);
  if (!isTreeFile(root, file)) return undefined;
  const text = readConfigFile(file, shown(file));
  const doc = parseToml(text, shown(file));
  const out: TreeConfigs = { config: { gitleaks_config: text }, files: { gitleaks_config: shown(file) } };
  const extend = doc.extend as Toml | undefined;
  if (typeof extend?.path === 'string' && extend.path) {
    const where = `${shown(file)}${lineOf(text, 'path', extend.path)}`;
    const base = readInside(root, root, extend.path, `${where}: [extend] path`);
    parseToml(base.text, shown(base.file));
    out.config.gitleaks_config_base = base.text;
    out.files.gitleaks_config_base = shown(base.file);
  }
  return out;
}

/**
 * GitLab's `.gitlab/secret-detection-ruleset.toml` (schema: GitLab's "custom rulesets schema"): `[[secrets.ruleset]]`
 * entries (an `identifier` {type, value}, `disable`, `override` {severity, description}) and `[[secrets.passthrough]]`
 * (`raw`: the value is a config; `file`: a path in the tree; `git`/`url`: refused).
 */
export function gitlabRuleset(root: string, shown: (file: string) => string, log: Logger): TreeConfigs | undefined {
  const file = path.join(root, GITLAB_RULESET);
  if (!isTreeFile(root, file)) return undefined;
  const name = shown(file);
  const text = readConfigFile(file, name);
  const doc = parseToml(text, name);
  const secrets = (doc.secrets ?? {}) as Toml;
  if (typeof secrets !== 'object' || Array.isArray(secrets))
    throw new UsageError(`${name}: [secrets] must be a table`, 'see GitLab’s custom rulesets schema');
  if (secrets.interpolate === true)
    log.warn(`${name}: interpolate = true is ignored: a file from the repository cannot read CI variables`);
  const rules: unknown[] = [];
  const ruleset = Array.isArray(secrets.ruleset) ? (secrets.ruleset as Toml[]) : [];
  ruleset.forEach((r, i) => {
    const id = (r.identifier ?? {}) as Toml;
    if (typeof id.value !== 'string' || !id.value)
      throw new UsageError(
        `${name}: [[secrets.ruleset]] #${i + 1} has no identifier.value`,
        'name the rule id to change',
      );
    const o = (r.override ?? {}) as Toml;
    rules.push({
      type: typeof id.type === 'string' ? id.type : '',
      value: id.value,
      disable: r.disable === true,
      ...(typeof o.severity === 'string' ? { severity: o.severity } : {}),
      ...(typeof o.description === 'string' ? { description: o.description } : {}),
    });
  });
  const files: Record<string, string> = { gitlab_ruleset: name };
  const passthroughs: { name: string; text: string }[] = [];
  const pts = Array.isArray(secrets.passthrough) ? (secrets.passthrough as Toml[]) : [];
  for (const p of pts) {
    const value = typeof p.value === 'string' ? p.value : '';
    const key = `gitlab_ruleset.passthroughs[${passthroughs.length}]`;
    if (p.type === 'raw') {
      passthroughs.push({ name: 'raw', text: value });
      files[key] = `${name} (raw passthrough ${passthroughs.length}, line of its value)`;
    } else if (p.type === 'file') {
      const got = readInside(root, root, value, `${name}${lineOf(text, 'value', value)}: file passthrough`);
      parseToml(got.text, shown(got.file));
      passthroughs.push({ name: value, text: got.text });
      files[key] = shown(got.file);
    } else {
      log.warn(
        `${name}: a ${printable(String(p.type))} passthrough is ignored: wasmci loads no rules over the network; ` +
          'commit the file and use a file passthrough',
      );
    }
  }
  return { config: { gitlab_ruleset: JSON.stringify({ rules, passthroughs }) }, files };
}

/** Whether `file`'s real path (all symlinks resolved) lies under `root`'s. */
export function realInside(root: string, file: string): boolean {
  try {
    const r = realpathSync(root);
    const f = realpathSync(file);
    return f === r || f.startsWith(r.endsWith(path.sep) ? r : r + path.sep);
  } catch {
    return false;
  }
}

/**
 * A config file the scan picks up by name: a regular file whose real path is in the scanned directory. A symlink (to a
 * host file whose lines an error message would quote) is not picked up.
 */
export function isTreeFile(root: string, file: string): boolean {
  try {
    return lstatSync(file).isFile() && realInside(root, file);
  } catch {
    return false;
  }
}

/**
 * A plugin error about a config key (`gitleaks_config:12: rule 'x': …`) as a usage error naming the file it came
 * from; undefined for any other message.
 */
export function configError(message: string, files: Record<string, string>): UsageError | undefined {
  for (const [key, file] of Object.entries(files)) {
    const i = message.indexOf(key);
    if (i < 0) continue;
    const rest = message.slice(i + key.length);
    if (!/^(\.rules\[\d+\])?(:\d+)?: /.test(rest)) continue;
    return new UsageError(`${file}${printable(rest)}`, 'fix that line of the configuration');
  }
  return undefined;
}
