/** Real git repositories for tests: created in a temp dir, with fixed identities and no user config leaking in. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from './cli.js';

const ENV = {
  ...process.env,
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_TERMINAL_PROMPT: '0',
};

export interface Author {
  name: string;
  email: string;
  /** ISO date, e.g. 2024-05-01T10:00:00Z */
  date: string;
}

export const ALICE: Author = { name: 'Alice Example', email: 'alice@example.test', date: '2024-05-01T10:00:00Z' };

export class GitRepo {
  constructor(readonly dir: string) {}

  static init(dir = tempDir('wasmci-git-')): GitRepo {
    const r = new GitRepo(dir);
    r.git('init', '-q', '-b', 'main');
    return r;
  }

  git(...args: string[]): string {
    return execFileSync('git', ['-c', 'commit.gpgsign=false', ...args], { cwd: this.dir, env: ENV, encoding: 'utf8' });
  }

  write(rel: string, content: string | Buffer): this {
    const file = path.join(this.dir, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
    return this;
  }

  /** `git mv`, creating the destination's directory first. */
  mv(from: string, to: string): this {
    mkdirSync(path.dirname(path.join(this.dir, to)), { recursive: true });
    this.git('mv', from, to);
    return this;
  }

  /** Stages everything and commits; returns the new commit's sha. */
  commit(message: string, author: Author = ALICE): string {
    this.git('add', '-A');
    execFileSync('git', ['-c', 'commit.gpgsign=false', 'commit', '-q', '--allow-empty', '-m', message], {
      cwd: this.dir,
      env: {
        ...ENV,
        GIT_AUTHOR_NAME: author.name,
        GIT_AUTHOR_EMAIL: author.email,
        GIT_AUTHOR_DATE: author.date,
        GIT_COMMITTER_NAME: author.name,
        GIT_COMMITTER_EMAIL: author.email,
        GIT_COMMITTER_DATE: author.date,
      },
    });
    return this.head();
  }

  head(): string {
    return this.git('rev-parse', 'HEAD').trim();
  }

  /** A shallow clone (file:// so --depth is honoured) of this repository. */
  shallowClone(depth: number, dir = tempDir('wasmci-shallow-')): GitRepo {
    execFileSync('git', ['clone', '-q', '--depth', String(depth), `file://${this.dir}`, dir], { env: ENV });
    return new GitRepo(dir);
  }
}
