/**
 * `wasmci publish FILE`: upload a plugin (a .wasm or a bundle .tar.gz) to GitLab's generic package registry, or,
 * with --oci, push it as a Wasm OCI artifact. A published version is never overwritten unless --force.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { type Command, Option } from 'commander';
import { UsageError } from '../errors.js';
import { createLogger, LOG_LEVELS, type LogLevel } from '../log.js';
import { extractPlugin, isGzip } from '../sources/archive.js';
import { gitlabHeaders, ociCredentials, parseAuthHeaders } from '../sources/auth.js';
import { type GitlabPackage, gitlabFileExists, publishGitlab, requireToken } from '../sources/gitlab.js';
import { OciClient, requireTag } from '../sources/oci.js';
import { normalizeGitlabApi, parseReference } from '../sources/reference.js';
import { writeStdout } from './io.js';

interface PublishFlags {
  package?: string;
  version?: string;
  project?: string;
  file?: string;
  force?: boolean;
  oci?: string;
  gitlabUrl?: string;
  authHeader?: string[];
  logLevel?: string;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];
const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

async function readPlugin(file: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new UsageError(`${file} cannot be read (${(err as NodeJS.ErrnoException).code})`);
  }
  if (isGzip(bytes)) {
    await extractPlugin(bytes, file); // a bundle that cannot be used is refused before it is published
    return bytes;
  }
  if (!WASM_MAGIC.every((b, i) => bytes[i] === b))
    throw new UsageError(`${file} is neither a .wasm module nor a plugin bundle (.tar.gz)`);
  return bytes;
}

async function publishToGitlab(bytes: Uint8Array, flags: PublishFlags): Promise<void> {
  const log = createLogger((flags.logLevel ?? 'warn') as LogLevel);
  if (!flags.package || !flags.version)
    throw new UsageError('publish needs --package NAME and --version V (or --oci oci://host/repo:tag)');
  const apiRaw = flags.gitlabUrl ?? process.env.CI_API_V4_URL;
  if (!apiRaw) throw new UsageError('no GitLab API URL', 'pass --gitlab-url (in GitLab CI, CI_API_V4_URL is used)');
  const project = flags.project ?? process.env.CI_PROJECT_ID;
  if (!project) throw new UsageError('no project', 'pass --project ID (in GitLab CI, CI_PROJECT_ID is used)');
  const fileName = flags.file ?? (isGzip(bytes) ? `${flags.package}.tar.gz` : `${flags.package}.wasm`);
  // Parse as a reference so names and versions get exactly the validation a later `gitlab:` download applies.
  const raw = `gitlab:${project}/${flags.package}@${flags.version}/${fileName}`;
  const ref = parseReference(raw, { gitlabUrl: normalizeGitlabApi(apiRaw) }, () => false);
  if (ref.kind !== 'gitlab') throw new UsageError(`cannot publish to ${raw}`);
  const headers = gitlabHeaders(parseAuthHeaders(flags.authHeader));
  requireToken(headers, 'publishing');
  const pkg: GitlabPackage = ref;
  if (!flags.force && (await gitlabFileExists(pkg, headers, log)))
    throw new UsageError(
      `${flags.package} ${flags.version} already has a file ${fileName} in project ${decodeURIComponent(ref.project)}`,
      'published versions are meant to be immutable (caches and lockfiles rely on it): publish a new version, or pass --force',
    );
  const res = await publishGitlab(pkg, bytes, headers, log);
  const short = fileName === `${flags.package}.wasm` ? '' : `/${fileName}`;
  await writeStdout(
    `${res.sha256}  gitlab:${decodeURIComponent(ref.project)}/${flags.package}@${flags.version}${short}\n`,
  );
}

async function publishToOci(file: string, bytes: Uint8Array, flags: PublishFlags): Promise<void> {
  const log = createLogger((flags.logLevel ?? 'warn') as LogLevel);
  const target = flags.oci as string;
  const ref = parseReference(target, {}, () => false);
  if (ref.kind !== 'oci') throw new UsageError(`--oci ${target} is not an oci:// reference`);
  const tag = requireTag(ref.digest ? undefined : ref.tag, target);
  const wasm = isGzip(bytes) ? (await extractPlugin(bytes, file)).wasm : bytes;
  const client = new OciClient(ref.registry, ref.repository, ociCredentials(ref.registry, process.env, log), log);
  const res = await client.push(tag, wasm, path.basename(file).replace(/\.tar\.gz$/, '.wasm'));
  await writeStdout(`${res.layerDigest.slice(7)}  oci://${ref.registry}/${ref.repository}@${res.manifestDigest}\n`);
}

export function register(program: Command): void {
  program
    .command('publish')
    .description("upload a plugin to GitLab's generic package registry, or push it to an OCI registry (--oci)")
    .argument('<file>', 'a .wasm plugin or a plugin bundle .tar.gz')
    .option('--package <name>', 'package name (GitLab)')
    .option('--version <version>', 'package version (GitLab)')
    .option('--project <id>', 'project id or group/project path (default: CI_PROJECT_ID)')
    .option('--file <name>', 'file name inside the package (default: <package>.wasm)')
    .option('--force', 'upload even if this version already has the file')
    .option('--oci <ref>', 'push to an OCI registry instead: oci://host/repository:tag')
    .option('--gitlab-url <url>', 'GitLab instance (default: CI_API_V4_URL)')
    .option('--auth-header <NAME=VALUE>', 'GitLab auth header, e.g. PRIVATE-TOKEN=… (repeatable)', collect)
    .addOption(new Option('--log-level <level>', 'log level').choices([...LOG_LEVELS]).default('warn'))
    .action(async (file: string, flags: PublishFlags) => {
      const bytes = await readPlugin(file);
      if (flags.oci) {
        if (flags.package || flags.version || flags.project)
          throw new UsageError('--oci publishes to an OCI registry: drop --package/--version/--project');
        await publishToOci(file, bytes, flags);
      } else await publishToGitlab(bytes, flags);
    });
}
