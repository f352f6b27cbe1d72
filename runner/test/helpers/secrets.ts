/**
 * Fake credentials for tests, generated at random in the vendors' formats (checksums included, so a validating
 * scanner accepts them). Fresh per run: a test that finds one in any output knows it leaked from this run.
 */
import { randomInt } from 'node:crypto';
import zlib from 'node:zlib';

const B62 = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

function random(n: number, alphabet = B62): string {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[randomInt(alphabet.length)];
  return s;
}

function base62(n: number): string {
  let s = '';
  while (n > 0) {
    s = B62[n % 62] + s;
    n = Math.floor(n / 62);
  }
  return s.padStart(6, '0');
}

/** A GitHub classic token: ghp_ + 30 random + 6 base62 CRC32 checksum chars. */
export function fakeGithubToken(): string {
  const body = random(30);
  return `ghp_${body}${base62(zlib.crc32(Buffer.from(body)))}`;
}

/** A token the scanfix fixture plugin reports; `sev` picks its severity (C, H, M, L, or anything else for info). */
export function fakeFixtureToken(sev: 'C' | 'H' | 'M' | 'L' | 'I' = 'H'): string {
  return `FAKE_TOKEN_${sev}${random(15, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789')}`;
}
