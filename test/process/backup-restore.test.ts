/**
 * Backup and restore as an operator uses them: `terndb backup` of a live node under write load
 * gives a checked, consistent copy; after a region's machine is lost, `terndb restore --from` a
 * healthy region puts it back on an empty data directory; the restored node gets back its own
 * writes the others hold, rejoins, and converges with every acknowledged write present and no
 * sequence number reused. Bad input is refused with the exit codes the help gives.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessCluster, terndb } from './harness.js';

const c = new ProcessCluster({ wan: false });
beforeAll(() => c.start(), 90_000);
afterAll(() => c.stop(), 60_000);

/** Increments acknowledged per key (each write carries its own idempotency key, never retried). */
const acked = new Map<string, number>();
let stopLoad = false;

async function load(region: string, tag: string): Promise<void> {
  for (let i = 0; !stopLoad; i++) {
    const key = `${tag}-${i % 40}`;
    const r = await c.http(region, 'PATCH', `/v1/tables/profiles/rows/${key}`, { incr: { visits: 1 } }, { 'idempotency-key': `${tag}-${i}` }).catch(() => null);
    if (r?.status === 200) acked.set(key, (acked.get(key) ?? 0) + 1);
  }
}

const file = () => path.join(c.dir, 'us-east.ternbackup');
const data = (region: string) => path.join(c.dir, 'data', region);

describe('backup and restore', () => {
  it('backs up a live node under write load: a checked, consistent copy with a manifest', async () => {
    stopLoad = false;
    const loads = [load('us-east', 'use'), load('eu-west', 'euw')];
    await c.eventually(async () => acked.size, (n) => n >= 40, 30_000);
    const run = await terndb(['backup', '--url', c.url('us-east'), '--out', file()]);
    expect(run.err + run.out).toContain('sha256');
    expect(run.code).toBe(0);
    const bytes = readFileSync(file());
    const nl = bytes.indexOf(0x0a);
    const manifest = JSON.parse(bytes.subarray(0, nl).toString('utf8')) as { cluster: string; region: string; bytes: number };
    expect(manifest).toMatchObject({ format: 'terndb-backup', version: 1, cluster: 'test', region: 'us-east' });
    expect(bytes.length - nl - 1).toBe(manifest.bytes);
    const copy = path.join(c.dir, 'copy.sqlite');
    writeFileSync(copy, bytes.subarray(nl + 1));
    const db = new Database(copy, { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect((db.prepare("SELECT count(*) AS n FROM rows WHERE tbl = 'profiles'").get() as { n: number }).n).toBeGreaterThan(0);
    db.close();
    // Nothing left behind in the node's data directory.
    expect(readdirSync(data('us-east')).filter((f) => f.startsWith('.backup-'))).toEqual([]);
    // Writes go on a little after the copy: the lost machine acknowledged writes the backup lacks.
    const before = acked.size;
    await c.eventually(async () => [...acked.values()].reduce((a, b) => a + b, 0), (n) => n > before + 50, 30_000);
    stopLoad = true;
    await Promise.all(loads);
  }, 120_000);

  it('refuses a data directory in use, and a corrupt backup', async () => {
    const busy = await terndb(['restore', '--in', file(), '--config', c.configPath, '--node', 'us-east']);
    expect(busy.code).toBe(2);
    expect(busy.err).toMatch(/already holds a database/);
    const bad = path.join(c.dir, 'bad.ternbackup');
    const bytes = readFileSync(file());
    bytes[bytes.length - 100] = (bytes[bytes.length - 100] as number) ^ 0xff;
    writeFileSync(bad, bytes);
    const scratch = path.join(c.dir, 'scratch.json');
    const config = JSON.parse(readFileSync(c.configPath, 'utf8')) as { regions: Array<{ node: { data: string } }> };
    (config.regions[0] as { node: { data: string } }).node.data = './scratch-data';
    writeFileSync(scratch, JSON.stringify(config));
    const corrupt = await terndb(['restore', '--in', bad, '--config', scratch, '--node', 'us-east']);
    expect(corrupt.code).toBe(1);
    expect(corrupt.err).toMatch(/corrupt/);
    expect(existsSync(path.join(c.dir, 'scratch-data', 'tern.sqlite'))).toBe(false);
    expect((await terndb(['backup', '--url', c.url('us-east'), '--out', file()])).code).toBe(2); // exists
  }, 60_000);

  it('a lost region restored from a healthy region rejoins: every acknowledged write, no sequence number reused', async () => {
    // The machine is lost: the process and its disk.
    const lastSeq = ((await c.http('eu-west', 'GET', '/v1/status')).body.vector as Record<string, number>)['us-east'] as number;
    await c.kill('us-east');
    rmSync(data('us-east'), { recursive: true, force: true });
    const restored = await terndb(['restore', '--from', c.url('eu-west'), '--config', c.configPath, '--node', 'us-east']);
    expect(restored.err + restored.out).toMatch(/Restored us-east from a copy of eu-west/);
    expect(restored.code).toBe(0);
    await c.startNode('us-east');
    expect(c.logLines('us-east').some((l) => String(l['msg']).startsWith('restored from a backup of eu-west'))).toBe(true);
    // Every acknowledged increment is there, in the restored region too.
    for (const [key, n] of acked) {
      await c.eventually(() => c.http('us-east', 'GET', `/v1/tables/profiles/rows/${key}`), (r) => r.status === 200 && r.body.fields.visits === n, 30_000);
    }
    // Its next write follows its old ones: no sequence number is used twice.
    const w = await c.http('us-east', 'PATCH', '/v1/tables/profiles/rows/after-restore', { set: { name: 'back' } });
    expect(w.status).toBe(200);
    await c.eventually(
      async () => Promise.all(c.regions.map(async (r) => (await c.http(r, 'GET', '/v1/status')).body.vector as Record<string, number>)),
      (vs) => vs.every((v) => JSON.stringify(v) === JSON.stringify(vs[0])) && (vs[0]?.['us-east'] ?? 0) === lastSeq + 1,
      30_000,
    );
    // Recovered, and readmitted to the strong group as a voter.
    const status = await c.eventually(() => c.http('us-east', 'GET', '/v1/status'), (s) => s.body.raft.learner === false, 30_000);
    expect(status.body.recovery).toBeNull();
    expect(c.logLines('us-east').some((l) => l['stage'] === 'catching-up' && l['reason'] === 'restore')).toBe(true);
  }, 150_000);
});
