/** `terndb demo` as a new user runs it: it comes up, the tour's first commands work, Ctrl-C stops everything. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { freePortBlock } from './harness.js';

const bin = new URL('../../bin/terndb.js', import.meta.url).pathname;
const dir = mkdtempSync(path.join(tmpdir(), 'tern-demo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => (s.destroy(), resolve(true)));
    s.on('error', () => resolve(false));
  });

it('starts three regions, runs the tour, and stops every process on Ctrl-C', async () => {
  const base = await freePortBlock(220);
  const demo = spawn(process.execPath, [bin, 'demo', '--port-base', String(base), '--data', path.join(dir, 'data')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  demo.stdout.on('data', (d) => (out += String(d)));
  demo.stderr.on('data', (d) => (out += String(d)));
  try {
    const deadline = Date.now() + 60_000;
    while (!out.includes('Press Ctrl-C')) {
      if (demo.exitCode !== null || Date.now() > deadline) throw new Error(`demo did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const region of ['us-east', 'eu-west', 'ap-south']) expect(out).toContain(region);
    const api = (i: number) => `http://127.0.0.1:${base + i}`;
    const patch = (i: number, body: unknown) =>
      fetch(`${api(i)}/v1/tables/profiles/rows/ann`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await patch(1, { set: { name: 'Ann' }, incr: { visits: 1 } })).status).toBe(200);
    expect((await patch(2, { add: { tags: ['admin'] }, incr: { visits: 1 } })).status).toBe(200);
    let fields: unknown = null;
    for (let i = 0; i < 100 && JSON.stringify(fields) !== JSON.stringify({ name: 'Ann', tags: ['admin'], visits: 2 }); i++) {
      await new Promise((r) => setTimeout(r, 50));
      fields = ((await (await fetch(`${api(3)}/v1/tables/profiles/rows/ann`)).json()) as { fields: unknown }).fields;
    }
    expect(fields).toEqual({ name: 'Ann', tags: ['admin'], visits: 2 });
    // The tour's strong transfer: committed through the quorum, read back strongly elsewhere.
    const txn = async (i: number, body: unknown) => {
      const res = await fetch(`${api(i)}/v1/txn`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(res.status).toBe(200);
      return (await res.json()) as { succeeded: boolean };
    };
    const open = { compare: [{ table: 'accounts', key: 'alice', op: 'missing' }], success: [{ table: 'accounts', key: 'alice', set: { balance: 100 } }, { table: 'accounts', key: 'bob', set: { balance: 0 } }] };
    expect((await txn(2, open)).succeeded).toBe(true);
    const move = { compare: [{ table: 'accounts', key: 'alice', field: 'balance', op: '>=', value: 30 }], success: [{ table: 'accounts', key: 'alice', incr: { balance: -30 } }, { table: 'accounts', key: 'bob', incr: { balance: 30 } }] };
    expect((await txn(3, move)).succeeded).toBe(true);
    const alice = (await (await fetch(`${api(1)}/v1/tables/accounts/rows/alice?consistency=strong`)).json()) as { fields: unknown };
    expect(alice.fields).toEqual({ balance: 70 });
  } finally {
    const exited = new Promise<number | null>((resolve) => demo.once('exit', (code) => resolve(code)));
    demo.kill('SIGINT');
    expect(await exited).toBe(0);
  }
  for (const port of [base + 1, base + 2, base + 3, base + 50]) expect(await listening(port), `port ${port} still open`).toBe(false);
}, 90_000);
