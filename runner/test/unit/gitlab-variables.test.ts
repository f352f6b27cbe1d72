/** GitLab Secret Detection variables -> scan settings: excluded paths, historic scan, and the parsed (never passed
 * through) git log options, with everything that could write files, run programs or read other things refused. */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { excludedPaths, gitlabScanVariables, parseLogOptions } from '../../src/scan/gitlab-variables.js';

describe('SECRET_DETECTION_EXCLUDED_PATHS', () => {
  it('globs stay globs; a plain path also excludes what is under it', () => {
    expect(excludedPaths(' doc, spec/**/*.rb ,vendor/, ./build ,,')).toEqual([
      'doc',
      'doc/**',
      'spec/**/*.rb',
      'vendor',
      'vendor/**',
      'build',
      'build/**',
    ]);
    expect(excludedPaths('')).toEqual([]);
  });
});

describe('SECRET_DETECTION_LOG_OPTIONS', () => {
  it('accepts a range, --all, dates and counts, in the forms git knows', () => {
    expect(parseLogOptions('origin/main..HEAD')).toEqual({ range: 'origin/main..HEAD', limits: [] });
    expect(parseLogOptions('--all --since="2 weeks ago" -n 100')).toEqual({
      range: '--all',
      limits: ['--since=2 weeks ago', '--max-count=100'],
    });
    expect(parseLogOptions("--after '2024-01-01' --before=2024-06-30 --max-count=5 v1.0...HEAD~3")).toEqual({
      range: 'v1.0...HEAD~3',
      limits: ['--since=2024-01-01', '--until=2024-06-30', '--max-count=5'],
    });
    expect(parseLogOptions('-n20').limits).toEqual(['--max-count=20']);
    expect(parseLogOptions('-7').limits).toEqual(['--max-count=7']);
  });

  it.each([
    ['--output=/tmp/x', /"--output=\/tmp\/x" is not supported/],
    ['--ext-diff HEAD', /"--ext-diff" is not supported/],
    ['--textconv', /not supported/],
    ['-c core.pager=sh', /"-c" is not supported/],
    ['--since=$(id)', /--since "\$\(id\)" is not a date/],
    ['-n ten', /-n "ten" is not a count/],
    ['main..HEAD other..HEAD', /one revision range at most/],
    ['--since', /--since needs a value/],
    ["--since='2024", /unbalanced quote/],
    ['HEAD;rm', /"HEAD;rm" is not supported/],
  ])('refuses %s (exit 2, naming the variable)', (value, message) => {
    let err: unknown;
    try {
      parseLogOptions(value);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(/^SECRET_DETECTION_LOG_OPTIONS: /);
    expect((err as Error).message).toMatch(message);
  });
});

describe('gitlabScanVariables', () => {
  it('log options or a historic scan make a history scan; nothing set changes nothing', () => {
    expect(gitlabScanVariables({})).toEqual({ exclude: [] });
    expect(gitlabScanVariables({ SECRET_DETECTION_HISTORIC_SCAN: 'true' }).history).toEqual({
      range: 'HEAD',
      limits: [],
    });
    expect(gitlabScanVariables({ SECRET_DETECTION_HISTORIC_SCAN: 'false' }).history).toBeUndefined();
    expect(
      gitlabScanVariables({ SECRET_DETECTION_HISTORIC_SCAN: '1', SECRET_DETECTION_LOG_OPTIONS: '--all' }).history,
    ).toEqual({ range: '--all', limits: [] });
    expect(gitlabScanVariables({ SECRET_DETECTION_EXCLUDED_PATHS: 'tests' }).exclude).toEqual(['tests', 'tests/**']);
  });
});
