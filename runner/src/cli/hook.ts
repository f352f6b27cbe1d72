/**
 * `wasmci hook ...`: stop secrets before they land. `install|uninstall pre-commit|pre-push` manage the client
 * hooks (hooks/install.ts); `pre-commit` and `pre-push` are what those hooks run; `pre-receive` is the server-side
 * gate for a bare repository. Every hook exits 0 (let git go on), 1 (refused) or 2/3 (misuse, cannot scan), and
 * everything it says goes to stderr, which git shows the committer (and relays to the pusher as "remote:").
 */
import { type Command, Option } from 'commander';
import { FAIL_ON, type FailOn } from '../core/model.js';
import { RuntimeError, UsageError } from '../errors.js';
import { createLogger, type LogLevel, printable } from '../log.js';
import {
  type HookName,
  hookScan,
  localPlugin,
  type OnTimeout,
  refusal,
  skippedNote,
  withinBudget,
} from '../hooks/gate.js';
import { CLIENT_HOOKS, type ClientHook, cliCommand, hookScript, installHook, uninstallHook } from '../hooks/install.js';
import {
  isZero,
  parsePushLines,
  parseReceiveLines,
  prePushRange,
  receiveRange,
  SKIP_OPTION,
  skipDecision,
} from '../hooks/refs.js';
import { git, hasCommit, hooksDir, requireRepo, serverRepo } from '../scan/git.js';
import { scanExitCode } from '../scan/index.js';
import { writeStdout } from './io.js';

interface GateFlags {
  plugin?: string;
  failOn?: FailOn;
  logLevel?: string;
}

const say = (line: string) => process.stderr.write(`${line}\n`);

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return '';
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function checkHookName(name: string): ClientHook {
  if (!(CLIENT_HOOKS as readonly string[]).includes(name)) {
    throw new UsageError(
      `unknown hook "${printable(name)}"`,
      `use one of: ${CLIENT_HOOKS.join(', ')} (the server-side pre-receive hook is a script that runs \`wasmci hook pre-receive\`: see the README)`,
    );
  }
  return name as ClientHook;
}

function gateOptions(cmd: Command): Command {
  return cmd
    .option('--plugin <file>', 'scan plugin file (default: the bundled secrets plugin); never downloaded')
    .addOption(
      new Option('--fail-on <severity>', 'refuse on findings at or above this severity (default: low)').choices([
        ...FAIL_ON,
      ]),
    )
    .addOption(
      new Option('--log-level <level>', 'messages on stderr').choices(['error', 'warn', 'info', 'debug', 'trace']),
    );
}

/** The hook's scan and its verdict: the exit code, with the refusal said on stderr. */
async function gate(hook: HookName, root: string, target: Parameters<typeof hookScan>[1], flags: GateFlags) {
  const log = createLogger((flags.logLevel ?? 'warn') as LogLevel);
  const result = await hookScan(root, target, { ...flags, log, env: process.env, cwd: process.cwd() });
  const why = refusal(result, hook, process.env);
  // GitLab shows a server hook's lines that start with GL-HOOK-ERR: in its web UI (commits made there, merges)
  if (why && hook === 'pre-receive' && process.env.GL_ID) say(`GL-HOOK-ERR: ${why.split('\n')[0]}`);
  if (why) process.stderr.write(why);
  const skipped = skippedNote(result);
  if (skipped) say(skipped);
  return scanExitCode(result);
}

function registerInstall(hook: Command): void {
  hook
    .command('install')
    .description('install a git hook that scans for secrets (chains a hook that is already there)')
    .argument('<hook>', `${CLIENT_HOOKS.join(' or ')}`)
    .option('--force', 'overwrite a stale <hook>.wasmci-chained left by an earlier install')
    .option('--plugin <file>', 'scan plugin file the hook uses (default: the bundled secrets plugin)')
    .action(async (name: string, flags: { force?: boolean; plugin?: string }) => {
      const which = checkHookName(name);
      const repo = requireRepo(process.cwd(), 'wasmci hook install');
      const dir = hooksDir(repo);
      const cmd = cliCommand(process.execPath, process.argv[1]);
      const extra = flags.plugin ? ['--plugin', localPlugin(flags.plugin, process.cwd())] : [];
      const r = installHook(dir, which, hookScript(which, cmd, extra), !!flags.force);
      const lines = [
        `wasmci: ${r.action} the ${which} hook: ${printable(r.file)}`,
        `  it runs: ${cmd.argv.map(printable).join(' ')} hook ${which}`,
        ...(r.chained
          ? [`  it first runs the hook that was there (now ${printable(r.chained)}); its failure stops git too`]
          : []),
        `  bypass once: git ${which === 'pre-commit' ? 'commit' : 'push'} --no-verify`,
        '  allow a reviewed line: put wasmci:allow in a comment on it',
      ];
      await writeStdout(`${lines.join('\n')}\n`);
    });
  hook
    .command('uninstall')
    .description('remove the git hook wasmci installed, restoring the hook it chained')
    .argument('<hook>', `${CLIENT_HOOKS.join(' or ')}`)
    .action(async (name: string) => {
      const which = checkHookName(name);
      const repo = requireRepo(process.cwd(), 'wasmci hook uninstall');
      const r = uninstallHook(hooksDir(repo), which);
      const msg = r.restored
        ? `wasmci: ${r.removed ? 'removed the wasmci hook; ' : ''}restored the chained hook as ${printable(r.file)}`
        : r.removed
          ? `wasmci: removed the ${which} hook ${printable(r.file)}`
          : `wasmci: no ${which} hook installed in ${printable(r.file)}: nothing to do`;
      await writeStdout(`${msg}\n`);
    });
}

function registerClientGates(hook: Command): void {
  gateOptions(
    hook
      .command('pre-commit')
      .description('what the pre-commit hook runs: refuse a commit whose staged changes add a secret'),
  ).action(async (flags: GateFlags) => {
    const repo = requireRepo(process.cwd(), 'wasmci hook pre-commit');
    process.exitCode = await gate('pre-commit', repo.top, { staged: true }, flags);
  });
  gateOptions(
    hook
      .command('pre-push')
      .description('what the pre-push hook runs: refuse a push whose commits add a secret (ref lines on stdin)')
      .argument('[remote]', 'the remote (git passes its name)')
      .argument('[url]', 'its URL (git passes it)'),
  ).action(async (_remote: string | undefined, _url: string | undefined, flags: GateFlags) => {
    const repo = requireRepo(process.cwd(), 'wasmci hook pre-push');
    const updates = parsePushLines(await readStdin());
    const range = prePushRange(updates, (oid) => hasCommit(repo, oid));
    if (!range.tips.length) return; // deletions only
    process.exitCode = await gate('pre-push', repo.top, { push: range }, flags);
  });
}

function registerPreReceive(hook: Command): void {
  gateOptions(
    hook
      .command('pre-receive')
      .description(
        "server-side push protection: run from a bare repository's hooks/pre-receive; refuses a push whose commits add a secret",
      )
      .option('--timeout <seconds>', 'time budget of the scan', '20')
      .addOption(
        new Option('--on-timeout <what>', 'past the budget: accept the push unscanned (open) or refuse it (closed)')
          .choices(['open', 'closed'])
          .default('closed'),
      ),
  ).action(async (flags: GateFlags & { timeout: string; onTimeout: OnTimeout }) => {
    const started = Date.now(); // the budget counts from here: git waits for all of it
    const seconds = Number(flags.timeout);
    if (!Number.isFinite(seconds) || seconds <= 0) {
      throw new UsageError(`--timeout must be a positive number of seconds, got "${printable(flags.timeout)}"`);
    }
    const repo = serverRepo(process.env, process.cwd());
    const updates = parseReceiveLines(await readStdin());
    const skip = skipDecision(process.env);
    if (skip === 'skip') {
      say(`wasmci: scan skipped by push option ${SKIP_OPTION} (this server allows it: WASMCI_ALLOW_SKIP=1)`);
      return;
    }
    if (skip === 'refused') {
      say(`wasmci: push option ${SKIP_OPTION} is not allowed on this server: scanning`);
    }
    const range = receiveRange(updates);
    for (const t of range.tips) {
      // the pushed objects wait in the quarantine directory git names in the environment: one git cannot see
      // would otherwise be skipped as "no commit", and the push accepted unscanned
      if (!git(repo, ['cat-file', '-e', t]).ok) {
        throw new RuntimeError(
          `the pushed object ${t} is not visible to git`,
          'run wasmci from hooks/pre-receive without clearing the environment git sets (GIT_QUARANTINE_PATH, GIT_OBJECT_DIRECTORY, GIT_ALTERNATE_OBJECT_DIRECTORIES)',
        );
      }
    }
    // a tag may name a tree or a blob: it brings no commit, and git log could not read it as one
    range.tips = range.tips.filter((t) => hasCommit(repo, t));
    if (!range.tips.length) return;
    const deleted = updates.filter((u) => isZero(u.new)).length;
    if (deleted && flags.logLevel) say(`wasmci: ${deleted} ref deletion(s): nothing to scan for them`);
    process.exitCode = await withinBudget(
      gate('pre-receive', repo.gitDir, { push: range }, flags),
      seconds * 1000,
      seconds * 1000 - (Date.now() - started),
      flags.onTimeout,
      say,
    );
  });
}

export function register(program: Command): void {
  const hook = program
    .command('hook')
    .description(
      'git hooks that stop secrets before they land: install client hooks, or run one (pre-receive on a server)',
    );
  registerInstall(hook);
  registerClientGates(hook);
  registerPreReceive(hook);
  for (const c of hook.commands) c.exitOverride();
}
