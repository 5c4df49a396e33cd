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
import { nodeLimits } from '../limits.js';

/** Tokens whose check is remembered; past it the oldest is checked again when it comes back. */
const checkedTokensMax = 10_000;
const { authChecksInFlightMax, authFailuresRememberedMax, authFailuresRememberedMs } = nodeLimits;

/** Checked against when the user does not exist, so that an unknown user takes as long as a wrong secret. */
const dummyCredential: Credential = { salt: 'dGVybi1kdW1teS1zYWx0', hash: 'dGVybi1kdW1teS1oYXNoLXRoYXQtbmV2ZXItbWF0Y2hlcw' };

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
  /**
   * token → when its refusal is forgotten (performance.now ms), and the user's change index then: a
   * token refused before this region learnt of its user (or of its new token) is checked again.
   */
  readonly #failed = new Map<string, { readonly until: number; readonly changedIndex: number }>();
  #checking = 0;

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
    const changedIndex = record === null ? -1 : (record?.changedIndex ?? -2);
    const seen = this.#checked.get(key);
    if (seen !== undefined && seen.changedIndex === changedIndex) return ok({ user: token.user });
    const failed = this.#failed.get(key);
    if (failed !== undefined && failed.changedIndex === changedIndex && failed.until > performance.now()) return fail(refused());
    // Checks are bounded: a flood of made-up tokens must not take every core.
    if (this.#checking >= authChecksInFlightMax) return fail(ternError('OVERLOADED', `${authChecksInFlightMax} token checks are running on this node already; retry shortly (nothing was done)`));
    this.#checking++;
    let matches: boolean;
    try {
      // An unknown user is checked against a dummy credential: refused in the same time as a wrong secret.
      const credential = record === undefined ? dummyCredential : record === null ? this.#o.rootCredential : record.credential;
      matches = (await secretMatches(token.secret, credential)) && record !== undefined;
    } finally {
      this.#checking--;
    }
    if (!matches) {
      this.#failed.delete(key);
      this.#failed.set(key, { until: performance.now() + authFailuresRememberedMs, changedIndex });
      if (this.#failed.size > authFailuresRememberedMax) this.#failed.delete(this.#failed.keys().next().value as string);
      return fail(refused());
    }
    this.#failed.delete(key);
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
