/**
 * How the data commands (`terndb get|put|patch|del|scan|txn|tables|conflicts`) turn what happened
 * into an exit code and the lines they print on stderr. Pure, so every class is unit-tested
 * without a node (docs/api.md, "Command line", "Exit codes of the data commands").
 */

/** The exit codes of the data commands. A script tells "retry later" (4) from "fix the request" (3). */
export const exitCodes = {
  ok: 0,
  /** get/del of a row that is absent or deleted (not an unknown table: that is refused, 3). */
  notFound: 1,
  /** Bad usage: caught before anything is sent. runCli maps commander's own errors to 2 as well. */
  usage: 2,
  /** The database refused the request (a 4xx error answer): sending it again unchanged fails again. */
  refused: 3,
  /** The database could not answer now: unreachable, timed out, 5xx or a retryable error. */
  unavailable: 4,
} as const;

export type ExitCode = (typeof exitCodes)[keyof typeof exitCodes];

/** A failure the command reports: the exit code and the stderr lines (without the `terndb <cmd>: ` prefix). */
export interface Failure {
  readonly exit: ExitCode;
  readonly lines: readonly string[];
}

/** What the request was, as far as classifying its failure goes. */
export interface RequestContext {
  /** A row read: its 404 NOT_FOUND is "no such row" (exit 1), not a refusal. */
  readonly rowRead?: boolean;
  /** A write or transaction: a failure says whether it may have taken effect and how to retry safely. */
  readonly write?: boolean;
  /** The Idempotency-Key sent with a write (generated or given). */
  readonly idempotencyKey?: string;
}

/** The error object of an error answer (docs/api.md, "Errors"); every field optional, as a non-Tern server sends anything. */
interface ErrorBody {
  code?: unknown;
  message?: unknown;
  retryable?: unknown;
  field?: unknown;
  home?: unknown;
  mayHaveCommitted?: unknown;
  leader?: unknown;
  reason?: unknown;
  regions?: unknown;
  tables?: unknown;
  expected?: unknown;
}

function errorOf(body: unknown): ErrorBody | null {
  if (typeof body !== 'object' || body === null) return null;
  const e = (body as { error?: unknown }).error;
  return typeof e === 'object' && e !== null ? (e as ErrorBody) : null;
}

/** The extra fields that help a person act on an error, as `(field: incr.visits, home: eu-west)`. */
function extras(e: ErrorBody): string {
  const parts: string[] = [];
  if (typeof e.field === 'string') parts.push(`field: ${e.field}`);
  if (typeof e.home === 'string') parts.push(`home: ${e.home}`);
  if (typeof e.reason === 'string') parts.push(`reason: ${e.reason}`);
  if (Array.isArray(e.regions)) parts.push(`regions that can take it: ${e.regions.length === 0 ? 'none known' : e.regions.join(', ')}`);
  if (typeof e.leader === 'string') parts.push(`leader: ${e.leader}`);
  if (Array.isArray(e.tables)) parts.push(`tables: ${e.tables.join(', ')}`);
  const exp = e.expected as { region?: unknown; inMs?: unknown } | undefined;
  if (typeof exp === 'object' && exp !== null && typeof exp.region === 'string') parts.push(`expected: ${exp.region} in ${String(exp.inMs)} ms`);
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
}

/** The advice after a write that failed with exit 4: whether it may have taken effect, and the key to retry with. */
function retryAdvice(ctx: RequestContext, mayHaveCommitted: boolean | undefined): string[] {
  if (ctx.write !== true) return [];
  const key = ctx.idempotencyKey === undefined ? '' : ` --idempotency-key ${ctx.idempotencyKey}`;
  if (mayHaveCommitted === false) return [`the write did not take effect; it is safe to retry (with${key || ' the same idempotency key'})`];
  if (mayHaveCommitted === true) return [`the write may have committed: retry the same command with${key || ' the same idempotency key'} to learn its outcome without applying it twice`];
  return [`the write may or may not have taken effect: retry the same command with${key || ' the same idempotency key'} to apply it at most once`];
}

/**
 * An error answer (any status that is not 2xx). The registry's codes keep their meaning; an answer
 * without a Tern error body (a proxy, Fastify's 503 while a node shuts down) is `HTTP_<status>`.
 */
export function classifyAnswer(status: number, body: unknown, ctx: RequestContext = {}): Failure {
  const e = errorOf(body) ?? {};
  const code = typeof e.code === 'string' ? e.code : `HTTP_${status}`;
  const message = typeof e.message === 'string' ? e.message : `HTTP ${status} without a Tern error body`;
  const line = `${code}: ${message}${extras(e)}`;
  // Only the row's own NOT_FOUND is "no such row"; NO_SUCH_TABLE (also 404) means the request is wrong.
  if (ctx.rowRead === true && status === 404 && code === 'NOT_FOUND') return { exit: exitCodes.notFound, lines: [line] };
  const retryable = typeof e.retryable === 'boolean' ? e.retryable : status >= 500;
  if (status >= 500 || retryable) {
    // A Tern error answer that says nothing about committing changed nothing (docs/api.md, "Overview");
    // an answer from something else (HTTP_5xx, INTERNAL) proves nothing either way.
    const mayHave = typeof e.mayHaveCommitted === 'boolean' ? e.mayHaveCommitted : typeof e.code === 'string' && code !== 'INTERNAL' ? false : undefined;
    return { exit: exitCodes.unavailable, lines: [line, ...retryAdvice(ctx, mayHave)] };
  }
  return { exit: exitCodes.refused, lines: [line] };
}

/** Connection errors that prove the request never reached the node: nothing can have been written. */
const notSentCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT']);

/** The system error code fetch buried in `cause` (undici wraps it: `TypeError: fetch failed`). */
function causeCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; typeof e === 'object' && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/**
 * fetch threw: the node could not be reached, or did not answer within the timeout. `certificate`
 * is what to do when the TLS handshake refused it (api-access.ts, certificateProblem): bad usage,
 * nothing was sent, and a retry cannot help.
 */
export function classifyTransportError(url: string, err: unknown, ctx: RequestContext = {}, timeoutMs?: number, certificate: string | null = null): Failure {
  const name = (err as { name?: unknown } | null)?.name;
  const code = causeCode(err);
  let what: string;
  let sent: boolean | undefined;
  if (name === 'TimeoutError') {
    what = `no answer from ${url} within ${timeoutMs ?? '?'} ms`;
    sent = undefined;
  } else {
    const cause = (err as { cause?: { message?: unknown } } | null)?.cause?.message;
    const detail = typeof cause === 'string' ? cause : (err as Error).message;
    if (certificate !== null) return { exit: exitCodes.usage, lines: [`UNREACHABLE: cannot reach ${url} (${detail}): ${certificate}; nothing was sent`] };
    what = `cannot reach ${url} (${detail}); is the node running?`;
    sent = code !== undefined && notSentCodes.has(code) ? false : undefined;
  }
  return { exit: exitCodes.unavailable, lines: [`UNREACHABLE: ${what}`, ...retryAdvice(ctx, sent)] };
}

/** A usage error found before anything was sent. */
export function usageFailure(message: string): Failure {
  return { exit: exitCodes.usage, lines: [message] };
}
