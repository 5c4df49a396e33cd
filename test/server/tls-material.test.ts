/** A node's TLS files checked at start (and at SIGHUP): each problem is a ConfigError naming the field; a CA file may hold two CAs (a move to a new CA). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createCa, issueNodeCert } from '../../src/security/certs.js';
import { ConfigError, parseConfig } from '../../src/server/config.js';
import { loadTlsMaterial } from '../../src/server/tls-material.js';

const dir = mkdtempSync(path.join(tmpdir(), 'tern-tls-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function setup() {
  const ca = await createCa({ cluster: 'x', validDays: 30 });
  const other = await createCa({ cluster: 'x', validDays: 30 });
  const good = await issueNodeCert({ ca, cluster: 'x', region: 'a', node: 'a1', hosts: ['127.0.0.1'], validDays: 10 });
  const put = (name: string, text: string) => writeFileSync(path.join(dir, name), text);
  put('ca.crt', ca.certPem);
  put('a1.crt', good.certPem);
  put('a1.key', good.keyPem);
  const config = () => parseConfig({ cluster: 'x', tls: { ca: 'ca.crt' }, regions: [{ name: 'a', node: { id: 'a1', api: '127.0.0.1:7001', peer: '127.0.0.1:7101', data: 'd', tls: { cert: 'a1.crt', key: 'a1.key' } } }] }, dir);
  const load = () => {
    const c = config();
    return loadTlsMaterial(c, c.regions[0] as (typeof c.regions)[number]);
  };
  return { ca, other, good, put, load };
}

const fieldOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    if (e instanceof ConfigError) return e.field;
    throw e;
  }
  return undefined;
};

describe('a node’s TLS files', () => {
  it('loads what the CA signed, also from a CA file holding two CAs', async () => {
    const { ca, other, good, put, load } = await setup();
    expect(load()).toEqual({ ca: ca.certPem, cert: good.certPem, key: good.keyPem });
    put('ca.crt', other.certPem + ca.certPem);
    expect(load()?.cert).toBe(good.certPem);
  });

  it('names the field at fault: unreadable, malformed, another CA, a key not the certificate’s, another node, expired', async () => {
    const { ca, other, good, put, load } = await setup();
    put('ca.crt', 'nonsense');
    expect(fieldOf(load)).toBe('tls.ca');
    put('ca.crt', other.certPem);
    expect(fieldOf(load)).toBe('regions[0].node.tls.cert');
    put('ca.crt', ca.certPem);
    put('a1.key', ca.keyPem);
    expect(fieldOf(load)).toBe('regions[0].node.tls.key');
    put('a1.key', 'not a key');
    expect(fieldOf(load)).toBe('regions[0].node.tls.key');
    const b1 = await issueNodeCert({ ca, cluster: 'x', region: 'b', node: 'b1', hosts: ['127.0.0.1'], validDays: 10 });
    put('a1.crt', b1.certPem);
    put('a1.key', b1.keyPem);
    expect(fieldOf(load)).toBe('regions[0].node.tls.cert');
    const day = 86_400_000;
    const old = await issueNodeCert({ ca, cluster: 'x', region: 'a', node: 'a1', hosts: ['127.0.0.1'], validDays: 1, notBefore: new Date(Date.now() - 3 * day), notAfter: new Date(Date.now() - day) });
    put('a1.crt', old.certPem);
    put('a1.key', old.keyPem);
    expect(fieldOf(load)).toBe('regions[0].node.tls.cert');
    rmSync(path.join(dir, 'a1.crt'));
    expect(fieldOf(load)).toBe('regions[0].node.tls.cert');
    put('a1.crt', good.certPem);
    put('a1.key', good.keyPem);
    expect(load()?.cert).toBe(good.certPem);
  });
});
