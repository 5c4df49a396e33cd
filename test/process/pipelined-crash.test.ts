/**
 * Pipelined commits, as a real process: a step's answers leave only once its commit is synced,
 * while later steps commit meanwhile. The node's syncs are held (TERN_TEST_SYNC_HOLD_FILE) with
 * two batches committed behind the hold; neither is answered; kill -9; after the restart the
 * acknowledged write is there, and no client was told its held write succeeded.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessCluster } from './harness.js';

const cluster = new ProcessCluster({ regions: ['us-east'], wan: false });
const hold = path.join(cluster.dir, 'hold-syncs');

beforeAll(async () => {
  await cluster.start();
}, 120_000);

afterAll(async () => {
  await cluster.stop();
});

const localSeq = async (): Promise<number> => ((await cluster.http('us-east', 'GET', '/v1/status')).body.vector['us-east'] as number | undefined) ?? 0;

describe('pipelined commits (a real process)', () => {
  it('answers nothing before its batch is synced; kill -9 with two batches in flight keeps every acknowledged write', async () => {
    // Restarted with the hold switch: syncs are held while the file exists.
    await cluster.kill('us-east', 'SIGTERM');
    await cluster.startNode('us-east', { TERN_TEST_SYNC_HOLD_FILE: hold });
    const acked = await cluster.http('us-east', 'PATCH', '/v1/tables/profiles/rows/acked', { set: { name: 'A' } });
    expect(acked.status).toBe(200);

    writeFileSync(hold, '');
    const before = await localSeq();
    const answered: string[] = [];
    const send = (key: string) => {
      const p = cluster.http('us-east', 'PATCH', `/v1/tables/profiles/rows/${key}`, { set: { name: key } });
      // A held write must get no answer; once the node is killed, its client sees the connection drop.
      p.then((r) => answered.push(`${key}: ${r.status}`), () => undefined);
    };
    // Two batches: the second is sent once the first has committed (its op is in the node's vector).
    send('held-1');
    await cluster.until('the first held write committed', localSeq, (s) => s >= before + 1);
    send('held-2');
    await cluster.until('the second held write committed', localSeq, (s) => s >= before + 2);
    // Committed, not synced: nothing was answered (the status call is answered outside the steps).
    expect(answered).toEqual([]);

    await cluster.kill('us-east', 'SIGKILL');
    expect(answered.filter((a) => a.endsWith(': 200'))).toEqual([]);
    await cluster.startNode('us-east');
    const row = await cluster.http('us-east', 'GET', '/v1/tables/profiles/rows/acked');
    expect(row).toMatchObject({ status: 200, body: { fields: { name: 'A' } } });
  }, 90_000);
});
