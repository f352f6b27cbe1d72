/** Process-level I/O helpers for commands: stdin, stdout with back-pressure. */
export async function readStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export function writeStdout(data: Uint8Array | string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (data.length === 0) return resolve();
    process.stdout.write(data, (err) => (err ? reject(err) : resolve()));
  });
}
