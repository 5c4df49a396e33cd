import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256Hex, utf8Bytes } from '../../src/core/util/sha256.js';
import { utf8Length } from '../../src/core/util/json.js';

const reference = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

describe('sha256Hex (pure, for the core)', () => {
  it('matches the FIPS 180-4 test vectors', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
  });

  it('matches node:crypto on UTF-8 text of every length around the block boundaries', () => {
    const alphabet = ['a', 'é', '€', '😀', '"', '\u0000'];
    for (let n = 0; n < 200; n++) {
      const s = Array.from({ length: n }, (_, i) => alphabet[(i * 7 + n) % alphabet.length]).join('');
      expect(sha256Hex(s), `length ${n}`).toBe(reference(s));
      expect(utf8Bytes(s).length).toBe(utf8Length(s));
    }
    const big = 'x'.repeat(100_000);
    expect(sha256Hex(big)).toBe(reference(big));
  });

  it('encodes a lone surrogate as U+FFFD, like Buffer', () => {
    expect(sha256Hex('a\ud800b')).toBe(reference('a\ud800b'));
  });
});
