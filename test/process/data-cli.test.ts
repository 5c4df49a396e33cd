/**
 * The data commands (`terndb get|put|patch|del|scan|txn|tables|conflicts`) as users run them: the
 * real bin/terndb.js (run `npm run build` first) against a real two-region cluster behind the WAN
 * emulator (two regions so that a partition makes a real conflict). Stdout is a pipe here, so
 * every answer is JSON lines; exit codes are docs/api.md's: 0 ok, 1 no such row, 2 bad usage,
 * 3 refused, 4 unavailable.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultTables, freePortBlock, ProcessCluster, terndb, type Run } from './harness.js';

const c = new ProcessCluster({
  regions: ['us-east', 'eu-west'],
  rttMs: { 'us-east/eu-west': 20 },
  tables: { ...defaultTables, accounts: { mode: 'strong', fields: { balance: 'counter' } } },
});
beforeAll(() => c.start(), 60_000);
afterAll(() => c.stop(), 60_000);

/** `terndb ...args` against a region of the cluster. */
const at = (region: string, ...args: string[]) => terndb([...args, '--url', `127.0.0.1:${c.apiPort(region)}`]);
const atWith = (region: string, input: string, ...args: string[]) => terndb([...args, '--url', c.url(region)], input);

/** Stdout as JSON lines: every line parses alone, and the output ends in a newline. */
function lines(r: Run): any[] {
  expect(r.out.endsWith('\n') || r.out === '', r.out).toBe(true);
  return r.out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
}

function ok(r: Run): any[] {
  expect(r.code, r.err).toBe(0);
  return lines(r);
}

describe('terndb data commands against real nodes', () => {
  it('put, patch, get and del a row; piped output is one JSON document per line', async () => {
    const [put] = ok(await at('us-east', 'put', 'profiles', 'cli-ann', '{"name":"Ann","visits":1}'));
    expect(put).toMatchObject({ key: 'cli-ann', fields: { name: 'Ann', visits: 1 } });
    const [patched] = ok(await at('us-east', 'patch', 'profiles', 'cli-ann', '{"incr":{"visits":2},"add":{"tags":["admin"]}}'));
    expect(patched.fields).toEqual({ name: 'Ann', visits: 3, tags: ['admin'] });
    const got = await at('us-east', 'get', 'profiles', 'cli-ann');
    expect(got.out.split('\n')).toHaveLength(2); // one line, and the newline that ends it
    expect(ok(got)[0]).toMatchObject({ key: 'cli-ann', fields: { name: 'Ann', visits: 3, tags: ['admin'] } });
    expect(ok(await at('us-east', 'del', 'profiles', 'cli-ann'))).toEqual([{ key: 'cli-ann', deleted: true }]);
    const missing = await at('us-east', 'get', 'profiles', 'cli-ann');
    expect(missing.code).toBe(1);
    expect(missing.out).toBe('');
    expect(missing.err).toMatch(/^terndb get: NOT_FOUND: /);
    // The API's DELETE answers "deleted" either way; the command tells a missing row by exit 1.
    const again = await at('us-east', 'del', 'profiles', 'cli-ann');
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/^terndb del: NOT_FOUND: .*the delete was sent anyway/);
  });

  it('reads JSON from stdin for - or a missing argument, and carries a session to another region', async () => {
    const put = await atWith('us-east', '{"name":"Stdin"}\n', 'put', 'profiles', 'cli-stdin', '-', '--verbose');
    expect(ok(put)[0].fields).toEqual({ name: 'Stdin' });
    // --verbose prints the request, the answering region and the session token on stderr.
    expect(put.err).toMatch(/^> PUT http:\/\/127\.0\.0\.1:\d+\/v1\/tables\/profiles\/rows\/cli-stdin$/m);
    expect(put.err).toMatch(/^> idempotency-key: \S+$/m);
    expect(put.err).toMatch(/^< 200 from us-east$/m);
    const token = /^< tern-session: (\S+)$/m.exec(put.err)?.[1];
    expect(token).toMatch(/^t1/);
    const patched = await atWith('us-east', '{"incr":{"visits":5}}', 'patch', 'profiles', 'cli-stdin');
    expect(ok(patched)[0].fields).toEqual({ name: 'Stdin', visits: 5 });
    // The session token from the put makes a read in the other region wait for that write.
    const elsewhere = await at('eu-west', 'get', 'profiles', 'cli-stdin', '--session', token as string, '--consistency', 'session');
    expect(ok(elsewhere)[0].fields.name).toBe('Stdin');
  });

  it('scans one page or follows every page with --all; rows one per line, pages as they came with --json', async () => {
    for (const k of ['page-1', 'page-2', 'page-3', 'page-4', 'page-5']) {
      expect((await c.http('us-east', 'PUT', `/v1/tables/profiles/rows/${k}`, { fields: { name: k } })).status).toBe(200);
    }
    // Read-only: run side by side (each command is a process that mostly waits for its start).
    const [first, rest, all, raw] = await Promise.all([
      at('us-east', 'scan', 'profiles', '--prefix', 'page-', '--limit', '2'),
      at('us-east', 'scan', 'profiles', '--prefix', 'page-', '--after', 'page-2'),
      at('us-east', 'scan', 'profiles', '--prefix', 'page-', '--limit', '2', '--all'),
      at('us-east', 'scan', 'profiles', '--prefix', 'page-', '--limit', '2', '--all', '--json'),
    ]);
    expect(ok(first).map((r) => r.key)).toEqual(['page-1', 'page-2']);
    expect(first.err).toContain('more rows may follow: --after "page-2"');
    expect(ok(rest).map((r) => r.key)).toEqual(['page-3', 'page-4', 'page-5']);
    expect(ok(all).map((r) => r.key)).toEqual(['page-1', 'page-2', 'page-3', 'page-4', 'page-5']);
    expect(all.err).toBe('');
    const pages = ok(raw);
    expect(pages.length).toBeGreaterThanOrEqual(3);
    expect(pages.flatMap((p) => p.rows.map((r: any) => r.key))).toEqual(['page-1', 'page-2', 'page-3', 'page-4', 'page-5']);
    expect(pages.at(-1).next).toBeNull();
  });

  it('runs transactions on a strong table, once per idempotency key; a failed compare exits 0 with succeeded false', async () => {
    const [open] = ok(await at('eu-west', 'txn', '{"success":[{"table":"accounts","key":"cli-a","set":{"balance":100}},{"table":"accounts","key":"cli-b","set":{"balance":0}}]}'));
    expect(open.succeeded).toBe(true);
    const move = JSON.stringify({
      compare: [{ table: 'accounts', key: 'cli-a', field: 'balance', op: '>=', value: 30 }],
      success: [{ table: 'accounts', key: 'cli-a', incr: { balance: -30 } }, { table: 'accounts', key: 'cli-b', incr: { balance: 30 } }],
    });
    const [moved] = ok(await atWith('us-east', move, 'txn', '--idempotency-key', 'cli-move-1'));
    expect(moved).toMatchObject({ succeeded: true, results: [{ fields: { balance: 70 } }, { fields: { balance: 30 } }] });
    // The same command line again, in the other region: the first answer, not a second transfer.
    const [replayed] = ok(await atWith('eu-west', move, 'txn', '-', '--idempotency-key', 'cli-move-1'));
    expect(replayed).toEqual(moved);
    expect(ok(await at('eu-west', 'get', 'accounts', 'cli-a'))[0].fields.balance).toBe(70);
    const tooMuch = '{"compare":[{"table":"accounts","key":"cli-a","field":"balance","op":">=","value":1000}],"success":[{"table":"accounts","key":"cli-a","incr":{"balance":-1000}}],"failure":[{"table":"accounts","key":"cli-a","get":true}]}';
    const [refused] = ok(await at('us-east', 'txn', tooMuch));
    expect(refused).toMatchObject({ succeeded: false, results: [{ key: 'cli-a', fields: { balance: 70 } }] });
    // The same key with another body is the database refusing: exit 3 with the code.
    const mismatch = await atWith('us-east', tooMuch, 'txn', '--idempotency-key', 'cli-move-1');
    expect(mismatch.code).toBe(3);
    expect(mismatch.err).toMatch(/^terndb txn: IDEMPOTENCY_MISMATCH: /);
  });

  it('lists tables and creates one', async () => {
    const [created] = ok(await at('us-east', 'tables', 'put', 'cli_wallets', '{"mode":"strong","fields":{"balance":"counter"}}'));
    expect(created).toMatchObject({ table: 'cli_wallets', policy: { mode: 'strong', fields: { balance: 'counter' } } });
    const [listedRun, rawRun, putRun] = await Promise.all([at('eu-west', 'tables'), at('eu-west', 'tables', 'list', '--json'), at('eu-west', 'put', 'cli_wallets', 'w1', '{"balance":5}')]);
    const listed = ok(listedRun);
    expect(listed.map((t) => t.table)).toEqual(expect.arrayContaining(['accounts', 'cli_wallets', 'profiles']));
    expect(listed.find((t) => t.table === 'cli_wallets').policy.mode).toBe('strong');
    const raw = ok(rawRun);
    expect(raw).toHaveLength(1);
    expect(raw[0].tables.profiles.mode).toBe('async');
    expect(ok(putRun)[0].fields).toEqual({ balance: 5 });
  });

  it('shows the conflict feed: the same field written on both sides of a partition', async () => {
    await c.wan('POST', '/v1/wan/partition', { isolate: 'eu-west' });
    try {
      const sides = await Promise.all([at('us-east', 'put', 'profiles', 'cli-conflict', '{"name":"East"}'), at('eu-west', 'put', 'profiles', 'cli-conflict', '{"name":"West"}')]);
      for (const side of sides) ok(side);
    } finally {
      await c.wan('POST', '/v1/wan/heal');
    }
    await c.eventually(
      () => c.http('us-east', 'GET', '/v1/conflicts?table=profiles'),
      (r) => r.body.conflicts.some((e: any) => e.key === 'cli-conflict'),
      30_000,
    );
    const [feed, one, none] = await Promise.all([at('us-east', 'conflicts', '--table', 'profiles'), at('us-east', 'conflicts', '--json', '--limit', '1'), at('us-east', 'conflicts', '--table', 'nope')]);
    expect(ok(feed).find((e) => e.key === 'cli-conflict')).toMatchObject({ table: 'profiles', field: 'name', kind: 'write-write', rule: 'lww' });
    const [page] = ok(one);
    expect(page.conflicts).toHaveLength(1);
    expect(typeof page.next).toBe('number');
    expect(none.code).toBe(3);
    expect(none.err).toMatch(/^terndb conflicts: NO_SUCH_TABLE: /);
  });

  it('refuses bad input before sending anything (2); the database refusing is 3, naming the code', async () => {
    const [bad, badStdin, ...usage] = await Promise.all([
      at('us-east', 'put', 'profiles', 'cli-bad', '{"name": Ann}'),
      atWith('us-east', 'nope', 'patch', 'profiles', 'cli-bad'),
      at('us-east', 'get', 'profiles', 'k', '--consistency', 'sometimes'),
      at('us-east', 'scan', 'profiles', '--limit', '0'),
      at('us-east', 'get', 'profiles'),
      at('us-east', 'get', 'profiles', '..'),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.out).toBe('');
    expect(bad.err).toMatch(/^terndb put: argument <fields> is not valid JSON: /);
    expect(badStdin.code).toBe(2);
    expect(badStdin.err).toMatch(/<patch> read from stdin is not valid JSON/);
    expect(usage.map((r) => r.code)).toEqual([2, 2, 2, 2]);
    expect((await c.http('us-east', 'GET', '/v1/tables/profiles/rows/cli-bad')).status).toBe(404);
    const [noTable, badIncr, strongAsync] = await Promise.all([
      at('us-east', 'get', 'nope', 'k'),
      at('us-east', 'patch', 'profiles', 'cli-bad', '{"incr":{"visits":1.5}}'),
      // A strong read of an async table is refused too.
      at('us-east', 'get', 'profiles', 'k', '--consistency', 'strong'),
    ]);
    expect(noTable.code).toBe(3);
    expect(noTable.err).toMatch(/^terndb get: NO_SUCH_TABLE: /);
    expect(badIncr.code).toBe(3);
    expect(badIncr.err).toMatch(/^terndb patch: BAD_REQUEST: .*\(field: incr\.visits\)$/m);
    expect(strongAsync.code).toBe(3);
  });

  it('is unavailable (4) when nothing listens or nothing answers, and gives the key to retry a write with', async () => {
    const port = await freePortBlock(1);
    const down = await terndb(['put', 'profiles', 'x', '{"name":"X"}', '--url', `127.0.0.1:${port}`, '--idempotency-key', 'cli-retry-1']);
    expect(down.code).toBe(4);
    expect(down.err).toMatch(/^terndb put: UNREACHABLE: cannot reach http:\/\/127\.0\.0\.1:\d+ .*ECONNREFUSED/m);
    expect(down.err).toMatch(/did not take effect.*--idempotency-key cli-retry-1/);
    expect((await terndb(['get', 'profiles', 'x', '--url', `127.0.0.1:${port}`])).code).toBe(4);
    // A node that takes the connection and never answers: the write's outcome is unknown.
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const hung = await terndb(['patch', 'profiles', 'x', '{"set":{"name":"X"}}', '--url', `127.0.0.1:${(silent.address() as net.AddressInfo).port}`, '--timeout', '500']);
      expect(hung.code).toBe(4);
      expect(hung.err).toMatch(/UNREACHABLE: no answer from .* within 500 ms/);
      expect(hung.err).toMatch(/may or may not have taken effect: retry the same command with --idempotency-key \S+/);
    } finally {
      silent.close();
    }
  });
});
