/**
 * A seeded chaos run of a Raft group: messages delayed, reordered, duplicated and dropped;
 * partitions; crashes that lose what was not persisted; clocks that drift within the offset.
 * It records what a checker needs: leaders per term, what each node applied, every read point
 * the group handed out and the highest commit index anywhere when that read was asked.
 */
import type { RaftConfig } from '../../../src/core/raft/raft.js';
import type { Message } from '../../../src/core/raft/types.js';
import { Prng } from '../../../src/sim/prng.js';
import { RaftNet, type Cmd, type Disk } from './network.js';

export interface ChaosOptions {
  readonly seed: number;
  readonly nodes?: number;
  readonly steps?: number;
  /** Clock rate error of each node, ± this fraction. */
  readonly drift?: number;
  readonly raft?: Partial<RaftConfig>;
  /**
   * Disks lost and replaced by an older copy of themselves (a backup): `learner` restores as
   * `terndb restore` does; `forget` restores the old copy as it was (a bug to be caught).
   */
  readonly amnesia?: 'learner' | 'forget';
}

export interface ChaosResult {
  readonly leaderOfTerm: Map<number, Set<string>>;
  readonly applied: Map<string, Cmd[]>;
  /** Commands acknowledged to a client (applied at the leader that proposed them). */
  readonly acknowledged: Cmd[];
  /** For every read answered: its index, and the highest commit index in the group when it was asked. */
  readonly reads: Array<{ node: string; index: number; committedWhenAsked: number; lease: boolean }>;
  readonly log: string[];
}

const stepMs = 5;

export function runChaos(options: ChaosOptions): ChaosResult {
  const rng = new Prng(options.seed);
  const ids = Array.from({ length: options.nodes ?? 5 }, (_, i) => `n${i + 1}`);
  const net = new RaftNet(ids, { seed: options.seed, electionTicks: 10, heartbeatTicks: 2, tickMs: 10, maxClockOffsetMs: 20, maxEntriesPerAppend: 4, ...options.raft });
  const drift = options.drift ?? 0.04;
  const rate = new Map(ids.map((id) => [id, 1 + (rng.float() * 2 - 1) * drift]));
  const clock = new Map(ids.map((id) => [id, rng.float() * 50])); // each node's reading (only rates matter)
  const nextTick = new Map(ids.map((id) => [id, 10]));
  const queue: Array<{ at: number; m: Message<Cmd, Cmd[]> }> = [];
  const result: ChaosResult = { leaderOfTerm: new Map(), applied: new Map(), acknowledged: [], reads: [], log: [] };
  const proposed = new Map<Cmd, { node: string; index: number; term: number }>();
  const askedReads = new Map<number, { node: string; committedWhenAsked: number; lease: boolean }>();
  let partition: Set<string> | null = null;
  let realMs = 0;
  let seq = 0;

  const maxCommitted = (): number => Math.max(...ids.map((id) => net.raft(id).log.committed));
  const cut = (from: string, to: string): boolean => partition !== null && partition.has(from) !== partition.has(to);
  const backups = new Map<string, Disk>();

  let settling = false;
  const flush = (): void => {
    net.processAll();
    for (const m of net.inflight) {
      if (!settling && rng.float() < 0.05) continue; // lost
      const copies = !settling && rng.float() < 0.03 ? 2 : 1;
      for (let c = 0; c < copies; c++) queue.push({ at: realMs + 1 + rng.int(40), m });
    }
    net.inflight = [];
    for (const id of ids) {
      const n = net.node(id);
      for (const r of n.reads.splice(0)) {
        const asked = askedReads.get(r.ctx);
        if (asked === undefined || asked.node !== id) continue;
        askedReads.delete(r.ctx);
        result.reads.push({ node: id, index: r.index, committedWhenAsked: asked.committedWhenAsked, lease: asked.lease });
      }
      n.abandoned.splice(0);
    }
    // A proposal is acknowledged when the node that proposed it applies it at the index it was given.
    for (const [cmd, p] of proposed) {
      const n = net.node(p.node);
      if (n.appliedIndex >= p.index) {
        proposed.delete(cmd);
        const entry = net.raft(p.node).log.entry(p.index);
        if ((entry === undefined && n.applied.includes(cmd)) || (entry?.term === p.term && entry.data === cmd)) result.acknowledged.push(cmd);
      }
    }
  };

  const steps = options.steps ?? 2000;
  const settleSteps = 600;
  for (let step = 0; step < steps + settleSteps; step++) {
    realMs += stepMs;
    settling = step >= steps;
    if (step === steps) {
      partition = null;
      result.log.push(`${realMs} settle`);
    }
    // Faults.
    const roll = settling ? 1 : rng.float();
    if (roll < 0.004) {
      partition = new Set(ids.filter(() => rng.float() < 0.5));
      result.log.push(`${realMs} partition ${[...partition].join(',')}`);
    } else if (roll < 0.008) {
      partition = null;
      result.log.push(`${realMs} heal`);
    } else if (roll < 0.0105) {
      const victim = rng.pick(ids);
      net.crash(victim);
      for (let i = queue.length - 1; i >= 0; i--) if ((queue[i] as { m: Message<Cmd, Cmd[]> }).m.to === victim) queue.splice(i, 1);
      nextTick.set(victim, (clock.get(victim) as number) + 10);
      result.log.push(`${realMs} crash ${victim}`);
    } else if (options.amnesia !== undefined && roll < 0.0125) {
      const victim = rng.pick(ids);
      const backup = backups.get(victim);
      if (rng.float() < 0.5 || backup === undefined) {
        backups.set(victim, structuredClone(net.node(victim).disk));
        result.log.push(`${realMs} backup ${victim}`);
      } else {
        net.restoreFrom(victim, backup, options.amnesia === 'learner');
        for (let i = queue.length - 1; i >= 0; i--) if ((queue[i] as { m: Message<Cmd, Cmd[]> }).m.to === victim) queue.splice(i, 1);
        nextTick.set(victim, (clock.get(victim) as number) + 10);
        result.log.push(`${realMs} restore ${victim} from its backup`);
      }
    }
    // Clocks and ticks.
    for (const id of ids) {
      const c = (clock.get(id) as number) + stepMs * (rate.get(id) as number);
      clock.set(id, c);
      while ((nextTick.get(id) as number) <= c) {
        nextTick.set(id, (nextTick.get(id) as number) + 10);
        net.raft(id).tick(c);
      }
    }
    // Clients.
    for (const id of ids) {
      const r = net.raft(id);
      if (r.role !== 'leader' || settling) continue;
      if (rng.float() < 0.3) {
        const cmd = `c${seq++}`;
        const res = r.propose(cmd);
        if (res.ok) proposed.set(cmd, { node: id, index: res.index, term: res.term });
      }
      if (rng.float() < 0.2) {
        const ctx = seq++;
        askedReads.set(ctx, { node: id, committedWhenAsked: maxCommitted(), lease: r.status().leaseValid });
        r.readIndex(ctx, clock.get(id) as number);
      }
    }
    if (rng.float() < 0.02) {
      // Compact a random node's log up to what it applied.
      const id = rng.pick(ids);
      const n = net.node(id);
      const r = net.raft(id);
      if (n.appliedIndex > r.log.offset + 5) {
        const term = r.log.termAt(n.appliedIndex);
        if (term !== undefined) {
          n.disk.snapshot = { index: n.appliedIndex, term, voters: ids, data: [...n.applied] };
          n.disk.entries = n.disk.entries.filter((e) => e.index > n.appliedIndex);
          r.compact(n.disk.snapshot);
        }
      }
    }
    flush();
    // Deliver what is due, in random order among equals.
    queue.sort((a, b) => a.at - b.at);
    while (queue.length > 0 && (queue[0] as { at: number }).at <= realMs) {
      const { m } = queue.shift() as { at: number; m: Message<Cmd, Cmd[]> };
      if (cut(m.from, m.to)) continue;
      net.raft(m.to).step(m);
      flush();
    }
    for (const id of ids) {
      const r = net.raft(id);
      if (r.role !== 'leader') continue;
      const set = result.leaderOfTerm.get(r.term) ?? new Set<string>();
      set.add(id);
      result.leaderOfTerm.set(r.term, set);
    }
  }
  for (const id of ids) result.applied.set(id, [...net.node(id).applied]);
  return result;
}

/** Violations of Raft's safety properties in a chaos run (empty when none). */
export function chaosViolations(r: ChaosResult): string[] {
  const out: string[] = [];
  for (const [term, leaders] of r.leaderOfTerm) if (leaders.size > 1) out.push(`term ${term} had leaders ${[...leaders].join(',')}`);
  const seqs = [...r.applied.entries()];
  const longest = seqs.reduce((a, b) => (a[1].length >= b[1].length ? a : b));
  for (const [id, s] of seqs) {
    const i = s.findIndex((c, k) => longest[1][k] !== c);
    if (i >= 0) out.push(`${id} applied ${s[i]} at position ${i} where ${longest[0]} applied ${longest[1][i]}`);
  }
  // After the settle phase every node holds everything a client was told was committed.
  for (const [id, s] of seqs) {
    const have = new Set(s);
    const missing = r.acknowledged.filter((c) => !have.has(c));
    if (missing.length > 0) out.push(`${id} never applied acknowledged ${missing.slice(0, 5).join(',')}${missing.length > 5 ? ` (+${missing.length - 5})` : ''}`);
  }
  for (const x of r.reads) {
    if (x.index < x.committedWhenAsked) out.push(`stale read at ${x.node}: index ${x.index} but ${x.committedWhenAsked} was committed when asked (lease ${x.lease})`);
  }
  return out;
}
