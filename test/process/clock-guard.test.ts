/**
 * The clock guard against a real clock shift: one node runs under libfaketime (Debian's
 * `faketime`, which .ci/run installs), with only its wall clock shifted (its monotonic clock
 * stays real). Beyond maxClockOffsetMs it fences itself with reason `clock`, refuses writes that
 * would carry its time, keeps serving reads, and recovers by itself once its clock is back.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessCluster } from './harness.js';

const candidates = ['/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1', '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1', '/usr/lib/faketime/libfaketime.so.1'];
const lib = candidates.find((p) => existsSync(p));
if (lib === undefined) throw new Error(`libfaketime not found (looked in ${candidates.join(', ')}): install Debian's faketime package (apt-get install faketime); .ci/run does`);

const dir = mkdtempSync(path.join(tmpdir(), 'tern-faketime-'));
const shift = path.join(dir, 'shift');
const setShift = (s: string) => writeFileSync(shift, `${s}\n`);
setShift('+0s');

const c = new ProcessCluster({
  wan: false,
  env: {
    'ap-south': {
      LD_PRELOAD: lib,
      FAKETIME_TIMESTAMP_FILE: shift,
      // Only the wall clock moves: the monotonic clock (leases, timers) stays real, as under an NTP step.
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
      FAKETIME_NO_CACHE: '1',
    },
  },
});
beforeAll(() => c.start(), 60_000);
afterAll(async () => {
  await c.stop();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

const ready = async (region: string) => (await c.http(region, 'GET', '/readyz')).body as { stage: string; reason: string | null };

describe('a node whose clock leaves the bound', () => {
  it('fences itself with reason clock, refuses writes, serves reads, and recovers', async () => {
    expect((await c.http('ap-south', 'PATCH', '/v1/tables/profiles/rows/k', { set: { name: 'before' } })).status).toBe(200);
    await c.eventually(() => c.http('us-east', 'GET', '/v1/tables/profiles/rows/k'), (r) => r.status === 200);

    setShift('+3s'); // maxClockOffsetMs is 500
    await c.eventually(() => ready('ap-south'), (r) => r.stage === 'fenced' && r.reason === 'clock', 20_000);
    const refused = await c.http('ap-south', 'PATCH', '/v1/tables/profiles/rows/k', { set: { name: 'skewed' } });
    expect(refused.status).toBe(503);
    expect(refused.body.error).toMatchObject({ code: 'FENCED', reason: 'clock', retryable: true });
    // What does not depend on its clock is still served.
    const r = await c.http('ap-south', 'GET', '/v1/tables/profiles/rows/k');
    expect(r.status).toBe(200);
    expect(r.body.fields.name).toBe('before');
    // Its peers see the offset (about 3 s) and say so.
    await c.eventually(
      async () => (await c.http('us-east', 'GET', '/v1/status')).body.clock.offsets['ap-south'],
      (o) => o !== null && Math.abs(o.offsetMs) > 2_000,
    );
    const metrics = (await c.http('us-east', 'GET', '/metrics')).body as string;
    expect(metrics).toMatch(/tern_clock_offset_ms\{[^}]*peer="ap-south"[^}]*\} -?\d/);
    expect(c.logLines('ap-south').some((l) => typeof l['msg'] === 'string' && (l['msg'] as string).startsWith('clock not trusted'))).toBe(true);
    // The others keep going.
    expect((await c.http('us-east', 'PATCH', '/v1/tables/profiles/rows/k', { set: { name: 'after' } })).status).toBe(200);

    setShift('+0s');
    await c.eventually(() => ready('ap-south'), (x) => x.stage === 'write-ready', 20_000);
    await c.eventually(() => c.http('ap-south', 'GET', '/v1/tables/profiles/rows/k'), (x) => x.body?.fields?.name === 'after');
    expect((await c.http('ap-south', 'PATCH', '/v1/tables/profiles/rows/k2', { set: { name: 'back' } })).status).toBe(200);
    // The write it refused never happened anywhere.
    for (const region of c.regions) expect((await c.http(region, 'GET', '/v1/tables/profiles/rows/k')).body.fields.name).toBe('after');
  }, 90_000);
});
