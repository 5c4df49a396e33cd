/**
 * The lease table as the strong state machine applies it: every command at a log index, with the
 * exact slot it leaves and whether it was granted. Time plays no part here (the proposers judge
 * it); what the table decides is only what the log order can decide.
 */
import { describe, expect, it } from 'vitest';
import { LeaseTable, vacantSlot, type LeaseCommandBody } from '../../../src/core/strong/lease-table.js';
import { StrongState } from '../../../src/core/strong/state-machine.js';

const acquire = (slot: string, by: string, basedOn: number, extra: { boot?: string; monoMs?: number; wallMs?: number } = {}): LeaseCommandBody => ({
  t: 'lease',
  op: 'acquire',
  slot,
  by,
  basedOn,
  boot: extra.boot ?? `${by}.boot`,
  monoMs: extra.monoMs ?? 0,
  wallMs: extra.wallMs ?? 0,
});
const release = (slot: string, by: string, epoch: number, through = 0): LeaseCommandBody => ({ t: 'lease', op: 'release', slot, by, epoch, through, wallMs: 0 });
const admin = (op: 'handback' | 'drain' | 'undrain', slot: string): LeaseCommandBody => ({ t: 'lease', op, slot, wallMs: 0 });

describe('lease table: acquire', () => {
  it('grants a vacant slot to an acquire based on index 0, recording who asked, from which boot and when', () => {
    const t = new LeaseTable();
    expect(t.slot('a')).toBe(vacantSlot);
    const r = t.apply(5, acquire('a', 'a', 0, { boot: 'a.1', monoMs: 100, wallMs: 9000 }));
    const expected = { holder: 'a', epoch: 1, changedIndex: 5, boot: 'a.1', askedMonoMs: 100, stampMs: 9000, drained: false, handback: false, releasedThrough: null };
    expect(r).toEqual({ granted: true, slot: expected });
    expect(t.slot('a')).toEqual(expected);
    // Slots are independent: nothing else was touched.
    expect(t.slot('b')).toBe(vacantSlot);
    expect([...t.slots().keys()]).toEqual(['a']);
  });

  it('refuses an acquire whose basedOn is not the slot’s last change, and leaves the slot as it was', () => {
    const t = new LeaseTable();
    t.apply(5, acquire('a', 'a', 0));
    const before = t.slot('a');
    // A takeover asked on a view from before the grant (0), or of a made-up index (4, 6): the
    // holder may have renewed since, so the asker cannot know its lease has run out.
    for (const basedOn of [0, 4, 6]) {
      expect(t.apply(7 + basedOn, acquire('a', 'b', basedOn))).toEqual({ granted: false, slot: before });
    }
    // The holder's own renewal is judged the same way.
    expect(t.apply(20, acquire('a', 'a', 0)).granted).toBe(false);
    expect(t.slot('a')).toBe(before);
    // Based on the last change, the takeover goes through.
    expect(t.apply(21, acquire('a', 'b', 5))).toMatchObject({ granted: true, slot: { holder: 'b', epoch: 2, changedIndex: 21 } });
  });

  it('a renewal by the holder keeps the epoch, moves changedIndex on and restamps the lease; it is not a change of holder', () => {
    const t = new LeaseTable();
    t.apply(5, acquire('a', 'a', 0, { monoMs: 100, wallMs: 1000 }));
    const r = t.apply(8, acquire('a', 'a', 5, { boot: 'a.2', monoMs: 400, wallMs: 1300 }));
    expect(r).toEqual({ granted: true, slot: { holder: 'a', epoch: 1, changedIndex: 8, boot: 'a.2', askedMonoMs: 400, stampMs: 1300, drained: false, handback: false, releasedThrough: null } });
    // The history shows one holder change (the grant at 5), not two.
    expect(t.snapshot().history).toEqual([['a', [{ from: 5, holder: 'a', epoch: 1 }]]]);
    // The next acquire must name the renewal, not the grant.
    expect(t.apply(9, acquire('a', 'b', 5)).granted).toBe(false);
  });
});

describe('lease table: release, handback, drain', () => {
  it('a release by the holder under its epoch leaves the slot vacant, says through which seq it wrote, and keeps the epoch', () => {
    const t = new LeaseTable();
    t.apply(1, acquire('a', 'a', 0));
    t.apply(2, acquire('a', 'b', 1)); // b takes a's rows over: epoch 2
    // Only the holder, and only under the epoch it holds, may release.
    expect(t.apply(3, release('a', 'c', 2, 9)).granted).toBe(false);
    expect(t.apply(3, release('a', 'b', 1, 9)).granted).toBe(false);
    expect(t.apply(3, release('a', 'a', 1, 9)).granted).toBe(false);
    const r = t.apply(4, release('a', 'b', 2, 17));
    expect(r).toEqual({ granted: true, slot: { ...t.slot('a'), holder: null, epoch: 2, changedIndex: 4, handback: false, releasedThrough: { region: 'b', seq: 17 } } });
    expect(t.slot('a')).toMatchObject({ holder: null, epoch: 2, changedIndex: 4, releasedThrough: { region: 'b', seq: 17 } });
    // A second release of the same epoch finds no holder.
    expect(t.apply(5, release('a', 'b', 2, 18)).granted).toBe(false);
    // The next grant (based on the release) raises the epoch and forgets releasedThrough.
    expect(t.apply(6, acquire('a', 'a', 4))).toMatchObject({ granted: true, slot: { holder: 'a', epoch: 3, changedIndex: 6, releasedThrough: null } });
  });

  it('a handback is asked only of a takeover holder, once; it stops renewals and a release clears it', () => {
    const t = new LeaseTable();
    // Nobody to hand back from: vacant, or held by the home itself.
    expect(t.apply(1, admin('handback', 'a')).granted).toBe(false);
    t.apply(2, acquire('a', 'a', 0));
    expect(t.apply(3, admin('handback', 'a')).granted).toBe(false);
    t.apply(4, acquire('a', 'b', 2));
    const r = t.apply(5, admin('handback', 'a'));
    // The flag only: same holder, same epoch, same changedIndex (a pending acquire stays valid).
    expect(r).toMatchObject({ granted: true, slot: { holder: 'b', epoch: 2, changedIndex: 4, handback: true } });
    expect(t.apply(6, admin('handback', 'a')).granted).toBe(false);
    // The takeover holder may not renew once asked to hand back...
    expect(t.apply(7, acquire('a', 'b', 4)).granted).toBe(false);
    expect(t.slot('a').changedIndex).toBe(4);
    // ...and its release clears the flag.
    expect(t.apply(8, release('a', 'b', 2, 3))).toMatchObject({ granted: true, slot: { holder: null, handback: false, epoch: 2 } });
  });

  it('the home may take its slot back from a takeover holder asked to hand back (its lease ran out): a new epoch, the flag cleared', () => {
    const t = new LeaseTable();
    t.apply(1, acquire('a', 'b', 0));
    t.apply(2, admin('handback', 'a'));
    expect(t.apply(3, acquire('a', 'a', 1))).toMatchObject({ granted: true, slot: { holder: 'a', epoch: 2, handback: false, changedIndex: 3 } });
  });

  it('drain and undrain toggle the flag (each once); a drained home cannot acquire its own slot, another region can', () => {
    const t = new LeaseTable();
    t.apply(1, acquire('b', 'b', 0));
    const d = t.apply(2, admin('drain', 'b'));
    // Draining does not move the holder: the drained region releases its slot itself.
    expect(d).toMatchObject({ granted: true, slot: { holder: 'b', epoch: 1, drained: true, changedIndex: 1 } });
    expect(t.apply(3, admin('drain', 'b')).granted).toBe(false);
    // A renewal by the drained home, even on the right basedOn, is refused.
    expect(t.apply(4, acquire('b', 'b', 1)).granted).toBe(false);
    t.apply(5, release('b', 'b', 1, 4));
    expect(t.apply(6, acquire('b', 'b', 5)).granted).toBe(false);
    expect(t.apply(7, acquire('b', 'a', 5))).toMatchObject({ granted: true, slot: { holder: 'a', epoch: 2, drained: true } });
    expect(t.apply(8, admin('undrain', 'b'))).toMatchObject({ granted: true, slot: { holder: 'a', epoch: 2, drained: false } });
    expect(t.apply(9, admin('undrain', 'b')).granted).toBe(false);
    // A drain or undrain of a slot nobody ever held works on the vacant slot.
    expect(t.apply(10, admin('undrain', 'c')).granted).toBe(false);
    expect(t.apply(11, admin('drain', 'c'))).toMatchObject({ granted: true, slot: { holder: null, epoch: 0, drained: true } });
  });
});

describe('lease table: epochs and history', () => {
  it('the epoch rises with every grant to a new holder (a vacant slot included), never with a renewal, handback, drain or release', () => {
    const t = new LeaseTable();
    const epochs: number[] = [];
    const step = (index: number, c: LeaseCommandBody): void => {
      expect(t.apply(index, c).granted).toBe(true);
      epochs.push(t.slot('a').epoch);
    };
    step(1, acquire('a', 'a', 0)); // 1: first grant
    step(2, acquire('a', 'a', 1)); // renewal
    step(3, acquire('a', 'b', 2)); // 2: takeover
    step(4, admin('handback', 'a'));
    step(5, release('a', 'b', 2));
    step(6, acquire('a', 'a', 5)); // 3: back home
    step(7, admin('drain', 'a'));
    step(8, release('a', 'a', 3));
    step(9, acquire('a', 'c', 8)); // 4: a drained region's rows taken
    step(10, admin('undrain', 'a'));
    step(11, acquire('a', 'c', 9)); // renewal
    expect(epochs).toEqual([1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]);
  });

  it('holderAt answers who held the slot, under which epoch, at any past index', () => {
    const t = new LeaseTable();
    t.apply(10, acquire('a', 'a', 0));
    t.apply(12, acquire('a', 'a', 10)); // renewal: no new history entry
    t.apply(20, acquire('a', 'b', 12));
    t.apply(25, admin('handback', 'a'));
    t.apply(30, release('a', 'b', 2));
    t.apply(40, acquire('a', 'a', 30));
    const expected = (i: number) => (i < 10 ? { holder: null, epoch: 0 } : i < 20 ? { holder: 'a', epoch: 1 } : i < 30 ? { holder: 'b', epoch: 2 } : i < 40 ? { holder: null, epoch: 2 } : { holder: 'a', epoch: 3 });
    for (let i = 0; i <= 50; i++) expect(t.holderAt('a', i), `index ${i}`).toEqual(expected(i));
    // A slot with no history was vacant all along.
    expect(t.holderAt('b', 30)).toEqual({ holder: null, epoch: 0 });
  });

  it('keeps every holder change: holderAt answers for any index however many changes came after (1000 here)', () => {
    const t = new LeaseTable();
    let last = 0;
    for (let i = 1; i <= 1000; i++) {
      expect(t.apply(i, acquire('a', i % 2 === 0 ? 'b' : 'c', last)).granted).toBe(true);
      last = i;
    }
    expect(t.snapshot().history[0]?.[1]).toHaveLength(1000);
    expect(t.holderAt('a', 0)).toEqual({ holder: null, epoch: 0 });
    expect(t.holderAt('a', 1)).toEqual({ holder: 'c', epoch: 1 });
    expect(t.holderAt('a', 2)).toEqual({ holder: 'b', epoch: 2 });
    expect(t.holderAt('a', 10_000)).toEqual({ holder: 'b', epoch: 1000 });
  });
});

describe('lease table: snapshots', () => {
  function busy(): LeaseTable {
    const t = new LeaseTable();
    t.apply(1, acquire('a', 'a', 0, { monoMs: 5, wallMs: 50 }));
    t.apply(2, acquire('b', 'b', 0));
    t.apply(3, acquire('a', 'c', 1));
    t.apply(4, admin('handback', 'a'));
    t.apply(5, admin('drain', 'b'));
    t.apply(6, release('b', 'b', 1, 42));
    return t;
  }

  it('restores every slot and every answer of holderAt, also through JSON (the snapshot is plain data)', () => {
    const t = busy();
    const copy = new LeaseTable();
    copy.restore(JSON.parse(JSON.stringify(t.snapshot())));
    for (const r of ['a', 'b', 'c']) {
      expect(copy.slot(r)).toEqual(t.slot(r));
      for (let i = 0; i <= 8; i++) expect(copy.holderAt(r, i)).toEqual(t.holderAt(r, i));
    }
    // The restored table goes on deciding exactly like the original.
    expect(copy.apply(7, acquire('b', 'a', 6))).toEqual(t.apply(7, acquire('b', 'a', 6)));
  });

  it('a snapshot is a copy: later commands on either side do not reach the other', () => {
    const t = busy();
    const snap = t.snapshot();
    const frozen = JSON.stringify(snap);
    t.apply(7, acquire('b', 'a', 6));
    expect(JSON.stringify(snap)).toBe(frozen);
    const copy = new LeaseTable();
    copy.restore(snap);
    copy.apply(8, acquire('c', 'c', 0));
    expect(JSON.stringify(snap)).toBe(frozen);
    expect(t.slot('c')).toBe(vacantSlot);
  });

  it('restore replaces what was there; restoring nothing (an old snapshot without leases) leaves an empty table', () => {
    const t = busy();
    const other = new LeaseTable();
    other.apply(1, acquire('c', 'c', 0));
    other.restore(t.snapshot());
    expect(other.slot('c')).toEqual(t.slot('c'));
    other.restore(undefined);
    expect(other.slots().size).toBe(0);
    expect(other.holderAt('a', 3)).toEqual({ holder: null, epoch: 0 });
  });

  it('the strong state machine applies lease commands at their log index and carries the table in its snapshot', () => {
    const s = new StrongState({}, 60_000);
    expect(s.apply(1, acquire('a', 'a', 0, { wallMs: 7 }))).toMatchObject({ ok: true, kind: 'lease', op: 'acquire', granted: true, slot: 'a', lease: { holder: 'a', epoch: 1, changedIndex: 1 } });
    expect(s.apply(2, acquire('a', 'b', 0))).toMatchObject({ ok: true, kind: 'lease', granted: false, lease: { holder: 'a' } });
    const copy = new StrongState({}, 60_000);
    copy.restore(s.snapshot());
    expect(copy.leases.slot('a')).toEqual(s.leases.slot('a'));
    expect(copy.leases.holderAt('a', 1)).toEqual({ holder: 'a', epoch: 1 });
  });

  it('stops at a change applied out of log order, and at an epoch that goes back (the invariants fencing rests on)', () => {
    const t = new LeaseTable();
    t.apply(10, acquire('us-east', 'us-east', 0));
    // An entry at an earlier position than the slot's last change: the log was applied out of order.
    expect(() => t.apply(7, acquire('us-east', 'eu-west', 10))).toThrow(/log position 7, not after its last change at 10/);
    // A slot restored with an epoch its history contradicts (a corrupted snapshot): the next grant would reuse an epoch.
    const u = new LeaseTable();
    u.restore({ slots: [['us-east', { ...vacantSlot, holder: 'us-east', epoch: 1, changedIndex: 10 }]], history: [['us-east', [{ from: 10, holder: 'us-east', epoch: 3 }]]] });
    expect(() => u.apply(12, acquire('us-east', 'eu-west', 10))).toThrow(/holds it under epoch 2, which us-east had/);
  });
});
