/**
 * `terndb status`, `backup` and `restore --from` against a secure node: HTTPS under a private
 * cluster CA (--cacert) and a bearer token (--token-file, TERN_TOKEN). The node is a real
 * node:https server on 127.0.0.1 with a certificate of a CA made for each test, so that a CA
 * trusted by an earlier test (trustCa sets a process-wide dispatcher) trusts nothing here.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { getGlobalDispatcher, setGlobalDispatcher, type Dispatcher } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AccessUsageError, resolveAccess } from '../../src/cli/api-access.js';
import { runBackup } from '../../src/cli/backup-command.js';
import { runRestore } from '../../src/cli/restore-command.js';
import { runStatus, type Status } from '../../src/cli/status-command.js';
import { createCa, issueNodeCert } from '../../src/security/certs.js';
import { SqliteStorage } from '../../src/storage/sqlite-storage.js';

const token = `root.${randomBytes(32).toString('base64url')}`;
const secretOf = (t: string) => t.slice(t.indexOf('.') + 1);
const status: Status = { region: 'us-east', node: 'use1', stage: 'write-ready', reason: null, lagMs: 0, vector: { 'us-east': 3 }, peers: [{ region: 'eu-west', reachable: true, lagMs: 12, lagOps: 0 }] };

let dir: string;
let dispatcher: Dispatcher;
let backupDb: Buffer;
const closers: Array<() => Promise<void>> = [];

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'tern-access-'));
  dispatcher = getGlobalDispatcher();
  // A real (empty) region database, for the backup the test node serves.
  const file = path.join(dir, 'source.sqlite');
  new SqliteStorage(file).close();
  backupDb = readFileSync(file);
});

afterEach(async () => {
  vi.restoreAllMocks();
  // trustCa replaced the process's fetch dispatcher: give the next test the one it started with.
  setGlobalDispatcher(dispatcher);
  for (const close of closers.splice(0)) await close();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = path.join(dir, `${randomBytes(4).toString('hex')}-${name}`);
  writeFileSync(p, text);
  return p;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** What a secure node answers: 401 without the token, the status, and a backup of `backupDb`. */
function secureHandler(seen: Array<string | undefined>): Handler {
  return (req, res) => {
    seen.push(req.headers.authorization);
    const send = (code: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(code, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization === undefined) return send(401, { error: { code: 'UNAUTHENTICATED', message: 'this cluster requires authentication: send Authorization: Bearer <token>' } });
    if (req.headers.authorization !== `Bearer ${token}`) return send(401, { error: { code: 'UNAUTHENTICATED', message: 'the token is not valid (unknown user, revoked, or a wrong secret): ask an admin for a new one' } });
    if (req.url === '/v1/status') return send(200, status);
    if (req.url === '/v1/admin/backup') {
      const manifest = { format: 'terndb-backup', version: 1, cluster: 'tern-test', region: 'us-east', node: 'use1', createdAt: new Date().toISOString(), bytes: backupDb.length, sha256: createHash('sha256').update(backupDb).digest('hex') };
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'tern-backup': JSON.stringify(manifest) });
      return res.end(backupDb);
    }
    send(404, { error: { code: 'NOT_FOUND', message: 'no such route' } });
  };
}

async function listen(server: http.Server | https.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

/** An HTTPS node under a CA of its own; `caFile` holds that CA's certificate. */
async function secureNode(): Promise<{ port: number; caFile: string; seen: Array<string | undefined> }> {
  const ca = await createCa({ cluster: 'tern-test', validDays: 3 });
  const cert = await issueNodeCert({ ca, cluster: 'tern-test', region: 'us-east', node: 'use1', hosts: ['127.0.0.1'], validDays: 2 });
  const seen: Array<string | undefined> = [];
  const port = await listen(https.createServer({ cert: cert.certPem, key: cert.keyPem }, secureHandler(seen)));
  return { port, caFile: file('ca.crt', ca.certPem), seen };
}

/** Runs `fn` with stdout and stderr captured; neither may ever show the token or its secret. */
async function captured(fn: () => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((err += String(chunk)), true));
  let code: number;
  try {
    code = await fn();
  } finally {
    vi.restoreAllMocks();
  }
  for (const text of [out, err]) {
    expect(text).not.toContain(token);
    expect(text).not.toContain(secretOf(token));
  }
  return { code, out, err };
}

describe('resolving --cacert, --token-file and TERN_TOKEN', () => {
  it('without them: no CA, no token, and a bare host:port means http', () => {
    const a = resolveAccess({}, {});
    expect(a.caFile).toBeNull();
    expect(a.tokenFrom).toBeNull();
    expect(a.url('10.0.1.10:7001')).toBe('http://10.0.1.10:7001');
  });

  it('with --cacert a bare host:port means https; a URL stays as given', async () => {
    const { caFile } = await secureNode();
    const a = resolveAccess({ cacert: caFile }, {});
    expect(a.url('10.0.1.10:7001')).toBe('https://10.0.1.10:7001');
    expect(a.url('http://10.0.1.10:7001')).toBe('http://10.0.1.10:7001');
  });

  it('the token comes from --token-file, else TERN_TOKEN; the access object never holds it where it can be printed', () => {
    const fromFile = resolveAccess({ tokenFile: file('root.token', `${token}\n`) }, { TERN_TOKEN: 'other.token' });
    expect(fromFile.tokenFrom).toMatch(/^--token-file .*root\.token$/);
    expect(JSON.stringify(fromFile)).not.toContain(secretOf(token));
    expect(resolveAccess({}, { TERN_TOKEN: token }).tokenFrom).toBe('TERN_TOKEN');
  });

  it('a CA file that is missing, a directory, a key or not a certificate is refused naming --cacert', async () => {
    const ca = await createCa({ cluster: 'tern-test', validDays: 3 });
    const bad = [path.join(dir, 'nope.crt'), dir, file('ca.key', ca.keyPem), file('junk.crt', '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n')];
    for (const cacert of bad) {
      expect(() => resolveAccess({ cacert }, {})).toThrow(AccessUsageError);
      expect(() => resolveAccess({ cacert }, {})).toThrow(new RegExp(`^--cacert ${cacert.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    }
    // Not the key's text either.
    expect(() => resolveAccess({ cacert: bad[2] as string }, {})).not.toThrow(/PRIVATE KEY/);
  });

  it('a token file that is missing, empty or holds no <user>.<secret> is refused naming --token-file, without showing what it holds', () => {
    const secret = 'hunter2-very-secret';
    for (const [tokenFile, why] of [
      [path.join(dir, 'missing.token'), /cannot read it \(no such file\)/],
      [file('empty.token', '\n  \n'), /is empty/],
      [file('two.token', `root.${secret}\nroot.${secret}\n`), /does not hold a token/],
      [file('bare.token', secret), /does not hold a token/],
    ] as const) {
      let message = '';
      try {
        resolveAccess({ tokenFile }, {});
      } catch (err) {
        expect(err).toBeInstanceOf(AccessUsageError);
        message = (err as Error).message;
      }
      expect(message).toMatch(new RegExp(`^--token-file ${tokenFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      expect(message).toMatch(why);
      expect(message).not.toContain(secret);
    }
  });

  it('a bad TERN_TOKEN is refused naming the variable, without showing it', () => {
    expect(() => resolveAccess({}, { TERN_TOKEN: 'Bearer hunter2' })).toThrow(/^TERN_TOKEN does not hold a token/);
    expect(() => resolveAccess({}, { TERN_TOKEN: 'Bearer hunter2' })).not.toThrow(/hunter2/);
    expect(() => resolveAccess({}, { TERN_TOKEN: '' })).toThrow(/^TERN_TOKEN is empty/);
  });
});

describe('terndb status against a secure node', () => {
  it('works over https with --cacert and --token-file, sending the token as a bearer token', async () => {
    const node = await secureNode();
    const r = await captured(() => runStatus({ url: `127.0.0.1:${node.port}`, cacert: node.caFile, tokenFile: file('root.token', `${token}\n`) }, {}));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('us-east (use1): write-ready, backlog 0 ms');
    expect(r.out).toMatch(/peer eu-west +reachable/);
    expect(node.seen).toEqual([`Bearer ${token}`]);
    const json = await captured(() => runStatus({ url: `https://127.0.0.1:${node.port}`, json: true, cacert: node.caFile }, { TERN_TOKEN: token }));
    expect(json.code).toBe(0);
    expect(JSON.parse(json.out)).toEqual(status);
  });

  it('without --cacert the certificate is not trusted, and the message says to pass --cacert', async () => {
    const node = await secureNode();
    const tokenFile = file('root.token', token);
    const r = await captured(() => runStatus({ url: `https://127.0.0.1:${node.port}`, tokenFile }, {}));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^terndb status: cannot reach https:\/\/127\.0\.0\.1:\d+ \(.*certificate.*\): .*pass --cacert <the cluster CA>/);
    expect(node.seen).toEqual([]);
    // A bare host:port without --cacert is plain HTTP, which a TLS port does not answer: the hint still points at --cacert.
    const bare = await captured(() => runStatus({ url: `127.0.0.1:${node.port}`, tokenFile }, {}));
    expect(bare.code).toBe(1);
    expect(bare.err).toMatch(/If it serves HTTPS \(a cluster with tls does\), give https:\/\/127\.0\.0\.1:\d+ or pass --cacert <the cluster CA>/);
  });

  it("with another cluster's CA the message names the CA file given", async () => {
    const node = await secureNode();
    const other = await secureNode();
    const r = await captured(() => runStatus({ url: `127.0.0.1:${node.port}`, cacert: other.caFile }, { TERN_TOKEN: token }));
    expect(r.code).toBe(1);
    expect(r.err).toContain(`is not signed by the CA in ${other.caFile}`);
  });

  it('without a token the 401 says to pass --token-file or set TERN_TOKEN; a refused token is named by where it came from', async () => {
    const node = await secureNode();
    const r = await captured(() => runStatus({ url: `127.0.0.1:${node.port}`, cacert: node.caFile }, {}));
    expect(r.code).toBe(1);
    expect(r.err).toContain('UNAUTHENTICATED: this cluster requires authentication');
    expect(r.err).toContain('the node requires a token: pass --token-file FILE (a file holding <user>.<secret>) or set TERN_TOKEN');
    const wrong = `root.${randomBytes(32).toString('base64url')}`;
    const w = await captured(() => runStatus({ url: `127.0.0.1:${node.port}`, cacert: node.caFile }, { TERN_TOKEN: wrong }));
    expect(w.code).toBe(1);
    expect(w.err).toContain('the node refused the token from TERN_TOKEN');
    expect(w.err).not.toContain(secretOf(wrong));
    expect(node.seen).toEqual([undefined, `Bearer ${wrong}`]);
  });

  it('a bad --cacert or --token-file exits 2 naming the flag, before calling the node', async () => {
    const node = await secureNode();
    const ca = await captured(() => runStatus({ url: `127.0.0.1:${node.port}`, cacert: path.join(dir, 'absent.crt') }, { TERN_TOKEN: token }));
    expect(ca.code).toBe(2);
    expect(ca.err).toMatch(/^terndb status: --cacert .*absent\.crt: cannot read it \(no such file\)\n$/);
    const tok = await captured(() => runStatus({ url: `127.0.0.1:${node.port}`, cacert: node.caFile, tokenFile: file('bad.token', `${token} extra`) }, {}));
    expect(tok.code).toBe(2);
    expect(tok.err).toMatch(/^terndb status: --token-file .*bad\.token does not hold a token/);
    expect(node.seen).toEqual([]);
  });

  it('--cacert with a bare host:port of a plain-HTTP node says to give http://', async () => {
    const node = await secureNode();
    const port = await listen(http.createServer(secureHandler([])));
    const r = await captured(() => runStatus({ url: `127.0.0.1:${port}`, cacert: node.caFile }, { TERN_TOKEN: token }));
    expect(r.code).toBe(1);
    expect(r.err).toContain(`the node answers plain HTTP, not HTTPS (with --cacert, a bare host:port means https://); give http://127.0.0.1:${port}`);
    // Over http:// the same flags work: the token is sent, the CA is simply not needed.
    const ok = await captured(() => runStatus({ url: `http://127.0.0.1:${port}`, cacert: node.caFile }, { TERN_TOKEN: token }));
    expect(ok.code).toBe(0);
  });
});

describe('terndb backup and restore --from against a secure node', () => {
  it('backup copies over https with the CA and the token; without the token it says how to pass one', async () => {
    const node = await secureNode();
    const out = path.join(dir, `${randomBytes(4).toString('hex')}.ternbackup`);
    const refused = await captured(() => runBackup(`127.0.0.1:${node.port}`, out, resolveAccess({ cacert: node.caFile }, {})));
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('pass --token-file FILE (a file holding <user>.<secret>) or set TERN_TOKEN');
    expect(existsSync(out)).toBe(false);
    const r = await captured(() => runBackup(`127.0.0.1:${node.port}`, out, resolveAccess({ cacert: node.caFile, tokenFile: file('root.token', token) }, {})));
    expect(r.err).not.toContain('cannot reach');
    expect(r.code).toBe(0);
    expect(readFileSync(out).subarray(-backupDb.length).equals(backupDb)).toBe(true);
  });

  it('restore --from takes the same options, checks them before touching the data directory, and restores over https', async () => {
    const node = await secureNode();
    const data = path.join(dir, `restored-${randomBytes(4).toString('hex')}`);
    const config = file('cluster.yaml', `cluster: tern-test\ninsecure: true\nregions:\n  - { name: us-east, node: { id: use1, api: "127.0.0.1:1", peer: "127.0.0.1:2", data: ${JSON.stringify(data)} } }\n`);
    const restore = (flags: { from?: string; in?: string; cacert?: string; tokenFile?: string }, env: NodeJS.ProcessEnv = {}) => captured(() => runRestore({ config, node: 'us-east', ...flags }, env));
    const badCa = await restore({ from: `127.0.0.1:${node.port}`, cacert: file('ca.key', 'not a certificate') });
    expect(badCa.code).toBe(2);
    expect(badCa.err).toMatch(/--cacert .*ca\.key holds no PEM certificate/);
    expect(existsSync(data)).toBe(false);
    const withIn = await restore({ in: path.join(dir, 'x.ternbackup'), cacert: node.caFile });
    expect(withIn.code).toBe(2);
    expect(withIn.err).toContain('--cacert and --token-file go with --from');
    const noToken = await restore({ from: `127.0.0.1:${node.port}`, cacert: node.caFile });
    expect(noToken.code).toBe(1);
    expect(noToken.err).toContain('the node requires a token');
    const r = await restore({ from: `127.0.0.1:${node.port}`, cacert: node.caFile }, { TERN_TOKEN: token });
    expect(r.err).not.toContain('cannot reach');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`Restored us-east from its own backup`);
    expect(existsSync(path.join(data, 'tern.sqlite'))).toBe(true);
  });
});
