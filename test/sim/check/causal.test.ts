import { describe, it, expect } from 'vitest';
import { checkCausal } from '../../../src/sim/check/causal.js';
import { AP, EU, History, US, op, policy, row, runRecord } from './fixtures.js';
import { scenario } from './scenario.js';

const tables = { comments: policy() };
const parent = op(US, 1, { wall: 1, table: 'comments', key: 'c1', set: { text: 'hi' } });
const reply = op(EU, 1, { deps: { [US]: 1 }, wall: 2, table: 'comments', key: 'r1', set: { text: 're', parent: 'c1' } });
const ledger = [parent, reply];
const replyRow = row('r1', { text: 're', parent: 'c1' }, '2.0.eu-west');
const parentRow = row('c1', { text: 'hi' }, '1.0.us-east');

describe('causal checker', () => {
  it('passes when every visible reply comes with its comment', () => {
    const h = new History();
    h.read(1, EU, { table: 'comments', key: 'r1', consistency: 'causal' }, { [US]: 1, [EU]: 1 }, replyRow);
    h.read(1, EU, { table: 'comments', key: 'c1', consistency: 'causal' }, { [US]: 1, [EU]: 1 }, parentRow);
    // Two reads with closed vectors, and one reply-parent check per read that shows a reply.
    expect(checkCausal(runRecord({ tables, ledger, history: h.events }))).toMatchObject({ ok: true, checked: 4 });
    expect(checkCausal(scenario()).ok).toBe(true);
  });

  it('fails when a reply is visible without its comment', () => {
    const h = new History();
    h.read(2, AP, { table: 'comments', key: 'r1' }, { [EU]: 1 }, replyRow);
    const v = checkCausal(runRecord({ tables, ledger, history: h.events }));
    expect(v.ok).toBe(false);
    expect(v.violations).toEqual([
      'op 1 (process 2, ap-south) was served at {eu-west:1}, which includes eu-west.1 but not its cause us-east:1',
      'op 1 (process 2, ap-south) read reply comments/r1 (parent c1) at vector {eu-west:1} without its comment: the parent\'s write us-east.1 is not applied',
    ]);
  });

  it('fails when any read, of any table, was served from a state missing a cause of what it includes', () => {
    const cause = op(US, 1, { wall: 1, table: 't', key: 'a', set: { x: 1 } });
    const effect = op(EU, 1, { deps: { [US]: 1 }, wall: 2, table: 't', key: 'b', set: { y: 1 } });
    const h = new History();
    h.read(5, AP, { table: 't', key: 'b' }, { [EU]: 1 }, row('b', { y: 1 }, '2.0.eu-west'));
    const v = checkCausal(runRecord({ tables: { t: policy() }, ledger: [cause, effect], history: h.events }));
    expect(v.violations).toEqual(['op 1 (process 5, ap-south) was served at {eu-west:1}, which includes eu-west.1 but not its cause us-east:1']);
  });

  it('fails when a process that saw a reply then reads the comment and finds nothing', () => {
    const h = new History();
    h.read(3, EU, { table: 'comments', key: 'r1', consistency: 'causal' }, { [US]: 1, [EU]: 1 }, replyRow);
    h.read(3, US, { table: 'comments', key: 'c1', consistency: 'session' }, { [US]: 1, [EU]: 1 }, null);
    const v = checkCausal(runRecord({ tables, ledger, history: h.events }));
    expect(v.violations).toEqual(['op 2 (process 3, us-east) session read of comments/c1 found nothing after the process saw its reply in op 1']);
  });

  it('accepts a missing comment that was deleted, and a reply to a comment created concurrently twice', () => {
    const h = new History();
    h.read(3, EU, { table: 'comments', key: 'r1', consistency: 'causal' }, { [US]: 1, [EU]: 1 }, replyRow);
    h.read(3, US, { table: 'comments', key: 'c1', consistency: 'causal' }, { [US]: 2, [EU]: 1 }, null);
    const deleted = [...ledger, op(US, 2, { deps: { [EU]: 1 }, wall: 3, table: 'comments', key: 'c1', del: true })];
    expect(checkCausal(runRecord({ tables, ledger: deleted, history: h.events })).ok).toBe(true);
    // Another region created c1 too, earlier in HLC order; the reply's author saw only us-east's.
    const twice = [op(AP, 1, { wall: 0, table: 'comments', key: 'c1', set: { text: 'ap' } }), ...ledger];
    const r = new History();
    r.read(4, EU, { table: 'comments', key: 'r1' }, { [US]: 1, [EU]: 1 }, replyRow);
    expect(checkCausal(runRecord({ tables, ledger: twice, history: r.events })).ok).toBe(true);
  });

  it('is skipped when there is no comments table', () => {
    expect(checkCausal(runRecord())).toMatchObject({ ok: true, checked: 0 });
  });
});
