/**
 * Builds the AssemblyScript example plugin (examples/as-todo-plugin) from source with `asc`, once per test run:
 * into the run's build dir, under a temp name renamed into place, so test files building it at the same time
 * never see half a module.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import { inject } from 'vitest';
import { repoRoot } from './cli.js';

export const asPluginDir = path.join(repoRoot, 'examples/as-todo-plugin');

export function buildTodoPlugin(): string {
  const out = path.join(inject('buildDir'), 'as-todo', 'todo.wasm');
  if (existsSync(out)) return out;
  mkdirSync(path.dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  execFileSync(
    process.execPath,
    [path.join(repoRoot, 'node_modules/assemblyscript/bin/asc.js'), '--config', 'asconfig.json', '--outFile', tmp],
    { cwd: asPluginDir, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  renameSync(tmp, out);
  return out;
}
