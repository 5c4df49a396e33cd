/**
 * A table created in one region reaches the others through the strong log. A request for it that
 * arrives first answers NO_SUCH_TABLE saying it may be arriving; one whose session token saw the
 * creation waits for it (up to sessionWaitMs), as a session read waits for its writes.
 */
import { describe, expect, it } from 'vitest';
import type { ClientRequest } from '../../../src/core/replica/messages.js';
import { RegionCluster } from './cluster.js';

const write: ClientRequest = { kind: 'write', table: 'late', key: 'k', body: { set: { x: 1 } } };

function createdElsewhere(): { c: RegionCluster; index: number } {
  const c = new RegionCluster();
  c.until(() => c.allWriteReady(), 20_000, 'every region write-ready');
  c.isolate('c');
  const put = c.await(c.submit('a', { api: 'strong', request: { kind: 'put-table', table: 'late', body: { mode: 'async' } } }));
  expect(put).toMatchObject({ ok: true, kind: 'table' });
  return { c, index: (put as { index: number }).index };
}

describe('a table on its way', () => {
  it('without the session that saw it: NO_SUCH_TABLE at once, saying it may still be arriving', () => {
    const { c } = createdElsewhere();
    expect(c.await(c.submit('c', { api: 'async', request: write }))).toMatchObject({ ok: false, error: { code: 'NO_SUCH_TABLE', message: expect.stringContaining('may still be arriving') } });
  });

  it('with it: the request waits until the table arrives, then is served', () => {
    const { c, index } = createdElsewhere();
    const id = c.submit('c', { api: 'async', request: write, strongSeen: index });
    c.run(300);
    expect(c.replies.has(id)).toBe(false);
    c.heal();
    expect(c.await(id)).toMatchObject({ ok: true });
    expect(c.read('c', 'late', 'k')).toEqual({ x: 1 });
  });

  it('a wait that runs out answers NO_SUCH_TABLE', () => {
    const { c, index } = createdElsewhere();
    const id = c.submit('c', { api: 'async', request: write, strongSeen: index });
    expect(c.await(id, 3_000)).toMatchObject({ ok: false, error: { code: 'NO_SUCH_TABLE' } });
  });
});

describe('a request released from its wait is admitted again', () => {
  it('a write that waited for its table while the region stopped taking writes is refused, and nothing is written', () => {
    const { c, index } = createdElsewhere();
    const id = c.submit('c', { api: 'async', request: write, strongSeen: index });
    c.run(100);
    // c's wall clock steps a minute ahead: it forgets every measurement and takes no writes until
    // its clock is measured again (then it is fenced for it); the table arrives meanwhile.
    c.wallOffsetMs.set('c', 60_000);
    c.run(20);
    expect(c.core('c').stage.stage).not.toBe('write-ready');
    c.heal();
    const reply = c.await(id);
    expect(reply).toMatchObject({ ok: false });
    expect(['NOT_READY', 'FENCED']).toContain((reply as { error: { code: string } }).error.code);
    c.run(500);
    expect(c.read('a', 'late', 'k')).toBeNull();
  });
});
