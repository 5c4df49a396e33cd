/**
 * The strong group's Raft messages on the real wire (src/server/transport/raft-wire.ts): a
 * snapshot chunk survives the frames' encoding as bytes and passes the message check, and the
 * snapshot codec gives back the state it was given.
 */
import { describe, expect, it } from 'vitest';
import { strongMessageProblem } from '../../src/core/strong/messages.js';
import { encodeFrame, FrameReader } from '../../src/server/transport/frames.js';
import { raftWire } from '../../src/server/transport/raft-wire.js';

describe('raftWire', () => {
  it('a snapshot travels as chunks of bytes that decode to the same state', () => {
    const wire = raftWire({ snapshotChunkBytes: 64 });
    const state = { index: 7, wallMs: 1, rows: [['accounts', [['a', { fields: { balance: 10 }, version: 3 }]]]], idem: [], tables: {}, leases: { slots: [] }, claims: [], forwarded: [] };
    const bytes = wire.snapshotCodec.encode(state);
    const reader = new FrameReader();
    const got: Uint8Array[] = [];
    for (let offset = 0; offset < bytes.length; offset += wire.snapshotChunkBytes) {
      const m = { t: 'raft', m: { type: 'snapshot-chunk', from: 'us-east', to: 'eu-west', term: 2, round: 1, index: 7, snapTerm: 2, voters: ['us-east', 'eu-west'], offset, total: bytes.length, data: bytes.subarray(offset, offset + wire.snapshotChunkBytes) } };
      const [decoded] = reader.push(encodeFrame(m)) as Array<{ m: { data: Uint8Array } }>;
      expect(strongMessageProblem(decoded)).toBeNull();
      got.push((decoded as { m: { data: Uint8Array } }).m.data);
    }
    expect(wire.snapshotCodec.decode(Buffer.concat(got))).toEqual(state);
  });

  it('refuses a chunk whose bytes run past its total, and an ack without a count', () => {
    const chunk = { type: 'snapshot-chunk', from: 'a', to: 'b', term: 1, round: 0, index: 1, snapTerm: 1, voters: ['a', 'b'], offset: 10, total: 12, data: new Uint8Array(4) };
    expect(strongMessageProblem({ t: 'raft', m: chunk })).toMatch(/within total/);
    expect(strongMessageProblem({ t: 'raft', m: { type: 'snapshot-ack', from: 'a', to: 'b', term: 1, index: 1 } })).toMatch(/received/);
  });

  it('sizes an entry by its encoding, once per entry', () => {
    const wire = raftWire();
    const data = { kind: 'write', body: 'x'.repeat(1000) };
    const e = { term: 1, index: 1, data };
    const first = wire.entryBytes(e);
    expect(first).toBeGreaterThan(1000);
    expect(first).toBeLessThan(1100);
    // Entries never change once in the log, so the size is not computed again: a changed body
    // (which no entry has) would still report the first size.
    data.body = 'x'.repeat(5000);
    expect(wire.entryBytes(e)).toBe(first);
    expect(wire.entryBytes({ term: 1, index: 2, data })).toBeGreaterThan(5000);
  });
});
