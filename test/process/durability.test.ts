/**
 * No acknowledged write is lost by a crash of its own node (docs/internals/replication.md,
 * "Crashes"): a writer streams writes while the node is killed with SIGKILL and restarted 20 times;
 * afterwards every write that was acknowledged is there.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ProcessCluster } from './harness.js';

// A short election timeout: each restart waits for write-ready, which waits for the node's own
// election (a lone region), so the default 1 s to 2 s timeout made 20 restarts most of the run.
const c = new ProcessCluster({ regions: ['us-east'], wan: false, settings: { raftHeartbeatMs: 50, raftElectionMs: 300, maxClockOffsetMs: 100 } });
beforeAll(() => c.start(), 60_000);
afterAll(() => c.stop(), 60_000);

it('every acknowledged write survives 20 kill -9 restarts', async () => {
  const acked: string[] = [];
  let running = true;
  let n = 0;
  const writer = async () => {
    while (running) {
      const key = `w${n++}`;
      try {
        const r = await fetch(`${c.url('us-east')}/v1/tables/profiles/rows/${key}`, {
          method: 'PATCH',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ set: { name: key }, incr: { visits: 1 } }),
        });
        if (r.status === 200) acked.push(key);
      } catch {
        await new Promise((r) => setTimeout(r, 10)); // the node is down: not acknowledged
      }
    }
  };
  const writers = [writer(), writer(), writer(), writer()];
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 100 + Math.random() * 150));
    await c.kill('us-east', 'SIGKILL');
    await c.startNode('us-east');
  }
  await new Promise((r) => setTimeout(r, 200));
  running = false;
  await Promise.all(writers);
  expect(acked.length).toBeGreaterThan(100);
  const missing: string[] = [];
  for (const key of acked) {
    const r = await c.http('us-east', 'GET', `/v1/tables/profiles/rows/${key}`);
    if (r.status !== 200 || r.body.fields.name !== key) missing.push(key);
  }
  expect(missing, `${missing.length} of ${acked.length} acknowledged writes missing`).toEqual([]);
}, 240_000);
