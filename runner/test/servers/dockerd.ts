/**
 * A private Docker engine for tests: Debian's `dockerd` (docker.io, scripts/apt-packages-test.txt) with its own data
 * root, exec root and unix socket in a temp dir, the vfs storage driver (works on any filesystem, no overlay mounts
 * needed) and no bridge or iptables rules, so it changes nothing on the host's network: containers get `--network
 * none`/`host` and a default network with only loopback. Stopped (and its storage removed) by the test.
 * Absent engine = a failing test with the install command, never a skip.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../helpers/cli.js';

export const DOCKERD_BIN = '/usr/sbin/dockerd';

export class Dockerd {
  private constructor(
    readonly dir: string,
    readonly socket: string,
    private readonly child: ChildProcess,
  ) {}

  /** DOCKER_HOST for the docker CLI; also the variables a `docker` command line needs. */
  get host(): string {
    return `unix://${this.socket}`;
  }

  static async start(opts: { socketGroup?: number } = {}): Promise<Dockerd> {
    if (!existsSync(DOCKERD_BIN))
      throw new Error(`${DOCKERD_BIN} is missing: apt-get install -y docker.io (scripts/apt-packages-test.txt)`);
    const dir = tempDir('wasmci-dockerd-');
    chmodSync(dir, 0o711); // the socket's group (a non-root test user) must reach it
    const socket = path.join(dir, 'docker.sock');
    const log = openSync(path.join(dir, 'dockerd.log'), 'a');
    const child = spawn(
      DOCKERD_BIN,
      [
        '--storage-driver',
        'vfs',
        '--data-root',
        path.join(dir, 'data'),
        '--exec-root',
        path.join(dir, 'exec'),
        '--pidfile',
        path.join(dir, 'dockerd.pid'),
        '--host',
        `unix://${socket}`,
        '--group',
        String(opts.socketGroup ?? 0),
        '--bridge',
        'none',
        '--iptables=false',
        '--ip6tables=false',
        '--userland-proxy=false',
      ],
      { stdio: ['ignore', log, log] },
    );
    const d = new Dockerd(dir, socket, child);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) break;
      if (spawnSync('docker', ['version'], { env: d.env(), encoding: 'utf8' }).status === 0) return d;
      await new Promise((r) => setTimeout(r, 300));
    }
    const tail = readFileSync(path.join(dir, 'dockerd.log'), 'utf8').split('\n').slice(-15).join('\n');
    await d.stop();
    throw new Error(`dockerd did not start within 60 s (exit ${child.exitCode}):\n${tail}`);
  }

  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return { ...process.env, DOCKER_HOST: this.host, DOCKER_CONFIG: path.join(this.dir, 'client'), ...extra };
  }

  /** `docker ARGS` against this engine; throws with the output on a non-zero exit. */
  docker(args: string[], timeoutMs = 120_000): string {
    const r = spawnSync('docker', args, { env: this.env(), encoding: 'utf8', timeout: timeoutMs });
    if (r.status !== 0) throw new Error(`docker ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
    // dockerd leaves its network namespace bind mount (exec/netns/default) behind: unmount what lies under dir.
    const mounts = readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[1] ?? '')
      .filter((m) => m.startsWith(`${this.dir}/`))
      .reverse();
    for (const m of mounts) spawnSync('umount', ['-l', m]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
