/**
 * Process-level I/O helpers for commands: stdin, stdout with back-pressure, and a closed pipe. When the reader of
 * stdout goes away (`wasmci scan --format json | head -1`), the rest of stdout is dropped without a word, as
 * ripgrep and git do, and the command goes on: its reports are still written and it exits with its own code (a
 * scan with findings still exits 1). Without this, Node throws EPIPE from the socket as an unhandled 'error'
 * event: a stack trace in the middle of a CI log.
 */
let stdoutClosed = false;
let guarded = false;

const isClosedPipe = (err: unknown) => {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED';
};

/** Installs the closed-pipe handling on stdout and stderr; idempotent. */
export function guardStdio(): void {
  if (guarded) return;
  guarded = true;
  process.stdout.on('error', (err) => {
    if (isClosedPipe(err)) stdoutClosed = true;
  });
  // stderr closed too (`2>&1 | head`): nothing can be said about it, so nothing is.
  process.stderr.on('error', () => {});
}

/** Whether the reader of stdout has gone away. */
export function stdoutGone(): boolean {
  return stdoutClosed;
}

export async function readStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export function writeStdout(data: Uint8Array | string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (data.length === 0 || stdoutClosed) return resolve();
    process.stdout.write(data, (err) => {
      if (!err) return resolve();
      if (isClosedPipe(err)) {
        stdoutClosed = true;
        return resolve();
      }
      reject(err);
    });
  });
}
