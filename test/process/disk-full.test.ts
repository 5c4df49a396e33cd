/**
 * A full disk is not a crash (docs/operations.md, "A full disk"): us-east's data directory is a
 * small tmpfs mounted by this test, part of it taken by a filler file made before the node starts.
 * Writes fill the rest until the node answers 507 INSUFFICIENT_STORAGE; it stays up, serves reads,
 * reports fenced (storage) and names the regions that take writes; the others keep writing. Then
 * the filler is deleted: the node returns to service by itself, and every write it acknowledged is
 * there, in it and in the others.
 *
 * The mount needs root (or CAP_SYS_ADMIN): CI and the project's machines run the tests as root. A
 * failed mount fails the test with the reason; it is never skipped.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ProcessCluster } from './harness.js';

// A short session wait: a session read that cannot be served while the disk is full is answered sooner.
const c = new ProcessCluster({ wan: false, settings: { sessionWaitMs: 2_000 } });
const full = 'us-east';
const mountPoint = path.join(c.dir, 'data', full);
const filler = path.join(mountPoint, 'filler.bin');
/** The filesystem: big enough for the empty database and its WAL, small enough to fill in seconds. */
const tmpfsMiB = 12;
/** Freed to recover: more than the node's low-space threshold (4 MiB, src/storage/storage-errors.ts). */
const fillerMiB = 6;
let mounted = false;

function unmount(): void {
  if (!mounted) return;
  // A lazy unmount as the last resort: a process that did not exit must not keep the mount alive.
  if (spawnSync('umount', [mountPoint]).status !== 0) spawnSync('umount', ['-l', mountPoint]);
  mounted = false;
}
process.on('exit', unmount);

beforeAll(async () => {
  mkdirSync(mountPoint, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${tmpfsMiB}m`, 'tmpfs', mountPoint], { stdio: 'pipe' });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`this test mounts a ${tmpfsMiB} MiB tmpfs at ${mountPoint} and could not (it needs root or CAP_SYS_ADMIN): ${e.stderr?.toString().trim() || e.message}`);
  }
  mounted = true;
  writeFileSync(filler, Buffer.alloc(fillerMiB * 1024 * 1024, 7));
  await c.start();
}, 90_000);

afterAll(async () => {
  // The nodes first (one holds the database on the mount), then the mount, then the directory.
  try {
    for (const r of c.regions) await c.kill(r, 'SIGTERM');
  } finally {
    unmount();
    await c.stop();
  }
}, 60_000);

const value = (key: string) => `${key}:${'x'.repeat(8_000)}`;

/** The last lines of the full node's log, to say why it is not answering. */
function tail(): string {
  return c
    .logLines(full)
    .slice(-8)
    .map((l) => `${String(l['level'])} ${String(l['msg'])}${l['err'] !== undefined ? ` ${JSON.stringify(l['err']).slice(0, 300)}` : ''}`)
    .join('\n');
}

it('a full disk: writes answer 507, reads are served, the node recovers once space is freed, and nothing acknowledged is lost', async () => {
  const acked = new Map<string, string>();
  const statuses = new Map<number, number>();
  // Written by the writers (an object, so that type narrowing does not forget their assignments).
  const seen: { refusal: { status: number; body: any } | null; token: string | null } = { refusal: null, token: null };
  let n = 0;
  const t0 = Date.now();
  const writer = async () => {
    while (seen.refusal === null) {
      if (Date.now() - t0 > 90_000) throw new Error(`no 507 after 90 s (${acked.size} writes acknowledged)`);
      const key = `k${n++}`;
      let r: Awaited<ReturnType<typeof c.http>>;
      try {
        r = await c.http(full, 'PATCH', `/v1/tables/profiles/rows/${key}`, { set: { name: value(key) } }, { 'idempotency-key': `disk-full-${key}` });
      } catch (err) {
        throw new Error(`${full} stopped answering while its disk filled (${(err as Error).message}); its log ends:\n${tail()}`);
      }
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      if (r.status === 200) {
        acked.set(key, value(key));
        seen.token = r.headers.get('tern-session') ?? seen.token;
      } else if (r.status === 507) seen.refusal ??= r;
      else throw new Error(`unexpected answer while filling the disk: ${r.status} ${JSON.stringify(r.body)}`);
    }
  };
  await Promise.all([writer(), writer(), writer(), writer()]);
  console.log(`disk full after ${acked.size} acknowledged writes in ${Date.now() - t0} ms; answers ${JSON.stringify(Object.fromEntries(statuses))}`);
  expect(acked.size).toBeGreaterThan(10);
  expect(seen.refusal?.body.error).toMatchObject({ code: 'INSUFFICIENT_STORAGE', retryable: true });

  // The node is up and fenced for its storage; writes are refused naming the regions that take them.
  const ready = await c.eventually(
    () => c.http(full, 'GET', '/readyz'),
    (r) => r.body.stage === 'fenced' && r.body.reason === 'storage',
  );
  expect(ready.status).toBe(503);
  const status = await c.http(full, 'GET', '/v1/status');
  expect(status.body).toMatchObject({ stage: 'fenced', reason: 'storage' });
  const refused = await c.eventually(
    () => c.http(full, 'PATCH', '/v1/tables/profiles/rows/refused', { set: { name: 'no' } }, { 'idempotency-key': 'disk-full-refused' }),
    (r) => r.status === 507 && [...(r.body.error.regions as string[])].sort().join() === 'ap-south,eu-west',
  );
  expect(refused.body.error).toMatchObject({ code: 'INSUFFICIENT_STORAGE', reason: 'storage', retryable: true });
  expect((await c.http(full, 'PUT', '/v1/tables/more', { mode: 'async' })).status).toBe(507);
  expect((await c.http(full, 'PATCH', '/v1/tables/accounts/rows/alice', { incr: { balance: 1 } }, { 'idempotency-key': 'disk-full-strong' })).status).toBe(507);
  expect((await c.http(full, 'POST', '/v1/txn', { success: [{ table: 'accounts', key: 'bob', incr: { balance: 1 } }] })).status).toBe(507);

  // Reads are served: eventual ones, and session ones whose token it holds (a write it acknowledged).
  const [someKey, someValue] = [...acked][acked.size - 1] as [string, string];
  const read = await c.http(full, 'GET', `/v1/tables/profiles/rows/${someKey}`);
  expect(read.status).toBe(200);
  expect(read.body.fields.name).toBe(someValue);
  expect(seen.token).not.toBeNull();
  const session = await c.http(full, 'GET', `/v1/tables/profiles/rows/${someKey}?consistency=session`, undefined, { 'tern-session': seen.token ?? '' });
  expect(session.status).toBe(200);
  const scan = await c.http(full, 'GET', '/v1/tables/profiles/rows?limit=5');
  expect(scan.status).toBe(200);
  expect(scan.body.rows.length).toBe(5);
  // A strong table's local state is served; a linearizable read needs the strong group, which it has left meanwhile.
  expect((await c.http(full, 'GET', '/v1/tables/accounts/rows/nobody?consistency=eventual')).status).toBe(404);
  expect((await c.http(full, 'GET', '/v1/tables/accounts/rows/nobody')).status).toBe(507);
  // The other regions keep taking writes.
  const meanwhile = await c.http('eu-west', 'PATCH', '/v1/tables/profiles/rows/meanwhile', { set: { name: 'eu' } });
  expect(meanwhile.status).toBe(200);
  // A session read ahead of what the full node holds (it hears nothing meanwhile) is answered when its wait runs out.
  const ahead = await c.http(full, 'GET', '/v1/tables/profiles/rows/meanwhile?consistency=session', undefined, { 'tern-session': meanwhile.headers.get('tern-session') ?? '' });
  expect(ahead.status).toBe(503);
  expect(ahead.body.error.code).toBe('SESSION_UNAVAILABLE');
  // One warning says what to do; the node stays fenced for its storage (its read-only steps write nothing).
  const warnings = c.logLines(full).filter((l) => l['level'] === 40 && /disk|space/.test(String(l['msg'])));
  expect(warnings.length).toBe(1);
  expect(String(warnings[0]?.['msg'])).toMatch(/free space on that filesystem/i);
  expect((await c.http(full, 'GET', '/readyz')).body).toMatchObject({ stage: 'fenced', reason: 'storage' });

  // Free space: the node returns to service by itself.
  rmSync(filler);
  const t1 = Date.now();
  await c.eventually(
    () => c.http(full, 'PATCH', '/v1/tables/profiles/rows/after', { set: { name: 'after' } }, { 'idempotency-key': 'disk-full-after' }),
    (r) => r.status === 200,
    60_000,
  );
  console.log(`writable again ${Date.now() - t1} ms after the filler was deleted`);
  acked.set('after', 'after');
  // Writes to multi-writer rows come back first; the stage follows once it holds its write lease again.
  await c.eventually(() => c.http(full, 'GET', '/readyz'), (r) => r.status === 200 && r.body.stage === 'write-ready', 30_000);
  // What the node logged: the warning, its stage while full, and its return (through its stages, as after a restart).
  const log = c.logLines(full);
  expect(log.some((l) => l['stage'] === 'fenced' && l['reason'] === 'storage')).toBe(true);
  expect(log.some((l) => l['level'] === 30 && /disk has room again/.test(String(l['msg'])))).toBe(true);

  // Every acknowledged write is there, in the node that acknowledged it and in the others.
  for (const region of c.regions) {
    const missing: string[] = [];
    for (const [key, v] of acked) {
      const r = await c.eventually(
        () => c.http(region, 'GET', `/v1/tables/profiles/rows/${key}`),
        (x) => x.status === 200 && x.body.fields.name === v,
        30_000,
      ).catch(() => null);
      if (r === null) missing.push(key);
    }
    expect(missing, `${region}: ${missing.length} of ${acked.size} acknowledged writes missing`).toEqual([]);
  }
  // And the node took what was written elsewhere while it was full.
  await c.eventually(() => c.http(full, 'GET', '/v1/tables/profiles/rows/meanwhile'), (r) => r.status === 200 && r.body.fields.name === 'eu', 30_000);
}, 240_000);
