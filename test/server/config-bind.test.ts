/** Where a node listens (`node.bind`) may differ from where others reach it (`node.api`, `node.peer`). */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/server/config.js';

const region = (node: Record<string, unknown>) => ({ cluster: 'x', regions: [{ name: 'a', node: { id: 'a1', api: '10.0.0.5:7001', peer: '10.0.0.5:7101', data: 'd', ...node } }] });

describe('node.bind', () => {
  it('defaults to the advertised addresses', () => {
    const spec = parseConfig(region({}), '/tmp').regions[0];
    expect(spec?.node.bind).toEqual({ api: { host: '10.0.0.5', port: 7001 }, peer: { host: '10.0.0.5', port: 7101 } });
  });

  it('listens where bind says, each part on its own', () => {
    const spec = parseConfig(region({ bind: { api: '0.0.0.0:8001' } }), '/tmp').regions[0];
    expect(spec?.node.bind).toEqual({ api: { host: '0.0.0.0', port: 8001 }, peer: { host: '10.0.0.5', port: 7101 } });
    expect(spec?.node.api).toEqual({ host: '10.0.0.5', port: 7001 });
  });

  it.each([
    [{ bind: '0.0.0.0:1' }, 'regions[0].node.bind'],
    [{ bind: { api: 'nope' } }, 'regions[0].node.bind.api'],
    [{ bind: { admin: '0.0.0.0:1' } }, 'regions[0].node.bind.admin'],
  ])('refuses %j naming %s', (node, field) => {
    expect(() => parseConfig(region(node), '/tmp')).toThrow(ConfigError);
    expect(() => parseConfig(region(node), '/tmp')).toThrow(field);
  });
});
