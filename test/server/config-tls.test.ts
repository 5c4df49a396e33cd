/** The configuration's TLS: the cluster CA at the top, a certificate and key per node, or `insecure: true`; contradictions refused with the field named. */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/server/config.js';

const node = (tls?: unknown) => ({ id: 'a1', api: '127.0.0.1:7001', peer: '127.0.0.1:7101', data: 'd', ...(tls !== undefined ? { tls } : {}) });
const file = (extra: Record<string, unknown>, tls?: unknown) => ({ cluster: 'x', regions: [{ name: 'a', node: node(tls) }], ...extra });

describe('tls in the configuration', () => {
  it('paths are resolved against the configuration file’s folder', () => {
    const c = parseConfig(file({ tls: { ca: 'certs/ca.crt' } }, { cert: 'certs/a1.crt', key: '/abs/a1.key' }), '/etc/tern');
    expect(c.tls).toEqual({ ca: '/etc/tern/certs/ca.crt' });
    const routed = parseConfig(file({ tls: { ca: 'ca.crt' }, router: { api: '127.0.0.1:7000', tls: { cert: 'r.crt', key: 'r.key' } } }, { cert: 'a', key: 'b' }), '/etc/tern');
    expect(routed.router?.tls).toEqual({ cert: '/etc/tern/r.crt', key: '/etc/tern/r.key' });
    expect(c.regions[0]?.node.tls).toEqual({ cert: '/etc/tern/certs/a1.crt', key: '/abs/a1.key' });
    expect(c.insecure).toBe(false);
  });

  it('insecure: true is plaintext on purpose; without either, tls is null', () => {
    expect(parseConfig(file({ insecure: true }), '/tmp')).toMatchObject({ tls: null, insecure: true });
    expect(parseConfig(file({}), '/tmp')).toMatchObject({ tls: null, insecure: false });
  });

  it.each([
    [file({ auth: { root: { salt: 'c2FsdHNhbHRzYWx0c2FsdA', hash: 'c2hvcnRoYXNoc2hvcnRoYXNo' } } }), 'auth.root.hash'],
    [file({ auth: { root: { salt: 'x', hash: 'y' } } }), 'auth.root.salt'],
    [file({ auth: { root: 'token' } }), 'auth.root'],
    [file({ tls: { ca: 'ca.crt' }, insecure: true }, { cert: 'a', key: 'b' }), 'insecure'],
    [file({ insecure: 'yes' }), 'insecure'],
    [file({}, { cert: 'a', key: 'b' }), 'tls.ca'],
    [file({ tls: { ca: 'ca.crt' } }), 'regions[0].node.tls'],
    [file({ tls: { ca: 'ca.crt' } }, { cert: 'a' }), 'regions[0].node.tls.key'],
    [file({ tls: { ca: 'ca.crt' } }, { cert: 'a', key: 'b', pass: 'c' }), 'regions[0].node.tls.pass'],
    [file({ tls: { ca: 7 } }, { cert: 'a', key: 'b' }), 'tls.ca'],
    [file({ tls: 'ca.crt' }, { cert: 'a', key: 'b' }), 'tls'],
    // The API serves HTTPS whenever the cluster has TLS: there is nothing to opt into.
    [file({ tls: { ca: 'ca.crt', api: true } }, { cert: 'a', key: 'b' }), 'tls.api'],
    [file({ router: { api: '127.0.0.1:7000', tls: { cert: 'r.crt', key: 'r.key' } } }), 'tls.ca'],
    [file({ tls: { ca: 'ca.crt' }, router: { api: '127.0.0.1:7000', tls: { cert: 'r.crt' } } }, { cert: 'a', key: 'b' }), 'router.tls.key'],
    [file({ auth: { root: { salt: 'c2FsdHNhbHRzYWx0c2FsdA', hash: 'c2hvcnRoYXNoc2hvcnRoYXNoc2hvcnRoYXNoc2hvcnQ' }, metrics: 'closed' } }), 'auth.metrics'],
  ])('%j is refused naming %s', (input, field) => {
    let err: unknown;
    try {
      parseConfig(input, '/tmp');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).field).toBe(field);
  });
});
