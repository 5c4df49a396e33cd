/**
 * Drain is safe to call, against real processes (src/core/strong/drain-rules.ts): draining every
 * region in turn leaves the last one refused 409 DRAIN_UNSAFE naming the guarded tables, and that
 * region keeps taking their writes; a drain of a drained region at the strong group's leader
 * answers changed: false without a log entry, however many arrive at once; undrain brings the
 * regions back to write-ready; a force that is not a boolean is refused by name.
 *
 * Three regions on 127.0.0.1 without the WAN emulator. Every wait polls a condition with a
 * generous deadline; a 429 TOO_SOON (a region's drain within leaseMs of its last change) is
 * retried until it passes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failoverTables, ProcessCluster } from './harness.js';

const tables = failoverTables;
/** What draining the last undrained region strands, by the rule: every table with guarded writes (sorted). */
const guarded = ['homed', 'owned', 'strict'];

const c = new ProcessCluster({ tables, wan: false });
beforeAll(() => c.start(), 60_000);
afterAll(() => c.stop(), 60_000);

interface Reply {
  status: number;
  body: any;
}
interface LeaseView {
  region: string;
  holder: string | null;
  epoch: number;
  drained: boolean;
}
interface Status {
  region: string;
  node: string;
  stage: string;
  leases: LeaseView[];
  raft: { term: number; role: string; leader: string | null; appliedIndex: number; leaseEntries: number; commitIndex: number };
}

const admin = (at: string, op: 'drain' | 'undrain', body: unknown): Promise<Reply> => c.http(at, 'POST', `/v1/admin/${op}`, body);
const status = async (at: string): Promise<Status> => (await c.http(at, 'GET', '/v1/status')).body as Status;
const drainedFlags = async (at: string): Promise<Record<string, boolean>> => Object.fromEntries((await status(at)).leases.map((l) => [l.region, l.drained]));
const ready = async (at: string) => (await c.http(at, 'GET', '/readyz')) as Reply;
/** Entries applied at `at` that clients and operators asked for (lease renewals and grants excluded). */
const requested = (s: Status): number => s.raft.appliedIndex - s.raft.leaseEntries;

/** The drain or undrain, sent again while it answers 429 TOO_SOON (each such answer checked). */
async function pastTooSoon(at: string, op: 'drain' | 'undrain', body: unknown): Promise<{ reply: Reply; tooSoon: number }> {
  let tooSoon = 0;
  const reply = await c.eventually(
    async () => {
      const r = await admin(at, op, body);
      if (r.status === 429) {
        tooSoon++;
        expect(r.body.error).toMatchObject({ code: 'TOO_SOON', retryable: true });
        expect(r.body.error.message).toMatch(/retry in \d+ ms/);
      }
      return r;
    },
    (r) => r.status !== 429,
    30_000,
  );
  return { reply, tooSoon };
}

/** A guarded write retried under one Idempotency-Key until it is answered 200. */
async function writeEventually(at: string, table: string, key: string, body: unknown, timeoutMs = 30_000): Promise<Reply> {
  const headers = { 'idempotency-key': `drain-safety-${table}-${key}-${at}` };
  return c.eventually(() => c.http(at, 'PATCH', `/v1/tables/${table}/rows/${key}`, body, headers), (r) => r.status === 200, timeoutMs);
}

/** The region the strong group's leader is in, as every region reports it (node ids map to their region). */
async function leaderRegion(): Promise<string> {
  const toRegion = (leader: string | null): string | null => {
    if (leader === null) return null;
    if (c.regions.includes(leader)) return leader;
    return c.regions.find((r) => leader === `${r}-1`) ?? null;
  };
  const all = await c.eventually(
    () => Promise.all(c.regions.map(status)),
    (ss) => {
      const leaders = new Set(ss.map((s) => toRegion(s.raft.leader)));
      const [only] = [...leaders];
      return leaders.size === 1 && only !== null && ss.find((s) => s.region === only)?.raft.role === 'leader';
    },
    20_000,
  );
  return toRegion(all[0]?.raft.leader ?? null) as string;
}

describe('drain safety through real processes', () => {
  it('draining every region \u2192 at least one region still takes each guarded table', async () => {
    for (const r of c.regions) expect((await ready(r)).status, r).toBe(200);

    const first = await pastTooSoon('us-east', 'drain', { region: 'us-east' });
    expect(first.reply.status).toBe(200);
    expect(first.reply.body).toMatchObject({ region: 'us-east', drained: true, changed: true });
    expect(typeof first.reply.body.index).toBe('number');

    // eu-west's flag has not changed since the nodes started, so this is not expected to be too
    // soon, but the rule is per node and per region: poll past any 429.
    const second = await pastTooSoon('eu-west', 'drain', { region: 'eu-west' });
    expect(second.reply.status).toBe(200);
    expect(second.reply.body).toMatchObject({ region: 'eu-west', drained: true, changed: true });
    console.log(`drain eu-west after us-east: ${second.tooSoon} TOO_SOON answers first`);

    // Every region has applied both drains (so each judges the next drain from the same flags).
    for (const r of c.regions) await c.eventually(() => drainedFlags(r), (f) => f['us-east'] === true && f['eu-west'] === true && f['ap-south'] === false, 20_000);

    const leader = await leaderRegion();
    const before = requested(await status(leader));
    // The last undrained region: refused at every node, naming every guarded table, not retryable.
    for (const at of c.regions) {
      const r = await admin(at, 'drain', { region: 'ap-south' });
      expect(r.status, at).toBe(409);
      expect(r.body.error, at).toMatchObject({ code: 'DRAIN_UNSAFE', retryable: false, tables: guarded });
      expect(r.body.error.tables, at).toContain('strict');
      expect(r.body.error.message, at).toContain('"force": true');
      expect(r.body.error.message, at).toContain('with eu-west, us-east drained already');
    }
    // force: false is no force.
    expect((await admin('ap-south', 'drain', { region: 'ap-south', force: false })).body.error).toMatchObject({ code: 'DRAIN_UNSAFE' });
    // Refused before anything was proposed: the leader applied no operator entry for them.
    const after = await status(leader);
    expect(after.raft.leader).toBe(leader);
    expect(requested(after)).toBe(before);

    // ap-south still holds its own lease and takes the guarded writes: its multi-writer rows,
    // its home rows, and the home-with-failover rows of the two drained homes (taken over).
    await c.eventually(() => ready('ap-south'), (r) => r.status === 200 && r.body.stage === 'write-ready', 30_000);
    const strict = await writeEventually('ap-south', 'strict', 's1', { set: { v: 'last' } });
    expect(strict.body.fields).toMatchObject({ v: 'last' });
    expect((await writeEventually('ap-south', 'homed', 'h1', { set: { home: 'ap-south', v: 'a' } })).status).toBe(200);
    for (const home of ['us-east', 'eu-west']) {
      const r = await writeEventually('ap-south', 'owned', `o-${home}`, { set: { home, v: 'taken' } });
      expect(r.body.fields, home).toMatchObject({ home, v: 'taken' });
    }
    // The drained regions take none of them.
    for (const at of ['us-east', 'eu-west']) {
      expect((await ready(at)).body, at).toMatchObject({ stage: 'fenced', reason: 'drain' });
      const refused = await c.http(at, 'PATCH', '/v1/tables/strict/rows/s1', { set: { v: 'drained' } });
      expect(refused.status, at).toBe(503);
      expect(refused.body.error, at).toMatchObject({ code: 'FENCED', reason: 'drain' });
    }

    for (const at of c.regions) {
      const s = await status(at);
      const ap = s.leases.find((l) => l.region === 'ap-south');
      expect(ap, at).toMatchObject({ drained: false, holder: 'ap-south' });
      expect(s.leases.filter((l) => l.drained).map((l) => l.region).sort(), at).toEqual(['eu-west', 'us-east']);
    }
    // The drained homes' slots are held by ap-south, the only region left to take them.
    await c.eventually(() => status('ap-south'), (s) => s.leases.every((l) => l.holder === 'ap-south'), 20_000);
  }, 180_000);

  it('a drain of a drained region writes nothing', async () => {
    const leader = await leaderRegion();
    const before = await status(leader);
    const replies = await Promise.all(Array.from({ length: 20 }, () => admin(leader, 'drain', { region: 'us-east' })));
    const after = await status(leader);
    for (const r of replies) {
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ region: 'us-east', drained: true, changed: false });
      expect(typeof r.body.index).toBe('number');
    }
    // The same leader throughout (a new one writes an entry of its own).
    expect(after.raft.leader).toBe(before.raft.leader);
    expect(after.raft.term).toBe(before.raft.term);
    // Lease renewals went on meanwhile (they count in leaseEntries); nothing else was applied.
    expect(requested(after)).toBe(requested(before));
    console.log(`20 repeated drains at the leader ${leader}: applied ${before.raft.appliedIndex} \u2192 ${after.raft.appliedIndex}, lease entries ${before.raft.leaseEntries} \u2192 ${after.raft.leaseEntries}`);

    // Elsewhere the repeat may go through the log; it still changes nothing.
    const follower = c.regions.find((r) => r !== leader) as string;
    const elsewhere = await Promise.all(Array.from({ length: 5 }, () => admin(follower, 'drain', { region: 'us-east' })));
    for (const r of elsewhere) expect(r, follower).toMatchObject({ status: 200, body: { region: 'us-east', drained: true, changed: false } });
    for (const r of c.regions) expect(await drainedFlags(r), r).toEqual({ 'us-east': true, 'eu-west': true, 'ap-south': false });
  }, 60_000);

  it('undrain brings eu-west and us-east back to write-ready', async () => {
    for (const region of ['eu-west', 'us-east']) {
      const { reply } = await pastTooSoon('ap-south', 'undrain', { region });
      expect(reply.status, region).toBe(200);
      expect(reply.body, region).toMatchObject({ region, undrained: true, changed: true });
    }
    for (const region of ['eu-west', 'us-east']) {
      await c.eventually(() => ready(region), (r) => r.status === 200 && r.body.stage === 'write-ready', 30_000);
      expect((await writeEventually(region, 'strict', `back-${region}`, { set: { v: 'back' } })).status).toBe(200);
    }
    for (const r of c.regions) await c.eventually(() => drainedFlags(r), (f) => Object.values(f).every((d) => !d), 20_000);
    // A repeat undrain answers changed: false.
    const leader = await leaderRegion();
    expect(await admin(leader, 'undrain', { region: 'us-east' })).toMatchObject({ status: 200, body: { region: 'us-east', undrained: true, changed: false } });
  }, 120_000);

  it('force must be a boolean: 400 naming force, and nothing changes', async () => {
    for (const at of c.regions) {
      const r = await admin(at, 'drain', { region: 'eu-west', force: 'yes' });
      expect(r.status, at).toBe(400);
      expect(r.body.error, at).toMatchObject({ code: 'BAD_REQUEST', field: 'force', retryable: false });
    }
    for (const r of c.regions) expect(await drainedFlags(r), r).toEqual({ 'us-east': false, 'eu-west': false, 'ap-south': false });
    expect((await ready('eu-west')).status).toBe(200);
  }, 30_000);
});
