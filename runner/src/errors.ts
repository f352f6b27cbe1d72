/**
 * Exit codes and the error types that map onto them. Every command throws one of these;
 * cli/main.ts is the only place that turns them into a message and an exit code.
 */
export const ExitCode = {
  ok: 0,
  findings: 1,
  usage: 2,
  runtime: 3,
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** A problem with what the user asked for: flags, config files, references. Exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** What a plugin did wrong: trap, timeout, memory cap, bad output. Exit 3. */
export type PluginFaultKind =
  | 'invalid-wasm'
  | 'missing-export'
  | 'trap'
  | 'plugin-error'
  | 'timeout'
  | 'memory-limit'
  | 'output-limit'
  | 'host-error'
  | 'exited';

export class PluginError extends Error {
  override name = 'PluginError';
  constructor(
    readonly kind: PluginFaultKind,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** Anything else the runner could not do (network, disk, registry). Exit 3. */
export class RuntimeError extends Error {
  override name = 'RuntimeError';
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

export function exitCodeFor(err: unknown): ExitCodeValue {
  if (err instanceof UsageError) return ExitCode.usage;
  return ExitCode.runtime;
}
