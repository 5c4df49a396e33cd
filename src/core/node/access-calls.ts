/**
 * The front door's calls for users and roles: each is checked here (names, roles, grants, the
 * credential's shape), becomes a change of the strong log's access table (strong/access-table.ts),
 * and its answer says whether anything changed, at which log position.
 */
import { badRequest, ternError, type TernError } from '../errors.js';
import { permissions, type AccessChange, type Permission } from '../strong/access-table.js';
import type { StrongReply } from '../strong/messages.js';
import { isValidTableName } from '../schema/policy.js';
import type { CallBody, CallReply } from './client-call.js';

type AccessCall = Extract<CallBody, { kind: 'put-user' | 'delete-user' | 'put-role' }>;

const namePattern = /^[A-Za-z0-9_-]{1,63}$/;
const base64url = /^[A-Za-z0-9_-]{16,256}$/;

function nameProblem(field: string, v: unknown): TernError | null {
  return typeof v === 'string' && namePattern.test(v) ? null : badRequest(field, 'must be 1 to 63 letters, digits, _ or -');
}

/** The access-table change a call asks for, or why it is malformed. */
export function accessChange(call: AccessCall): AccessChange | TernError {
  const bad = nameProblem('name', call.name);
  if (bad !== null) return bad;
  const name = call.name as string;
  switch (call.kind) {
    case 'delete-user':
      return { t: 'access', op: 'delete-user', name };
    case 'put-user': {
      if (!Array.isArray(call.roles)) return badRequest('roles', 'must be a list of role names');
      for (const [i, r] of call.roles.entries()) {
        const p = nameProblem(`roles[${i}]`, r);
        if (p !== null) return p;
      }
      const c = call.credential;
      if (c !== undefined && !(base64url.test(c.salt) && base64url.test(c.hash))) return badRequest('credential', 'must be {salt, hash} in base64url');
      return { t: 'access', op: 'put-user', name, roles: [...new Set(call.roles as string[])], credential: c ?? null };
    }
    case 'put-role': {
      const body = call.body;
      if (typeof body !== 'object' || body === null || Array.isArray(body)) return badRequest('body', 'send {"grants": {"<table>" or "*": ["read", "write", "admin"]}, "clusterAdmin": false}');
      const { grants, clusterAdmin = false, ...rest } = body as { grants?: unknown; clusterAdmin?: unknown };
      const extra = Object.keys(rest)[0];
      if (extra !== undefined) return badRequest(extra, 'not a field of a role (grants, clusterAdmin)');
      if (typeof clusterAdmin !== 'boolean') return badRequest('clusterAdmin', 'must be true or false');
      if (typeof grants !== 'object' || grants === null || Array.isArray(grants)) return badRequest('grants', 'must map table names (or "*") to lists of read, write, admin');
      const out: Array<[string, Permission[]]> = [];
      for (const [table, list] of Object.entries(grants)) {
        if (table !== '*' && !isValidTableName(table)) return badRequest(`grants.${table}`, 'must be a table name or "*"');
        if (!Array.isArray(list) || list.length === 0 || !list.every((p) => (permissions as readonly unknown[]).includes(p))) return badRequest(`grants.${table}`, 'must be a non-empty list of read, write, admin');
        out.push([table, [...new Set(list as Permission[])]]);
      }
      // fromEntries defines own properties: no key (not even "__proto__") can reach a prototype.
      return { t: 'access', op: 'put-role', name, grants: Object.fromEntries(out), clusterAdmin };
    }
  }
}

/** The strong group's answer to an access change, as the call's reply (the session moves to its log index). */
export function accessReply(r: StrongReply, call: AccessCall, session: (index: number) => string): CallReply<never> {
  if (!r.ok) return r;
  if (r.kind !== 'access') return { ok: false, error: ternError('INTERNAL', `the strong group answered a ${call.kind} call with a ${r.kind} reply`) };
  const kind = call.kind === 'put-role' ? 'role' : 'user';
  return { ok: true, result: { kind, name: call.name as string, changed: r.changed, index: r.index }, replayed: false, session: session(r.index) };
}
