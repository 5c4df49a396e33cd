/**
 * `terndb cert`, in process through runCli (the same code path as bin/terndb.js, without needing
 * a build): files and their modes, no silent overwrite, and exit 2 naming the option on bad input.
 */
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { X509Certificate as IdentityCert } from 'node:crypto';
import { clientUserOf, nodeIdentityOf } from '../../src/security/identity.js';

// What the node and the API read of a certificate (security/identity.ts), from PEM or DER.
const nodeIdentity = (cert: string | Buffer) => nodeIdentityOf(new IdentityCert(cert).subjectAltName);
const clientUser = (cert: string | Buffer) => clientUserOf(new IdentityCert(cert).subjectAltName);

const dir = mkdtempSync(path.join(tmpdir(), 'tern-cert-cli-'));
const caDir = path.join(dir, 'ca');
const mode = (file: string) => statSync(file).mode & 0o777;
let umask = 0;

/** Runs `terndb cert ...args` and returns its exit code and output. */
async function cert(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    process.exitCode = undefined;
    const code = await runCli(['node', 'terndb', 'cert', ...args]);
    return { code, out, err };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
}

beforeAll(async () => {
  // Modes are checked exactly; the usual umask, whatever the machine's.
  umask = process.umask(0o022);
  const r = await cert('create-ca', '--cluster', 'prod', '--out', caDir, '--days', '30');
  expect(r.code, r.err).toBe(0);
});

afterEach(() => {
  process.exitCode = undefined;
});

afterAll(() => {
  process.umask(umask);
  rmSync(dir, { recursive: true, force: true });
});

describe('terndb cert', () => {
  it('create-ca writes ca.crt (0644) and ca.key (0600) and says what is next', async () => {
    expect(mode(path.join(caDir, 'ca.crt'))).toBe(0o644);
    expect(mode(path.join(caDir, 'ca.key'))).toBe(0o600);
    const ca = new X509Certificate(readFileSync(path.join(caDir, 'ca.crt')));
    expect(ca.ca).toBe(true);
    expect(ca.subject).toBe('CN=Tern CA prod');
    const again = await cert('create-ca', '--cluster', 'other', '--out', path.join(dir, 'ca2'));
    expect(again.out).toMatch(/wrote .*ca2\/ca\.crt: the CA of cluster other/);
    expect(again.out).toMatch(/wrote .*ca2\/ca\.key: its private key \(mode 0600\)/);
    expect(again.out).toContain('next: a certificate for each node');
    expect(again.out).toContain(`terndb cert create-node --ca-dir ${path.join(dir, 'ca2')} --cluster other`);
  });

  it('create-node writes <node>.crt and <node>.key for 127.0.0.1 and localhost by default, signed by the CA', async () => {
    const out = path.join(dir, 'n1');
    const r = await cert('create-node', '--ca-dir', caDir, '--cluster', 'prod', '--region', 'us-east', '--node', 'us-east-1', '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('tern://prod/us-east/us-east-1; hosts 127.0.0.1, localhost');
    expect(r.out).toContain("next: put us-east-1.crt, us-east-1.key and");
    expect(mode(path.join(out, 'us-east-1.crt'))).toBe(0o644);
    expect(mode(path.join(out, 'us-east-1.key'))).toBe(0o600);
    expect(mode(out)).toBe(0o700);
    const pem = readFileSync(path.join(out, 'us-east-1.crt'), 'utf8');
    const leaf = new X509Certificate(pem);
    expect(leaf.verify(new X509Certificate(readFileSync(path.join(caDir, 'ca.crt'))).publicKey)).toBe(true);
    expect(leaf.subjectAltName).toBe('URI:tern://prod/us-east/us-east-1, IP Address:127.0.0.1, DNS:localhost');
    expect(nodeIdentity(pem)).toEqual({ cluster: 'prod', region: 'us-east', node: 'us-east-1' });
  });

  it('create-node --host replaces the default hosts, repeatable', async () => {
    const out = path.join(dir, 'n2');
    const r = await cert('create-node', '--ca-dir', caDir, '--cluster', 'prod', '--region', 'eu-west', '--node', 'eu-west-1', '--host', 'db2.example.com', '--host', '10.0.0.2', '--out', out, '--days', '7');
    expect(r.code, r.err).toBe(0);
    const leaf = new X509Certificate(readFileSync(path.join(out, 'eu-west-1.crt')));
    expect(leaf.subjectAltName).toBe('URI:tern://prod/eu-west/eu-west-1, DNS:db2.example.com, IP Address:10.0.0.2');
    expect((Date.parse(leaf.validTo) - Date.now()) / 86_400_000).toBeCloseTo(7, 1);
  });

  it('create-client writes <user>.crt and <user>.key naming the user', async () => {
    const out = path.join(dir, 'alice');
    const r = await cert('create-client', '--ca-dir', caDir, '--cluster', 'prod', '--user', 'alice', '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('user alice of cluster prod (tern://prod/user/alice)');
    // The CA has 30 days: the default 365 is cut to them, and said so.
    expect(r.out).toMatch(/^note: the CA expires on .*, so the certificate is valid for 29 days, not 365$/m);
    expect(mode(path.join(out, 'alice.crt'))).toBe(0o644);
    expect(mode(path.join(out, 'alice.key'))).toBe(0o600);
    const pem = readFileSync(path.join(out, 'alice.crt'), 'utf8');
    expect(new X509Certificate(pem).subject).toBe('CN=alice');
    expect(clientUser(pem)).toBe('alice');
  });

  it('create-client refuses --user root: root authenticates with its token only', async () => {
    const r = await cert('create-client', '--ca-dir', caDir, '--cluster', 'prod', '--user', 'root', '--out', path.join(dir, 'root-cert'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--user.*root authenticates with its token only/);
  });

  it('refuses to overwrite a key without --force; with it, the files are created afresh with their modes', async () => {
    const out = path.join(dir, 'bob');
    const args = ['create-client', '--ca-dir', caDir, '--cluster', 'prod', '--user', 'bob', '--out', out];
    expect((await cert(...args)).code).toBe(0);
    const key = path.join(out, 'bob.key');
    const before = readFileSync(key, 'utf8');
    const refused = await cert(...args);
    expect(refused.code).toBe(2);
    expect(refused.err).toContain(`terndb cert create-client: --out: ${key} exists; pass --force to replace it`);
    expect(readFileSync(key, 'utf8')).toBe(before);
    chmodSync(key, 0o644); // a loosened key is not kept loose by --force: it is removed and created 0600
    const forced = await cert(...args, '--force');
    expect(forced.code, forced.err).toBe(0);
    expect(readFileSync(key, 'utf8')).not.toBe(before);
    expect(mode(key)).toBe(0o600);
  });

  it('warns when the CA key can be read by others', async () => {
    const looseCa = path.join(dir, 'loose-ca');
    expect((await cert('create-ca', '--cluster', 'prod', '--out', looseCa)).code).toBe(0);
    chmodSync(path.join(looseCa, 'ca.key'), 0o644);
    const r = await cert('create-client', '--ca-dir', looseCa, '--cluster', 'prod', '--user', 'carol', '--out', path.join(dir, 'carol'));
    expect(r.code).toBe(0);
    expect(r.err).toContain(`warning: ${path.join(looseCa, 'ca.key')} can be read by other users; restrict it with \`chmod 600`);
  });

  it.each([
    ['a bad --region', ['create-node', '--ca-dir', caDir, '--cluster', 'prod', '--region', 'bad name', '--node', 'n', '--out', path.join(dir, 'x')], /option '--region <name>' argument 'bad name' is invalid\. must be 1 to 63 letters, digits, _ or -/],
    ['the reserved --region user', ['create-node', '--ca-dir', caDir, '--cluster', 'prod', '--region', 'user', '--node', 'n', '--out', path.join(dir, 'x')], /'--region <name>' argument 'user' is invalid\. "user" is reserved/],
    ['a missing --cluster', ['create-ca', '--out', path.join(dir, 'x')], /required option '--cluster <name>' not specified/],
    ['a bad --days', ['create-ca', '--cluster', 'prod', '--out', path.join(dir, 'x'), '--days', '0'], /--days must be an integer from 1 to 3650/],
    ['a wildcard --host', ['create-node', '--ca-dir', caDir, '--cluster', 'prod', '--region', 'r', '--node', 'n', '--host', '*.example.com', '--out', path.join(dir, 'x')], /'--host <host>' argument '\*\.example\.com' is invalid\. must be an IP address or a DNS name/],
    ['a --ca-dir without a CA', ['create-client', '--ca-dir', path.join(dir, 'none'), '--cluster', 'prod', '--user', 'u', '--out', path.join(dir, 'x')], /terndb cert create-client: --ca-dir: .*none\/ca\.crt not found; give the directory `terndb cert create-ca --out DIR` wrote/],
    ['a --cluster that is not the CA\'s', ['create-client', '--ca-dir', caDir, '--cluster', 'staging', '--user', 'u', '--out', path.join(dir, 'x')], /--cluster: the CA is "Tern CA prod", not the CA of cluster staging/],
    ['a --days past the CA\'s end', ['create-client', '--ca-dir', caDir, '--cluster', 'prod', '--user', 'u', '--out', path.join(dir, 'x'), '--days', '31'], /--days: the CA expires on .*; ask for at most 29 days, or renew the CA first/],
    ['a user "ca" over the CA\'s own files', ['create-client', '--ca-dir', caDir, '--cluster', 'prod', '--user', 'ca', '--out', caDir, '--force'], /--out: ca\.crt and ca\.key in .* are the CA's own; choose another --out/],
    ['an unknown subcommand', ['create-thing'], /unknown command 'create-thing'/],
  ])('exits 2 on %s, naming it, and writes nothing', async (_name, args, message) => {
    const r = await cert(...args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(existsSync(path.join(dir, 'x'))).toBe(false);
  });

  it.each(['create-ca', 'create-node', 'create-client'])('%s --help has an example', async (sub) => {
    const r = await cert(sub, '--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Usage: terndb cert /);
    expect(r.out).toMatch(/\nExample:\n {2}terndb cert /);
  });

  it('cert --help lists the subcommands with examples', async () => {
    const r = await cert('--help');
    expect(r.code).toBe(0);
    for (const sub of ['create-ca', 'create-node', 'create-client']) expect(r.out).toContain(sub);
    expect(r.out).toMatch(/\nExamples:\n {2}terndb cert create-ca/);
  });
});

describe('terndb cert create-root-token', () => {
  it('writes the token alone to a 0600 file and prints a credential the configuration takes and the token matches', async () => {
    const { mkdtempSync, readFileSync, statSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const { parse } = await import('yaml');
    const { parseConfig } = await import('../../src/server/config.js');
    const { secretMatches } = await import('../../src/server/auth/tokens.js');
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'tern-root-')), 'root');
    const r = await cert('create-root-token', '--out', out);
    expect(r.code, r.err).toBe(0);
    const file = path.join(out, 'root.token');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const token = readFileSync(file, 'utf8').trim();
    expect(token).toMatch(/^root\.[A-Za-z0-9_-]{43}$/);
    expect(r.out).not.toContain(token.split('.')[1]);
    const line = r.out.split('\n').find((l) => l.startsWith('auth:')) as string;
    const config = parseConfig({ cluster: 'x', insecure: true, regions: [{ name: 'a', node: { id: 'a1', api: '127.0.0.1:1', peer: '127.0.0.1:2', data: 'd' } }], ...parse(line) }, '/tmp');
    expect(config.auth).not.toBeNull();
    expect(await secretMatches(token.split('.')[1] as string, config.auth?.root as { salt: string; hash: string })).toBe(true);
    // Not replaced without --force.
    expect((await cert('create-root-token', '--out', out)).code).toBe(2);
  });
});
