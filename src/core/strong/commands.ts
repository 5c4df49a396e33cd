/**
 * Turning a client's (or the region core's) request into the command the log will carry. Every
 * check that can be made before proposing is made here, with the field named, so a refused
 * request changes nothing anywhere; the state machine checks again what depends on log order.
 */
import { badRequest, type TernError } from '../errors.js';
import { limits } from '../limits.js';
import { keyProblem } from '../model/validate.js';
import { parseWriteBody } from '../model/write-body.js';
import { tableProblem } from '../model/validate.js';
import { validatePolicy } from '../schema/policy.js';
import { hash64 } from '../util/hash.js';
import { canonicalJson, jsonProblem, type JsonValue } from '../util/json.js';
import type { StrongConfig } from './config.js';
import type { AccessCommandBody } from './access-table.js';
import type { StrongRequest } from './messages.js';
import type { StrongState } from './state-machine.js';
import { alterProblem } from './table-change.js';
import { parseTxnBody, strongTable } from './txn-body.js';
import type { StrongCommand, Txn, TxnIdem } from './types.js';

/** What a successful reply reports. */
export type Answer = 'txn' | 'write' | 'table' | 'lease' | 'claim' | 'release' | 'membership' | 'access';

export type WriteRequest = Exclude<StrongRequest, { kind: 'read' | 'scan' }>;

export interface Proposal {
  readonly answer: Answer;
  readonly command: StrongCommand;
}

function idemOf(config: StrongConfig, key: string | undefined, canonical: unknown): TxnIdem | null | TernError {
  if (key === undefined || config.knobs?.ignoreIdempotencyKeys === true) return null;
  if (key === '' || key.length > limits.idempotencyKeyCharsMax) return badRequest('Idempotency-Key', `must have 1 to ${limits.idempotencyKeyCharsMax} characters`);
  return { key, digest: hash64(canonicalJson(canonical)) };
}

/** A single-row PATCH/PUT/DELETE on a strong table is a one-op transaction. */
function rowTxn(state: StrongState, req: Extract<StrongRequest, { kind: 'write' | 'delete' }>): Txn | TernError {
  const policy = strongTable(state.tables(), req.table, 'table');
  if (!policy.ok) return policy.error;
  const kp = keyProblem(req.key);
  if (kp !== null) return kp;
  if (req.kind === 'delete') return { compare: [], success: [{ kind: 'delete', table: req.table, key: req.key }], failure: [] };
  const changes = parseWriteBody(req.body, req.method ?? 'PATCH', policy.value);
  if (!changes.ok) return changes.error;
  return { compare: [], success: [{ kind: 'write', table: req.table, key: req.key, changes: changes.value }], failure: [] };
}

const isError = (x: unknown): x is TernError => typeof x === 'object' && x !== null && 'code' in x;

/** The command for a request, stamped with `wallMs` (this node's clock), or why it is refused. */
export function proposalFor(config: StrongConfig, state: StrongState, req: WriteRequest, wallMs: number): Proposal | TernError {
  switch (req.kind) {
    case 'txn': {
      const txn = parseTxnBody(req.body, state.tables());
      if (!txn.ok) return txn.error;
      const idem = idemOf(config, req.idempotencyKey, { method: 'TXN', body: req.body });
      if (isError(idem)) return idem;
      return { answer: 'txn', command: { t: 'txn', txn: txn.value, idem, wallMs } };
    }
    case 'write':
    case 'delete': {
      const txn = rowTxn(state, req);
      if (isError(txn)) return txn;
      const body = req.kind === 'delete' ? { method: 'DELETE', table: req.table, key: req.key } : { method: req.method ?? 'PATCH', table: req.table, key: req.key, body: req.body };
      const idem = idemOf(config, req.idempotencyKey, body);
      if (isError(idem)) return idem;
      return { answer: 'write', command: { t: 'txn', txn, idem, wallMs } };
    }
    case 'put-table': {
      const policy = validatePolicy(req.body, { regions: config.regions, mergeFunctions: config.mergeFunctions }, 'body');
      if (!policy.ok) return policy.error;
      const unsupported = tableProblem(req.table, policy.value, config.mergeFunctions, config.regions);
      if (unsupported !== null) return unsupported;
      const problem = alterProblem(req.table, state.policy(req.table), policy.value);
      if (problem !== null) return problem;
      return { answer: 'table', command: { t: 'table', table: req.table, policy: policy.value, wallMs } };
    }
    case 'lease':
      if (!config.regions.includes(req.command.slot)) return badRequest('region', `must be one of ${config.regions.join(', ')}`);
      return { answer: 'lease', command: { ...req.command, wallMs } };
    case 'claim': {
      const problem = jsonProblem(req.value);
      if (problem !== null) return badRequest('value', problem);
      return { answer: 'claim', command: { t: 'claim', table: req.table, field: req.field, value: req.value as JsonValue, key: req.key, wallMs } };
    }
    case 'membership':
      if (!config.regions.includes(req.command.region)) return badRequest('region', `must be one of ${config.regions.join(', ')}`);
      return { answer: 'membership', command: { ...req.command, wallMs } };
    case 'access': {
      // Checked against the table now, with the request's names; checked again when applied.
      const command = { ...req.command, wallMs } as AccessCommandBody;
      const problem = state.access.problem(command);
      if (problem !== null) return problem;
      if (command.op === 'put-role') {
        const unknown = Object.keys(command.grants).find((t) => t !== '*' && state.policy(t) === undefined);
        if (unknown !== undefined) return badRequest(`grants.${unknown}`, `no table ${unknown} (grant "*" for every table)`);
      }
      return { answer: 'access', command };
    }
    case 'release': {
      const problem = req.keep === null ? null : jsonProblem(req.keep);
      if (problem !== null) return badRequest('keep', problem);
      if (!Number.isSafeInteger(req.upTo) || req.upTo < 0) return badRequest('upTo', 'must be a log index');
      return { answer: 'release', command: { t: 'release', table: req.table, field: req.field, key: req.key, keep: req.keep as JsonValue | null, upTo: req.upTo, wallMs } };
    }
  }
}
