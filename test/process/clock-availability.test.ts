/**
 * Availability around one node with a bad clock, with real processes: one node runs under
 * libfaketime (Debian's `faketime`, which .ci/run installs) with only its wall clock shifted (its
 * monotonic clock stays real), while every region takes writes. The requirement:
 *
 *   one node 30 s slow, and one stepped back 30 s mid-run, under write load in every region →
 *   the healthy regions accept at least 90 % of their writes while the bad node runs, the bad node
 *   acknowledges nothing (while its clock is bad), and every acknowledged write is present
 *   everywhere after it rejoins.
 *
 * Two scenarios, each with its own cluster: (A) ap-south starts 30 s slow, (B) ap-south starts
 * right and is stepped back 30 s in the middle of the load. maxClockOffsetMs is 500 (the default).
 * Nothing here asserts how long anything takes: conditions are awaited with generous deadlines.
 * The shares are soft assertions, so a run that misses them still rejoins the node and checks
 * that every acknowledged write arrived everywhere, and reports all of it.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessCluster, type ClusterOptions } from './harness.js';

const candidates = ['/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1', '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1', '/usr/lib/faketime/libfaketime.so.1'];
const lib = candidates.find((p) => existsSync(p));
if (lib === undefined) throw new Error(`libfaketime not found (looked in ${candidates.join(', ')}): install Debian's faketime package (apt-get install faketime); .ci/run does`);

const bad = 'ap-south';
const healthy = ['us-east', 'eu-west'];
/** How long the write load runs while the bad node's clock is bad. */
const loadMs = 8_000;
/** Scenario B: how long the load runs before ap-south's clock is stepped back. */
const beforeStepMs = 2_000;
/**
 * Scenario B: writes ap-south admitted before it noticed the step may still be acknowledged, so its
 * "acknowledges nothing" counts only writes issued from this long after the step on. The node
 * notices a step of its wall clock against its monotonic one at its next tick (10 ms; the clock
 * guard forgets every measurement at once), and libfaketime rereads the shift file at every call
 * (FAKETIME_NO_CACHE); 1 s covers that and a write in flight with room to spare.
 */
const stepGraceMs = 1_000;
/** A short pause between one region's writes: steady load that leaves CPU to the three nodes on a two-core machine. */
const pauseMs = 5;
/** A write that has not answered after this long counts as not accepted (the node hangs). */
const requestTimeoutMs = 10_000;
/** Generous deadlines for conditions: readiness, fencing, convergence. */
const readyDeadlineMs = 60_000;
const convergeDeadlineMs = 60_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** One region's node under libfaketime, its wall clock shifted by what the shift file says (`-30s`, `+0s`). */
function fakeClock(initial: string): { env: Record<string, string>; set: (s: string) => void; remove: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'tern-faketime-'));
  const file = path.join(dir, 'shift');
  const set = (s: string) => writeFileSync(file, `${s}\n`);
  set(initial);
  return {
    env: {
      LD_PRELOAD: lib as string,
      FAKETIME_TIMESTAMP_FILE: file,
      // Only the wall clock moves: the monotonic clock (leases, timers) stays real, as under an NTP step.
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
      FAKETIME_NO_CACHE: '1',
    },
    set,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * The harness's startNode waits for /readyz (write-ready) with a 20 s deadline. A node started with
 * a bad clock is never write-ready, and whether its healthy peers become write-ready is what the
 * test checks, so here start() waits only until every process answers (/livez); the tests then wait
 * for readiness themselves, with generous deadlines, and fail with the stage they saw.
 */
class LiveStartCluster extends ProcessCluster {
  override async waitFor(url: string, timeoutMs?: number): Promise<void> {
    return super.waitFor(url.endsWith('/readyz') ? `${url.slice(0, -'/readyz'.length)}/livez` : url, timeoutMs);
  }
}

function cluster(clock: { env: Record<string, string> }): ProcessCluster {
  const o: ClusterOptions = { wan: false, env: { [bad]: clock.env } };
  return new LiveStartCluster(o);
}

const readyz = async (c: ProcessCluster, region: string) => (await c.http(region, 'GET', '/readyz')).body as { stage: string; reason: string | null };

async function waitWriteReady(c: ProcessCluster, regions: readonly string[]): Promise<void> {
  await Promise.all(regions.map((r) => c.eventually(() => readyz(c, r), (x) => x.stage === 'write-ready', readyDeadlineMs)));
}

/** Waits for a region to be write-ready; past the deadline, a soft failure naming the stage it is stuck in. */
async function softWriteReady(c: ProcessCluster, region: string, when: string): Promise<void> {
  try {
    await c.eventually(() => readyz(c, region), (x) => x.stage === 'write-ready', readyDeadlineMs);
  } catch {
    const x = await readyz(c, region);
    expect.soft(x.stage, `${region} did not become write-ready within ${readyDeadlineMs} ms ${when}: ${x.stage} (${x.reason})`).toBe('write-ready');
  }
}

interface Attempt {
  readonly region: string;
  readonly key: string;
  readonly value: string;
  /** When the test sent it (the test process's own clock, which libfaketime does not touch). */
  readonly sentAt: number;
  /** The HTTP status, 0 when the request failed or timed out. */
  readonly status: number;
  /** The error code of a refused write (NOT_READY, FENCED, ...), or what went wrong. */
  readonly code: string | null;
}

const acked = (a: Attempt) => a.status >= 200 && a.status < 300;

/** One region's load: sequential PATCHes of fresh rows `<region>-<i>`, each with its own Idempotency-Key, until `stop()`. */
async function regionLoad(c: ProcessCluster, region: string, stop: () => boolean, out: Attempt[]): Promise<void> {
  for (let i = 0; !stop(); i++) {
    const key = `${region}-${i}`;
    const value = `v${i}`;
    const sentAt = Date.now();
    let status = 0;
    let code: string | null = null;
    try {
      const r = await fetch(`${c.url(region)}/v1/tables/profiles/rows/${key}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json', 'idempotency-key': `load-${key}` },
        body: JSON.stringify({ set: { name: value } }),
        signal: AbortSignal.timeout(requestTimeoutMs),
      });
      status = r.status;
      const text = await r.text();
      if (!r.ok) {
        try {
          code = (JSON.parse(text) as { error?: { code?: string } }).error?.code ?? `HTTP ${r.status}`;
        } catch {
          code = `HTTP ${r.status}`;
        }
      }
    } catch (e) {
      code = e instanceof Error ? e.name : 'error';
    }
    out.push({ region, key, value, sentAt, status, code });
    await sleep(pauseMs);
  }
}

/** Write load in every region at once; `during` runs alongside and the load stops when it returns. */
async function withLoad(c: ProcessCluster, during: () => Promise<void>): Promise<Attempt[]> {
  const out: Attempt[] = [];
  let stopped = false;
  const loops = c.regions.map((r) => regionLoad(c, r, () => stopped, out));
  try {
    await during();
  } finally {
    stopped = true;
    await Promise.all(loops);
  }
  return out;
}

/** "us-east accepted 412/415 (refused: 503 NOT_READY ×3)", logged for a human, and the counts. */
function tally(label: string, attempts: readonly Attempt[]): { accepted: number; total: number } {
  const accepted = attempts.filter(acked).length;
  const refused = new Map<string, number>();
  for (const a of attempts) {
    if (acked(a)) continue;
    const k = `${a.status} ${a.code ?? ''}`.trim();
    refused.set(k, (refused.get(k) ?? 0) + 1);
  }
  const why = [...refused].map(([k, n]) => `${k} ×${n}`).join(', ');
  console.log(`${label} accepted ${accepted}/${attempts.length}${attempts.length > 0 ? ` (${((100 * accepted) / attempts.length).toFixed(1)} %)` : ''}${why === '' ? '' : ` (refused: ${why})`}`);
  return { accepted, total: attempts.length };
}

/** Every acknowledged write is readable, with its value, from every region (eventually). */
async function expectPresentEverywhere(c: ProcessCluster, attempts: readonly Attempt[]): Promise<void> {
  const acks = attempts.filter(acked);
  let pending = c.regions.flatMap((region) => acks.map((a) => ({ region, a })));
  const total = pending.length;
  const check = async () => {
    const still: typeof pending = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < pending.length) {
          const p = pending[next++] as (typeof pending)[number];
          const r = await c.http(p.region, 'GET', `/v1/tables/profiles/rows/${p.a.key}`);
          if (r.status !== 200 || r.body?.fields?.name !== p.a.value) still.push(p);
        }
      }),
    );
    pending = still;
    return { missing: pending.length, of: total, examples: pending.slice(0, 5).map((p) => `${p.a.key}=${p.a.value} (acknowledged by ${p.a.region}) missing in ${p.region}`) };
  };
  await c.eventually(check, (x) => x.missing === 0, convergeDeadlineMs);
  console.log(`all ${acks.length} acknowledged writes present in all ${c.regions.length} regions`);
}

/** A cluster whose bad node's clock starts shifted by `shift`, started before and stopped after the describe's tests (inside a describe). */
function clusterWithClock(shift: string): { clock: ReturnType<typeof fakeClock>; c: ReturnType<typeof cluster> } {
  const clock = fakeClock(shift);
  const c = cluster(clock);
  beforeAll(() => c.start(), 60_000);
  afterAll(async () => {
    try {
      await c.stop();
    } finally {
      clock.remove();
    }
  }, 60_000);
  return { clock, c };
}

describe('A: a node that starts 30 s slow, under write load in every region', () => {
  const { clock, c } = clusterWithClock('-30s');

  it('the healthy regions take ≥ 90 % of their writes, the slow node acknowledges none, and every acknowledged write is everywhere once it rejoins', async () => {
    // Part of the requirement: the healthy regions become write-ready beside the slow node. If they
    // do not, say so and go on: their share below then fails too, and the rejoin is still checked.
    await Promise.all(healthy.map((r) => softWriteReady(c, r, `while ${bad}'s clock is 30 s slow`)));
    await c.eventually(() => readyz(c, bad), (x) => x.stage === 'fenced' && x.reason === 'clock', readyDeadlineMs);

    const attempts = await withLoad(c, () => sleep(loadMs));
    // The clock is still bad when the load ends.
    expect(await readyz(c, bad)).toMatchObject({ stage: 'fenced', reason: 'clock' });

    const counts = Object.fromEntries(c.regions.map((r) => [r, tally(`A: ${r}`, attempts.filter((a) => a.region === r))]));
    const badCounts = counts[bad] as { accepted: number; total: number };
    expect(badCounts.total).toBeGreaterThan(0);
    for (const r of healthy) {
      const { accepted, total } = counts[r] as { accepted: number; total: number };
      expect(total, `${r} sent no writes`).toBeGreaterThan(0);
      expect.soft(accepted / total, `${r} accepted ${accepted}/${total} of its writes while ${bad}'s clock was 30 s slow`).toBeGreaterThanOrEqual(0.9);
    }
    expect.soft(badCounts.accepted, `${bad} acknowledged ${badCounts.accepted} writes with its clock 30 s slow`).toBe(0);

    clock.set('+0s');
    await waitWriteReady(c, c.regions);
    await expectPresentEverywhere(c, attempts);
  }, 180_000);
});

describe('B: a node stepped back 30 s mid-run, under write load in every region', () => {
  const { clock, c } = clusterWithClock('+0s');

  it('the healthy regions take ≥ 90 % of their writes, the stepped node acknowledges none after the step, and every acknowledged write is everywhere once it rejoins', async () => {
    await waitWriteReady(c, c.regions);

    let stepAt = 0;
    const attempts = await withLoad(c, async () => {
      await sleep(beforeStepMs);
      clock.set('-30s');
      stepAt = Date.now();
      await sleep(loadMs);
    });
    // The step was noticed, and the clock is still bad when the load ends.
    expect(await readyz(c, bad)).toMatchObject({ stage: 'fenced', reason: 'clock' });

    const counts = Object.fromEntries(c.regions.map((r) => [r, tally(`B: ${r} (whole load)`, attempts.filter((a) => a.region === r))]));
    const afterStep = tally(`B: ${bad} (sent ≥ ${stepGraceMs} ms after the step)`, attempts.filter((a) => a.region === bad && a.sentAt >= stepAt + stepGraceMs));
    tally(`B: ${bad} (sent before the step or within the grace)`, attempts.filter((a) => a.region === bad && a.sentAt < stepAt + stepGraceMs));
    expect(afterStep.total).toBeGreaterThan(0);
    for (const r of healthy) {
      const { accepted, total } = counts[r] as { accepted: number; total: number };
      expect(total, `${r} sent no writes`).toBeGreaterThan(0);
      expect.soft(accepted / total, `${r} accepted ${accepted}/${total} of its writes while ${bad}'s clock was stepped back 30 s`).toBeGreaterThanOrEqual(0.9);
    }
    expect.soft(afterStep.accepted, `${bad} acknowledged ${afterStep.accepted} writes sent after its clock was stepped back 30 s`).toBe(0);

    clock.set('+0s');
    await waitWriteReady(c, c.regions);
    await expectPresentEverywhere(c, attempts);
  }, 180_000);
});
