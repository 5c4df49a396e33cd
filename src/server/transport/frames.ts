/**
 * Length-prefixed frames: a 4-byte big-endian length, then a msgpack payload. A frame larger than
 * the limit is a protocol error (the connection is dropped), so a peer cannot make us buffer
 * without bound.
 */
import { Packr } from 'msgpackr';
import { nodeLimits } from '../limits.js';

const packr = new Packr({ useRecords: false, mapsAsObjects: true });

/** The largest frame (nodeLimits.frameBytesMax). */
export const frameBytesMax = nodeLimits.frameBytesMax;

export function encodeFrame(value: unknown): Buffer {
  const payload = packr.pack(value);
  const frame = Buffer.allocUnsafe(4 + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  payload.copy(frame, 4);
  return frame;
}

/** A value in the frames' encoding, without the length prefix (what a frame's payload would be). */
export function encodeValue(value: unknown): Uint8Array {
  return packr.pack(value);
}

export function decodeValue(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}

export class FrameTooLarge extends Error {
  override readonly name = 'FrameTooLarge';
}

/** Accumulates bytes from a stream and yields whole decoded frames. */
export class FrameReader {
  #chunks: Buffer[] = [];
  #buffered = 0;

  /** The largest frame accepted now (raised after a handshake). */
  constructor(public limit = frameBytesMax) {}

  /** Adds a chunk; returns the frames it completed. Throws FrameTooLarge on an oversized frame. */
  push(chunk: Buffer): unknown[] {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    const out: unknown[] = [];
    for (;;) {
      if (this.#buffered < 4) break;
      const head = this.#peek(4);
      const length = head.readUInt32BE(0);
      if (length > this.limit) throw new FrameTooLarge(`frame of ${length} bytes exceeds ${this.limit}`);
      if (this.#buffered < 4 + length) break;
      const frame = this.#take(4 + length);
      out.push(packr.unpack(frame.subarray(4)));
    }
    return out;
  }

  #peek(n: number): Buffer {
    if ((this.#chunks[0]?.length ?? 0) >= n) return this.#chunks[0] as Buffer;
    const all = Buffer.concat(this.#chunks);
    this.#chunks = [all];
    return all;
  }

  #take(n: number): Buffer {
    const all = this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks);
    const frame = all.subarray(0, n);
    const rest = all.subarray(n);
    this.#chunks = rest.length > 0 ? [rest] : [];
    this.#buffered = rest.length;
    return frame;
  }
}
