/**
 * The WAN emulator's control API (it cuts links for anyone who reaches it) listens on the loopback
 * unless a host is configured: `wan.control` may give a port alone, which means 127.0.0.1, and a
 * configured host still wins.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parseConfig, wanDefaultHost } from '../../src/server/config.js';
import { WanEmulator } from '../../src/wan/wan-emulator.js';
import { freePortBlock } from '../process/harness.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function config(dir: string, base: number, control: unknown) {
  return parseConfig(
    {
      cluster: 'wan',
      regions: ['us-east', 'eu-west'].map((name, i) => ({ name, node: { id: `${name}-1`, api: `127.0.0.1:${base + 1 + i}`, peer: `127.0.0.1:${base + 3 + i}`, data: path.join(dir, name) } })),
      wan: { control, rttMs: { 'us-east/eu-west': 10 }, linkPortBase: base + 10 },
    },
    dir,
  );
}

describe('the WAN control API’s address', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tern-wan-control-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is the loopback when wan.control gives a port alone; a configured host wins', () => {
    expect(wanDefaultHost).toBe('127.0.0.1');
    for (const control of [7050, '7050', ':7050']) expect(config(dir, 7000, control).wan?.control).toEqual({ host: '127.0.0.1', port: 7050 });
    expect(config(dir, 7000, '0.0.0.0:7050').wan?.control).toEqual({ host: '0.0.0.0', port: 7050 });
    expect(config(dir, 7000, 'wan.internal:7050').wan?.control).toEqual({ host: 'wan.internal', port: 7050 });
    expect(() => config(dir, 7000, 70_000)).toThrow(/wan\.control/);
    expect(() => config(dir, 7000, 'nohost')).toThrow(/wan\.control/);
  });

  it('a running emulator given a port alone listens on 127.0.0.1 only, and answers there', async () => {
    const base = await freePortBlock(20);
    const wan = new WanEmulator(config(dir, base, base), pino({ level: 'silent' }));
    cleanup.push(() => wan.stop());
    await wan.run();
    expect(wan.controlAddress()).toEqual({ address: '127.0.0.1', port: base });
    const r = await fetch(`http://127.0.0.1:${base}/v1/wan`);
    expect(r.status).toBe(200);
    expect(((await r.json()) as { links: unknown[] }).links).toHaveLength(2);
  });
});
