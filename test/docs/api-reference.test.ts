/**
 * docs/api.md stays true to the product: every route the server registers, every error code of
 * the registry (and the SDK's UNREACHABLE), every extra field of an error body, every
 * configuration field and every command and option of the CLI appear in it; every route it lists
 * exists; and nothing in src/, docs/ or README.md points at a reference that is not in the
 * repository.
 *
 * The routes are collected with a Fastify `onRoute` hook. buildApi creates its Fastify instance
 * and adds the routes itself, so the hook is installed by wrapping Fastify's factory.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as FastifyModule from 'fastify';
import { describe, expect, it, vi } from 'vitest';

const registered = vi.hoisted(() => [] as Array<{ method: string; url: string }>);

vi.mock('fastify', async (importOriginal) => {
  const mod = await importOriginal<typeof FastifyModule>();
  const fastify = mod.default;
  const withRouteHook = ((options: Parameters<typeof fastify>[0]) => {
    const app = fastify(options);
    app.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) registered.push({ method, url: route.url });
    });
    return app;
  }) as unknown as typeof fastify;
  return { ...mod, default: withRouteHook };
});

import { buildProgram } from '../../src/cli/main.js';
import { errorRegistry, type TernError } from '../../src/core/errors.js';
import { validatePolicy } from '../../src/core/schema/policy.js';
import { parseConfig } from '../../src/server/config.js';
import { Router } from '../../src/router/router.js';
import pino from 'pino';
import { buildApi, type ApiNode } from '../../src/server/http-api.js';
import { fakeApiNode } from '../server/fake-api-node.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const docPath = path.join(root, 'docs/api.md');
const doc = readFileSync(docPath, 'utf8');

/** The text under a heading (`## Errors`, `### Table policies`), up to the next heading of the same or a higher level. */
function section(heading: string): string {
  const level = /^#+/.exec(heading)?.[0].length ?? 0;
  const lines = doc.split('\n');
  const start = lines.indexOf(heading);
  expect(start, `docs/api.md has the heading "${heading}"`).toBeGreaterThanOrEqual(0);
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((l) => new RegExp(`^#{1,${level}} `).test(l));
  return (end < 0 ? rest : rest.slice(0, end)).join('\n');
}

/** Every optional field an error may carry: adding one to TernError fails type-checking here until it is listed. */
const everyExtra: Required<Omit<TernError, 'code' | 'message'>> = {
  field: 'f',
  home: 'h',
  mayHaveCommitted: true,
  leader: 'l',
  reason: 'lease',
  regions: ['r'],
  tables: ['t'],
  expected: { region: 'r', inMs: 1500 },
  retryAfterMs: 1200,
  oldest: 7,
};

/** A node that has no tables and answers every async request with FENCED carrying every extra field. */
function fakeNode(): ApiNode {
  return fakeApiNode({ code: 'FENCED', message: 'fenced', ...everyExtra });
}

async function withApi<T>(use: (app: ReturnType<typeof buildApi>) => Promise<T>): Promise<T> {
  const app = buildApi(fakeNode());
  await app.ready();
  try {
    return await use(app);
  } finally {
    await app.close();
  }
}

describe('docs/api.md', () => {
  it('lists every route the server registers, as `METHOD /path`; HEAD routes are the GET routes', async () => {
    registered.length = 0;
    await withApi(async () => undefined);
    expect(registered.length).toBeGreaterThan(10);
    const gets = new Set(registered.filter((r) => r.method === 'GET').map((r) => r.url));
    const missing: string[] = [];
    for (const { method, url } of registered) {
      if (method === 'HEAD') {
        expect(gets.has(url), `HEAD ${url} mirrors a GET route`).toBe(true);
        continue;
      }
      if (!doc.includes(`\`${method} ${url}\``)) missing.push(`${method} ${url}`);
    }
    expect(missing, 'routes missing from docs/api.md').toEqual([]);
    expect(doc).toContain('also answers `HEAD`');
  });

  it('lists no route the server does not register', async () => {
    registered.length = 0;
    await withApi(async () => undefined);
    const known = new Set(registered.map((r) => `${r.method} ${r.url}`));
    const listed = [...section('## Routes').matchAll(/`((?:GET|HEAD|POST|PUT|PATCH|DELETE) \/[^`\s]*)`/g)].map((m) => m[1] as string);
    expect(listed.length).toBeGreaterThan(10);
    // The router's own routes (section "Router") are the router's.
    const router = new Router({ cluster: 'x', region: null, regions: [], strongTables: [], probeIntervalMs: 500, failThreshold: 3, attemptTimeoutMs: 1000, maxInflight: 1, log: pino({ level: 'silent' }) });
    await router.app.ready();
    const routers = (r: string) => {
      const [method, url] = r.split(' ') as [string, string];
      return router.app.hasRoute({ method: method as 'GET', url });
    };
    expect(listed.filter((r) => !known.has(r) && !routers(r)), 'routes in docs/api.md that neither the server nor the router has').toEqual([]);
    expect(routers('GET /v1/router/status')).toBe(true);
    await router.app.close();
  });

  it('has a row for every error code of the registry with its status and retryability, and the SDK code UNREACHABLE', () => {
    const errors = section('## Errors');
    for (const [code, e] of Object.entries(errorRegistry)) {
      const row = new RegExp(`^\\| \`${code}\` \\| ${e.status} \\| ${e.retryable ? 'yes' : 'no'} \\|`, 'm');
      expect(errors, `the row of ${code}`).toMatch(row);
    }
    expect(section("### The client SDK's own codes")).toMatch(/^\| `UNREACHABLE` \| 0 \| yes \|/m);
  });

  it('documents every extra field an error body can carry, and Retry-After', async () => {
    const r = await withApi((app) => app.inject({ method: 'GET', url: '/v1/tables/t/rows/k' }));
    expect(r.statusCode).toBe(errorRegistry.FENCED.status);
    expect(r.headers['retry-after']).toBe('2');
    const body = r.json() as { error: Record<string, unknown> };
    const extras = Object.keys(body.error).filter((k) => !['code', 'message', 'retryable'].includes(k));
    expect(extras.sort()).toEqual(Object.keys(everyExtra).sort());
    const table = section('### Extra fields');
    for (const k of extras) expect(table, `the extra field ${k}`).toMatch(new RegExp(`^\\| \`${k}\` \\|`, 'm'));
    expect(section('## Headers')).toContain('`Retry-After`');
  });

  it('is where a 404 for an unknown route points, and it exists', async () => {
    const r = await withApi((app) => app.inject({ method: 'GET', url: '/no/such/route' }));
    expect(r.statusCode).toBe(404);
    expect((r.json() as { error: { message: string } }).error.message).toContain('see docs/api.md');
    expect(existsSync(docPath)).toBe(true);
  });

  it('documents every field of the cluster configuration and of a table policy', () => {
    const config = parseConfig(
      {
        cluster: 'x',
        regions: [{ name: 'a', node: { id: 'a1', api: '127.0.0.1:1', peer: '127.0.0.1:2', data: 'd' } }],
        wan: { control: '127.0.0.1:3', rttMs: {} },
        router: { api: '127.0.0.1:4' },
      },
      root,
    );
    const text = section('## Cluster configuration');
    const row = (name: string) => new RegExp(`^\\| \`${name.replace(/\./g, '\\.')}\` \\|`, 'm');
    for (const k of Object.keys(config)) expect(text, `top-level field ${k}`).toMatch(row(k));
    const region = config.regions[0];
    expect(region).toBeDefined();
    for (const [k, v] of Object.entries(region ?? {})) {
      if (typeof v === 'object') for (const n of Object.keys(v)) expect(text, `regions[].${k}.${n}`).toMatch(row(`${k}.${n}`));
      else expect(text, `regions[].${k}`).toMatch(row(k));
    }
    for (const k of Object.keys(config.wan ?? {})) expect(text, `wan.${k}`).toMatch(row(`wan.${k}`));
    for (const k of Object.keys(config.router ?? {})) expect(text, `router.${k}`).toContain(`\`router.${k}\``);
    for (const k of Object.keys(config.settings)) expect(section('### `settings`'), `settings.${k}`).toMatch(row(k));
    const policy = validatePolicy({}, { regions: ['a'] });
    expect(policy.ok).toBe(true);
    if (policy.ok) for (const k of Object.keys(policy.value)) expect(section('### Table policies'), `policy field ${k}`).toMatch(row(k));
  });

  it('documents every command of the CLI with each of its options and arguments', () => {
    const program = buildProgram();
    const cli = section('## Command line');
    for (const o of program.options) expect(cli).toContain(o.long as string);
    expect(program.commands.length).toBeGreaterThan(5);
    for (const command of program.commands) {
      const text = section(`### \`terndb ${command.name()}\``);
      for (const o of command.options) expect(text, `terndb ${command.name()} ${o.flags}`).toContain(`\`${o.flags}\``);
      for (const a of command.registeredArguments) expect(text, `terndb ${command.name()} <${a.name()}>`).toContain(`<${a.name()}>`);
    }
  });

  it('is the reference everything points at: no file under src/ or docs/, nor README.md, mentions the upper-case API reference name', () => {
    const files: string[] = [path.join(root, 'README.md')];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const p = path.join(dir, name);
        if (statSync(p).isDirectory()) walk(p);
        else files.push(p);
      }
    };
    walk(path.join(root, 'src'));
    walk(path.join(root, 'docs'));
    const offenders = files.filter((f) => readFileSync(f, 'utf8').includes(['A', 'PI.md'].join(''))).map((f) => path.relative(root, f));
    expect(offenders).toEqual([]);
  });
});
