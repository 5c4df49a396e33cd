/**
 * Op order: the total order LWW and sibling sorting use (docs/internals/semantics.md). HLC first,
 * then the dot, then the value; equal HLCs and equal node ids fall through to the dot.
 */
import { compareHlc, type Hlc } from '../clock/hlc.js';
import { compareDots, type Dot } from '../clock/version-vector.js';

export interface Stamp {
  readonly dot: Dot;
  readonly hlc: Hlc;
}

export function compareStamps(a: Stamp, b: Stamp): number {
  return compareHlc(a.hlc, b.hlc) || compareDots(a.dot, b.dot);
}
