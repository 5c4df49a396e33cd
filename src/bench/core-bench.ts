/**
 * Core benchmark: how fast one replica applies remote ops (memory storage, no IO), and how many
 * bytes an op takes on the wire (msgpackr, the planned wire encoding). Single-field ops on a
 * keyspace of 10,000 rows, delivered in messages of 512 ops, 8 messages per step, with the peers'
 * stability reports and a tick in every step so garbage collection runs as in steady state.
 */
import { Packr } from 'msgpackr';
import { cpus } from 'node:os';
import { getHeapSpaceStatistics } from 'node:v8';
import { replicaDefaults, type ReplicaConfig } from '../core/replica/config.js';
import type { Input } from '../core/replica/messages.js';
import { Replica } from '../core/replica/replica.js';
import { validatePolicy } from '../core/schema/policy.js';
import { MemoryStorage } from '../storage/memory-storage.js';
import { Prng } from '../sim/prng.js';
import type { FieldChange, Op } from '../core/model/op.js';

const regions = ['us-east', 'eu-west', 'ap-south'];
const keys = 10_000;

function config(): ReplicaConfig {
  const policy = validatePolicy({ fields: { name: 'lww', visits: 'counter' } }, { regions });
  if (!policy.ok) throw new Error(policy.error.message);
  return { ...replicaDefaults, region: 'eu-west', regions, tables: { profiles: policy.value }, mergeFunctions: {} };
}

/** Ops of one origin, as that origin would have made them: one field each, lww or counter. */
export function makeOps(count: number, seed = 1): Op[] {
  const rng = new Prng(seed);
  const ops: Op[] = [];
  for (let seq = 1; seq <= count; seq++) {
    const key = `user:${rng.int(keys)}`;
    const changes: Record<string, FieldChange> = rng.chance(0.5)
      ? { name: { k: 'set', value: `name-${rng.int(1_000_000)}` } }
      : { visits: { k: 'incr', delta: 1 + rng.int(5) } };
    ops.push({ dot: { origin: 'us-east', seq }, hlc: { wall: 1_700_000_000_000 + Math.floor(seq / 200), logical: seq % 200, node: 'us-east' }, deps: { 'us-east': seq - 1 }, table: 'profiles', key, kind: 'write', changes });
  }
  return ops;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

export function runCoreBench(o: { ops: number; rounds: number }, print: (line: string) => void): { opsPerSec: number; bytesPerOp: number } {
  const ops = makeOps(o.ops);
  const packr = new Packr({ useRecords: false });
  const bytes = ops.slice(0, 10_000).reduce((n, op) => n + packr.pack(op).length, 0) / Math.min(10_000, ops.length);
  const batch = (() => {
    const messages: Input[][] = [];
    let step: Input[] = [];
    for (let i = 0; i < ops.length; i += 512) {
      step.push({ kind: 'peer', from: 'us-east', message: { t: 'ops', ops: ops.slice(i, i + 512) } });
      if (step.length === 8) {
        // Steady state: the peers report what they applied, so stability advances and garbage
        // collection (compaction, conflict windows, log trimming) runs as it would in production.
        const seq = Math.min(i + 512, ops.length) - 512 * 8;
        const vector: Record<string, number> = seq > 0 ? { 'us-east': seq } : {};
        for (const from of ['us-east', 'ap-south']) step.push({ kind: 'peer', from, message: { t: 'sync', vector, reports: {}, beats: {} } });
        step.push({ kind: 'tick' });
        messages.push(step);
        step = [];
      }
    }
    if (step.length > 0) messages.push(step);
    return messages;
  })();
  const semiMb = Math.round((getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0) / 2 / 1024 / 1024);
  print(`core bench: ${o.ops} single-field remote ops per round over ${keys} rows, ${o.rounds} rounds + 1 warm-up`);
  print(`node ${process.version}, ${cpus()[0]?.model ?? 'unknown cpu'}, V8 flags: ${process.execArgv.join(' ') || '(none)'} (semi-space now ${semiMb} MiB)`);
  const rates: number[] = [];
  for (let round = 0; round <= o.rounds; round++) {
    const replica = Replica.open(config(), new MemoryStorage(), 1_700_000_000_000);
    const t0 = performance.now();
    // Each step carries 4,096 ops; advancing 20 ms per step is 200,000 ops/s of simulated load.
    batch.forEach((step, i) => replica.step(step, 1_700_000_000_000 + 20 * i));
    const ms = performance.now() - t0;
    if (replica.vector['us-east'] !== o.ops) throw new Error(`applied ${replica.vector['us-east']} of ${o.ops}`);
    if (round === 0) continue; // warm-up: JIT
    rates.push((o.ops / ms) * 1000);
    print(`  round ${round}: ${Math.round((o.ops / ms) * 1000).toLocaleString('en-US')} ops/s`);
  }
  const opsPerSec = Math.round(median(rates));
  print(`median: ${opsPerSec.toLocaleString('en-US')} ops/s applied (target ≥ 200,000); ${bytes.toFixed(1)} bytes per op (msgpackr)`);
  largeSetWrites(print);
  return { opsPerSec, bytesPerOp: bytes };
}

/**
 * What one write costs on a large row: a set grown to 9,000 elements (the limit is 10,000) by
 * remote adds of 1,000, then 500 remote ops adding one element each, one step per op (memory
 * storage). A write should cost in proportion to what it changes, not to the row's size.
 */
function largeSetWrites(print: (line: string) => void): void {
  const policy = validatePolicy({ fields: { tags: 'set' } }, { regions });
  if (!policy.ok) throw new Error(policy.error.message);
  const replica = Replica.open({ ...replicaDefaults, region: 'eu-west', regions, tables: { docs: policy.value }, mergeFunctions: {} }, new MemoryStorage(), 1_700_000_000_000);
  let seq = 0;
  const op = (values: string[]): Op => {
    seq++;
    return { dot: { origin: 'us-east', seq }, hlc: { wall: 1_700_000_000_000 + seq, logical: 0, node: 'us-east' }, deps: { 'us-east': seq - 1 }, table: 'docs', key: 'big', kind: 'write', changes: { tags: { k: 'add', elems: values } } };
  };
  const step = (o: Op) => replica.step([{ kind: 'peer', from: 'us-east', message: { t: 'ops', ops: [o] } }], 1_700_000_000_000 + seq);
  for (let b = 0; b < 9; b++) step(op(Array.from({ length: 1_000 }, (_, i) => `tag-${b * 1_000 + i}`)));
  const ms: number[] = [];
  for (let i = 0; i < 500; i++) {
    const o = op([`new-${i}`]);
    const t0 = performance.now();
    step(o);
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  const at = (p: number) => ms[Math.min(ms.length - 1, Math.floor((p / 100) * ms.length))] as number;
  print(`one element added to a set of 9,000 to 9,500 elements (500 remote ops, one step each): p50 / p99 ${at(50).toFixed(3)} / ${at(99).toFixed(3)} ms per write`);
}
