/**
 * One HTTP request of a data command, with plain fetch: the SDK would hide what a command line
 * has to show (the answering region, the status, every extra field of an error, whether an
 * answer was replayed) and would retry, while a command line does one request and says what
 * happened. A failure is thrown as a CliFailure carrying its exit code (classify.ts).
 */
import { classifyAnswer, classifyTransportError, type Failure, type RequestContext } from './classify.js';

/** A failure on its way to the command's exit code and stderr. */
export class CliFailure extends Error {
  constructor(readonly failure: Failure) {
    super(failure.lines.join('; '));
  }
}

export interface Connection {
  /** The node's base URL (already a URL: `host:port` was turned into `http://host:port`). */
  readonly url: string;
  readonly timeoutMs: number;
  /** The session token to send; each answer's token replaces it, so later requests of the same command carry it on. */
  session: string | undefined;
  /** Prints request and answer lines (`> `, `< `) on stderr when --verbose is given. */
  readonly trace: ((line: string) => void) | null;
  /** fetch with the CA and token of --cacert and --token-file (api-access.ts); the platform's when absent. */
  readonly fetch?: (url: string, init: RequestInit) => Promise<Response>;
  /** What to do about a TLS handshake that refused the request (api-access.ts, certificateProblem), or null. */
  readonly certificateProblem?: (err: unknown) => string | null;
}

export interface Answer {
  readonly status: number;
  readonly body: unknown;
}

export interface RequestOptions extends RequestContext {
  readonly body?: unknown;
}

/** `/v1/tables/t/rows/k`, every part percent-encoded (a key `a/b` is `a%2Fb`). */
export function apiPath(parts: readonly string[], query: Record<string, string | number | undefined> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return `/v1/${parts.map(encodeURIComponent).join('/')}${s === '' ? '' : `?${s}`}`;
}

/** Sends one request and answers its 2xx answer; throws CliFailure otherwise. */
export async function request(conn: Connection, method: string, path: string, o: RequestOptions = {}): Promise<Answer> {
  const url = new URL(path, conn.url).toString();
  const headers: Record<string, string> = {};
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  if (conn.session !== undefined) headers['tern-session'] = conn.session;
  if (o.idempotencyKey !== undefined) headers['idempotency-key'] = o.idempotencyKey;
  conn.trace?.(`> ${method} ${url}`);
  for (const [k, v] of Object.entries(headers)) if (k !== 'content-type') conn.trace?.(`> ${k}: ${v}`);
  let res: Response;
  let text: string;
  try {
    res = await (conn.fetch ?? fetch)(url, { method, headers, ...(o.body === undefined ? {} : { body: JSON.stringify(o.body) }), signal: AbortSignal.timeout(conn.timeoutMs) });
    // The timeout covers the body too: a node that stops mid-answer must not hang the command.
    text = await res.text();
  } catch (err) {
    throw new CliFailure(classifyTransportError(conn.url, err, o, conn.timeoutMs, conn.certificateProblem?.(err) ?? null));
  }
  conn.trace?.(`< ${res.status} from ${res.headers.get('tern-region') ?? 'an unnamed region'}`);
  if (res.headers.get('idempotent-replayed') === 'true') conn.trace?.('< idempotent-replayed: true (the first execution\'s answer; nothing ran now)');
  const token = res.headers.get('tern-session');
  if (token !== null) {
    conn.session = token;
    conn.trace?.(`< tern-session: ${token}`);
  }
  let body: unknown = text;
  try {
    body = text === '' ? null : JSON.parse(text);
  } catch {
    // Not JSON (a proxy's page, Node's bare 408): classified by its status alone.
  }
  if (res.status < 200 || res.status > 299) throw new CliFailure(classifyAnswer(res.status, body, o));
  return { status: res.status, body };
}
