/**
 * Which requests a node serves in which stage:
 *
 * | stage                       | reads                  | writes                                   |
 * |-----------------------------|------------------------|------------------------------------------|
 * | catching-up                 | 503 NOT_READY          | 503 NOT_READY                            |
 * | read-ready                  | served                 | 503 NOT_READY                            |
 * | fenced (clock)              | served, except bounded | 503 FENCED (they would carry its clock)  |
 * | fenced (lease, drain)       | served                 | served, except guarded rows: 503 FENCED  |
 * | fenced (storage)            | served, except bounded | 507 INSUFFICIENT_STORAGE                 |
 * |                             | and those that need    |                                          |
 * |                             | the strong group: 507  |                                          |
 * | write-ready                 | served                 | served                                   |
 *
 * Table changes are refused only when fenced for the clock (their log entry carries its time) or
 * for its storage; operator requests and the status are always served. A node fenced for its
 * storage (its disk is full: the shell, src/server/region-node.ts) hears nothing from its peers
 * until space is freed, so it serves what its own data answers: eventual reads, session and causal
 * reads of what it has applied (an async one ahead of it waits, then SESSION_UNAVAILABLE), and a
 * strong table's local state; not a bounded read (nothing to vouch with) nor a strong read that
 * needs the group (a read point from the leader, or log entries it has not applied).
 */
import { ternError, type TernError } from '../errors.js';
import type { RegionRequest } from './messages.js';
import { canRead, canWrite, type StageView } from './stage.js';

/** `group-read`: a strong table's read that needs the strong group (a read point from the leader, or entries not applied here yet). */
type Access = 'read' | 'bounded-read' | 'group-read' | 'write' | 'table' | 'free';

function accessOf(r: RegionRequest, strongApplied: number): Access {
  if (r.api === 'admin') return 'free';
  const q = r.request;
  switch (q.kind) {
    case 'read':
    case 'scan': {
      if (q.consistency === 'bounded') return 'bounded-read';
      if (r.api !== 'strong') return 'read';
      const consistency = q.consistency ?? 'strong';
      const session = (q as { session?: unknown }).session;
      const ahead = (consistency === 'session' || consistency === 'causal') && typeof session === 'number' && session > strongApplied;
      return consistency === 'strong' || ahead ? 'group-read' : 'read';
    }
    case 'conflicts':
      return 'read';
    case 'write':
    case 'delete':
    case 'txn':
      return 'write';
    case 'put-table':
    case 'access':
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

const storageRefusal: Record<Exclude<Access, 'read' | 'free'>, string> = {
  write: 'takes no writes',
  table: 'takes no table changes',
  'bounded-read': 'serves no bounded reads (it hears nothing from its peers meanwhile)',
  'group-read': 'serves no reads that need the strong group (strong reads, or a session ahead of what it applied)',
};

/**
 * Why `request` is not served in stage `v`, or null when it may go on. `strongApplied`: the strong
 * log index applied here (a strong session read beyond it needs the group).
 */
export function admissionProblem(region: string, request: RegionRequest, v: StageView, elsewhere: Elsewhere, strongApplied = Infinity): TernError | null {
  const access = accessOf(request, strongApplied);
  if (access === 'free') return null;
  if (v.stage === 'fenced' && v.reason === 'storage' && access !== 'read') {
    const regions = access === 'write' || access === 'table' ? elsewhere.writers : elsewhere.readers;
    return storageFull(region, storageRefusal[access], regions);
  }
  if (v.stage === 'fenced' && v.reason === 'clock' && (access === 'write' || access === 'table' || access === 'bounded-read')) {
    const regions = access === 'bounded-read' ? elsewhere.readers : elsewhere.writers;
    return ternError('FENCED', `region ${region} is fenced: its clock is beyond maxClockOffsetMs of a majority of regions, so it takes nothing that depends on its clock; retry in ${regions.join(', ') || 'another region'}`, { reason: 'clock', regions: [...regions] });
  }
  if (access === 'table') return null;
  const reading = access === 'read' || access === 'bounded-read' || access === 'group-read';
  if (reading ? canRead(v) : canWrite(v)) return null;
  const regions = reading ? elsewhere.readers : elsewhere.writers;
  return ternError('NOT_READY', `region ${region} is ${describe(v)} and does not serve ${reading ? 'reads' : 'writes'} yet; retry in ${regions.join(', ') || 'another region'}, or here shortly`, {
    ...(v.reason !== null ? { reason: v.reason } : {}),
    regions: [...regions],
  });
}

/** The answer of a node whose disk is full: `what` it does not do until space is freed, and where to go instead. */
export function storageFull(region: string, what: string, regions: readonly string[], extra: { mayHaveCommitted?: boolean } = {}): TernError {
  return ternError('INSUFFICIENT_STORAGE', `region ${region}'s disk is full: it ${what} until space is freed on its data directory's filesystem, and returns to service by itself then; retry in ${regions.join(', ') || 'another region'}`, {
    ...extra,
    reason: 'storage',
    regions: [...regions],
  });
}
