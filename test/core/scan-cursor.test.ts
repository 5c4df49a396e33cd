/** Scan paging: a cursor exactly when rows may be left, so a full last page does not send the client for an empty one. */
import { describe, expect, it } from 'vitest';
import type { ClientReply, ClientRequest } from '../../src/core/replica/messages.js';
import { Cluster, US } from './cluster.js';

const scan = (c: Cluster, limit: number, after?: string) => c.request(US, { kind: 'scan', table: 't', limit, ...(after !== undefined ? { after } : {}) } as ClientRequest) as Extract<ClientReply, { ok: true; kind: 'scan' }>;

describe('scan cursors', () => {
  it('no cursor after the last row, also when the last page is exactly full; deleted rows skipped', () => {
    const c = new Cluster();
    for (const k of ['k1', 'k2', 'k3', 'k4']) c.ok(US, { kind: 'write', table: 't', key: k, body: { set: { name: k } } });
    c.ok(US, { kind: 'delete', table: 't', key: 'k3' });
    const all = scan(c, 3);
    expect(all.rows.map((r) => r.key)).toEqual(['k1', 'k2', 'k4']);
    expect(all.next).toBeNull();
    const first = scan(c, 2);
    expect([first.rows.map((r) => r.key), first.next]).toEqual([['k1', 'k2'], 'k2']);
    const second = scan(c, 2, 'k2');
    expect([second.rows.map((r) => r.key), second.next]).toEqual([['k4'], null]);
    const exact = scan(c, 1, 'k2');
    expect([exact.rows.map((r) => r.key), exact.next]).toEqual([['k4'], null]);
  });
});
