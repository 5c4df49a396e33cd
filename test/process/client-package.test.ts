/**
 * The README's SDK example, as a user runs it in their own project: the package packed by
 * `npm pack`, unpacked into a fresh project's node_modules (the SDK needs no dependency), and
 * the README's example.mjs run with node against a real cluster.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultTables, ProcessCluster } from './harness.js';

const root = new URL('../..', import.meta.url).pathname;
// A secure cluster, as the demo is: the example trusts its CA and sends its root token.
const c = new ProcessCluster({ regions: ['us-east', 'eu-west'], wan: false, tls: true, auth: true, tables: { ...defaultTables, accounts: { mode: 'strong', fields: { balance: 'counter' } } } });
beforeAll(() => c.start(), 90_000);
afterAll(() => c.stop(), 60_000);

/** The fenced js block after the client-example marker in README.md. */
function readmeExample(): string {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const at = readme.indexOf('<!-- client-example');
  expect(at).toBeGreaterThan(0);
  const m = /```js\n([\s\S]*?)```/.exec(readme.slice(at));
  expect(m).not.toBeNull();
  return (m as RegExpExecArray)[1] as string;
}

describe('the SDK from a packed tarball', () => {
  it("runs the README's example.mjs in a project of its own", () => {
    const app = path.join(c.dir, 'my-app');
    mkdirSync(path.join(app, 'node_modules', 'terndb'), { recursive: true });
    // dist/ is built by `npm test` before the tests run; --ignore-scripts skips the rebuild.
    const pack = spawnSync('npm', ['pack', '--ignore-scripts', '--pack-destination', c.dir], { cwd: root, encoding: 'utf8' });
    expect(pack.status, pack.stderr).toBe(0);
    const tgz = readdirSync(c.dir).find((f) => f.startsWith('terndb-') && f.endsWith('.tgz'));
    expect(tgz).toBeDefined();
    const untar = spawnSync('tar', ['-xzf', path.join(c.dir, tgz as string), '-C', path.join(app, 'node_modules', 'terndb'), '--strip-components=1'], { encoding: 'utf8' });
    expect(untar.status, untar.stderr).toBe(0);
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'my-app', private: true, type: 'module' }));
    // What npm install would add beside it: the package's dependencies the SDK loads (undici, for `ca`).
    symlinkSync(path.join(root, 'node_modules', 'undici'), path.join(app, 'node_modules', 'undici'));
    writeFileSync(path.join(app, 'example.mjs'), readmeExample());
    writeFileSync(path.join(c.dir, 'root.token'), `${c.rootToken}\n`, { mode: 0o600 });
    const env = { ...process.env, TERN_REGIONS: `${c.url('us-east')},${c.url('eu-west')}`, TERN_CACERT: path.join(c.dir, 'certs', 'ca.crt'), TERN_TOKEN_FILE: path.join(c.dir, 'root.token') };
    const run = spawnSync(process.execPath, ['example.mjs'], { cwd: app, encoding: 'utf8', env, timeout: 60_000 });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('Ann true\ntrue\n');
  }, 120_000);
});
