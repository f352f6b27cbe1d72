// Runs a command under GNU time for its peak RSS (the largest process of the tree it waited for) and times it
// with the monotonic clock. Output goes to files the contender's parser reads.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

export const GNU_TIME = '/usr/bin/time';

/**
 * @param {{cmd: string, args: string[], cwd?: string, env?: object, okCodes?: number[], stdoutFile?: string}} spec
 * @returns {Promise<{wallMs: number, rssKB: number, code: number, stderr: string}>}
 */
export function measure(spec, workDir) {
  const timeFile = path.join(workDir, `time-${process.pid}-${Date.now()}.txt`);
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(GNU_TIME, ['-f', '%M', '-o', timeFile, spec.cmd, ...spec.args], {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr = (stderr + d).slice(-4000);
    });
    const chunks = [];
    child.stdout.on('data', (d) => spec.stdoutFile && chunks.push(d));
    child.on('error', reject);
    child.on('close', async (code) => {
      const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
      let rssKB = Number.NaN;
      if (existsSync(timeFile)) {
        const last = readFileSync(timeFile, 'utf8').trim().split('\n').pop();
        rssKB = Number(last);
        rmSync(timeFile, { force: true });
      }
      if (spec.stdoutFile) {
        const { writeFileSync } = await import('node:fs');
        writeFileSync(spec.stdoutFile, Buffer.concat(chunks));
      }
      const ok = spec.okCodes ?? [0];
      if (!ok.includes(code)) {
        reject(new Error(`${path.basename(spec.cmd)} ${spec.args.join(' ')} exited ${code}: ${stderr.trim()}`));
        return;
      }
      resolve({ wallMs, rssKB, code, stderr });
    });
  });
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
