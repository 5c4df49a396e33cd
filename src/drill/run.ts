/**
 * One drill: for each cycle and each fault, steady load through the router, the fault, recovery,
 * and the figures (measure.ts): RTO for async and strong requests, acknowledged writes missing
 * after convergence (strong and async), async writes the faulted region acknowledged that the
 * others could not see meanwhile, time in each rejoin stage, and errors by code.
 */
import type { DrillCluster } from './cluster.js';
import { Load, type Acked } from './load.js';
import { errorsByCode, longestGapMs, rtoMs, stageTimes } from './measure.js';

export const faultKinds = ['kill', 'isolate', 'kill-leader', 'drain'] as const;
export type FaultKind = (typeof faultKinds)[number];

export interface DrillOptions {
  readonly cluster: DrillCluster;
  readonly faults: readonly FaultKind[];
  readonly cycles: number;
  /** The region to fault (kill, isolate, drain); default: a region that is not the strong leader. */
  readonly region: string | null;
  /** Load before the fault; how long the fault lasts before recovery (longer than a write lease, to see failover). */
  readonly loadMs: number;
  readonly faultMs: number;
  readonly workers: number;
  readonly progress: (line: string) => void;
}

export interface FaultResult {
  readonly cycle: number;
  readonly fault: FaultKind;
  readonly region: string;
  readonly requests: number;
  /** null: not back at 99 % before the load stopped. */
  readonly rtoAsyncMs: number | null;
  readonly rtoStrongMs: number | null;
  /** The longest wait for an acknowledgement after the fault. */
  readonly gapAsyncMs: number;
  readonly gapStrongMs: number;
  readonly strongAcked: number;
  readonly strongLost: number;
  readonly asyncAcked: number;
  readonly asyncLost: number;
  /** Async writes the faulted region acknowledged shortly before the fault that another region could not see during it, and how long until they could. */
  readonly asyncInvisible: number;
  readonly asyncInvisibleMs: number | null;
  readonly counterShort: number;
  readonly stages: Array<[string, number]>;
  readonly errors: Array<[string, number]>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The keys under `prefix` that `region` holds (eventual scan, all pages). */
async function keysAt(url: string, table: string, prefix: string): Promise<Set<string> | null> {
  const keys = new Set<string>();
  let after: string | null = null;
  for (let page = 0; page < 1000; page++) {
    const q = new URLSearchParams({ prefix, limit: '1000', consistency: 'eventual', ...(after !== null ? { after } : {}) });
    const r = await fetch(`${url}/v1/tables/${table}/rows?${q}`).catch(() => null);
    if (r === null || !r.ok) return null;
    const body = (await r.json()) as { rows: Array<{ key: string }>; next: string | null };
    for (const row of body.rows) keys.add(row.key);
    if (body.next === null || body.rows.length === 0) return keys;
    after = body.next;
  }
  return keys;
}

/** Acknowledged keys missing in some region, after waiting up to `ms` for convergence. */
async function missingAfter(cluster: DrillCluster, table: string, prefix: string, acked: readonly Acked[], ms: number): Promise<number> {
  const deadline = Date.now() + ms;
  let missing = acked.length;
  for (;;) {
    const sets = await Promise.all(cluster.regions.map((r) => keysAt(cluster.url(r), table, prefix)));
    missing = acked.filter((a) => sets.some((s) => s === null || !s.has(a.key))).length;
    if (missing === 0 || Date.now() > deadline) return missing;
    await sleep(500);
  }
}

export async function runDrill(o: DrillOptions): Promise<FaultResult[]> {
  const { cluster } = o;
  const t0 = Date.now();
  const now = () => Date.now() - t0;
  const results: FaultResult[] = [];
  for (let cycle = 1; cycle <= o.cycles; cycle++) {
    for (const fault of o.faults) {
      const leader = await cluster.leader();
      const region = fault === 'kill-leader' ? (leader ?? (cluster.regions[0] as string)) : (o.region ?? (cluster.regions.filter((r) => r !== leader).pop() as string));
      const say = (phase: string) => o.progress(`cycle ${cycle}/${o.cycles}, ${fault} ${region}: ${phase}`);
      const prefix = `c${cycle}${fault.replace('-', '')}`;
      const load = new Load({ routerUrl: cluster.routerUrl, regions: cluster.regions, prefix, workers: o.workers, now });
      say('load');
      load.start();
      await sleep(o.loadMs);
      const faultAt = now();
      // The stages the faulted region reports from the fault on (down: no answer).
      const stagesSeen: Array<{ atMs: number; stage: string }> = [];
      let watching = true;
      const watch = (async () => {
        while (watching) {
          const r = await fetch(`${cluster.url(region)}/readyz`, { signal: AbortSignal.timeout(1_000) }).then((x) => x.json() as Promise<{ stage?: string; reason?: string | null }>).catch(() => null);
          const stage = r?.stage === undefined ? 'down' : `${r.stage}${r.reason ? ` (${r.reason})` : ''}`;
          if (stagesSeen[stagesSeen.length - 1]?.stage !== stage) stagesSeen.push({ atMs: now(), stage });
          await sleep(100);
        }
      })();
      const before = load.record.asyncRows.filter((a) => a.region === region && a.atMs >= faultAt - 1_000).map((a) => a.key);
      say('fault');
      if (fault === 'kill' || fault === 'kill-leader') await cluster.kill(region);
      else if (fault === 'isolate') await cluster.wan('/v1/wan/partition', { isolate: region });
      else await cluster.admin('drain', region);
      await sleep(Math.min(1_000, o.faultMs));
      // What the faulted region acknowledged just before the fault, as another region sees it now.
      const other = cluster.regions.find((r) => r !== region) as string;
      const seenElsewhere = (await keysAt(cluster.url(other), 'profiles', prefix)) ?? new Set<string>();
      const invisible = before.filter((k) => !seenElsewhere.has(k));
      await sleep(Math.max(0, o.faultMs - 1_000));
      say('recovery');
      if (fault === 'kill' || fault === 'kill-leader') await cluster.startNode(region, false);
      else if (fault === 'isolate') await cluster.wan('/v1/wan/heal');
      else await cluster.admin('undrain', region);
      // Rejoined: write-ready again (or the deadline).
      const deadline = Date.now() + 90_000;
      while (stagesSeen[stagesSeen.length - 1]?.stage !== 'write-ready' && Date.now() < deadline) await sleep(100);
      let invisibleMs: number | null = invisible.length === 0 ? 0 : null;
      while (invisibleMs === null && Date.now() < deadline) {
        const s = await keysAt(cluster.url(other), 'profiles', prefix);
        if (s !== null && invisible.every((k) => s.has(k))) invisibleMs = now() - faultAt;
        else await sleep(200);
      }
      await sleep(1_000); // the load runs on a moment against the healed cluster
      watching = false;
      await watch;
      await load.stop();
      const endAt = now();
      say('convergence');
      const rec = load.record;
      const strongLost = await missingAfter(cluster, 'accounts', prefix, rec.strongRows, 30_000);
      const asyncLost = await missingAfter(cluster, 'profiles', prefix, rec.asyncRows, 60_000);
      let counterShort = 0;
      for (const [key, n] of rec.counters) {
        for (const r of cluster.regions) {
          const row = (await fetch(`${cluster.url(r)}/v1/tables/profiles/rows/${key}`).then((x) => x.json() as Promise<{ fields?: { visits?: number } }>).catch(() => null)) ?? null;
          if ((row?.fields?.visits ?? 0) < n) counterShort++;
        }
      }
      results.push({
        cycle,
        fault,
        region,
        requests: rec.sent.length,
        rtoAsyncMs: rtoMs(rec.sent, 'async', faultAt),
        rtoStrongMs: rtoMs(rec.sent, 'strong', faultAt),
        gapAsyncMs: longestGapMs(rec.sent, 'async', faultAt, endAt),
        gapStrongMs: longestGapMs(rec.sent, 'strong', faultAt, endAt),
        strongAcked: rec.strongRows.length,
        strongLost,
        asyncAcked: rec.asyncRows.length,
        asyncLost,
        asyncInvisible: invisible.length,
        asyncInvisibleMs: invisibleMs,
        counterShort,
        stages: stageTimes(stagesSeen, endAt),
        errors: errorsByCode(rec.sent),
      });
      say('done');
    }
  }
  return results;
}
