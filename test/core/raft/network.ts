/**
 * A deterministic harness for Raft tests: nodes with their "disks", a network the test drives by
 * hand (deliver, drop, cut links), crashes that lose what was not persisted, and a transcript.
 */
import { Raft, type RaftConfig } from '../../../src/core/raft/raft.js';
import type { Entry, HardState, Message, Ready, Snapshot } from '../../../src/core/raft/types.js';
import { Prng } from '../../../src/sim/prng.js';

export type Cmd = string;

export interface Disk {
  hardState: HardState | null;
  snapshot: Snapshot<Cmd[]> | null;
  entries: Array<Entry<Cmd>>;
}

export interface NodeState {
  raft: Raft<Cmd, Cmd[]>;
  disk: Disk;
  /** Commands applied, in order (the state machine: a list). */
  applied: Cmd[];
  appliedIndex: number;
  reads: Array<{ ctx: number; index: number }>;
  abandoned: number[];
}

export class RaftNet {
  readonly nodes = new Map<string, NodeState>();
  inflight: Array<Message<Cmd, Cmd[]>> = [];
  readonly cut = new Set<string>();
  /** Messages for which this is true are lost on the way (a transport's frame limit, a dropped link). */
  drop: ((m: Message<Cmd, Cmd[]>) => boolean) | null = null;
  nowMs = 0;
  readonly log: string[] = [];
  readonly #rng: Prng;
  readonly #config: (id: string) => RaftConfig;

  constructor(ids: string[], options: Partial<RaftConfig> & { seed?: number } = {}) {
    this.#rng = new Prng(options.seed ?? 1);
    this.#config = (id) => ({ id, voters: ids, electionTicks: 10, heartbeatTicks: 1, tickMs: 10, maxClockOffsetMs: 20, random: () => this.#rng.float(), ...options });
    for (const id of ids) this.#boot(id, { hardState: null, snapshot: null, entries: [] });
  }

  #boot(id: string, disk: Disk): void {
    const raft = new Raft<Cmd, Cmd[]>(this.#config(id), disk);
    const applied = disk.snapshot ? [...disk.snapshot.data] : [];
    this.nodes.set(id, { raft, disk, applied, appliedIndex: disk.snapshot?.index ?? 0, reads: [], abandoned: [] });
  }

  node(id: string): NodeState {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  raft(id: string): Raft<Cmd, Cmd[]> {
    return this.node(id).raft;
  }

  /** Persists and routes every pending Ready, like the shell does. */
  process(id: string): void {
    const n = this.node(id);
    while (n.raft.hasReady()) {
      const rd: Ready<Cmd, Cmd[]> = n.raft.ready();
      this.inflight.push(...rd.sendNow);
      if (rd.snapshot) {
        n.disk.snapshot = rd.snapshot;
        n.disk.entries = [];
        n.applied = [...rd.snapshot.data];
        n.appliedIndex = rd.snapshot.index;
      }
      if (rd.entries.length > 0) {
        const first = (rd.entries[0] as Entry<Cmd>).index;
        n.disk.entries = n.disk.entries.filter((e) => e.index < first).concat(rd.entries);
      }
      if (rd.hardState) n.disk.hardState = rd.hardState;
      this.inflight.push(...rd.sendAfterPersist);
      for (const e of rd.committed) {
        if (e.index <= n.appliedIndex) continue;
        if (e.data !== null) n.applied.push(e.data);
        n.appliedIndex = e.index;
      }
      n.reads.push(...rd.reads);
      n.abandoned.push(...rd.abandonedReads);
      n.raft.advance(rd);
    }
  }

  processAll(): void {
    for (const id of this.nodes.keys()) this.process(id);
  }

  /** Delivers every message in flight (dropping those over cut links), repeatedly, until quiet. */
  stabilize(maxRounds = 200): void {
    this.processAll();
    for (let i = 0; i < maxRounds && this.inflight.length > 0; i++) {
      const batch = this.inflight;
      this.inflight = [];
      for (const m of batch) {
        if (this.cut.has(`${m.from}|${m.to}`) || !this.nodes.has(m.to) || this.drop?.(m) === true) continue;
        this.raft(m.to).step(m);
        this.process(m.to);
      }
    }
  }

  tick(ids: string[] = [...this.nodes.keys()], times = 1): void {
    for (let t = 0; t < times; t++) {
      this.nowMs += 10;
      for (const id of ids) {
        this.raft(id).tick(this.nowMs);
        this.process(id);
      }
    }
  }

  /** Ticks everyone and delivers until `check` holds (or gives up). */
  runUntil(check: () => boolean, maxTicks = 500): void {
    for (let i = 0; i < maxTicks && !check(); i++) {
      this.tick();
      this.stabilize();
    }
  }

  isolate(id: string): void {
    for (const other of this.nodes.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}|${other}`);
      this.cut.add(`${other}|${id}`);
    }
  }

  heal(): void {
    this.cut.clear();
  }

  /** kill -9 and restart: whatever was not persisted is gone. */
  crash(id: string): void {
    const n = this.node(id);
    this.inflight = this.inflight.filter((m) => m.to !== id && m.from !== id);
    this.#boot(id, { hardState: n.disk.hardState, snapshot: n.disk.snapshot, entries: [...n.disk.entries] });
  }

  /**
   * The node's disk is lost and replaced by `disk` (an older copy: a backup), and it restarts.
   * With `learner` (what `terndb restore` does) it comes back as a learner, remembering no vote.
   */
  restoreFrom(id: string, disk: Disk, learner = true): void {
    this.inflight = this.inflight.filter((m) => m.to !== id && m.from !== id);
    const hs = disk.hardState ?? { term: 0, vote: null, commit: 0 };
    this.#boot(id, { hardState: learner ? { ...hs, vote: null, learner: true } : hs, snapshot: disk.snapshot, entries: [...disk.entries] });
  }

  leaders(): string[] {
    return [...this.nodes.entries()].filter(([, n]) => n.raft.role === 'leader').map(([id]) => id);
  }

  /** One line per node: role, term, leader, commit, last index, what it applied. */
  transcript(): string {
    return [...this.nodes.entries()]
      .map(([id, n]) => {
        const s = n.raft.status();
        return `${id} ${s.role} term=${s.term} leader=${s.leader ?? '-'} commit=${s.commit} last=${s.lastIndex} applied=[${n.applied.join(',')}]`;
      })
      .join('\n');
  }
}
