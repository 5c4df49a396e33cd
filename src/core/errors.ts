/**
 * The one registry of client-visible error codes (docs/api.md, "Errors"). Each code has its HTTP
 * status and whether a client may retry the same request unchanged. Codes are never reused or
 * renumbered; docs/errors.md is generated from this table by `terndb errors --markdown`.
 */
export const errorRegistry = {
  BAD_REQUEST: { status: 400, retryable: false, meaning: 'The request is malformed; the message names the field.' },
  UNAUTHENTICATED: { status: 401, retryable: false, meaning: 'The cluster requires authentication and the request carried no valid credential (no token, an unknown or deleted user, a wrong secret); nothing was done.' },
  FORBIDDEN: { status: 403, retryable: false, meaning: 'The authenticated user lacks the grant this request needs (the message names it); nothing was done.' },
  NOT_FOUND: { status: 404, retryable: false, meaning: 'The row is absent or deleted.' },
  NO_SUCH_TABLE: { status: 404, retryable: false, meaning: 'The table is not defined.' },
  GONE: { status: 410, retryable: false, meaning: 'The conflict-feed cursor fell behind retention: entries after it were collected; `oldest` is the position to read from.' },
  IDEMPOTENCY_MISMATCH: { status: 409, retryable: false, meaning: 'The Idempotency-Key was used before with another request body.' },
  UNIQUE_VIOLATION: { status: 409, retryable: false, meaning: 'Another live row already holds this value of a unique field.' },
  DRAIN_UNSAFE: { status: 409, retryable: false, meaning: 'The drain would leave guarded writes of the tables named with no region to take them; `force: true` drains anyway.' },
  TOO_LARGE: { status: 413, retryable: false, meaning: 'A key, value, row or body exceeds its limit.' },
  WRONG_REGION: { status: 421, retryable: false, meaning: 'The row is homed in another region; the body names it.' },
  RATE_LIMITED: { status: 429, retryable: true, meaning: 'This client (its user, else its address) passed its rate limit (settings.clientRequestsPerSecond); `retryAfterMs` (and Retry-After) says when to try again. Nothing was done.' },
  TOO_SOON: { status: 429, retryable: true, meaning: 'The region to drain was drained or undrained less than a lease ago; the message says when to retry.' },
  UNSUPPORTED: { status: 501, retryable: false, meaning: 'The operation is not available in this build.' },
  NOT_READY: { status: 503, retryable: true, meaning: 'The region is not ready to serve this request.' },
  FENCED: { status: 503, retryable: true, meaning: 'The region is fenced and may not accept this write.' },
  STALE: { status: 503, retryable: true, meaning: 'The region cannot meet the requested staleness bound right now.' },
  SESSION_UNAVAILABLE: { status: 503, retryable: true, meaning: 'The region has not yet applied what the session token requires.' },
  OVERLOADED: { status: 503, retryable: true, meaning: 'A bounded queue is full; retry with backoff.' },
  INSUFFICIENT_STORAGE: { status: 507, retryable: true, meaning: 'The node\'s disk is full: it takes no writes until space is freed (reads still work); retry in another region.' },
  QUORUM_TIMEOUT: { status: 504, retryable: true, meaning: 'A strong write could not reach a quorum in time; it may still commit.' },
  INTERNAL: { status: 500, retryable: true, meaning: 'An unexpected failure in the node (a bug, logged there); a write may or may not have taken effect: retry with the same Idempotency-Key.' },
} as const;

export type ErrorCode = keyof typeof errorRegistry;

/** An expected, client-visible failure: returned as a value, never thrown. */
export interface TernError {
  readonly code: ErrorCode;
  readonly message: string;
  /** The request field at fault, for BAD_REQUEST and TOO_LARGE. */
  readonly field?: string;
  /** The home region, for WRONG_REGION. */
  readonly home?: string;
  /** For QUORUM_TIMEOUT: whether the write may still commit (true) or certainly did not (false). */
  readonly mayHaveCommitted?: boolean;
  /** The strong group's leader region, when known (QUORUM_TIMEOUT, NOT_READY of strong requests). */
  readonly leader?: string;
  /** For FENCED and NOT_READY: why (a stage reason: lease, clock, drain, starting, lag). */
  readonly reason?: string;
  /** For FENCED and NOT_READY: regions that can take the request now, as far as this one knows. */
  readonly regions?: readonly string[];
  /** For DRAIN_UNSAFE: the tables whose guarded writes the drain would leave with no region to take them. */
  readonly tables?: readonly string[];
  /** For FENCED: the region expected to take the write, and in how long, as far as this one knows. */
  readonly expected?: { readonly region: string; readonly inMs: number };
  /** For TOO_SOON: in how long the request may succeed (the Retry-After header). */
  readonly retryAfterMs?: number;
  /** For GONE: the oldest conflict-feed position still held (read from `after=oldest`). */
  readonly oldest?: number;
}

export function ternError(code: ErrorCode, message: string, extra: { field?: string; home?: string; mayHaveCommitted?: boolean; leader?: string; reason?: string; regions?: readonly string[]; tables?: readonly string[]; expected?: { readonly region: string; readonly inMs: number }; retryAfterMs?: number; oldest?: number } = {}): TernError {
  return { code, message, ...extra };
}

export function badRequest(field: string, message: string): TernError {
  return { code: 'BAD_REQUEST', message: `${field}: ${message}`, field };
}

export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: TernError };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail<T = never>(error: TernError): Result<T> {
  return { ok: false, error };
}
