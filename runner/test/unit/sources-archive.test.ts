/**
 * Decompression caps (sources/archive.ts, sources/transport.ts decodeBody), in process: bundles are streamed and
 * only the metadata and the one wasm are held; encoded bodies are decoded under a cap. The CLI-level bombs with
 * peak-RSS checks are in hostile-sources.test.ts.
 */
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { extractPlugin } from '../../src/sources/archive.js';
import { sha256Hex } from '../../src/sources/cache.js';
import { MiB } from '../../src/sources/limits.js';
import { decodeBody } from '../../src/sources/transport.js';

const WASM = Buffer.from([0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);

function header(name: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100);
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write('0', 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

/** A tar stream of whole entries (content, then padding to 512), with the two end blocks. */
function tarOf(files: [string, Buffer | string][]): Buffer {
  const parts: Buffer[] = [];
  for (const [name, data] of files) {
    const b = Buffer.from(data);
    parts.push(header(name, b.length), b, Buffer.alloc((512 - (b.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

describe('extractPlugin', () => {
  it('finds the wasm by wasmci-plugin.json, package.json or as the only one, under a shared root', async () => {
    const meta = JSON.stringify({ wasm: 'b.wasm', sha256: sha256Hex(WASM) });
    const a = await extractPlugin(
      gzipSync(
        tarOf([
          ['r/a.wasm', 'x'],
          ['r/wasmci-plugin.json', meta],
          ['r/b.wasm', WASM],
        ]),
      ),
      't',
    );
    expect(a.file).toBe('b.wasm');
    expect(Buffer.from(a.wasm)).toEqual(WASM);
    const pkg = JSON.stringify({ name: 'p', version: '1.0.0', wasmci: { plugin: 'dist/p.wasm' } });
    const b = await extractPlugin(
      gzipSync(
        tarOf([
          ['package/dist/p.wasm', WASM],
          ['package/package.json', pkg],
        ]),
      ),
      't',
    );
    expect(b.file).toBe('dist/p.wasm');
    expect(b.metadata).toEqual({ name: 'p', version: '1.0.0' });
    const c = await extractPlugin(
      gzipSync(
        tarOf([
          ['README', 'hi'],
          ['only.wasm', WASM],
        ]),
      ),
      't',
    );
    expect(c.file).toBe('only.wasm');
    await expect(
      extractPlugin(
        gzipSync(
          tarOf([
            ['a.wasm', WASM],
            ['b.wasm', WASM],
          ]),
        ),
        't',
      ),
    ).rejects.toThrow(/holds 2 \.wasm files/);
  });

  it('refuses an over-cap wasm entry from its header, before holding any of it', async () => {
    // 320 MiB of zeros as 20 gzip members of 16 MiB: pass 1 skips it as it streams, pass 2 refuses it at its header.
    const zeros = gzipSync(Buffer.alloc(16 * MiB));
    const bomb = Buffer.concat([
      gzipSync(header('x.wasm', 320 * MiB)),
      ...Array(20).fill(zeros),
      gzipSync(Buffer.alloc(1024)),
    ]);
    await expect(extractPlugin(bomb, 'bomb')).rejects.toThrow(/bomb: x\.wasm is 335544320 bytes, over the 256 MiB cap/);
    const meta = gzipSync(header('wasmci-plugin.json', 2 * MiB));
    await expect(extractPlugin(meta, 'meta')).rejects.toThrow(
      /wasmci-plugin\.json is 2097152 bytes, over the 1 MiB cap/,
    );
  });

  it('refuses a stream inflating past 512 MiB, holding none of it', async () => {
    const zeros = gzipSync(Buffer.alloc(16 * MiB));
    const filler = Buffer.concat([gzipSync(header('filler.bin', 600 * MiB)), ...Array(38).fill(zeros)]);
    const before = process.memoryUsage().rss;
    await expect(extractPlugin(filler, 'big')).rejects.toThrow(/big inflates to more than 512 MiB: refused/);
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * MiB);
  });

  it('refuses a second compression layer, and two entries of the chosen name', async () => {
    await expect(extractPlugin(gzipSync(gzipSync(tarOf([['a.wasm', WASM]]))), 'twice')).rejects.toThrow(
      /twice is not a readable \.tar\.gz: it is compressed twice/,
    );
    const meta = JSON.stringify({ wasm: 'a.wasm' });
    const dup = gzipSync(
      tarOf([
        ['wasmci-plugin.json', meta],
        ['a.wasm', WASM],
        ['a.wasm', 'evil'],
      ]),
    );
    await expect(extractPlugin(dup, 'dup')).rejects.toThrow(/holds two entries named a\.wasm/);
  });
});

describe('decodeBody', () => {
  const doc = Buffer.from('{"ok":true}');
  it('decodes gzip, deflate (zlib and raw) and br, and passes identity through', () => {
    expect(decodeBody(gzipSync(doc), 'gzip', MiB, 'u')).toEqual(doc);
    expect(decodeBody(deflateSync(doc), 'deflate', MiB, 'u')).toEqual(doc);
    expect(decodeBody(brotliCompressSync(doc), 'br', MiB, 'u')).toEqual(doc);
    expect(decodeBody(doc, undefined, MiB, 'u')).toBe(doc);
    expect(decodeBody(doc, 'identity', MiB, 'u')).toBe(doc);
  });

  it('stops at the cap, whatever the ratio', () => {
    const bomb = gzipSync(Buffer.alloc(64 * MiB));
    expect(() => decodeBody(bomb, 'gzip', MiB, 'http://x/m')).toThrow(
      /http:\/\/x\/m: the response \(content-encoding gzip, \d+ bytes\) inflates to more than 1 MiB/,
    );
    expect(() => decodeBody(brotliCompressSync(Buffer.alloc(8 * MiB)), 'br', MiB, 'u')).toThrow(/inflates to/);
  });

  it('refuses corrupt and unknown encodings by name', () => {
    expect(() => decodeBody(doc, 'gzip', MiB, 'u')).toThrow(/gzip-encoded response is corrupt/);
    expect(() => decodeBody(doc, 'zstd\n::error::x', MiB, 'u')).toThrow(/content-encoding "zstd\\n::error::x"/);
  });
});
