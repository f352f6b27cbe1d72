/**
 * The checked-out tree is hostile input. Everything under it — files, `.wasmci.yml`, `.npmrc`, `.gitleaks.toml`,
 * `.wasmciignore`, `wasmci.lock`, caches kept there — may have been written by whoever opened the merge request.
 * Settings read from it may narrow a scan (visibly); they never widen grants, choose credentials, pick plugin bytes
 * or run code. This module only answers "is this path inside the checkout?", without running git (git discovery
 * inside a hostile tree is itself an attack surface), so every layer can ask it. It imports nothing of wasmci's.
 */
import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';

export interface Checkout {
  /** Real paths of the directories whose content is untrusted. */
  roots: string[];
}

/** The real path of `p`, or of its nearest existing ancestor joined with the rest (a file not written yet). */
export function realish(p: string): string {
  const abs = path.resolve(p);
  let head = abs;
  const rest: string[] = [];
  for (;;) {
    try {
      return path.join(realpathSync(head), ...rest.reverse());
    } catch {
      const up = path.dirname(head);
      if (up === head) return abs;
      rest.push(path.basename(head));
      head = up;
    }
  }
}

/**
 * The nearest directory at or above `dir` holding a `.git` entry: the work tree git would discover, found without
 * running git. scan/git.ts uses it too, to name the repository to git explicitly instead of letting git discover one.
 */
export function workTreeTop(dir: string): string | undefined {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    if (existsSync(path.join(d, '.git'))) return d;
    if (path.dirname(d) === d) return undefined;
  }
}

/**
 * The untrusted roots: the CI project directory (GitLab `CI_PROJECT_DIR`, GitHub `GITHUB_WORKSPACE`), the work tree
 * around the working directory, and each of `scanned` (the directories a command reads) with the work tree around
 * it: a scanned tree that is not a git checkout is just as hostile. A working directory outside any work tree (a
 * home directory, /tmp) is not a root: that is where `~/.npmrc` and `~/.cache/wasmci` live.
 */
export function findCheckout(env: NodeJS.ProcessEnv, cwd: string, scanned: string[] = []): Checkout {
  const roots = new Set<string>();
  for (const d of [env.CI_PROJECT_DIR, env.GITHUB_WORKSPACE, ...scanned]) if (d) roots.add(realish(d));
  for (const d of [cwd, ...scanned]) {
    const top = workTreeTop(d);
    if (top) roots.add(realish(top));
  }
  return { roots: [...roots] };
}

/** Whether `file` (resolved through symlinks as far as it exists) lies inside one of the checkout's roots. */
export function inCheckout(c: Checkout, file: string): boolean {
  const real = realish(file);
  return c.roots.some((r) => real === r || real.startsWith(r.endsWith(path.sep) ? r : r + path.sep));
}

/**
 * The directory a project's paths (in reports, in fingerprints) are relative to, for a scan of `root`: the CI
 * project directory (GitLab `CI_PROJECT_DIR`, GitHub `GITHUB_WORKSPACE`), else the top of the work tree around
 * `root`, else the working directory when `root` lies under it (a tree that is not a checkout has no better
 * anchor), else `root` itself.
 */
export function projectDir(root: string, env: NodeJS.ProcessEnv, cwd = process.cwd()): string {
  const ci = env.CI_PROJECT_DIR || env.GITHUB_WORKSPACE;
  if (ci) return path.resolve(ci);
  const top = workTreeTop(root);
  if (top) return top;
  const rel = path.relative(path.resolve(cwd), path.resolve(root));
  return rel.startsWith('..') || path.isAbsolute(rel) ? path.resolve(root) : path.resolve(cwd);
}

/** Where `root` lies inside its project, as a posix path: '' at the top, or when `root` is outside it. */
export function projectPrefix(root: string, env: NodeJS.ProcessEnv, cwd = process.cwd()): string {
  const rel = path.relative(realish(projectDir(root, env, cwd)), realish(root));
  if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) return '';
  return rel.split(path.sep).join('/');
}
