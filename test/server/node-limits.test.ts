/**
 * A region node's own queues are bounded (src/server/limits.ts): past `requestsWaitingMax` a
 * request is answered OVERLOADED at once and nothing is written; the others are served.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/server/config.js';
import { RegionNode } from '../../src/server/region-node.js';
import { freePortBlock } from '../process/harness.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

describe('region node limits', () => {
  it('answers OVERLOADED past requestsWaitingMax, writing nothing, and serves the others', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tern-limits-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const port = await freePortBlock(2);
    const config = parseConfig({ cluster: 'limits', tables: { profiles: { fields: { name: 'lww' } } }, regions: [{ name: 'solo', node: { id: 'solo-1', api: `127.0.0.1:${port}`, peer: `127.0.0.1:${port + 1}`, data: path.join(dir, 'data') } }] }, dir);
    const node = new RegionNode(config, 'solo', { log: pino({ level: 'silent' }), onFatal: (err) => { throw err; }, limits: { requestsWaitingMax: 2 } });
    await node.run();
    cleanup.push(() => node.stop());
    const write = (key: string) => node.submit({ kind: 'patch', table: 'profiles', key, body: { set: { name: key } } });
    // Three at once, before the node's next turn: the third finds two waiting.
    const [a, b, c] = await Promise.all([write('a'), write('b'), write('c')]);
    expect(c).toMatchObject({ ok: false, error: { code: 'OVERLOADED' } });
    for (const r of [a, b]) expect(r.ok === true || (r.ok === false && r.error.code !== 'OVERLOADED')).toBe(true);
    // Nothing of the refused one was written, once the node serves.
    let last = await write('d');
    for (let i = 0; i < 400 && !last.ok; i++) {
      await new Promise((r) => setTimeout(r, 50));
      last = await write('d');
    }
    expect(last, JSON.stringify(last)).toMatchObject({ ok: true });
    expect(await node.submit({ kind: 'get', table: 'profiles', key: 'c' })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
  }, 30_000);
});
