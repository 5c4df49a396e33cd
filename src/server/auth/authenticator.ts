/**
 * Turns a request's bearer token into the caller the region core authorizes. A token is checked
 * against its user's stored hash (scrypt, off the event loop), once: the result is cached under the
 * token with the log position of the user's last change, and a change of the user (new token,
 * deletion) makes the cached check stale, so a revoked token is refused as soon as this region has
 * applied the revocation. The root user's credential is the configuration's, not the log's.
 */
import { fail, ok, ternError, type Result } from '../../core/errors.js';
import type { Caller } from '../../core/node/client-call.js';
import type { Credential, UserRecord } from '../../core/strong/access-table.js';
import { parseAuthorization, secretMatches } from './tokens.js';

/** Tokens whose check is remembered; past it the oldest is checked again when it comes back. */
const checkedTokensMax = 10_000;

export interface AuthenticatorOptions {
  /** The user as this region's strong state holds it now. */
  readonly user: (name: string) => UserRecord | undefined;
  readonly rootUser: string;
  readonly rootCredential: Credential;
}

export class Authenticator {
  readonly #o: AuthenticatorOptions;
  /** token → the user it authenticated and the user's change index then (-1: root). Insertion order is age. */
  readonly #checked = new Map<string, { readonly user: string; readonly changedIndex: number }>();

  constructor(options: AuthenticatorOptions) {
    this.#o = options;
  }

  /**
   * The user of a token this authenticator has checked already and that is still current, without
   * checking anything again (for the rate limiter, before the request is read); null otherwise. A
   * token not yet checked counts as its address's until it is.
   */
  knownUser(header: string | undefined): string | null {
    const parsed = parseAuthorization(header);
    if (!parsed.ok || parsed.value === undefined) return null;
    const { user, secret } = parsed.value;
    const seen = this.#checked.get(`${user}.${secret}`);
    if (seen === undefined) return null;
    const record = user === this.#o.rootUser ? null : this.#o.user(user);
    const changedIndex = record === null ? -1 : record?.changedIndex;
    return seen.changedIndex === changedIndex ? user : null;
  }

  /**
   * The caller an `Authorization` header names: undefined with no header (the core refuses it if
   * the cluster requires one), UNAUTHENTICATED for an unknown user or a wrong secret, BAD_REQUEST
   * for a malformed header.
   */
  async authenticate(header: string | undefined): Promise<Result<Caller | undefined>> {
    const parsed = parseAuthorization(header);
    if (!parsed.ok) return parsed;
    const token = parsed.value;
    if (token === undefined) return ok(undefined);
    const key = `${token.user}.${token.secret}`;
    const record = token.user === this.#o.rootUser ? null : this.#o.user(token.user);
    if (record === undefined) return fail(refused());
    const changedIndex = record === null ? -1 : record.changedIndex;
    const seen = this.#checked.get(key);
    if (seen !== undefined && seen.changedIndex === changedIndex) return ok({ user: token.user });
    const credential = record === null ? this.#o.rootCredential : record.credential;
    if (!(await secretMatches(token.secret, credential))) return fail(refused());
    // The user may have changed while the hash was computed: remember the check against what it was checked with.
    this.#checked.delete(key);
    this.#checked.set(key, { user: token.user, changedIndex });
    if (this.#checked.size > checkedTokensMax) this.#checked.delete(this.#checked.keys().next().value as string);
    return ok({ user: token.user });
  }
}

function refused() {
  // The same answer for an unknown user and a wrong secret: which users exist is not told.
  return ternError('UNAUTHENTICATED', 'the token is not valid (unknown user, revoked, or a wrong secret): ask an admin for a new one');
}
