/**
 * Session tokens carry two positions: the async replica's version vector (`t1.us-east~5...`) and,
 * after a `!`, the strong log index the client has seen (base 36). Each engine reads its own part;
 * whoever answers joins them back, so a token survives any mix of async and strong requests.
 */
import { badRequest, type Result, ok, fail } from '../errors.js';
import { limits } from '../limits.js';

export interface SplitToken {
  /** The async part for the replica (undefined when the token had none). */
  readonly async: string | undefined;
  /** The strong log index the client has seen (0 when none). */
  readonly strong: number;
}

export function splitSessionToken(token: string | undefined): Result<SplitToken> {
  if (token === undefined || token === '') return ok({ async: undefined, strong: 0 });
  if (token.length > limits.sessionTokenCharsMax) return fail(badRequest('session', `malformed session token: longer than ${limits.sessionTokenCharsMax} characters`));
  const bang = token.indexOf('!');
  if (bang < 0) return ok({ async: token, strong: 0 });
  const digits = token.slice(bang + 1);
  if (!/^[0-9a-z]{1,11}$/.test(digits)) return fail(badRequest('session', 'malformed session token: bad strong index after !'));
  const strong = parseInt(digits, 36);
  if (!Number.isSafeInteger(strong)) return fail(badRequest('session', 'malformed session token: strong index out of range'));
  const asyncPart = token.slice(0, bang);
  return ok({ async: asyncPart === '' || asyncPart === 't1' ? undefined : asyncPart, strong });
}

export function joinSessionToken(asyncToken: string | undefined, strong: number): string {
  const base = asyncToken ?? 't1';
  return strong > 0 ? `${base}!${strong.toString(36)}` : base;
}
