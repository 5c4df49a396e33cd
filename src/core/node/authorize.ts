/**
 * Who may make which call, once the cluster requires authentication (deny by default): the front
 * door asks this before it routes a call. The caller's identity arrives with the call; the shell
 * authenticated it (a token checked against its user's stored hash, or a client certificate).
 * Here, only the rights: the user must exist now (a deleted user is refused from the log position
 * that deleted it on, in every region alike) and hold the grant the call needs:
 *
 * | call                                   | needs                                              |
 * |----------------------------------------|----------------------------------------------------|
 * | get, scan, the feed of one table       | `read` on the table                                |
 * | patch, put, delete                     | `write` on the table                               |
 * | txn                                    | `read` on tables it compares or gets, `write` on those it writes |
 * | put-table                              | `admin` on the table (a new one: cluster admin)    |
 * | the feed of every table, drain, undrain, users, roles | cluster admin                        |
 * | status, whoami                         | any user                                           |
 *
 * `admin` implies `write` implies `read`. The root user (its token is in the configuration, not in
 * the log) is a cluster admin.
 */
import { ternError, type TernError } from '../errors.js';
import type { AccessTable, Permission, Rights } from '../strong/access-table.js';
import type { CallBody, Caller } from './client-call.js';

export interface AuthSettings {
  /** Calls without a caller the shell authenticated are refused (a secure cluster). */
  readonly required: boolean;
  /** The user whose credential is the configuration's: a cluster admin. */
  readonly rootUser: string;
}

export const authOff: AuthSettings = { required: false, rootUser: 'root' };

const everything: Rights = { clusterAdmin: true, has: () => true };

/** The rights of `caller` now, or why it is not authenticated. */
export function rightsOf(caller: Caller | undefined, access: AccessTable, auth: AuthSettings): Rights | TernError {
  const user = caller?.user ?? null;
  if (user === null) return ternError('UNAUTHENTICATED', 'this cluster requires authentication: send Authorization: Bearer <token> (or a client certificate)');
  if (user === auth.rootUser) return everything;
  if (access.user(user) === undefined) return ternError('UNAUTHENTICATED', `no user ${user} (deleted, or never created): ask an admin for a token`);
  return access.rights(user);
}

/** Why `caller` may not make `call`, or null when it may (always null when authentication is off). */
export function authorize(call: CallBody, caller: Caller | undefined, access: AccessTable, auth: AuthSettings, tableExists: (table: string) => boolean): TernError | null {
  if (!auth.required) return null;
  const rights = rightsOf(caller, access, auth);
  if ('code' in rights) return rights;
  const who = caller?.user ?? '';
  const need = (table: string, p: Permission): TernError | null => (rights.has(table, p) ? null : forbidden(who, `${p} on table ${table}`));
  const admin = (what: string): TernError | null => (rights.clusterAdmin ? null : forbidden(who, `cluster admin (${what})`));
  switch (call.kind) {
    case 'status':
    case 'whoami':
      return null;
    case 'get':
    case 'scan':
      return need(call.table, 'read');
    case 'patch':
    case 'put':
    case 'delete':
      return need(call.table, 'write');
    case 'conflicts':
      return typeof call.table === 'string' ? need(call.table, 'read') : admin('the conflict feed of every table');
    case 'put-table':
      return tableExists(call.table) ? need(call.table, 'admin') : admin(`creating table ${call.table}`);
    case 'txn':
      for (const [table, p] of txnTables(call.body)) {
        const refused = need(table, p);
        if (refused !== null) return refused;
      }
      return null;
    case 'drain':
    case 'undrain':
      return admin(call.kind);
    case 'put-user':
    case 'delete-user':
    case 'put-role':
      return admin('users and roles');
  }
}

function forbidden(user: string, what: string): TernError {
  return ternError('FORBIDDEN', `user ${user} lacks ${what}: ask an admin for a role that grants it (nothing was done)`);
}

/**
 * The tables a transaction body names and what it does with each: compares and gets read, other
 * ops write. Read leniently: a malformed body is refused by the strong group's own check, by name.
 */
function txnTables(body: unknown): Array<[string, Permission]> {
  const out: Array<[string, Permission]> = [];
  if (typeof body !== 'object' || body === null) return out;
  const b = body as Record<string, unknown>;
  for (const [list, reads] of [['compare', true], ['success', false], ['failure', false]] as const) {
    const items = b[list];
    if (!Array.isArray(items)) continue;
    for (const item of items) {
      if (typeof item !== 'object' || item === null) continue;
      const i = item as Record<string, unknown>;
      if (typeof i['table'] !== 'string') continue;
      out.push([i['table'], reads || i['get'] === true ? 'read' : 'write']);
    }
  }
  return out;
}
