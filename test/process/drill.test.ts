/**
 * `terndb drill --demo` as the README runs it, shortened: two cycles of a SIGKILL and an isolation
 * under load through the router. Asserts what must hold whatever the machine's speed: no
 * acknowledged strong write lost, no acknowledged async write permanently lost, no counter short;
 * never a time. Also its bad input.
 */
import { describe, expect, it } from 'vitest';
import { freePortBlock, terndb } from './harness.js';

interface Result {
  fault: string;
  strongAcked: number;
  strongLost: number;
  asyncAcked: number;
  asyncLost: number;
  counterShort: number;
}

describe('terndb drill', () => {
  it('two cycles of kill and isolate: RPO 0 for strong writes, no async write permanently lost', async () => {
    const base = await freePortBlock(220);
    const run = await terndb(['drill', '--demo', '--cycles', '2', '--faults', 'kill,isolate', '--load-seconds', '1', '--fault-seconds', '5', '--workers', '4', '--port-base', String(base), '--json']);
    expect(run.code, run.err).toBe(0);
    const results = JSON.parse(run.out) as Result[];
    expect(results.map((r) => r.fault)).toEqual(['kill', 'isolate', 'kill', 'isolate']);
    for (const r of results) {
      expect(r.strongAcked).toBeGreaterThan(0);
      expect(r.asyncAcked).toBeGreaterThan(0);
      expect(r).toMatchObject({ strongLost: 0, asyncLost: 0, counterShort: 0 });
    }
  }, 300_000);

  it.each([
    [['--faults', 'kill,flood'], /--faults.*"flood" is not a fault/],
    [['--region', 'mars'], /--region: must be one of us-east, eu-west, ap-south, not mars/],
    [[], /give --demo/],
  ])('bad input %j: exit 2 naming it, nothing started', async (args, message) => {
    const run = await terndb(['drill', ...(args.length > 0 ? ['--demo', ...args] : [])]);
    expect(run.code).toBe(2);
    expect(run.err).toMatch(message);
  });
});
