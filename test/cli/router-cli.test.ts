/** `terndb router` bad input: a clear message naming what to fix, exit 2, nothing started. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const bin = new URL('../../bin/terndb.js', import.meta.url).pathname;
const dir = mkdtempSync(path.join(tmpdir(), 'tern-router-cli-'));
const config = (extra: Record<string, unknown>) => {
  const file = path.join(dir, `c${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify({ cluster: 'x', regions: [{ name: 'a', node: { id: 'a1', api: '127.0.0.1:1', peer: '127.0.0.1:2', data: 'd' } }], ...extra }));
  return file;
};
const run = (...args: string[]) => spawnSync(process.execPath, [bin, 'router', ...args], { encoding: 'utf8' });

describe('terndb router, bad input', () => {
  it.each([
    ['no router section and no --api', [], /router: give --api/],
    ['an unknown --region', ['--api', '127.0.0.1:9', '--region', 'mars'], /--region: must be one of the regions \(a\), not mars/],
    ['a bad --api', ['--api', 'nope'], /--api: must be "host:port"/],
  ])('%s', (_name, args, message) => {
    const r = run('--config', config({}), ...args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('a file with neither tls nor insecure: true is refused, saying how to make certificates; with tls, router.tls is required', () => {
    const plain = run('--config', config({}), '--api', '127.0.0.1:9');
    expect(plain.status).toBe(2);
    expect(plain.stderr).toMatch(/has no tls section.*terndb cert create-router.*insecure: true/);
    const noCert = run('--config', config({ tls: { ca: 'ca.crt' }, regions: [{ name: 'a', node: { id: 'a1', api: '127.0.0.1:1', peer: '127.0.0.1:2', data: 'd', tls: { cert: 'a.crt', key: 'a.key' } } }], router: { api: '127.0.0.1:9' } }));
    expect(noCert.status).toBe(2);
    expect(noCert.stderr).toMatch(/router\.tls: .*terndb cert create-router/);
  });

  it('a router section with a bad field names it', () => {
    const r = run('--config', config({ router: { api: '127.0.0.1:9', failThreshold: 0 } }));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/router\.failThreshold: must be an integer from 1 to 100/);
  });
});
