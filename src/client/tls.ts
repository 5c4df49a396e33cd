/**
 * The `ca`, `cert` and `key` options (docs/api.md, "The client SDK"): HTTPS to region nodes whose
 * API certificates a private cluster CA signed, and a client certificate presented in the TLS
 * handshake. The platform's fetch has no standard way to say either, so this works on Node only:
 * Node's fetch takes a non-standard `dispatcher` init option, an undici Dispatcher (undici 6, the
 * line Node 20's fetch bundles). One undici Agent per client, built on the first request, carries
 * the CAs (the system's roots plus the given ones) and the client certificate; every request of
 * the client (calls and probes) passes it as its dispatcher. `node:tls` and `undici` are imported
 * dynamically, and only by clients given these options, so that the SDK itself keeps no static
 * Node-only import and still loads in a browser (where these options cannot work: the first
 * request fails, and the error says why).
 */
import { TernClientError } from './errors.js';

/** The options read here (a subset of ConnectOptions). */
export interface TlsOptions {
  readonly ca?: string | readonly string[];
  readonly cert?: string;
  readonly key?: string;
  readonly fetch?: typeof fetch;
}

/** A fetch that goes through the client's own Agent, and closes it. */
export interface TlsFetch {
  readonly fetch: (input: Parameters<typeof fetch>[0], init?: RequestInit) => Promise<Response>;
  /** Closes the Agent (its connections); a later request builds another. */
  close(): void;
}

type Dispatcher = NonNullable<RequestInit['dispatcher']> & { close(): Promise<void> };

const badOption = (field: string, message: string) => new TernClientError('BAD_REQUEST', `connect: ${message}`, 400, false, null, field);

/**
 * The fetch to use when `ca`, `cert` or `key` is given, or null when none is. Throws (naming the
 * option) when they are not PEM strings, when `cert` comes without `key` or the other way round,
 * and when a custom `fetch` is given too: that fetch makes its own connections, so TLS is
 * configured in it instead.
 */
export function tlsFetch(options: TlsOptions): TlsFetch | null {
  const { ca, cert, key } = options;
  if (ca === undefined && cert === undefined && key === undefined) return null;
  const cas: readonly string[] = ca === undefined ? [] : typeof ca === 'string' ? [ca] : ca;
  if (!Array.isArray(cas) || !cas.every((c) => typeof c === 'string')) throw badOption('ca', 'ca must be the PEM text of a CA certificate, or an array of them');
  for (const [name, value] of [['cert', cert], ['key', key]] as const) {
    if (value !== undefined && typeof value !== 'string') throw badOption(name, `${name} must be PEM text`);
  }
  if (cert !== undefined && key === undefined) throw badOption('key', 'cert is given without key: give the client certificate\'s private key as key too');
  if (key !== undefined && cert === undefined) throw badOption('cert', 'key is given without cert: give the client certificate as cert too');
  if (options.fetch !== undefined) {
    const given = [ca !== undefined ? 'ca' : null, cert !== undefined ? 'cert' : null, key !== undefined ? 'key' : null].filter((x) => x !== null).join(', ');
    throw badOption('fetch', `fetch is given together with ${given}: configure TLS (CAs, client certificate) in that fetch instead`);
  }

  let agent: Promise<Dispatcher> | null = null;
  const build = async (): Promise<Dispatcher> => {
    const [undici, tls] = await Promise.all([import('undici'), import('node:tls')]).catch((err: unknown) => {
      throw new TypeError(`the ca, cert and key options need Node (undici and node:tls): ${(err as Error).message}`);
    });
    const a = new undici.Agent({ connect: { ca: [...tls.rootCertificates, ...cas], ...(cert !== undefined ? { cert } : {}), ...(key !== undefined ? { key } : {}) } });
    return a as unknown as Dispatcher;
  };
  return {
    async fetch(input, init) {
      agent ??= build();
      const dispatcher = await agent;
      // Called as a plain function (a fetch may refuse another `this`).
      return fetch(input, { ...init, dispatcher });
    },
    close() {
      const closing = agent;
      agent = null;
      closing?.then((a) => a.close()).catch(() => {});
    },
  };
}
