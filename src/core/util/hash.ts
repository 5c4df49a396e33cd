/**
 * Deterministic non-cryptographic hashing for ids and digests (conflict ids, idempotency body
 * digests, trace hashes). The core may not use node:crypto; these need to be stable across
 * processes and versions, not secret. 64 bits from two independently seeded 32-bit lanes.
 */

function lane(text: string, seed: number): number {
  // MurmurHash3-style mixing over UTF-16 code units; every code unit goes in, so equal strings
  // and only equal strings (up to collisions) give equal hashes.
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    let k = text.charCodeAt(i);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= text.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** 64-bit hash of a string as 16 lowercase hex digits. */
export function hash64(text: string): string {
  const a = lane(text, 0x9747b28c).toString(16).padStart(8, '0');
  const b = lane(text, 0x5bd1e995).toString(16).padStart(8, '0');
  return a + b;
}

/** Incremental 32-bit FNV-1a over numbers, for trace hashes of long runs. */
export class RunningHash {
  #h = 0x811c9dc5;

  addNumber(n: number): void {
    // Mix the number as two 32-bit halves so values beyond 2^32 still count.
    const lo = n >>> 0;
    const hi = Math.floor(n / 4294967296) >>> 0;
    this.#mix(lo);
    this.#mix(hi);
  }

  addString(s: string): void {
    for (let i = 0; i < s.length; i++) this.#mix(s.charCodeAt(i));
    this.#mix(s.length);
  }

  #mix(v: number): void {
    let h = this.#h;
    for (let i = 0; i < 4; i++) {
      h ^= (v >>> (i * 8)) & 0xff;
      h = Math.imul(h, 0x01000193);
    }
    this.#h = h >>> 0;
  }

  hex(): string {
    return this.#h.toString(16).padStart(8, '0');
  }
}
