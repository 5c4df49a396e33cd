import { describe, it, expect } from 'vitest';
import { checkSets } from '../../../src/sim/check/sets.js';
import type { JsonValue } from '../../../src/core/util/json.js';
import type { RunRecord } from '../../../src/sim/history.js';
import { EU, History, US, healed, op, policy, runRecord } from './fixtures.js';
import { scenario } from './scenario.js';
import type { Op } from '../../../src/core/model/op.js';

const tables = { t: policy({ fields: { tags: 'set' } }) };

/** A region's final tags replaced by `tags` (the reference is bypassed on purpose). */
function withTags(run: RunRecord, tags: readonly string[]): RunRecord {
  const fields: Record<string, JsonValue> = tags.length > 0 ? { tags } : {};
  return { ...run, finals: run.finals.map((s) => ({ ...s, rows: { t: [{ key: 'k', fields, version: '9.0.x' }] } })) };
}

describe('sets checker', () => {
  const addXY = op(US, 1, { wall: 1, add: { tags: ['x', 'y'] } });
  const removeX = op(EU, 1, { deps: { [US]: 1 }, wall: 2, remove: { tags: ['x'] } });
  const addXAgain = op(US, 2, { wall: 3, add: { tags: ['x'] } });

  function run(ledger: readonly Op[]): RunRecord {
    const h = new History();
    h.write(1, US, { body: { add: { tags: ['x', 'y'] } } }, addXY.dot, { at: 1, okAt: 2 });
    h.write(2, EU, { body: { remove: { tags: ['x'] } } }, removeX.dot, { at: 3, okAt: 4 });
    if (ledger.includes(addXAgain)) h.write(1, US, { body: { add: { tags: ['x'] } } }, addXAgain.dot, { at: 5, okAt: 6 });
    return healed(runRecord({ tables, ledger, history: h.events }));
  }

  it('passes when the final elements follow add-wins over the ledger', () => {
    expect(checkSets(run([addXY, removeX]))).toMatchObject({ ok: true, checked: 3 });
    expect(checkSets(run([addXY, removeX, addXAgain])).ok).toBe(true);
    expect(checkSets(scenario()).ok).toBe(true);
  });

  it('fails when an add concurrent with a remove lost (remove-wins instead of add-wins)', () => {
    const v = checkSets(withTags(run([addXY, removeX, addXAgain]), ['y']));
    expect(v.ok).toBe(false);
    expect(v.violations).toEqual([
      'set t/k.tags: region us-east lacks "x", which the ledger adds and never removes after the add',
      'set t/k.tags: op 3 (process 1, us-east) added "x" (acknowledged) but region us-east ends without it, and nothing that could remove it ran after the add',
    ]);
  });

  it('fails when a removed element is still there', () => {
    const v = checkSets(withTags(run([addXY, removeX]), ['x', 'y']));
    expect(v.violations).toEqual(['set t/k.tags: region us-east holds "x", but every add of it in the ledger was removed afterwards (or there is none)']);
  });

  it('fails when the stored set is not sorted', () => {
    expect(checkSets(withTags(run([addXY]), ['y', 'x'])).violations.join('\n')).toMatch(/not sorted by canonical JSON/);
  });

  it('does not blame an acknowledged add on a remove that may have run after it', () => {
    const h = new History();
    const remove = h.invoke(2, EU, { f: 'write', table: 't', key: 'k', body: { remove: { tags: ['x'] } } }, { at: 1 });
    h.write(1, US, { body: { add: { tags: ['x'] } } }, { origin: US, seq: 1 }, { at: 2, okAt: 3 });
    h.ok(remove, { kind: 'write', dot: { origin: EU, seq: 1 }, row: null, token: {} }, 10);
    const ledger = [op(US, 1, { wall: 2, add: { tags: ['x'] } }), op(EU, 1, { deps: { [US]: 1 }, wall: 9, remove: { tags: ['x'] } })];
    expect(checkSets(healed(runRecord({ tables, ledger, history: h.events })))).toMatchObject({ ok: true, checked: 2 });
  });

  it('does not blame an acknowledged add on a remove whose outcome is unknown, even one timed out before the add (seed 5, --mix async)', () => {
    // The remove sat in a paused node's queue; its client gave up; the node ran it when it woke,
    // after the add had arrived there, and removed the add's dot as add-wins says it may.
    const h = new History();
    const remove = h.invoke(2, EU, { f: 'write', table: 't', key: 'k', body: { remove: { tags: ['x'] } } }, { at: 1 });
    h.info(remove, 2);
    h.write(1, US, { body: { add: { tags: ['x'] } } }, { origin: US, seq: 1 }, { at: 3, okAt: 4 });
    const ledger = [op(US, 1, { wall: 3, add: { tags: ['x'] } }), op(EU, 1, { deps: { [US]: 1 }, wall: 9, remove: { tags: ['x'] } })];
    expect(checkSets(healed(runRecord({ tables, ledger, history: h.events })))).toMatchObject({ ok: true });
    // A remove that certainly failed cannot be blamed.
    const h2 = new History();
    const failed = h2.invoke(2, EU, { f: 'write', table: 't', key: 'k', body: { remove: { tags: ['x'] } } }, { at: 1 });
    h2.fail(failed, 'NOT_READY', 2);
    h2.write(1, US, { body: { add: { tags: ['x'] } } }, { origin: US, seq: 1 }, { at: 3, okAt: 4 });
    const v = checkSets(withTags(healed(runRecord({ tables, ledger: [op(US, 1, { wall: 3, add: { tags: ['x'] } })], history: h2.events })), []));
    expect(v.violations.some((x) => x.includes('nothing that could remove it ran after the add'))).toBe(true);
  });

  it('fails when there is no final state', () => {
    expect(checkSets({ ...run([addXY]), finals: [] }).violations[0]).toMatch(/set t\/k.tags: no final state/);
  });
});
