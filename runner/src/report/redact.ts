/**
 * How a secret is shown when redaction is on (the default everywhere): enough to recognise it, never enough
 * to use it. Short secrets show nothing at all.
 */
export function redactSecret(secret: string): string {
  if (secret.length < 12) return '*'.repeat(Math.min(secret.length, 8)) || '****';
  return `${secret.slice(0, 4)}${'*'.repeat(8)}${secret.slice(-2)}`;
}

/** Replaces every occurrence of `secret` inside `text` (e.g. the full regex match) with its redacted form. */
export function redactIn(text: string, secret: string): string {
  if (!secret) return text;
  return text.split(secret).join(redactSecret(secret));
}
