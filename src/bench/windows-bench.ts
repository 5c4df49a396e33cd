/**
 * Conflict-window benchmark: two regions partitioned, N writes on each side to one field of one
 * row, then healed. Prints the worst single step while the windows are decided, and how many
 * write-write entries resulted (the pair rule reports only the two sides' heads: one).
 */
import { replicaDefaults } from '../core/replica/config.js';
import type { Input, PeerMessage } from '../core/replica/messages.js';
import { Replica } from '../core/replica/replica.js';
import { validatePolicy } from '../core/schema/policy.js';
import { MemoryStorage } from '../storage/memory-storage.js';

const regions = ['us-east', 'eu-west'];

export function runWindowsBench(sizes: readonly number[], print: (line: string) => void): void {
  const policy = validatePolicy({ fields: { name: 'lww' } }, { regions });
  if (!policy.ok) throw new Error(policy.error.message);
  print('windows bench: two regions, N concurrent writes per side to one field, then healed');
  for (const n of sizes) {
    const open = (region: string) => Replica.open({ ...replicaDefaults, region, regions, tables: { t: policy.value }, mergeFunctions: {} }, new MemoryStorage(), 0);
    const replicas = new Map(regions.map((r) => [r, open(r)]));
    let now = 1_000;
    let id = 1;
    for (let i = 0; i < n; i++) {
      now++;
      for (const [region, r] of replicas) r.step([{ kind: 'request', id: id++, request: { kind: 'write', table: 't', key: 'hot', body: { set: { name: `${region}-${i}` } } } }], now);
    }
    let worstMs = 0;
    let inFlight: Array<{ from: string; to: string; message: PeerMessage }> = [];
    const step = (region: string, inputs: Input[]) => {
      const t0 = performance.now();
      const out = (replicas.get(region) as Replica).step(inputs, now);
      worstMs = Math.max(worstMs, performance.now() - t0);
      for (const m of out.messages) inFlight.push({ from: region, ...m });
    };
    for (let round = 0; round < 500; round++) {
      now += 100;
      const delivering = inFlight;
      inFlight = [];
      for (const region of regions) step(region, [{ kind: 'tick' }]);
      for (const m of delivering) step(m.to, [{ kind: 'peer', from: m.from, message: m.message }]);
      const settled = [...replicas.values()].every((r) => {
        const s = r.status();
        return regions.every((o) => (s.vector[o] ?? 0) === n && (s.gcPoint[o] ?? 0) === n);
      });
      if (settled) break;
    }
    const conflicts = (replicas.get('us-east') as Replica).metrics.conflictsWriteWrite;
    print(`  N=${n} per side: worst step ${worstMs.toFixed(0)} ms, ${conflicts} write-write entr${conflicts === 1 ? 'y' : 'ies'}`);
  }
}
