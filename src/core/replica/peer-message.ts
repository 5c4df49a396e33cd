/**
 * Shape checks for messages from peers. A peer message crosses a process boundary; one that is
 * malformed (a bug, a version skew, a stranger who knows the cluster name) must be refused, not
 * allowed to throw inside a step, which is fatal by design.
 */
import { isRegionId } from '../clock/version-vector.js';
import { opOwner } from '../crdt/kinds/registry.js';
import type { PeerMessage } from './messages.js';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const isSeq = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function isVector(v: unknown): boolean {
  return isRecord(v) && Object.entries(v).every(([k, n]) => isRegionId(k) && isSeq(n));
}

function isHlc(v: unknown): boolean {
  return isRecord(v) && isSeq(v['wall']) && isSeq(v['logical']) && typeof v['node'] === 'string';
}

/** set and unset are every kind's; any other change is the op of the kind that owns it. */
function changeProblem(c: unknown): boolean {
  if (!isRecord(c)) return true;
  if (c['k'] === 'set') return !('value' in c);
  if (c['k'] === 'unset') return false;
  const owner = typeof c['k'] === 'string' ? opOwner(c['k']) : undefined;
  return owner === undefined || owner.spec.malformed(c);
}

/** Why an op from a peer is malformed, or null. */
function opProblem(op: unknown): string | null {
  if (!isRecord(op)) return 'an op is not an object';
  const dot = op['dot'];
  if (!isRecord(dot) || !isRegionId(dot['origin']) || !isSeq(dot['seq']) || (dot['seq'] as number) < 1) return 'an op has a bad dot';
  if (!isHlc(op['hlc'])) return 'an op has a bad hlc';
  if (!isVector(op['deps'])) return 'an op has bad deps';
  if (typeof op['table'] !== 'string' || typeof op['key'] !== 'string') return 'an op has a bad table or key';
  if (op['kind'] !== 'write' && op['kind'] !== 'delete') return 'an op has a bad kind';
  const changes = op['changes'];
  if (!isRecord(changes) || Object.values(changes).some(changeProblem)) return 'an op has bad changes';
  const idem = op['idem'];
  const fence = op['fence'];
  if (fence !== undefined && (!isRecord(fence) || !isRegionId(fence['slot']) || !isSeq(fence['epoch']) || !isSeq(fence['at']))) return 'an op has a bad fence stamp';
  const orphaned = op['orphaned'];
  if (orphaned !== undefined) {
    const od = isRecord(orphaned) ? orphaned['dot'] : undefined;
    if (!isRecord(orphaned) || !isRecord(od) || !isRegionId(od['origin']) || !isSeq(od['seq']) || !isHlc(orphaned['hlc']) || (orphaned['idempotencyKey'] !== undefined && typeof orphaned['idempotencyKey'] !== 'string')) return 'an op has a bad orphan stamp';
  }
  if (idem !== undefined && (!isRecord(idem) || typeof idem['key'] !== 'string' || typeof idem['digest'] !== 'string' || !isRecord(idem['result']))) return 'an op has a bad idempotency stamp';
  return null;
}

/** Why a peer message is malformed, or null when it is a well-formed PeerMessage. */
export function peerMessageProblem(m: unknown): string | null {
  if (!isRecord(m)) return 'not an object';
  if (m['t'] === 'ops') {
    if (!Array.isArray(m['ops'])) return 'ops is not a list';
    for (const op of m['ops']) {
      const p = opProblem(op);
      if (p !== null) return p;
    }
    return null;
  }
  if (m['t'] === 'sync') {
    if (!isVector(m['vector'])) return 'sync has a bad vector';
    if (m['recovering'] !== undefined && m['recovering'] !== true) return 'sync has a bad recovering flag';
    const reports = m['reports'];
    if (!isRecord(reports) || !Object.entries(reports).every(([k, v]) => isRegionId(k) && isVector(v))) return 'sync has bad reports';
    const beats = m['beats'];
    if (!isRecord(beats) || !Object.entries(beats).every(([k, b]) => isRegionId(k) && isRecord(b) && isSeq(b['seq']) && typeof b['wallMs'] === 'number' && Number.isFinite(b['wallMs']))) {
      return 'sync has bad heartbeats';
    }
    return null;
  }
  if (m['t'] === 'gone') return isRegionId(m['origin']) && isSeq(m['through']) ? null : 'gone has a bad origin or position';
  return `unknown message type ${JSON.stringify(m['t'])}`;
}

export function isPeerMessage(m: unknown): m is PeerMessage {
  return peerMessageProblem(m) === null;
}
