/**
 * Sending one attempt of a request to a region and getting its answer back as a stream: node:http
 * (node:https trusting the cluster CA, when the nodes serve HTTPS) with a keep-alive agent per
 * region (fetch costs several times the CPU per request, which a router pays on every request it
 * forwards). The answer's body is read only when the router must
 * look into it (an error that may send the request elsewhere); otherwise it streams through.
 */
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';

export interface Upstream {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Readable;
}

export interface Attempt {
  readonly method: string;
  readonly headers: http.OutgoingHttpHeaders;
  readonly body: Buffer | undefined;
  readonly timeoutMs: number;
}

/** Sends to `url` (a region's base URL plus the path); rejects on a connection error or timeout. */
export type Send = (url: string, attempt: Attempt) => Promise<Upstream>;

/**
 * The default Send: one keep-alive agent per origin, bounded sockets. `ca` (PEM) is the CA an
 * https origin's certificate must be signed by (the cluster CA); the system's roots otherwise.
 */
export function httpSend(maxSockets: number, ca?: string): Send {
  const agents = new Map<string, http.Agent>();
  return (url, a) =>
    new Promise((resolve, reject) => {
      const u = new URL(url);
      const secure = u.protocol === 'https:';
      let agent = agents.get(u.origin);
      if (agent === undefined) agents.set(u.origin, (agent = secure ? new https.Agent({ keepAlive: true, maxSockets, ...(ca !== undefined ? { ca } : {}) }) : new http.Agent({ keepAlive: true, maxSockets })));
      const headers = a.body !== undefined ? { ...a.headers, 'content-length': a.body.length } : a.headers;
      // The URL itself, not its hostname: an IPv6 one ([::1]) keeps working.
      const onAnswer = (res: http.IncomingMessage) => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: res });
      const req = secure ? https.request(u, { method: a.method, headers, agent }, onAnswer) : http.request(u, { method: a.method, headers, agent }, onAnswer);
      req.setTimeout(a.timeoutMs, () => req.destroy(Object.assign(new Error(`no answer within ${a.timeoutMs} ms`), { name: 'TimeoutError' })));
      req.once('error', reject);
      req.end(a.body);
    });
}

/** Reads a (small) body whole, up to `max` bytes. */
export async function readBody(body: Readable, max = 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of body) {
    const b = c as Buffer;
    n += b.length;
    if (n > max) {
      body.destroy();
      break;
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}
