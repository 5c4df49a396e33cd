/**
 * A small HTTP load generator for the benchmarks: closed-loop (N requests in flight, as fast as
 * the server answers) and open-loop (a fixed rate, latency measured from the intended send time,
 * so a slow server cannot hide its queueing: no coordinated omission).
 */
import http from 'node:http';
import https from 'node:https';

export interface Target {
  readonly host: string;
  readonly port: number;
  readonly method: string;
  /** Path, body and any extra headers of the i-th request. */
  readonly request: (i: number) => { path: string; body?: string; headers?: Record<string, string> };
  /** HTTPS, trusting this CA (PEM); plain HTTP without. */
  readonly ca?: string;
}

/** A keep-alive agent for the target's scheme. */
function agentFor(t: Target, maxSockets: number): http.Agent {
  return t.ca !== undefined ? new https.Agent({ keepAlive: true, maxSockets, ca: t.ca }) : new http.Agent({ keepAlive: true, maxSockets });
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/**
 * Measures `a` and `b` one after the other, `a` first when `aFirst`: interleaved rounds alternate
 * who goes first, so neither always measures a machine the other just warmed or loaded.
 */
export async function inTurn<A, B>(aFirst: boolean, a: () => Promise<A>, b: () => Promise<B>): Promise<[A, B]> {
  if (aFirst) {
    const x = await a();
    return [x, await b()];
  }
  const y = await b();
  return [await a(), y];
}

/** The median of `xs` (the upper one of an even count), as every benchmark reports it. */
export function median(xs: readonly number[]): number {
  return percentile([...xs].sort((a, b) => a - b), 50);
}

function send(agent: http.Agent, t: Target, i: number): Promise<number> {
  const { path, body, headers: extra } = t.request(i);
  return new Promise((resolve, reject) => {
    const headers = { ...extra, ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }) };
    const onAnswer = (res: http.IncomingMessage) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    };
    const options = { host: t.host, port: t.port, method: t.method, path, agent, headers };
    const req = t.ca !== undefined ? https.request(options, onAnswer) : http.request(options, onAnswer);
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** Requests per second with `inFlight` concurrent requests for `durationMs`. */
export async function closedLoop(t: Target, inFlight: number, durationMs: number): Promise<{ rps: number; errors: number }> {
  const agent = agentFor(t, inFlight);
  let done = 0;
  let errors = 0;
  let next = 0;
  const end = Date.now() + durationMs;
  const start = Date.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (Date.now() < end) {
        const status = await send(agent, t, next++).catch(() => 0);
        if (status >= 200 && status < 300) done++;
        else errors++;
      }
    }),
  );
  agent.destroy();
  return { rps: (done / (Date.now() - start)) * 1000, errors };
}

/** Latencies (ms, from the intended send time) at a fixed `rate` per second for `durationMs`. */
export async function openLoop(t: Target, rate: number, durationMs: number): Promise<{ latenciesMs: number[]; errors: number }> {
  const agent = agentFor(t, 256);
  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now();
  const total = Math.floor((rate * durationMs) / 1000);
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const intended = start + (i * 1000) / rate;
    const wait = intended - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(
      send(agent, t, i).then(
        (status) => {
          if (status >= 200 && status < 300) latencies.push(performance.now() - intended);
          else errors++;
        },
        () => {
          errors++;
        },
      ),
    );
  }
  await Promise.all(pending);
  agent.destroy();
  return { latenciesMs: latencies.sort((a, b) => a - b), errors };
}

export interface LoadPart {
  readonly target: Target;
  /** Requests this part keeps in flight (one client per request in flight). */
  readonly inFlight: number;
  /** A label to group latencies by (a region). */
  readonly label: string;
}

/**
 * Closed loop over several targets at once, recording every latency by label: `inFlight`
 * sequential clients per part, each sending its next request when the last one answered.
 */
export async function closedLoopLatency(parts: readonly LoadPart[], durationMs: number): Promise<{ rps: number; errors: number; latenciesMs: Record<string, number[]> }> {
  let next = 0;
  let done = 0;
  let errors = 0;
  const latencies: Record<string, number[]> = {};
  const start = performance.now();
  const end = start + durationMs;
  await Promise.all(
    parts.map(async (part) => {
      const agent = agentFor(part.target, part.inFlight);
      const mine = (latencies[part.label] ??= []);
      await Promise.all(
        Array.from({ length: part.inFlight }, async () => {
          while (performance.now() < end) {
            const t0 = performance.now();
            const status = await send(agent, part.target, next++).catch(() => 0);
            if (status >= 200 && status < 300) {
              done++;
              mine.push(performance.now() - t0);
            } else errors++;
          }
        }),
      );
      agent.destroy();
    }),
  );
  for (const l of Object.values(latencies)) l.sort((a, b) => a - b);
  return { rps: (done / (performance.now() - start)) * 1000, errors, latenciesMs: latencies };
}
