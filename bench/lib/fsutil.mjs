import { lstatSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** Regular files under `root` (no symlinks followed), as {rel, abs, size}, in a stable order. */
export function walk(root) {
  const out = [];
  const visit = (dir) => {
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      const abs = path.join(dir, e.name);
      if (e.isDirectory()) visit(abs);
      else if (e.isFile()) out.push({ rel: path.relative(root, abs), abs, size: lstatSync(abs).size });
    }
  };
  visit(root);
  return out;
}

export function totalBytes(root) {
  return walk(root).reduce((n, f) => n + f.size, 0);
}

export const MB = 1e6;
