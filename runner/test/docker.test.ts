/**
 * The image as users run it, on a real Docker engine (Debian's docker.io 20.10, started by the test with vfs; see
 * servers/dockerd.ts): the archive scripts/image.sh writes loads with `docker load` (and `podman load`) under the
 * README's name, and
 * every command the README gives — each `docker run` line, the GitHub workflow step, the GitLab jobs' scripts —
 * runs verbatim (extracted from README.md here, so the README cannot drift) against a leaky and a clean repository,
 * in the layouts CI runners make: GitLab's default (root-owned, umask 0000), a root-owned 755 project dir with the
 * image's default user, and a GitHub workspace owned by uid 1001. Needs root (dockerd), as CI has.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot, tempDir as makeTempDir } from './helpers/cli.js';
import { GitRepo } from './helpers/git.js';
import { buildImage, IMAGE, version } from './helpers/image.js';
import { validateGitlabSecretDetection, validateSarif } from './helpers/schemas.js';
import { fakeGithubToken } from './helpers/secrets.js';
import { Dockerd } from './servers/dockerd.js';

/** GitHub-hosted runners run steps as `runner`, uid/gid 1001, in a workspace that user owns. */
const RUNNER_UID = 1001;
/** Every directory this file makes (checkouts, the 55 MB archive), removed after the suite. */
const made: string[] = [];
function tempDir(prefix: string): string {
  const d = makeTempDir(prefix);
  made.push(d);
  return d;
}
const README = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');

function blocks(lang: string): string[] {
  return [...README.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, 'g'))].map((m) => m[1] ?? '');
}

/** The README's `docker run` lines in shell blocks. */
const shellRuns = blocks('sh').flatMap((b) => b.split('\n').filter((l) => l.startsWith('docker run ')));
/** The README's GitHub workflow steps that run the image. */
const githubRuns = blocks('yaml')
  .map((b) => parse(b))
  .flatMap((doc) =>
    Object.values((doc?.jobs ?? {}) as Record<string, { steps?: { run?: string }[] }>).flatMap((j) => j.steps ?? []),
  )
  .map((s) => s.run)
  .filter((r): r is string => typeof r === 'string' && r.includes('docker run'));
interface GitlabJob {
  image: string;
  script: string[];
  artifacts?: { reports?: Record<string, string> };
}
/** The README's GitLab jobs that use the image (`image:` + `script:`). */
const gitlabJobs = blocks('yaml')
  .map((b) => parse(b) as Record<string, unknown> | null)
  .flatMap((doc) => Object.entries(doc ?? {}))
  .filter((e): e is [string, GitlabJob] => {
    const j = e[1] as GitlabJob;
    return typeof j === 'object' && j !== null && typeof j.image === 'string' && Array.isArray(j.script);
  });

describe('image on a Docker engine, README commands verbatim', () => {
  let docker: Dockerd;
  let archive: string;
  const token = fakeGithubToken();
  const repos: Record<'leaky' | 'clean', GitRepo> = {} as never;

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('the Docker test needs root (dockerd), as CI has');
    const dir = tempDir('wasmci-docker-image-');
    archive = path.join(dir, 'wasmci-image.oci.tar');
    const started = Date.now();
    buildImage(archive);
    const built = Date.now();
    docker = await Dockerd.start({ socketGroup: RUNNER_UID });
    const loaded = docker.docker(['load', '-i', archive]);
    expect(loaded).toContain(`Loaded image: ${IMAGE}`);
    process.stderr.write(
      `docker.test: image built in ${built - started} ms, engine up + loaded in ${Date.now() - built} ms\n`,
    );
    for (const kind of ['leaky', 'clean'] as const) {
      const r = GitRepo.init();
      r.write('README.md', '# demo\n');
      if (kind === 'leaky') r.write('src/settings.py', `TOKEN = "${token}"\n`);
      r.git('add', '-A');
      r.git('-c', 'user.name=t', '-c', 'user.email=t@example.test', 'commit', '-qm', 'init');
      repos[kind] = r;
    }
  }, 240_000);
  afterAll(async () => {
    await docker?.stop();
    for (const d of made) rmSync(d, { recursive: true, force: true });
  }, 60_000);

  /** A fresh copy of a repository, as a runner would check it out: owner and modes applied recursively. */
  function checkout(kind: 'leaky' | 'clean', dest: string, owner: string, mode: string): string {
    mkdirSync(path.dirname(dest), { recursive: true });
    execFileSync('git', ['clone', '-q', repos[kind].dir, dest], { env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1' } });
    execFileSync('chown', ['-R', owner, dest]);
    execFileSync('chmod', ['-R', mode, dest]);
    return dest;
  }

  /** A shell line as uid 1001 (a GitHub runner, a developer), with the docker CLI pointed at the test engine. */
  function asRunner(command: string, cwd: string, env: Record<string, string>) {
    return spawnSync(
      'setpriv',
      [`--reuid=${RUNNER_UID}`, `--regid=${RUNNER_UID}`, '--clear-groups', 'bash', '-c', command],
      {
        cwd,
        env: { PATH: process.env.PATH ?? '', DOCKER_HOST: docker.host, ...env },
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
  }

  /** A base directory uid 1001 can traverse (mkdtemp makes 0700 root dirs). */
  function runnerBase(prefix: string): string {
    const base = tempDir(prefix);
    execFileSync('chmod', ['755', base]);
    const home = path.join(base, 'home');
    mkdirSync(home);
    execFileSync('chown', [`${RUNNER_UID}:${RUNNER_UID}`, home]);
    return base;
  }

  it('finds the commands it must run in the README', () => {
    expect(shellRuns.length).toBeGreaterThanOrEqual(1);
    expect(githubRuns).toHaveLength(1);
    expect(gitlabJobs.length).toBeGreaterThanOrEqual(2);
    // Every image the README names is the one the archive is tagged with.
    for (const m of README.matchAll(/registry\.gitlab\.com\/wasmci\/wasmci:\d[\w.-]*/g)) expect(m[0]).toBe(IMAGE);
  });

  it('loads as the README names it, with the OCI labels and no empty annotations', () => {
    const labels = JSON.parse(docker.docker(['inspect', '--format', '{{json .Config.Labels}}', IMAGE]));
    const commitTime = execFileSync('git', ['log', '-1', '--format=%ct'], { cwd: repoRoot, encoding: 'utf8' }).trim();
    const created = new Date(Number(commitTime) * 1000).toISOString().replace(/\.000Z$/, 'Z');
    expect(labels).toMatchObject({
      'org.opencontainers.image.source': 'https://gitlab.com/wasmci/wasmci',
      'org.opencontainers.image.version': version,
      'org.opencontainers.image.revision': execFileSync('git', ['rev-parse', 'HEAD'], {
        cwd: repoRoot,
        encoding: 'utf8',
      }).trim(),
      'org.opencontainers.image.created': created,
      'org.opencontainers.image.licenses': 'MIT',
    });
    expect(docker.docker(['inspect', '--format', '{{.Created}}', IMAGE]).trim()).toBe(created);
    // The OCI side of the same archive: one tagged manifest, none of buildah's empty base annotations.
    const dir = tempDir('wasmci-docker-oci-');
    execFileSync('tar', ['-xf', archive, '-C', dir]);
    const index = JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8'));
    expect(index.manifests[0].annotations['org.opencontainers.image.ref.name']).toBe(IMAGE);
    const manifest = JSON.parse(readFileSync(path.join(dir, 'blobs', ...index.manifests[0].digest.split(':')), 'utf8'));
    for (const [k, v] of Object.entries(manifest.annotations ?? {})) expect(v, k).not.toBe('');
    expect(JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'))[0].RepoTags).toEqual([IMAGE]);
  });

  it('the same archive loads into podman under the same name (its OCI index)', () => {
    const store = tempDir('wasmci-podman-');
    const podman = (...args: string[]) =>
      execFileSync(
        'podman',
        ['--root', path.join(store, 'root'), '--runroot', path.join(store, 'run'), '--storage-driver', 'vfs', ...args],
        { encoding: 'utf8', timeout: 120_000 },
      );
    expect(podman('load', '-i', archive)).toContain(`Loaded image: ${IMAGE}`);
    expect(podman('images', '--format', '{{.Repository}}:{{.Tag}}').trim()).toBe(IMAGE);
  });

  it.each(['leaky', 'clean'] as const)("runs the README's docker run line(s) as a user, %s repository", (kind) => {
    const base = runnerBase('wasmci-docker-dev-');
    const dir = checkout(kind, path.join(base, 'project'), `${RUNNER_UID}:${RUNNER_UID}`, 'u+rwX,go+rX,go-w');
    for (const line of shellRuns) {
      const r = asRunner(line, dir, { HOME: path.join(base, 'home') });
      expect(r.status, `${line}\n${r.stderr}`).toBe(kind === 'leaky' ? 1 : 0);
      if (kind === 'leaky') expect(r.stdout).toMatch(/src\/settings\.py[\s\S]*github-pat/);
      expect(r.stdout + r.stderr).not.toContain(token);
    }
  });

  it.each(['leaky', 'clean'] as const)(
    'runs the GitHub workflow step in a workspace owned by uid 1001 (hosted runner), %s repository',
    (kind) => {
      const base = runnerBase('wasmci-docker-gh-');
      const ws = checkout(kind, path.join(base, 'work/demo/demo'), `${RUNNER_UID}:${RUNNER_UID}`, 'u+rwX,go+rX,go-w');
      const temp = path.join(base, 'work/_temp');
      const files = path.join(temp, '_runner_file_commands');
      mkdirSync(files, { recursive: true });
      const output = path.join(files, 'set_output_1');
      const summary = path.join(files, 'step_summary_1');
      writeFileSync(output, '');
      writeFileSync(summary, '');
      execFileSync('chown', ['-R', `${RUNNER_UID}:${RUNNER_UID}`, temp]);
      const env = {
        HOME: path.join(base, 'home'),
        CI: 'true',
        GITHUB_ACTIONS: 'true',
        GITHUB_WORKSPACE: ws,
        RUNNER_TEMP: temp,
        GITHUB_OUTPUT: output,
        GITHUB_STEP_SUMMARY: summary,
      };
      const r = asRunner(githubRuns[0] ?? '', ws, env);
      expect(r.status, r.stderr).toBe(kind === 'leaky' ? 1 : 0);
      const sarifFile = path.join(ws, 'wasmci.sarif');
      expect(statSync(sarifFile).uid).toBe(RUNNER_UID); // the next steps (upload-sarif, cleanup) own it
      const sarif = JSON.parse(readFileSync(sarifFile, 'utf8'));
      expect(validateSarif(sarif)).toEqual([]);
      expect(sarif.runs[0].results).toHaveLength(kind === 'leaky' ? 1 : 0);
      // @actions/core's multi-line form: name<<DELIMITER, value, DELIMITER.
      expect(readFileSync(output, 'utf8')).toMatch(
        new RegExp(`^findings<<(\\S+)\n${kind === 'leaky' ? 1 : 0}\n\\1$`, 'm'),
      );
      if (kind === 'leaky') {
        expect(r.stdout).toMatch(/::error [^\n]*file=src\/settings\.py,line=1,/);
        expect(readFileSync(summary, 'utf8')).toMatch(/github-pat/);
      }
      expect(r.stdout + r.stderr + readFileSync(summary, 'utf8')).not.toContain(token);
    },
  );

  const layouts = [
    // The docker executor's helper clones as root with umask 0000 (FF_DISABLE_UMASK_FOR_DOCKER_EXECUTOR unset).
    { name: 'GitLab runner default (root-owned, umask 0000)', mode: 'a+rwX' },
    // Kubernetes executor / FF_DISABLE_UMASK_FOR_DOCKER_EXECUTOR: a root-owned 755 project dir.
    { name: 'root-owned 755 project dir', mode: 'u+rwX,go+rX,go-w' },
  ];
  describe.each(layouts)('GitLab jobs of the README with the image default user: $name', ({ mode }) => {
    it.each(['leaky', 'clean'] as const)('%s repository', (kind) => {
      for (const [name, job] of gitlabJobs) {
        const dir = checkout(kind, path.join(tempDir('wasmci-docker-gl-'), 'demo'), '0:0', mode);
        const projectDir = '/builds/wasmci/demo';
        const sha = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir, encoding: 'utf8' }).trim();
        // What the runner does: the job's image, its default user, the project dir mounted and current, the
        // script through the image's shell, stopping at the first failing line.
        const r = spawnSync(
          'docker',
          [
            'run',
            '--rm',
            '-v',
            `${dir}:${projectDir}`,
            '-w',
            projectDir,
            ...['CI=true', 'GITLAB_CI=true', `CI_PROJECT_DIR=${projectDir}`, `CI_COMMIT_SHA=${sha}`].flatMap((e) => [
              '-e',
              e,
            ]),
            job.image,
            'sh',
            '-ec',
            job.script.join('\n'),
          ],
          { env: docker.env(), encoding: 'utf8', timeout: 120_000 },
        );
        expect(r.status, `${name}: ${r.stderr}`).toBe(kind === 'leaky' ? 1 : 0);
        if (kind === 'leaky') expect(r.stdout, name).toMatch(/src\/settings\.py[\s\S]*github-pat/);
        expect(r.stdout + r.stderr).not.toContain(token);
        for (const [report, file] of Object.entries(job.artifacts?.reports ?? {})) {
          const written = path.join(dir, file);
          expect(existsSync(written), `${name}: ${report} report ${file}`).toBe(true);
          if (report === 'secret_detection') {
            const doc = JSON.parse(readFileSync(written, 'utf8'));
            expect(validateGitlabSecretDetection(doc)).toEqual([]);
            expect(doc.vulnerabilities).toHaveLength(kind === 'leaky' ? 1 : 0);
          }
        }
      }
    });
  });

  it("fetches over http(s) with the image's git (the shallow-clone hint's `git fetch --deepen` works)", async () => {
    const bare = path.join(tempDir('wasmci-docker-http-'), 'demo.git');
    execFileSync('git', ['clone', '-q', '--bare', repos.clean.dir, bare]);
    execFileSync('git', ['update-server-info'], { cwd: bare });
    // git's "dumb" HTTP protocol: the repository's files served as they are.
    const server = http.createServer((req, res) => {
      const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/demo\.git\/?/, '');
      const file = path.join(bare, rel);
      if (rel.includes('..') || !existsSync(file) || !statSync(file).isFile()) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200);
      createReadStream(file).pipe(res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as { port: number }).port;
      const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repos.clean.dir, encoding: 'utf8' }).trim();
      const script = `git clone -q http://127.0.0.1:${port}/demo.git /tmp/c && git -C /tmp/c rev-parse HEAD; git ls-remote https://127.0.0.1:1/x.git`;
      // spawn, not spawnSync: the server answers from this process's event loop.
      const child = spawn('docker', ['run', '--rm', '--network', 'host', IMAGE, 'sh', '-c', script], {
        env: docker.env(),
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => {
        out += d;
      });
      child.stderr.on('data', (d) => {
        err += d;
      });
      await new Promise((r) => child.on('close', r));
      expect(out.trim(), err).toBe(head);
      // https: the transport is there and fails only on the connection (nothing listens on port 1).
      expect(err).toMatch(/unable to access 'https:\/\/127\.0\.0\.1:1\/x\.git\/'.*(Couldn't|Failed to) connect/);
      expect(err).not.toMatch(/not a git command|remote helper/);
    } finally {
      server.close();
    }
  }, 120_000);
});
