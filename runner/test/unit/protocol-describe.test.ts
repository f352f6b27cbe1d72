// parseDescribe's rule links (core/protocol.ts): reports make `docs` a clickable URL, so only an https:// link
// without spaces or control characters passes; anything else is the plugin's protocol error.
import { describe, expect, it } from 'vitest';
import { parseDescribe, ProtocolError } from '../../src/core/protocol.js';

const answer = (docs: string) =>
  new TextEncoder().encode(JSON.stringify({ name: 'p', rules: [{ id: 'r', severity: 'high', docs }] }));

describe('describe: rule docs links', () => {
  it('keeps https links, non-ASCII letters included', () => {
    for (const docs of ['https://docs.stripe.com/keys#rolling-keys', 'https://例え.jp/ключ?q=é', 'https://x.io/🔑']) {
      expect(parseDescribe(answer(docs)).rules[0]?.docs).toBe(docs);
    }
  });

  it('refuses spaces, C0/C1 controls and other schemes', () => {
    const bad = [
      'https://a.io/x y',
      'https://a.io/x\ty',
      'https://a.io/x\u00a0y',
      'https://a.io/x\u2028y',
      'https://a.io/\u0007',
      'https://a.io/\u001b[31m',
      'https://a.io/\u007f',
      'https://a.io/\u0085',
      'https://a.io/\u009b31m',
      'http://a.io/x',
      'javascript:alert(1)',
    ];
    for (const docs of bad) {
      expect(() => parseDescribe(answer(docs)), JSON.stringify(docs)).toThrow(ProtocolError);
      expect(() => parseDescribe(answer(docs))).toThrow(/docs must be an https:\/\/ URL without spaces/);
    }
  });
});
