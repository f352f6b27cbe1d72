/**
 * `wasmci call <plugin> <function>`: run one export with raw input, print raw output.
 * Parity with the Extism CLI and minism, plus limits that are always on.
 */
import { readFile } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import { UsageError } from '../errors.js';
import { createLogger, type LogLevel } from '../log.js';
import { compilePlugin, SandboxedPlugin } from '../plugin/host.js';
import { policyFrom } from '../plugin/policy.js';
import { readStdin, writeStdout } from './io.js';
import { addSandboxOptions, grantsFromFlags, type SandboxFlags } from './sandbox-options.js';
import { addSourceOptions, loadPlugin, type SourceFlags } from './source-options.js';

const CALL_TIMEOUT_MS = 60_000;

interface CallFlags extends SandboxFlags, SourceFlags {
  input?: string;
  inputFile?: string;
  stdin?: boolean;
}

async function readInput(flags: CallFlags): Promise<Uint8Array> {
  const given = [flags.input !== undefined, flags.inputFile !== undefined, !!flags.stdin].filter(Boolean).length;
  if (given > 1) throw new UsageError('give the input one way: --input, --input-file or --stdin');
  if (flags.input !== undefined) return new TextEncoder().encode(flags.input);
  if (flags.inputFile !== undefined) {
    try {
      return await readFile(flags.inputFile);
    } catch (err) {
      throw new UsageError(`--input-file ${flags.inputFile} cannot be read (${(err as NodeJS.ErrnoException).code})`);
    }
  }
  if (flags.stdin) return readStdin();
  return new Uint8Array(0);
}

export function register(program: Command): void {
  const cmd = program
    .command('call')
    .description('call one function of a plugin with raw input; the output goes to stdout as is')
    .argument('<plugin>', 'plugin reference: a .wasm path or https:// URL')
    .argument('<function>', 'exported function to call')
    .option('--input <text>', 'input text')
    .option('--input-file <file>', 'read the input from a file')
    .addOption(new Option('--stdin', 'read the input from standard input'));
  addSourceOptions(cmd);
  addSandboxOptions(cmd, { timeoutMs: CALL_TIMEOUT_MS });
  cmd.action(async (ref: string, fn: string, flags: CallFlags) => {
    const log = createLogger((flags.logLevel ?? 'warn') as LogLevel);
    const policy = policyFrom(grantsFromFlags(flags), {
      cwd: process.cwd(),
      env: process.env,
      timeoutMs: CALL_TIMEOUT_MS,
    });
    const input = await readInput(flags);
    const resolved = await loadPlugin(ref, flags, log);
    const compiled = await compilePlugin(resolved.bytes, policy);
    const plugin = await SandboxedPlugin.start(compiled, policy, log, ref);
    try {
      const out = await plugin.call(fn, input);
      await writeStdout(out);
    } finally {
      await plugin.close();
    }
  });
}
