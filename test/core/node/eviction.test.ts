/**
 * Eviction from causal stability through the strong log (src/core/strong/membership.ts,
 * src/core/replica/eviction.ts): a region unheard past the retention window is evicted by the
 * others, who then collect their logs without it; a region never evicts itself, and eviction never
 * needs the evicted region.
 */
import { describe, expect, it } from 'vitest';
import { get } from '../../../src/core/clock/version-vector.js';
import { markRejoined } from '../../../src/core/node/restore.js';
import { snapshotMetaKey } from '../../../src/core/replica/eviction.js';
import { orphansMetaKey } from '../../../src/core/replica/orphans.js';
import type { MemoryStorage } from '../../../src/storage/memory-storage.js';
import type { ConflictEntry } from '../../../src/core/model/conflict.js';
import type { Knobs } from '../../../src/core/replica/config.js';
import { RegionCluster } from './cluster.js';
import { Cluster, AP, EU, US } from '../cluster.js';

const retention = { idempotencyRetentionMs: 2_000, logRetentionMs: 2_000, conflictRetentionMs: 4_000 };
const write = (key: string) => ({ api: 'async' as const, request: { kind: 'write' as const, table: 'free', key, body: { set: { v: key } } } });

/** What the shell does for a rejoin: a copy of `donor`'s store put in place of `region`'s, marked restored and installed for the readmission. */
function installSnapshot(c: RegionCluster, donor: string, region: string): void {
  const wanted = c.core(region).snapshotWanted();
  if (wanted === null) throw new Error('no snapshot wanted');
  const copy = (c.disks.get(donor) as MemoryStorage).copy();
  // The region's writes no member received, kept from its old store.
  const old = c.disks.get(region) as MemoryStorage;
  const orphans = old.readOps(region, wanted.through, 10_000);
  copy.transaction(() => {
    markRejoined(copy, old, { from: donor, copiedAt: 'test' });
    copy.putMeta(snapshotMetaKey, { readmitIndex: wanted.readmitIndex });
    copy.putMeta(orphansMetaKey, orphans.length === 0 ? [] : [{ readmitIndex: wanted.readmitIndex, ops: orphans, published: 0 }]);
  });
  c.disks.set(region, copy);
  c.restart(region);
}

/** c is cut off while a writes on for 4 s (past the 2 s window most of these tests use). */
function awayPastWindow(c: RegionCluster): void {
  c.isolate('c');
  for (let i = 0; i < 40; i++) {
    c.submit('a', write(`k${i}`));
    c.run(100);
  }
}

describe('eviction', () => {
  it('a peer whose syncs arrive is not unheard, even when its clock vouches for no heartbeat (not measured yet after a restart)', () => {
    // The region simulator (seed 13, eviction scenario) found eu-west, back from its own absence,
    // evicting us-east (restarted, its clock not measured yet: no heartbeats) while it talked to it.
    const c = new Cluster({ config: { logRetentionMs: 2_000, idempotencyRetentionMs: 2_000 } });
    // us-east's clock is not trusted throughout: it syncs, but vouches for no time by its clock.
    const untrustedTick = (): void => {
      const out = c.replica(US).step([{ kind: 'tick' }], c.nowMs, { clockTrusted: false });
      for (const { to, message } of out.messages) c.inFlight.push({ from: US, to, message });
    };
    for (let i = 0; i < 10; i++) {
      c.nowMs += 500;
      untrustedTick();
      for (const r of [EU, AP]) c.step(r, [{ kind: 'tick' }]);
      c.deliverAll();
    }
    expect(c.replica(EU).status().peers.find((p) => p.region === US)?.heardAtMs).toBe(c.nowMs);
    // Heard half a window back at most: never judged gone (past the window) while it talks.
    expect(c.replica(EU).unheardMs(US, 0)).toBeLessThanOrEqual(1_000);
  });

  it('a region unheard past the window is evicted; the others collect their logs without it', () => {
    const c = new RegionCluster({ replica: retention });
    c.until(() => c.allWriteReady(), 20_000, 'all write-ready');
    // c's last writes: some reach a member before the cut, some do not.
    for (let i = 0; i < 5; i++) c.submit('c', write(`c${i}`));
    c.run(15);
    c.isolate('c');
    for (let i = 5; i < 8; i++) c.submit('c', write(`c${i}`));
    let n = 0;
    for (let t = 0; t < 6_000; t += 100) {
      c.submit(t % 200 === 0 ? 'a' : 'b', write(`k${n++}`));
      c.run(100);
    }
    const m = c.core('a').strong.state.membership;
    expect(m.eviction('c')?.through).not.toBeNull();
    expect(m.eviction('a')).toBeUndefined();
    expect(m.eviction('b')).toBeUndefined();
    // Stability moved on without c: a's and b's writes are stable and their logs trimmed.
    for (const r of ['a', 'b']) {
      const st = c.core(r).replica.status();
      expect(get(st.stable, 'a')).toBeGreaterThan(20);
      expect(get(st.stable, 'b')).toBeGreaterThan(20);
      expect((c.disks.get(r) as { trimmedThrough(o: string): number }).trimmedThrough('a')).toBeGreaterThan(20);
    }
    // Every member holds c's ops exactly through the decided bound; what c wrote after the cut is beyond it.
    const through = m.eviction('c')?.through ?? -1;
    expect(through).toBeGreaterThanOrEqual(5);
    expect(through).toBeLessThan(get(c.core('c').replica.vector, 'c'));
    for (const r of ['a', 'b']) expect(get(c.core(r).replica.vector, 'c')).toBe(through);
    // Both members acknowledged; c had no say.
    expect(Object.keys(m.eviction('c')?.acks ?? {}).sort()).toEqual(['a', 'b']);
  });

  it('without eviction (a window longer than the absence) nothing is collected while a region is away', () => {
    const c = new RegionCluster({ replica: { ...retention, idempotencyRetentionMs: 60_000, logRetentionMs: 60_000, conflictRetentionMs: 60_000 } });
    c.until(() => c.allWriteReady(), 20_000, 'all write-ready');
    awayPastWindow(c);
    expect(c.core('a').strong.state.membership.size).toBe(0);
    expect(get(c.core('a').replica.status().stable, 'a')).toBeLessThan(5);
  });

  it('an update the evicted region made concurrently with a delete never resurrects the row, whether or not a member received it', () => {
    const c = new RegionCluster({ replica: retention });
    c.until(() => c.allWriteReady(), 20_000, 'all write-ready');
    for (const k of ['held', 'orphan']) c.submit('a', write(k));
    c.run(500);
    // c updates both rows; only b receives the update of `held` before c is cut off; nobody gets `orphan`'s.
    c.cut.add('c|a');
    c.submit('c', write('held'));
    c.run(100);
    c.cut.add('c|b');
    c.submit('c', write('orphan'));
    c.isolate('c');
    // a deletes both (delete-wins); then a and b go on writing past the window.
    for (const k of ['held', 'orphan']) c.submit('a', { api: 'async', request: { kind: 'delete', table: 'free', key: k } });
    for (let i = 0; i < 60; i++) {
      c.submit('a', write(`k${i}`));
      c.run(100);
    }
    expect(c.core('a').strong.state.membership.eviction('c')?.through).not.toBeNull();
    // c comes back and offers its orphan to everyone: the members refuse it.
    c.heal();
    c.run(3_000);
    for (const r of ['a', 'b']) {
      for (const k of ['held', 'orphan']) expect(c.core(r).replica.peekRow('free', k), `${r} ${k}`).toBeNull();
    }
    // c learned it was evicted: it serves nothing of its stale data (catching-up, snapshot).
    expect(c.core('c').stage).toMatchObject({ stage: 'catching-up', reason: 'snapshot' });
    expect(c.await(c.submit('c', write('late')))).toMatchObject({ ok: false, error: { code: 'NOT_READY', reason: 'snapshot' } });
    // c's op on `held` survived the eviction (b held it), c's op on `orphan` did not.
    const through = c.core('a').strong.state.membership.eviction('c')?.through ?? -1;
    expect(get(c.core('a').replica.vector, 'c')).toBe(through);
    expect(get(c.core('c').replica.vector, 'c')).toBe(through + 1);
  });

  it('a region holding up more than logBytesMax of the logs is evicted before the time window runs out, and the logs shrink', () => {
    const bytesMax = 1024 * 1024;
    const c = new RegionCluster({ replica: { ...retention, idempotencyRetentionMs: 600_000, logRetentionMs: 600_000, conflictRetentionMs: 600_000, logRetentionBytesMax: bytesMax } });
    c.until(() => c.allWriteReady(), 20_000, 'all write-ready');
    c.isolate('c');
    const big = 'x'.repeat(4_000);
    for (let i = 0; i < 400 && c.core('a').strong.state.membership.size === 0; i++) {
      c.submit('a', { api: 'async', request: { kind: 'write', table: 'free', key: `k${i}`, body: { set: { v: big } } } });
      c.run(20);
    }
    expect(c.core('a').replica.logBytes).toBeGreaterThan(bytesMax);
    c.until(() => c.core('a').strong.state.membership.eviction('c')?.through != null, 10_000, 'c evicted');
    expect(c.events.some((e) => e.event.kind === 'warn' && e.event.message.includes('retention.logBytesMax'))).toBe(true);
    c.until(() => c.core('a').replica.logBytes < bytesMax / 4, 10_000, 'logs collected');
  });

  it('an evicted region is never readmitted with the data it was evicted with', () => {
    const c = new RegionCluster({ replica: retention });
    c.until(() => c.allWriteReady(), 20_000, 'all write-ready');
    awayPastWindow(c);
    c.heal();
    c.run(3_000);
    // It asked, and the members acknowledged, but it has installed nothing: it stays out.
    expect(c.core('a').strong.state.membership.eviction('c')?.readmit).toMatchObject({ installed: false });
    expect(c.core('c').snapshotWanted()).not.toBeNull();
    expect(c.core('c').stage).toMatchObject({ stage: 'catching-up', reason: 'snapshot' });
  });

  it('a readmitted region writes nothing concurrent with what the members made stable without it', () => {
    const c = new RegionCluster({ replica: retention });
    c.until(() => c.allWriteReady(), 20_000, 'all write-ready');
    c.submit('a', write('row'));
    c.run(500);
    awayPastWindow(c);
    expect(c.core('a').strong.state.membership.eviction('c')?.through).not.toBeNull();
    // a deletes the row; the members make the delete stable (and purge its tombstone) without c.
    c.submit('a', { api: 'async', request: { kind: 'delete', table: 'free', key: 'row' } });
    for (let i = 0; i < 10; i++) {
      c.submit('b', write(`m${i}`));
      c.run(100);
    }
    c.heal();
    c.until(() => c.core('c').snapshotWanted() !== null, 20_000, 'c wants a snapshot');
    installSnapshot(c, 'b', 'c');
    // c writes the row as early as it is let.
    let written = false;
    for (let t = 0; t < 20_000 && !written; t += 10) {
      const id = c.submit('c', write('row'));
      c.run(10);
      const reply = c.replies.get(id);
      written = reply !== undefined && reply.ok;
    }
    expect(written, JSON.stringify([c.core('c').stage, c.core('a').strong.state.membership.eviction('c'), c.core('a').strong.state.membership.readmitted('c')])).toBe(true);
    c.run(3_000);
    const rows = ['a', 'b', 'c'].map((r) => JSON.stringify(c.core(r).replica.peekRow('free', 'row')));
    expect(new Set(rows).size, rows.join(' | ')).toBe(1);
  });

  it('a member restarted while a region is evicted keeps its freeze until its strong log is re-applied: the orphans never reach it', () => {
    // The simulator (region world, --evict --seed 6 --faults all) found it: a member restarted with
    // its strong state rebuilt from scratch (the commit index is not durable), so its membership
    // was empty until the leader told it the commit index again; the replica took that for a
    // readmission, thawed the evicted region and applied its orphans, which then spread and brought
    // back a row another region had deleted (its tombstone already collected there).
    const c = new RegionCluster({ replica: retention });
    c.until(() => c.allWriteReady(), 20_000, 'all write-ready');
    c.isolate('c');
    for (let i = 0; i < 5; i++) c.submit('c', write(`orphan${i}`));
    for (let i = 0; i < 40; i++) {
      c.submit('a', write(`k${i}`));
      c.run(100);
    }
    c.until(() => ['a', 'b'].every((r) => c.core(r).strong.state.membership.eviction('c')?.through != null), 10_000, 'c evicted');
    const through = c.core('a').strong.state.membership.eviction('c')?.through ?? -1;
    expect(get(c.core('c').replica.vector, 'c')).toBeGreaterThan(through);
    // b restarts, and hears c (whose orphans it lacks) but not the strong leader a.
    c.restart('b');
    c.heal();
    c.cut.add('a|b');
    c.cut.add('b|a');
    expect(c.core('b').strong.state.index).toBeLessThan(c.core('a').strong.state.index);
    c.run(2_000);
    expect(get(c.core('b').replica.vector, 'c')).toBeLessThanOrEqual(through);
    expect(c.core('b').stage.stage).toBe('catching-up');
    // Once b hears the leader again its view of the evictions is current: still frozen at the bound.
    c.heal();
    c.until(() => c.core('b').strong.state.index >= c.core('a').strong.state.index, 5_000, 'b re-applied the strong log');
    c.run(1_000);
    for (const r of ['a', 'b']) expect(get(c.core(r).replica.vector, 'c')).toBeLessThanOrEqual(through);
    expect(c.core('b').replica.frozenAt('c')).toBeDefined();
  });

  it('a readmitted region whose snapshot is older than what the members made stable stays out (snapshot), never writes', () => {
    const c = new RegionCluster({ replica: retention });
    c.until(() => c.allWriteReady(), 20_000, 'all write-ready');
    awayPastWindow(c);
    const stale = (c.disks.get('a') as MemoryStorage).copy();
    for (let i = 0; i < 20; i++) {
      c.submit('b', write(`m${i}`));
      c.run(100);
    }
    c.heal();
    c.until(() => c.core('c').snapshotWanted() !== null, 20_000, 'c wants a snapshot');
    const wanted = c.core('c').snapshotWanted();
    stale.transaction(() => {
      markRejoined(stale, c.disks.get('c') as MemoryStorage, { from: 'a', copiedAt: 'test' });
      stale.putMeta(snapshotMetaKey, { readmitIndex: wanted?.readmitIndex });
    });
    c.disks.set('c', stale);
    c.restart('c');
    c.run(5_000);
    expect(c.core('c').stage).toMatchObject({ stage: 'catching-up', reason: 'snapshot' });
    expect(c.await(c.submit('c', write('late')))).toMatchObject({ ok: false, error: { code: 'NOT_READY' } });
  });

  it('an evicted region rejoins from a member\'s snapshot: readmitted through the log, it writes again, every region converges, and its orphans are listed everywhere, applied nowhere', () => {
    const { c, problems } = rejoinScenario();
    expect(problems).toEqual([]);
    expect(c.core('a').strong.state.membership.readmitted('c')).toBeDefined();
    const feeds = ['a', 'b', 'c'].map((r) => orphanEntries(c, r));
    expect(feeds[0]?.map((e) => e.key).sort()).toEqual(['doomed', ...Array.from({ length: 8 }, (_, i) => `orphan${i}`)].sort());
    expect(feeds[0]?.find((e) => e.key === 'orphan0')).toMatchObject({ rule: 'eviction', winner: { region: 'c' }, losers: [{ region: 'c', wrote: { patch: { set: { v: 'orphan0' } } } }] });
    // c counts for stability again: the others' stable point covers c's new write.
    c.run(1_000);
    expect(get(c.core('a').replica.status().stable, 'c')).toBe(get(c.core('c').replica.vector, 'c'));
  });

  it('a knob that replays orphaned writes is caught: a deleted row comes back', () => {
    const { problems } = rejoinScenario({ replayOrphanedWrites: true });
    expect(problems.some((p) => p.includes('doomed'))).toBe(true);
  });
});

/** The orphaned-write entries of `region`'s feed. */
function orphanEntries(c: RegionCluster, region: string): ConflictEntry[] {
  const reply = c.await(c.submit(region, { api: 'async', request: { kind: 'conflicts', limit: 1000 } }));
  if (reply === undefined || !reply.ok || !('conflicts' in reply)) throw new Error(`no feed from ${region}`);
  return reply.conflicts.filter((e) => e.kind === 'orphaned-write');
}

/**
 * c is cut off, writes on its own (orphans, one of them an update of a row a deletes meanwhile), is
 * evicted, comes back, rejoins from a's snapshot, and writes again. What went wrong, as sentences:
 * regions that differ, orphans applied somewhere, the deleted row back, feeds that differ.
 */
function rejoinScenario(knobs: Knobs = {}): { c: RegionCluster; problems: string[] } {
  const c = new RegionCluster({ replica: { ...retention, knobs } });
  c.until(() => c.allWriteReady(), 20_000, 'all write-ready');
  c.submit('a', write('doomed'));
  c.run(500);
  c.isolate('c');
  for (let i = 0; i < 8; i++) c.submit('c', write(`orphan${i}`));
  c.submit('c', write('doomed'));
  c.submit('a', { api: 'async', request: { kind: 'delete', table: 'free', key: 'doomed' } });
  for (let i = 0; i < 50; i++) {
    c.submit(i % 2 === 0 ? 'a' : 'b', write(`k${i}`));
    if (i === 10) c.submit('a', { api: 'async', request: { kind: 'delete', table: 'free', key: 'k0' } });
    c.run(100);
  }
  if (c.core('a').strong.state.membership.eviction('c')?.through == null) throw new Error('c was not evicted');
  // c comes back, learns it was evicted and asks to be readmitted; the members acknowledge.
  c.heal();
  c.until(() => c.core('c').snapshotWanted() !== null, 20_000, 'c wants a snapshot');
  installSnapshot(c, 'a', 'c');
  c.until(() => c.core('c').stage.stage === 'write-ready', 30_000, 'c write-ready');
  if (c.await(c.submit('c', write('after')))?.ok !== true) throw new Error('c could not write after its rejoin');
  c.run(3_000);
  const problems: string[] = [];
  const regions = ['a', 'b', 'c'];
  if (new Set(regions.map((r) => JSON.stringify(c.core(r).replica.vector))).size !== 1) problems.push('the regions hold different writes');
  for (const r of regions) {
    if (c.core(r).replica.peekRow('free', 'after') === null) problems.push(`${r} lacks c's write after its rejoin`);
    if (c.core(r).replica.peekRow('free', 'k0') !== null) problems.push(`${r}: k0, deleted, is back`);
    if (c.core(r).replica.peekRow('free', 'doomed') !== null) problems.push(`${r}: doomed, deleted, is back`);
    for (let i = 0; i < 8; i++) if (c.core(r).replica.peekRow('free', `orphan${i}`) !== null) problems.push(`${r}: orphan${i} was applied`);
  }
  const ids = regions.map((r) => JSON.stringify(orphanEntries(c, r).map((e) => e.id).sort()));
  if (new Set(ids).size !== 1) problems.push('the regions list different orphaned writes');
  return { c, problems };
}
