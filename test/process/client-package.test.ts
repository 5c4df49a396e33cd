/**
 * The README's SDK example, as a user runs it in their own project: the package packed by
 * `npm pack`, unpacked into a fresh project's node_modules (the SDK needs no dependency), and
 * the README's example.mjs run with node against a real cluster.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultTables, ProcessCluster } from './harness.js';

const root = new URL('../..', import.meta.url).pathname;
const c = new ProcessCluster({ regions: ['us-east', 'eu-west'], wan: false, tables: { ...defaultTables, accounts: { mode: 'strong', fields: { balance: 'counter' } } } });
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
    writeFileSync(path.join(app, 'example.mjs'), readmeExample());
    const run = spawnSync(process.execPath, ['example.mjs'], { cwd: app, encoding: 'utf8', env: { ...process.env, TERN_REGIONS: `${c.url('us-east')},${c.url('eu-west')}` }, timeout: 60_000 });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('Ann true\ntrue\n');
  }, 120_000);
});
