/**
 * The wasmci command line. Each command lives in its own module and registers itself here; this file alone
 * turns errors into messages and exit codes (see errors.ts), so a plugin fault never ends in a stack trace.
 * Every error line goes through printable() (log.ts) whole: a message may quote a plugin (its error_set text,
 * export names) or the tree (a .wasmciignore line, a .wasmci.yml value), and ours are one line of plain text
 * each, which printable() leaves as they are.
 */
import { Command, CommanderError } from 'commander';
import { ExitCode, exitCodeFor, PluginError, RuntimeError, UsageError } from '../errors.js';
import { maskSecrets, printable, printableLines } from '../log.js';
import { VERSION } from '../version.js';
import { guardStdio } from './io.js';
import { register as registerCall } from './call.js';
import { register as registerHook } from './hook.js';
import { register as registerInspect } from './inspect.js';
import { register as registerPublish } from './publish.js';
import { register as registerPull } from './pull.js';
import { register as registerIgnore } from './ignore.js';
import { register as registerMergeReports } from './merge-reports.js';
import { register as registerRun } from './run.js';
import { register as registerScan } from './scan.js';

const COMMANDS: ((program: Command) => void)[] = [
  registerCall,
  registerPull,
  registerPublish,
  registerInspect,
  registerScan,
  registerMergeReports,
  registerIgnore,
  registerRun,
  registerHook,
];

export function buildProgram(): Command {
  const program = new Command()
    .name('wasmci')
    .description('Run sandboxed WebAssembly plugins as CI pipeline steps')
    .version(VERSION, '-V, --version')
    .showHelpAfterError()
    // Program options only before the command, so a command may have its own --version (publish --version V).
    .enablePositionalOptions()
    // commander's own errors quote arguments, which `wasmci run` builds from the tree's .wasmci.yml.
    .configureOutput({ outputError: (text, write) => write(printableLines(text)) })
    .exitOverride();
  for (const register of COMMANDS) register(program);
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

function report(err: unknown): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help')
      return ExitCode.ok;
    return ExitCode.usage; // commander already printed the message
  }
  if (err instanceof UsageError || err instanceof PluginError || err instanceof RuntimeError) {
    const label = err instanceof PluginError ? `plugin error (${err.kind})` : 'error';
    process.stderr.write(`wasmci: ${label}: ${printable(maskSecrets(err.message))}\n`);
    if (err.hint) process.stderr.write(`wasmci: hint: ${printable(maskSecrets(err.hint))}\n`);
    return exitCodeFor(err);
  }
  // An error wasmci did not foresee: its message, one line, and no stack trace unless asked for (WASMCI_DEBUG=1):
  // a CI log is read by people who need the cause and the fix, not the call chain.
  const e = err as NodeJS.ErrnoException;
  const text = process.env.WASMCI_DEBUG ? (e?.stack ?? String(err)) : (e?.message ?? String(err));
  process.stderr.write(`wasmci: internal error: ${printableLines(maskSecrets(text))}\n`);
  if (!process.env.WASMCI_DEBUG)
    process.stderr.write('wasmci: hint: this is a bug in wasmci; rerun with WASMCI_DEBUG=1 and report the output\n');
  return ExitCode.runtime;
}

/** process.cwd() throws ENOENT when the working directory was removed (a CI cleanup, a shell left in a deleted dir). */
function checkCwd(): void {
  try {
    process.cwd();
  } catch (err) {
    throw new UsageError(
      `the working directory no longer exists (${(err as NodeJS.ErrnoException).code ?? 'removed'})`,
      'cd into an existing directory (e.g. the project checkout) and run the command again',
    );
  }
}

export async function main(argv: string[] = process.argv): Promise<number> {
  guardStdio();
  try {
    // --version and --help need no directory; every command does (paths resolve against it).
    if (!argv.slice(2).every((a) => ['-V', '--version', '-h', '--help'].includes(a))) checkCwd();
    const program = buildProgram();
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok;
  } catch (err) {
    return report(err);
  }
}
