/**
 * Strong tables across real processes (three nodes through the WAN emulator): a bank workload from
 * clients in every region while the leader's region is cut off and then killed with SIGKILL. The
 * total is conserved in every snapshot read and at the end, and a register history recorded here
 * is checked by the linearizability checker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkBank, type BankRecord } from '../../src/sim/check/bank.js';
import type { LinEvent } from '../../src/sim/check/lin-history.js';
import { checkLinearizable, formatLinResult } from '../../src/sim/check/linearizability.js';
import { ProcessCluster } from './harness.js';

const accounts = ['a0', 'a1', 'a2', 'a3', 'a4'];
const c = new ProcessCluster({
  tables: { bank: { mode: 'strong', fields: { balance: 'counter', transfers: 'counter' } }, registers: { mode: 'strong' } },
  settings: { preferredLeader: 'us-east', raftHeartbeatMs: 100, raftElectionMs: 1000, strongTimeoutMs: 3000, maxClockOffsetMs: 250 },
});

beforeAll(async () => {
  await c.start();
}, 60_000);
afterAll(() => c.stop(), 60_000);

type Outcome = { kind: 'ok'; status: number; body: any } | { kind: 'fail' } | { kind: 'info' };

/** One HTTP call with a deadline; a timeout or a 504 that may have committed is unknown, never failed. */
async function call(region: string, method: string, route: string, body?: unknown, headers: Record<string, string> = {}): Promise<Outcome> {
  try {
    const r = await fetch(`${c.url(region)}${route}`, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(6000),
    });
    const json = (await r.json()) as any;
    if (r.ok) return { kind: 'ok', status: r.status, body: json };
    if (r.status === 504 && json?.error?.mayHaveCommitted === false) return { kind: 'fail' };
    if (r.status === 504) return { kind: 'info' };
    if (r.status === 404 && method === 'GET') return { kind: 'ok', status: 404, body: null };
    return { kind: 'fail' };
  } catch (err) {
    // Refused: the node is down and did nothing. Anything else (a timeout, a connection dropped
    // mid-request) leaves the outcome unknown. Either way, give a dead node a moment.
    await new Promise((r) => setTimeout(r, 50));
    return (err as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED' ? { kind: 'fail' } : { kind: 'info' };
  }
}

describe('strong tables across real processes', () => {
  it('keep the bank total and linearizable registers while the leader is isolated and killed', async () => {
    await c.eventually(() => c.http('eu-west', 'GET', '/v1/status'), (s) => s.body.raft?.leader === 'us-east', 20_000);
    const setup = await call('eu-west', 'POST', '/v1/txn', {
      success: [...accounts.map((key) => ({ table: 'bank', key, set: { balance: 100 } })), { table: 'bank', key: 'audit', set: { transfers: 0 } }],
    });
    expect(setup.kind).toBe('ok');

    const t0 = performance.now();
    const now = () => performance.now() - t0;
    const lin: LinEvent[] = [];
    const reads: BankRecord['reads'][number][] = [];
    let committed = 0;
    let unknown = 0;
    let stop = false;
    let seq = 0;

    const bankClient = async (process: number, region: string): Promise<void> => {
      while (!stop) {
        if (Math.random() < 0.3) {
          const invokeMs = now();
          const r = await call(region, 'POST', '/v1/txn', { success: [...accounts, 'audit'].map((key) => ({ table: 'bank', key, get: true })) });
          if (r.kind === 'ok') {
            const rows = r.body.results as Array<{ fields: Record<string, number> } | null>;
            const balances: Record<string, number> = {};
            accounts.forEach((a, i) => (balances[a] = rows[i]?.fields['balance'] ?? 0));
            reads.push({ balances, transfers: rows[accounts.length]?.fields['transfers'] ?? 0, process, invokeMs, okMs: now() });
          }
          continue;
        }
        const from = accounts[Math.floor(Math.random() * accounts.length)] as string;
        const to = accounts[(accounts.indexOf(from) + 1 + Math.floor(Math.random() * 4)) % accounts.length] as string;
        const amount = 1 + Math.floor(Math.random() * 30);
        const r = await call(region, 'POST', '/v1/txn', {
          compare: [{ table: 'bank', key: from, field: 'balance', op: '>=', value: amount }],
          success: [
            { table: 'bank', key: from, incr: { balance: -amount } },
            { table: 'bank', key: to, incr: { balance: amount } },
            { table: 'bank', key: 'audit', incr: { transfers: 1 } },
          ],
        });
        if (r.kind === 'info') unknown++;
        else if (r.kind === 'ok' && r.body.succeeded === true) committed++;
      }
    };

    const registerClient = async (process: number, region: string): Promise<void> => {
      const last = new Map<string, string | null>();
      while (!stop) {
        const key = Math.random() < 0.5 ? 'x' : 'y';
        const roll = Math.random();
        const time = now();
        if (roll < 0.4) {
          lin.push({ type: 'invoke', process, key, op: 'read', time });
          const r = await call(region, 'GET', `/v1/tables/registers/rows/${key}`);
          if (r.kind === 'ok') {
            const v = r.body === null ? null : (r.body.fields.v ?? null);
            last.set(key, v);
            lin.push({ type: 'ok', process, key, op: 'read', value: v, time: now() });
          } else lin.push({ type: 'fail', process, key, op: 'read', time: now() });
        } else if (roll < 0.7) {
          const value = `p${process}-${seq++}`;
          lin.push({ type: 'invoke', process, key, op: 'write', value, time });
          const r = await call(region, 'PATCH', `/v1/tables/registers/rows/${key}`, { set: { v: value } });
          lin.push({ type: r.kind, process, key, op: 'write', time: now() });
        } else {
          const from = last.get(key) ?? null;
          const to = `p${process}-${seq++}`;
          lin.push({ type: 'invoke', process, key, op: 'cas', value: { from, to }, time });
          const r = await call(region, 'POST', '/v1/txn', { compare: [{ table: 'registers', key, field: 'v', op: '==', value: from }], success: [{ table: 'registers', key, set: { v: to } }] });
          if (r.kind === 'ok') {
            // A compare that did not hold is an ok cas that returned false.
            if (r.body.succeeded === true) last.set(key, to);
            lin.push({ type: 'ok', process, key, op: 'cas', ok: r.body.succeeded === true, time: now() });
          } else lin.push({ type: r.kind, process, key, op: 'cas', time: now() });
        }
      }
    };

    const regions = c.regions;
    const clients: Promise<void>[] = [];
    regions.forEach((region, i) => {
      clients.push(bankClient(10 + i * 2, region), bankClient(11 + i * 2, region), registerClient(i, region));
    });
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    await sleep(3000);
    await c.wan('POST', '/v1/wan/partition', { isolate: 'us-east' });
    await sleep(4000);
    await c.kill('us-east', 'SIGKILL');
    await c.wan('POST', '/v1/wan/heal');
    await sleep(3000);
    stop = true;
    await Promise.all(clients);

    // us-east comes back and catches up; every region then reads the same balances.
    await c.startNode('us-east');
    const finals: Record<string, { balances: Record<string, number>; transfers: number }> = {};
    for (const region of regions) {
      const snapshot = await c.eventually(
        () => call(region, 'POST', '/v1/txn', { success: [...accounts, 'audit'].map((key) => ({ table: 'bank', key, get: true })) }),
        (r) => r.kind === 'ok',
        30_000,
      );
      const rows = (snapshot as { body: any }).body.results as Array<{ fields: Record<string, number> } | null>;
      const balances: Record<string, number> = {};
      accounts.forEach((a, i) => (balances[a] = rows[i]?.fields['balance'] ?? 0));
      finals[region] = { balances, transfers: rows[accounts.length]?.fields['transfers'] ?? 0 };
    }

    const bank = checkBank({ accounts, total: 500, reads, transfersCommitted: committed, transfersUnknown: unknown, final: finals });
    expect(bank.violations).toEqual([]);
    expect(committed).toBeGreaterThan(10);
    expect(reads.length).toBeGreaterThan(5);
    const result = checkLinearizable(lin);
    expect(result.ok, formatLinResult(result)).toBe(true);
    expect(result.keys.reduce((n, k) => n + k.ops, 0)).toBeGreaterThan(20);
  }, 120_000);
});
