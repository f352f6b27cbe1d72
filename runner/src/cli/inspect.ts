/**
 * `wasmci inspect <plugin>`: what a plugin is before anyone runs it on their code — sha256, size, origin,
 * imports and exports, and its own `describe` answer (called in the sandbox, with no grants). Names and the
 * answer are the plugin's words: printed through printable() / logJson() (log.ts), never raw.
 */
import { type Command, Option } from 'commander';
import { createLogger, LOG_LEVELS, type LogLevel, logJson, printable } from '../log.js';
import { compilePlugin, SandboxedPlugin } from '../plugin/host.js';
import { policy } from '../plugin/policy.js';
import { writeStdout } from './io.js';
import { addSourceOptions, loadPlugin, type SourceFlags } from './source-options.js';

interface InspectFlags extends SourceFlags {
  json?: boolean;
  logLevel?: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('inspect')
    .description("show a plugin's sha256, size, origin, imports, exports and describe() answer")
    .argument('<plugin>', 'plugin reference: file, https://, gitlab:, npm: or oci://')
    .option('--json', 'print JSON')
    .addOption(new Option('--log-level <level>', 'log level').choices([...LOG_LEVELS]).default('warn'));
  addSourceOptions(cmd);
  cmd.action(async (ref: string, flags: InspectFlags) => {
    const log = createLogger((flags.logLevel ?? 'warn') as LogLevel);
    const resolved = await loadPlugin(ref, flags, log);
    const sandbox = policy({ timeoutMs: 10_000 });
    const compiled = await compilePlugin(resolved.bytes, sandbox);
    const functions = compiled.info.exports.filter((e) => e.kind === 0).map((e) => e.name);
    let describe: unknown;
    if (functions.includes('describe')) {
      const plugin = await SandboxedPlugin.start(compiled, sandbox, log, ref);
      try {
        const text = new TextDecoder().decode(await plugin.call('describe'));
        try {
          describe = JSON.parse(text);
        } catch {
          describe = text;
        }
      } catch (err) {
        describe = { error: (err as Error).message };
      } finally {
        await plugin.close();
      }
    }
    const info = {
      ref,
      origin: resolved.origin,
      sha256: resolved.sha256,
      size: resolved.size,
      cached: resolved.cached,
      exports: functions,
      imports: compiled.info.imports.map((i) => `${i.module}.${i.name}`),
      wasi: compiled.info.importsWasi,
      describe,
    };
    if (flags.json) return writeStdout(`${logJson(info, 2)}\n`);
    const list = (names: string[]) => names.map(printable).join(', ') || '(none)';
    const lines = [
      `plugin   ${printable(ref)}`,
      `origin   ${printable(info.origin)}`,
      `sha256   ${info.sha256}`,
      `size     ${info.size} bytes`,
      `wasi     ${info.wasi ? 'yes' : 'no'}`,
      `exports  ${list(functions)}`,
      `imports  ${list(info.imports)}`,
    ];
    const verifyHosts = (describe as { verify_hosts?: unknown } | undefined)?.verify_hosts;
    if (Array.isArray(verifyHosts) && verifyHosts.length) {
      // The grant `scan --verify` gives this plugin's verify export, and nothing else.
      lines.push(
        `verify   ${verifyHosts.length} host(s), reached only with scan --verify: ${list(verifyHosts.map(String))}`,
      );
    }
    if (describe !== undefined) lines.push(`describe ${logJson(describe, 2).replace(/\n/g, '\n         ')}`);
    await writeStdout(`${lines.join('\n')}\n`);
  });
}
