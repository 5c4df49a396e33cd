/**
 * Users and roles: cluster metadata kept by the strong state machine, so every region applies the
 * same change at the same log position (a revoked user is refused by each region as soon as it
 * applies the revocation). A user holds roles and a credential: the salt and hash of its token's
 * secret (never the secret: the node that made the token hashed it before proposing); a role
 * grants `read`, `write` or `admin` per table (`*`: every table), and may be a cluster admin
 * (tables, users and roles, drains).
 *
 * Changes are checked when proposed (commands.ts, with the names the request gave) and again when
 * applied: a role deleted between the two makes the user change refused at every node alike.
 */
import { badRequest, ternError, type TernError } from '../errors.js';

export type Permission = 'read' | 'write' | 'admin';
export const permissions: readonly Permission[] = ['read', 'write', 'admin'];

/** A token's secret as stored: scrypt of the secret under `salt`, both base64url. */
export interface Credential {
  readonly salt: string;
  readonly hash: string;
}

export interface UserRecord {
  readonly roles: readonly string[];
  readonly credential: Credential;
  /** The log index of the user's last change: a token checked against an older one is checked again. */
  readonly changedIndex: number;
}

export interface RoleRecord {
  /** Per table name (or `*`), what it grants. */
  readonly grants: Readonly<Record<string, readonly Permission[]>>;
  readonly clusterAdmin: boolean;
  readonly changedIndex: number;
}

export type AccessCommandBody =
  /** Creates or replaces a user; `credential` null keeps the current one (a change of roles only). */
  | { readonly t: 'access'; readonly op: 'put-user'; readonly name: string; readonly roles: readonly string[]; readonly credential: Credential | null; readonly wallMs: number }
  | { readonly t: 'access'; readonly op: 'delete-user'; readonly name: string; readonly wallMs: number }
  | { readonly t: 'access'; readonly op: 'put-role'; readonly name: string; readonly grants: Readonly<Record<string, readonly Permission[]>>; readonly clusterAdmin: boolean; readonly wallMs: number }
  | { readonly t: 'access'; readonly op: 'delete-role'; readonly name: string; readonly wallMs: number };

/** A change as the front door asks for it: the log stamps `wallMs` when it is proposed. */
export type AccessChange = AccessCommandBody extends infer C ? (C extends AccessCommandBody ? Omit<C, 'wallMs'> : never) : never;

export interface AccessData {
  readonly users: ReadonlyArray<readonly [string, UserRecord]>;
  readonly roles: ReadonlyArray<readonly [string, RoleRecord]>;
}

/** What a caller may do, from the roles its user holds. */
export interface Rights {
  readonly clusterAdmin: boolean;
  /** Whether the user holds `permission` on `table` (admin implies write implies read). */
  has(table: string, permission: Permission): boolean;
}

const rank: Record<Permission, number> = { read: 0, write: 1, admin: 2 };

export class AccessTable {
  readonly #users = new Map<string, UserRecord>();
  readonly #roles = new Map<string, RoleRecord>();

  user(name: string): UserRecord | undefined {
    return this.#users.get(name);
  }

  role(name: string): RoleRecord | undefined {
    return this.#roles.get(name);
  }

  get userCount(): number {
    return this.#users.size;
  }

  /** The rights of `user` now (none for a user that does not exist). */
  rights(user: string): Rights {
    const roles = (this.#users.get(user)?.roles ?? []).map((r) => this.#roles.get(r)).filter((r): r is RoleRecord => r !== undefined);
    return {
      clusterAdmin: roles.some((r) => r.clusterAdmin),
      // Own properties only: a table named like an Object.prototype member ("constructor") must
      // not read an inherited function as a grant (the review found it crashing the node).
      has: (table, permission) => roles.some((r) => r.clusterAdmin || [...grantsOf(r, table), ...grantsOf(r, '*')].some((p) => rank[p] >= rank[permission])),
    };
  }

  /** Why `command` cannot apply to the table as it stands, or null. */
  problem(command: AccessCommandBody): TernError | null {
    switch (command.op) {
      case 'put-user': {
        const missing = command.roles.find((r) => !this.#roles.has(r));
        if (missing !== undefined) return badRequest('roles', `no role ${missing}: create it first (PUT /v1/roles/${missing})`);
        if (command.credential === null && !this.#users.has(command.name)) return badRequest('name', `no user ${command.name} to change the roles of`);
        return null;
      }
      case 'delete-role': {
        const holder = [...this.#users].find(([, u]) => u.roles.includes(command.name));
        return holder === undefined ? null : ternError('BAD_REQUEST', `role ${command.name} is held by user ${holder[0]}: change that user's roles first`, { field: 'name' });
      }
      default:
        return null;
    }
  }

  /** Applies a change at log `index`; `changed` false when it changed nothing (deleting what does not exist). */
  apply(index: number, command: AccessCommandBody): { changed: boolean } | TernError {
    const problem = this.problem(command);
    if (problem !== null) return problem;
    switch (command.op) {
      case 'put-user': {
        const credential = command.credential ?? (this.#users.get(command.name) as UserRecord).credential;
        this.#users.set(command.name, { roles: [...command.roles], credential, changedIndex: index });
        return { changed: true };
      }
      case 'delete-user':
        return { changed: this.#users.delete(command.name) };
      case 'put-role':
        this.#roles.set(command.name, { grants: command.grants, clusterAdmin: command.clusterAdmin, changedIndex: index });
        return { changed: true };
      case 'delete-role':
        return { changed: this.#roles.delete(command.name) };
    }
  }

  snapshot(): AccessData {
    return { users: [...this.#users].sort(byName), roles: [...this.#roles].sort(byName) };
  }

  /** From a snapshot; one taken before users existed has none. */
  restore(data: AccessData | undefined): void {
    this.#users.clear();
    this.#roles.clear();
    for (const [name, u] of data?.users ?? []) this.#users.set(name, u);
    for (const [name, r] of data?.roles ?? []) this.#roles.set(name, r);
  }
}

function grantsOf(r: RoleRecord, table: string): readonly Permission[] {
  return Object.hasOwn(r.grants, table) ? (r.grants[table] as readonly Permission[]) : [];
}

const byName = <T>(a: readonly [string, T], b: readonly [string, T]): number => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
