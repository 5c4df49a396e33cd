/**
 * How the commands that call one node's API (`terndb status`, `backup`, `restore --from`) reach a
 * secure cluster: `--cacert` (or TERN_CACERT) names the cluster CA to trust for https node URLs,
 * and `--token-file` (or TERN_TOKEN_FILE, or the token itself in TERN_TOKEN) a token sent as
 * `Authorization: Bearer`. The data commands (get, put, ...) take the same. The token
 * lives only inside the fetch wrapper: it is no property of the access object and never appears
 * in a message, which name where it came from instead.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { trustCa } from '../server/trust-ca.js';

/** The environment variable a token is read from when neither --token-file nor TERN_TOKEN_FILE is given. */
export const tokenEnv = 'TERN_TOKEN';
/** The environment variables that stand for --cacert and --token-file when they are not given (the demo's tour exports them). */
export const caFileEnv = 'TERN_CACERT';
export const tokenFileEnv = 'TERN_TOKEN_FILE';
/** `<user>.<secret>`, as `terndb cert create-root-token` and user creation hand them out. */
const tokenPattern = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const certificateMarker = '-----BEGIN CERTIFICATE-----';

export interface AccessFlags {
  cacert?: string;
  tokenFile?: string;
}

/** Bad --cacert, --token-file or TERN_TOKEN: the command prints the message and exits 2. */
export class AccessUsageError extends Error {
  readonly exitCode = 2;
}

/** How to call a node: which CA to trust, whether a token is sent (the token itself stays hidden). */
export interface ApiAccess {
  /** The --cacert file; null: the system's roots only. */
  readonly caFile: string | null;
  /** Where the token came from, for messages (`--token-file FILE` or `TERN_TOKEN`); null: none is sent. */
  readonly tokenFrom: string | null;
  /** The node's base URL: a bare host:port means https:// with --cacert, http:// without. */
  url(url: string): string;
  /** fetch, with the token's Authorization header and, with --cacert, the cluster CA trusted. */
  fetch(url: string | URL, init?: RequestInit): Promise<Response>;
}

/**
 * `localhost:7001` as well as `http://localhost:7001`: a bare host:port means HTTP, or HTTPS when
 * `secure` (a cluster CA was given: a secure cluster's API is https).
 */
export function baseUrl(url: string, secure = false): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `${secure ? 'https' : 'http'}://${url}`;
}

/** --cacert and --token-file on `command`; `prefix` starts their help (restore: "with --from: "). */
export function accessOptions(command: Command, prefix = ''): Command {
  return command
    .option(
      '--cacert <file>',
      `${prefix}PEM file of the cluster CA to trust, for https node URLs (a secure cluster's nodes use certificates of their own CA); with it, a bare host:port means https://; default: the file ${caFileEnv} names`,
    )
    .option('--token-file <file>', `${prefix}file holding a token (<user>.<secret>) sent as Authorization: Bearer; default: the file ${tokenFileEnv} names, else the token in ${tokenEnv}`);
}

function readProblem(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return 'no such file';
  if (e.code === 'EISDIR') return 'it is a directory';
  if (e.code === 'EACCES') return 'permission denied';
  return e.code ?? e.message;
}

function readCa(file: string, from: string): string {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw new AccessUsageError(`${from} ${file}: cannot read it (${readProblem(err)})`);
  }
  const bad = `${from} ${file} holds no PEM certificate (${certificateMarker}): give the cluster CA's certificate, such as certs/ca.crt (not a key)`;
  if (!pem.includes(certificateMarker)) throw new AccessUsageError(bad);
  try {
    new X509Certificate(pem);
  } catch {
    throw new AccessUsageError(bad.replace('holds no PEM certificate', 'holds no valid PEM certificate'));
  }
  return pem;
}

/** A token from `source`, checked; the messages never show what was read. */
function checkToken(raw: string, source: string): string {
  const token = raw.trim();
  const shape = 'one line <user>.<secret>, the token an admin was given (terndb cert create-root-token writes root.token)';
  if (token === '') throw new AccessUsageError(`${source} is empty: it should hold ${shape}`);
  if (!tokenPattern.test(token)) throw new AccessUsageError(`${source} does not hold a token: it should hold ${shape}`);
  return token;
}

function readToken(file: string, from: string): string {
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch (err) {
    throw new AccessUsageError(`${from} ${file}: cannot read it (${readProblem(err)})`);
  }
  return checkToken(raw, `${from} ${file}`);
}

function makeAccess(ca: { file: string; pem: string } | null, token: { value: string; from: string } | null): ApiAccess {
  let trusted: Promise<void> | null = null;
  return {
    caFile: ca?.file ?? null,
    tokenFrom: token?.from ?? null,
    url: (url) => baseUrl(url, ca !== null),
    async fetch(url, init = {}) {
      // trustCa sets the process's fetch dispatcher: once, before the first request.
      if (ca !== null) await (trusted ??= trustCa(ca.pem));
      const headers = new Headers(init.headers);
      if (token !== null && !headers.has('authorization')) headers.set('authorization', `Bearer ${token.value}`);
      return fetch(url, { ...init, headers });
    },
  };
}

/** No CA but the system's, no token: what the commands did before --cacert and --token-file. */
export const plainAccess: ApiAccess = makeAccess(null, null);

/**
 * The access the flags describe: the CA read and checked, the token read from --token-file or
 * else from TERN_TOKEN (in `env`). Throws AccessUsageError naming the flag or variable at fault.
 */
export function resolveAccess(flags: AccessFlags, env: NodeJS.ProcessEnv = process.env): ApiAccess {
  const caFile = flags.cacert ?? nonEmpty(env[caFileEnv], caFileEnv);
  const ca = caFile === undefined ? null : { file: caFile, pem: readCa(caFile, flags.cacert === undefined ? caFileEnv : '--cacert') };
  const tokenFile = flags.tokenFile ?? nonEmpty(env[tokenFileEnv], tokenFileEnv);
  let token: { value: string; from: string } | null = null;
  if (tokenFile !== undefined) {
    const from = flags.tokenFile === undefined ? `${tokenFileEnv} (${tokenFile})` : `--token-file ${tokenFile}`;
    token = { value: readToken(tokenFile, flags.tokenFile === undefined ? tokenFileEnv : '--token-file'), from };
  } else if (env[tokenEnv] !== undefined) token = { value: checkToken(env[tokenEnv], tokenEnv), from: tokenEnv };
  return makeAccess(ca, token);
}

/**
 * A file an environment variable names, or undefined when it is not set. Set but empty is an error,
 * as an empty TERN_TOKEN is: `export TERN_CACERT=$(ls missing)` should fail clearly, not fall back.
 */
function nonEmpty(v: string | undefined, name: string): string | undefined {
  if (v === '') throw new AccessUsageError(`${name} is set but empty: name the file, or unset it`);
  return v;
}

/**
 * resolveAccess for a command: the access, or null after `say` printed why the flags are bad
 * (the command then exits with accessUsageExit).
 */
export function accessOrSay(flags: AccessFlags, say: (message: string) => void, env: NodeJS.ProcessEnv = process.env): ApiAccess | null {
  try {
    return resolveAccess(flags, env);
  } catch (err) {
    if (!(err instanceof AccessUsageError)) throw err;
    say(err.message);
    return null;
  }
}

/** The exit code of a bad --cacert, --token-file or TERN_* variable (accessOrSay returned null). */
export const accessUsageExit = 2;

const untrusted = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
]);

/** The code and message of what a fetch threw (undici buries the system's in `cause`). */
function fetchFailure(err: unknown): { code: string; message: string } {
  const cause = ((err as { cause?: unknown }).cause ?? err) as { code?: unknown; message?: unknown };
  return { code: typeof cause.code === 'string' ? cause.code : '', message: typeof cause.message === 'string' ? cause.message : String(err) };
}

/**
 * What to do when a fetch of `url` (as the user gave it) was refused at the TLS handshake: the
 * certificate is untrusted, names another host or is outside its validity, or the node answered
 * plain HTTP. Null when `err` is no such refusal. Retrying cannot help any of them.
 */
export function certificateProblem(err: unknown, url: string, access: Pick<ApiAccess, 'caFile' | 'url'>): string | null {
  const { code, message } = fetchFailure(err);
  let resolved: URL | null = null;
  try {
    resolved = new URL(access.url(url));
  } catch {
    // an invalid URL: the caller's detail says so
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return `the node's certificate does not name ${resolved?.hostname ?? 'this host'}; use a host name or address its certificate was issued for (terndb cert create-node --host)`;
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return "the node's certificate is outside its validity; check this machine's clock, or issue the node a new certificate (terndb cert create-node)";
  }
  if (untrusted.has(code) || /certificate|self[- ]signed|UNABLE_TO_VERIFY/i.test(`${code} ${message}`)) {
    return access.caFile === null
      ? "the node's certificate is not signed by a CA this machine trusts; a secure cluster's nodes use certificates of their own CA: pass --cacert <the cluster CA> (such as certs/ca.crt)"
      : `the node's certificate is not signed by the CA in ${access.caFile}; pass --cacert <the CA of this node's cluster>`;
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG') {
    const why = access.caFile !== null && !/^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? ' (with --cacert, a bare host:port means https://)' : '';
    return `the node answers plain HTTP, not HTTPS${why}; give http://${resolved?.host ?? 'HOST:PORT'}`;
  }
  return null;
}

/**
 * Why a fetch of `url` (as the user gave it) threw, and what to do: `cannot reach URL (detail)`
 * followed by a hint (pass --cacert for an untrusted certificate, and so on).
 */
export function unreachable(err: unknown, url: string, access: ApiAccess): string {
  const { code, message } = fetchFailure(err);
  // OpenSSL's own messages are long and cryptic; their codes say the same.
  const head = `cannot reach ${url} (${code.startsWith('ERR_SSL_') ? code : message})`;
  const problem = certificateProblem(err, url, access);
  if (problem !== null) return `${head}: ${problem}`;
  let resolved: URL | null = null;
  try {
    resolved = new URL(access.url(url));
  } catch {
    // an invalid URL: the detail says so
  }
  if (resolved?.protocol === 'http:' && code === 'UND_ERR_SOCKET') {
    return `${head}; is the node running? If it serves HTTPS (a cluster with tls does), give https://${resolved.host} or pass --cacert <the cluster CA>`;
  }
  return `${head}; is the node running?`;
}

/**
 * A node's refusal (`CODE: message`), with what to do about a 401: pass a token when none was
 * sent, or get another when the one sent was refused.
 */
export async function refusal(res: Response, access: ApiAccess): Promise<string> {
  const e = ((await res.json().catch(() => null)) as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  const what = `${typeof e?.code === 'string' ? e.code : `HTTP ${res.status}`}: ${typeof e?.message === 'string' ? e.message : res.statusText}`;
  if (res.status !== 401) return what;
  return access.tokenFrom === null
    ? `${what}\n  the node requires a token: pass --token-file FILE (a file holding <user>.<secret>) or set ${tokenEnv}`
    : `${what}\n  the node refused the token from ${access.tokenFrom}: check it is a token of this cluster's and not revoked, or ask an admin for a new one`;
}
