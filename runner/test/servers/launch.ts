/** Starting real third-party servers for tests: a free loopback port, a child process, a readiness probe. */
import { type ChildProcess, spawn } from 'node:child_process';
import net, { type AddressInfo } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export interface Launched {
  child: ChildProcess;
  output: () => string;
  stop(): Promise<void>;
}

/** Spawns `cmd` and polls `ready` until it resolves true, failing with the child's output after `timeoutMs`. */
export async function launch(
  cmd: string,
  args: string[],
  ready: () => Promise<boolean>,
  timeoutMs = 30_000,
  cwd?: string,
): Promise<Launched> {
  const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (c) => (out += c));
  child.stderr?.on('data', (c) => (out += c));
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 3000).unref();
    });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${cmd} exited with ${child.exitCode}:\n${out}`);
    if (await ready().catch(() => false)) return { child, output: () => out, stop };
    await new Promise((r) => setTimeout(r, 150));
  }
  await stop();
  throw new Error(`${cmd} was not ready within ${timeoutMs} ms:\n${out}`);
}

export async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url);
  return res.status < 500;
}
