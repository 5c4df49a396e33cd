/**
 * Bounded history with real processes (docs/internals/replication.md, "Bounded history"): a region
 * cut off past a short retention window is evicted, the others' logs stop holding its absence, and
 * it rejoins from a snapshot of a member: killed with SIGKILL once mid-transfer and once between
 * preparing and installing the copy, it resumes each time, is readmitted, and converges; its writes
 * no other region received are never applied anywhere.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessCluster, terndb } from './harness.js';

const c = new ProcessCluster({
  rttMs: { 'us-east/eu-west': 10, 'us-east/ap-south': 20, 'eu-west/ap-south': 20 },
  settings: { idempotencyRetentionMs: 4_000 },
  retention: { logMs: 4_000, conflictsMs: 8_000, snapshotMBps: 4 },
});
beforeAll(() => c.start(), 90_000);
afterAll(() => c.stop(), 60_000);

const bio = 'b'.repeat(2_000);
const put = (region: string, key: string, fields: Record<string, unknown>) => c.http(region, 'PATCH', `/v1/tables/profiles/rows/${key}`, { set: fields });
const status = async (region: string) => (await c.http(region, 'GET', '/v1/status')).body as { logBytes: number; evictions: Array<{ region: string; through: number | null }>; stage: string; reason: string | null };

/** `terndb orphans --jsonl` against a region: the orphaned writes, parsed. */
async function orphans(region: string): Promise<Array<Record<string, unknown>>> {
  const r = await terndb(['orphans', '--url', c.url(region), '--jsonl']);
  expect(r.code, `${r.err}\nap-south's story:\n${story()}`).toBe(0);
  return r.out.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms; ap-south's story:\n${story()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** What ap-south's log says happened to it (its stages, evictions and snapshots), for a failure's message. */
function story(): string {
  const lines = c.logLines('ap-south').filter((l) => /stage|evict|readmit|snapshot|restore|stopp|listening/.test(String(l['msg'])));
  return lines.slice(-30).map((l) => `${new Date(Number(l['time'])).toISOString().slice(11, 23)} ${String(l['msg']).slice(0, 160)}`).join('\n');
}

function exited(child: ChildProcess): Promise<NodeJS.Signals | number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.signalCode ?? child.exitCode);
    child.once('exit', (code, signal) => resolve(signal ?? code));
  });
}

describe('eviction and rejoin', () => {
  it('evicts a region away past the window, keeps the others\u2019 logs small, and rejoins it from a snapshot through two crashes', async () => {
    for (let i = 0; i < 50; i++) expect((await put('us-east', `before${i}`, { name: `b${i}` })).status).toBe(200);
    // ap-south is cut off, writes on its own (orphans to be), and stops.
    await c.wan('POST', '/v1/wan/partition', { isolate: 'ap-south' });
    for (let i = 0; i < 5; i++) expect((await put('ap-south', `orphan${i}`, { name: 'island' })).status).toBe(200);
    await c.kill('ap-south', 'SIGKILL');
    // us-east writes on; after the window, ap-south is evicted and us-east's logs are collected.
    let n = 0;
    let peak = 0;
    await until('ap-south evicted', async () => {
      for (let i = 0; i < 50; i++) expect((await put('us-east', `k${n++}`, { name: 'x', bio })).status).toBe(200);
      const st = await status('us-east');
      peak = Math.max(peak, st.logBytes);
      return st.evictions.some((e) => e.region === 'ap-south' && e.through !== null);
    });
    expect(peak).toBeGreaterThan(50 * bio.length);
    // Enough rows that the snapshot spans several 1 MiB chunks.
    while (n < 1_600) expect((await put('us-east', `k${n++}`, { name: 'x', bio })).status).toBe(200);
    await until('us-east logs collected', async () => (await status('us-east')).logBytes < peak / 4, 30_000);

    // ap-south comes back: it fetches two chunks of a snapshot and is killed mid-transfer.
    await c.wan('POST', '/v1/wan/heal');
    const dir = path.join(c.dir, 'data', 'ap-south');
    expect(await exited(c.launchNode('ap-south', { TERN_TEST_CRASH_AT: 'snapshot-fetch' }))).toBe('SIGKILL');
    expect(existsSync(path.join(dir, 'snapshot.progress.json'))).toBe(true);
    // Again: it resumes the fetch, prepares the copy, and is killed before installing it.
    expect(await exited(c.launchNode('ap-south', { TERN_TEST_CRASH_AT: 'snapshot-install' }))).toBe('SIGKILL');
    expect(existsSync(path.join(dir, 'tern.sqlite.ready'))).toBe(true);
    // The third start installs it first thing, is readmitted, and catches up.
    c.launchNode('ap-south');
    await until('ap-south write-ready', async () => {
      try {
        return (await c.http('ap-south', 'GET', '/readyz')).status === 200;
      } catch {
        return false;
      }
    }, 90_000);
    const log = c.logLines('ap-south').map((l) => String(l['msg']));
    expect(log.some((m) => m.includes('finished installing a snapshot prepared before this node stopped'))).toBe(true);
    expect(log.filter((m) => m.includes('snapshot') && m.includes('% fetched')).length).toBeGreaterThan(0);

    // Converged: what us-east wrote is at ap-south, what ap-south writes now reaches us-east, and the orphans are nowhere.
    // Waited for, not read once: on a loaded machine a stalled event loop can miss both peers' pings,
    // and the node then rightly steps back to catching-up (lag) until a majority has synced again.
    for (const key of ['before0', 'k0', `k${n - 1}`]) await until(`${key} at ap-south`, async () => (await c.http('ap-south', 'GET', `/v1/tables/profiles/rows/${key}`)).status === 200, 30_000);
    await until('a write at ap-south', async () => (await put('ap-south', 'after', { name: 'back' })).status === 200, 30_000);
    await until('ap-south\u2019s new write at us-east', async () => (await c.http('us-east', 'GET', '/v1/tables/profiles/rows/after')).status === 200, 30_000);
    for (const region of c.regions) expect((await c.http(region, 'GET', '/v1/tables/profiles/rows/orphan0')).status, region).toBe(404);
    expect((await status('us-east')).evictions).toEqual([]);
    // Its five orphaned writes are listed (terndb orphans), in every region once ap-south published them.
    await until('orphans listed at us-east', async () => (await orphans('us-east')).length === 5, 30_000);
    const listed = await orphans('us-east');
    expect(listed.map((o) => o.key).sort()).toEqual(['orphan0', 'orphan1', 'orphan2', 'orphan3', 'orphan4']);
    expect(listed[0]).toMatchObject({ table: 'profiles', method: 'PATCH', body: { set: { name: 'island' } }, region: 'ap-south' });
    // Waited for too: once (of about fifteen runs) ap-south was back in catching-up (restore) here,
    // after it had served; the story is printed so the next occurrence can be understood.
    let atApSouth = await terndb(['orphans', '--url', c.url('ap-south'), '--jsonl']);
    if (atApSouth.code !== 0) console.warn(`ap-south refused terndb orphans after it had served (${atApSouth.err.trim()}); its story:\n${story()}`);
    await until('orphans listed at ap-south', async () => (atApSouth = await terndb(['orphans', '--url', c.url('ap-south'), '--jsonl'])).code === 0, 30_000);
    expect(atApSouth.out.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown)).toEqual(listed);
  }, 300_000);
});
