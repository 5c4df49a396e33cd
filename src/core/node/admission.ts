/**
 * Which requests a node serves in which stage:
 *
 * | stage                       | reads                  | writes                                   |
 * |-----------------------------|------------------------|------------------------------------------|
 * | catching-up                 | 503 NOT_READY          | 503 NOT_READY                            |
 * | read-ready                  | served                 | 503 NOT_READY                            |
 * | fenced (clock)              | served, except bounded | 503 FENCED (they would carry its clock)  |
 * | fenced (lease, drain)       | served                 | served, except guarded rows: 503 FENCED  |
 * | write-ready                 | served                 | served                                   |
 *
 * Table changes are refused only when fenced for the clock (their log entry carries its time);
 * operator requests and the status are always served.
 */
import { ternError, type TernError } from '../errors.js';
import type { RegionRequest } from './messages.js';
import { canRead, canWrite, type StageView } from './stage.js';

type Access = 'read' | 'bounded-read' | 'write' | 'table' | 'free';

function accessOf(r: RegionRequest): Access {
  if (r.api === 'admin') return 'free';
  const q = r.request;
  switch (q.kind) {
    case 'read':
    case 'scan':
      return q.consistency === 'bounded' ? 'bounded-read' : 'read';
    case 'conflicts':
      return 'read';
    case 'write':
    case 'delete':
    case 'txn':
      return 'write';
    case 'put-table':
      return 'table';
    default:
      return 'free'; // the core's own claims, releases and leases
  }
}

export interface Elsewhere {
  /** Regions that, as far as this one knows, serve reads now; and writes. */
  readonly readers: readonly string[];
  readonly writers: readonly string[];
}

function describe(v: StageView): string {
  const lag = v.lagMs === null ? '' : `, ${v.lagMs} ms behind`;
  return `${v.stage}${v.reason === null ? '' : ` (${v.reason}${lag})`}`;
}

/** Why `request` is not served in stage `v`, or null when it may go on. */
export function admissionProblem(region: string, request: RegionRequest, v: StageView, elsewhere: Elsewhere): TernError | null {
  const access = accessOf(request);
  if (access === 'free') return null;
  if (v.stage === 'fenced' && v.reason === 'clock' && (access === 'write' || access === 'table' || access === 'bounded-read')) {
    const regions = access === 'bounded-read' ? elsewhere.readers : elsewhere.writers;
    return ternError('FENCED', `region ${region} is fenced: its clock is beyond maxClockOffsetMs of a majority of regions, so it takes nothing that depends on its clock; retry in ${regions.join(', ') || 'another region'}`, { reason: 'clock', regions: [...regions] });
  }
  if (access === 'table') return null;
  const reading = access === 'read' || access === 'bounded-read';
  if (reading ? canRead(v) : canWrite(v)) return null;
  const regions = reading ? elsewhere.readers : elsewhere.writers;
  return ternError('NOT_READY', `region ${region} is ${describe(v)} and does not serve ${reading ? 'reads' : 'writes'} yet; retry in ${regions.join(', ') || 'another region'}, or here shortly`, {
    ...(v.reason !== null ? { reason: v.reason } : {}),
    regions: [...regions],
  });
}
