import { describe, it, expect } from 'vitest';
import { checkHlc } from '../../../src/sim/check/hlc.js';
import { EU, US, op, runRecord } from './fixtures.js';
import { scenario } from './scenario.js';

const h = (wall: number, logical = 0) => ({ wall, logical, node: US });

describe('hlc checker', () => {
  it('passes when clocks never go backwards and HLCs respect causality', () => {
    const v = checkHlc(scenario());
    expect(v.ok).toBe(true);
    expect(v.checked).toBe(8 + 8);
  });

  it('fails when a region’s clock goes backwards (for example across a crash)', () => {
    const v = checkHlc(runRecord({ hlcTrace: { [US]: [h(5), h(5, 1), h(4, 7)] } }));
    expect(v.ok).toBe(false);
    expect(v.violations).toEqual(['region us-east: HLC went backwards at step 2: 5.1.us-east then 4.7.us-east']);
  });

  it('fails when an origin stamps a later op with a smaller HLC', () => {
    const v = checkHlc(runRecord({ ledger: [op(US, 1, { wall: 9 }), op(US, 2, { wall: 9 })] }));
    expect(v.violations[0]).toBe('origin us-east: op us-east.2 has HLC 9.0.us-east, not above 9.0.us-east of us-east.1');
  });

  it('fails when an op’s HLC is not above an op it depends on', () => {
    const v = checkHlc(runRecord({ ledger: [op(US, 1, { wall: 50 }), op(EU, 1, { deps: { [US]: 1 }, wall: 40 })] }));
    expect(v.violations).toEqual(['op eu-west.1 has HLC 40.0.eu-west, not above 50.0.us-east of us-east.1, which it depends on']);
  });
});
