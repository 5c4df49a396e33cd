/**
 * How the strong group's Raft messages fit the peer transport's frames (RaftWire in
 * src/core/strong/config.ts). A frame larger than `frameBytesMax` makes the receiver drop the
 * link, so the resend fails the same way forever: appends are bounded by bytes as well as by entry
 * count, and a snapshot travels in chunks encoded as the frames are, resuming from what arrived.
 */
import type { Entry } from '../../core/raft/types.js';
import type { RaftWire } from '../../core/strong/config.js';
import { decodeValue, encodeValue } from './frames.js';
import { nodeLimits } from '../limits.js';

/** The encoded size of each entry, computed once (an entry may be sent to several followers, and again after a loss). */
const sizes = new WeakMap<object, number>();

function entryBytes(e: Entry<unknown>): number {
  let n = sizes.get(e);
  if (n === undefined) {
    n = encodeValue(e).length;
    sizes.set(e, n);
  }
  return n;
}

export function raftWire(o: { appendBytesMax?: number; snapshotChunkBytes?: number } = {}): RaftWire {
  return {
    entryBytes,
    maxAppendBytes: o.appendBytesMax ?? nodeLimits.raftAppendBytesMax,
    snapshotCodec: { encode: (data) => encodeValue(data), decode: (bytes) => decodeValue(bytes) },
    snapshotChunkBytes: o.snapshotChunkBytes ?? nodeLimits.raftSnapshotChunkBytes,
  };
}
