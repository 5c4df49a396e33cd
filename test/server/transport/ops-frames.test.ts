/**
 * Ops batches are split once, in the core (src/core/replica/ops-batches.ts); the transport sends
 * every message as one frame and never splits. This holds because the core's budget encodes below
 * what the transport used to split at (a frame, and half a send queue), shown here on the worst
 * cases (every character three bytes in UTF-8, full dependency vectors, the most fields); and a
 * frame the peer could not take is refused, counted and logged, not split.
 */
import type { Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import { limits } from '../../../src/core/limits.js';
import { approxOpBytes, type Op } from '../../../src/core/model/op.js';
import { splitOps } from '../../../src/core/replica/ops-batches.js';
import { nodeLimits } from '../../../src/server/limits.js';
import { encodeFrame, frameBytesMax } from '../../../src/server/transport/frames.js';
import { PeerTransport } from '../../../src/server/transport/peer-transport.js';

/** What the transport split at before the split moved to the core: a frame, and half a send queue. */
const transportSplitBytes = Math.min(frameBytesMax, nodeLimits.sendQueueBytesMax / 2);
const regions = Array.from({ length: limits.regionsMax }, (_, i) => `r${String(i).padStart(limits.regionIdCharsMax - 1, '0')}`);
const origin = regions[0] as string;
const deps = Object.fromEntries(regions.map((r) => [r, 2 ** 40]));

/** An op as large on the wire as its approximate size allows: CJK text (3 bytes a character), a full vector, a fence and an idempotency stamp. */
function wideOp(seq: number, valueChars: number): Op {
  const cjk = (n: number) => '語'.repeat(n);
  return {
    dot: { origin, seq },
    hlc: { wall: 2 ** 45, logical: 2 ** 20, node: origin },
    deps,
    table: cjk(limits.tableNameCharsMax),
    key: cjk(Math.floor(limits.keyBytesMax / 3)),
    kind: 'write',
    changes: { [cjk(limits.fieldNameCharsMax)]: { k: 'set', value: cjk(valueChars) } },
    fence: { slot: origin, epoch: 2 ** 40, at: 2 ** 40 },
    idem: { key: cjk(limits.idempotencyKeyCharsMax), digest: 'f'.repeat(64), result: { dot: { origin, seq }, row: null } },
  };
}

/** An op of many small fields (the most per-field overhead for its approximate size). */
function manyFieldsOp(seq: number): Op {
  const changes: Record<string, { k: 'set'; value: number }> = {};
  for (let i = 0; i < limits.fieldsPerWriteMax; i++) changes[`f${i}`] = { k: 'set', value: 2 ** 40 };
  return { dot: { origin, seq }, hlc: { wall: 2 ** 45, logical: 2 ** 20, node: origin }, deps, table: 't', key: `k${seq}`, kind: 'write', changes };
}

const frameOf = (ops: readonly Op[]): Buffer => encodeFrame({ t: 'msg', m: { t: 'ops', ops } });

describe('the core’s ops messages fit one frame', () => {
  it('the worst cases encode below what the transport used to split at', () => {
    // Ops just small enough that a full count fills the byte budget, then ones a little larger.
    const perOp = Math.floor(limits.opsBytesPerMessageMax / limits.opsPerMessageMax);
    const probe = approxOpBytes(wideOp(1, 0));
    const cases = [
      Array.from({ length: 2 * limits.opsPerMessageMax }, (_, i) => wideOp(i + 1, perOp - probe - 2)),
      Array.from({ length: limits.opsPerMessageMax }, (_, i) => wideOp(i + 1, 3 * (perOp - probe))),
      Array.from({ length: 2 * limits.opsPerMessageMax }, (_, i) => manyFieldsOp(i + 1)),
    ];
    for (const ops of cases) {
      const messages = splitOps(ops);
      expect(messages.flat()).toHaveLength(ops.length);
      for (const m of messages) expect(frameOf(m).length - 4).toBeLessThanOrEqual(transportSplitBytes);
    }
  });

  it('so do messages of the largest ops (full rows)', () => {
    const rows = Array.from({ length: 40 }, (_, i) => wideOp(i + 1, Math.floor(limits.rowBytesMax / 3)));
    for (const m of splitOps(rows)) expect(frameOf(m).length - 4).toBeLessThanOrEqual(transportSplitBytes);
  });
});

describe('the transport sends a message as one frame, and never splits it', () => {
  function transport() {
    const errors: Array<Record<string, unknown>> = [];
    const log = { error: (o: Record<string, unknown>) => void errors.push(o), warn: () => undefined, info: () => undefined } as unknown as Logger;
    const t = new PeerTransport({ cluster: 'c', region: 'a', node: 'n', listen: { host: '127.0.0.1', port: 0 }, peers: new Map([['b', { host: '127.0.0.1', port: 1 }]]), log, onMessage: () => undefined });
    return { t, errors };
  }

  it('queues an ops message as the one frame the core built', () => {
    const { t, errors } = transport();
    const ops = Array.from({ length: 3 }, (_, i) => manyFieldsOp(i + 1));
    expect(t.send('b', { ch: 'async', m: { t: 'ops', ops } })).toBe(true);
    expect(t.stats()['b']?.queuedBytes).toBe(frameOf(ops).length);
    expect(errors).toEqual([]);
  });

  it('refuses a frame larger than a peer takes: dropped, counted and logged, nothing queued', () => {
    const { t, errors } = transport();
    const huge: Op = { ...manyFieldsOp(1), changes: { v: { k: 'set', value: 'x'.repeat(frameBytesMax) } } };
    expect(t.send('b', { ch: 'async', m: { t: 'ops', ops: [huge] } })).toBe(false);
    expect(t.stats()['b']).toMatchObject({ framesDropped: 1, queuedBytes: 0 });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ peer: 'b', channel: 'async', kind: 'ops', frameBytesMax });
  });
});
