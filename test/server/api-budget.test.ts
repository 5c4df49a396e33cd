/**
 * The client API's listener budgets (src/server/limits.ts): request-body bytes in flight across
 * every connection (apiBodyBytesInFlightMax), reserved from Content-Length before reading or
 * counted as a chunked body arrives, answered 503 OVERLOADED past it and given back however a
 * request ends; and the connection cap (apiConnectionsMax) of a node's listener.
 */
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../../src/server/http-api.js';
import { parseConfig } from '../../src/server/config.js';
import { NodeServer } from '../../src/server/node-server.js';
import { testLimitsFromEnv } from '../../src/server/test-limits.js';
import { freePortBlock } from '../process/harness.js';
import { fakeApiNode } from './fake-api-node.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function listen(app: FastifyInstance): Promise<number> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  cleanup.push(() => app.close());
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

interface Answer {
  status: number;
  body: { error?: { code: string; retryable: boolean; message: string } };
}

/** A PATCH body of exactly `bytes` bytes (at least 20). */
function jsonOf(bytes: number): Buffer {
  const head = '{"set":{"name":"';
  return Buffer.from(`${head}${'x'.repeat(bytes - head.length - 3)}"}}`);
}

/**
 * A PATCH sending `sent` bytes of a body; with `length` the request declares it (and stays open
 * when `sent` is less), without it the body is chunked and ended. The answer, whenever it comes;
 * `request` to hold the connection or drop it.
 */
function patch(port: number, sent: number, length?: number): { answer: Promise<Answer>; request: http.ClientRequest } {
  const request = http.request({ host: '127.0.0.1', port, method: 'PATCH', path: '/v1/tables/t/rows/k', agent: false, headers: { 'content-type': 'application/json', ...(length !== undefined ? { 'content-length': String(length) } : {}) } });
  const answer = new Promise<Answer>((resolve, reject) => {
    request.once('error', reject);
    request.once('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Answer['body'] }));
      res.on('error', reject);
    });
  });
  answer.catch(() => undefined);
  const body = jsonOf(length ?? sent).subarray(0, sent);
  if (length === undefined) {
    // Chunked, in pieces, then ended.
    for (let at = 0; at < sent; at += 16 * 1024) request.write(body.subarray(at, at + 16 * 1024));
    request.end();
  } else {
    request.write(body);
    if (sent === length) request.end();
  }
  cleanup.push(() => void request.destroy());
  return { answer, request };
}

/** Polls `read` until `check` passes, within a generous deadline. */
async function eventually<T>(read: () => Promise<T>, check: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (!check(last)) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 25));
    last = await read();
  }
  return last;
}

describe('request bodies in flight (apiBodyBytesInFlightMax)', () => {
  // Bodies past 64 KiB (apiSmallBodyBytesMax) may take 150,000 bytes; smaller ones all 200,000.
  const budget = 200_000;
  const keptForSmall = 50_000;
  /** The fake node answers every call NOT_FOUND: anything but 503 means the budget let it through. */
  const api = () => buildApi(fakeApiNode({ code: 'NOT_FOUND', message: 'no row' }), { bodyBytesInFlightMax: budget, bodyBytesKeptForSmallMin: keptForSmall });

  it('refuses a declared body past the budget with 503 OVERLOADED before reading it, and gives the reservation back when the holder goes', async () => {
    const port = await listen(api());
    // A body declared at 140,000 bytes, 10 short of complete: reserved whole while it waits.
    const holder = patch(port, 139_990, 140_000);
    const over = await eventually(() => patch(port, 70_000, 70_000).answer, (a) => a.status === 503);
    expect(over.body.error).toMatchObject({ code: 'OVERLOADED', retryable: true });
    expect(over.body.error?.message).toContain('apiBodyBytesInFlightMax');
    // Small bodies still fit, in the part kept for them; up to the whole budget, not past it.
    expect((await patch(port, 30, 30).answer).status).toBe(404);
    expect((await patch(port, 50_000, 50_000).answer).status).toBe(404);
    expect((await patch(port, 65_000, 65_000).answer).status).toBe(503);
    // The holder gives up: its reservation comes back.
    holder.request.destroy();
    expect((await eventually(() => patch(port, 150_000, 150_000).answer, (a) => a.status !== 503)).status).toBe(404);
  });

  it('counts a chunked body as it arrives: past the budget it is 503 OVERLOADED, and the budget comes back after', async () => {
    const port = await listen(api());
    const over = await patch(port, 250_000).answer;
    expect(over.status).toBe(503);
    expect(over.body.error).toMatchObject({ code: 'OVERLOADED', retryable: true });
    expect((await patch(port, 140_000).answer).status).toBe(404);
    expect((await patch(port, 150_000, 150_000).answer).status).toBe(404);
  });

  it('a body past requestBodyBytesMax is still 413 TOO_LARGE, and reserves nothing', async () => {
    const port = await listen(api());
    const big = 2 * 1024 * 1024;
    const r = await patch(port, big, big).answer;
    expect(r.status).toBe(413);
    expect((await patch(port, 150_000, 150_000).answer).status).toBe(404);
  });
});

describe('connections per listener (apiConnectionsMax)', () => {
  it('closes a connection past the cap at once, and takes one again once another closed', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tern-api-budget-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const port = await freePortBlock(2);
    const config = parseConfig({ cluster: 'budget', tables: { t: { fields: { name: 'lww' } } }, regions: [{ name: 'solo', node: { id: 'solo-1', api: `127.0.0.1:${port}`, peer: `127.0.0.1:${port + 1}`, data: path.join(dir, 'data') } }] }, dir);
    const server = new NodeServer(config, 'solo', { log: pino({ level: 'silent' }), onFatal: (err) => { throw err; }, limits: { apiConnectionsMax: 3 } });
    await server.run();
    cleanup.push(() => server.stop());

    /** A connection that answers a GET /livez (true), or is closed without an answer (false). */
    const probe = (socket: net.Socket): Promise<boolean> =>
      new Promise((resolve) => {
        let text = '';
        socket.on('data', (d: Buffer) => {
          text += d.toString();
          if (text.includes('\r\n\r\n')) resolve(text.startsWith('HTTP/1.1 200'));
        });
        socket.once('close', () => resolve(false));
        socket.once('error', () => resolve(false));
        socket.write('GET /livez HTTP/1.1\r\nhost: x\r\n\r\n');
      });
    const connect = (): Promise<net.Socket> =>
      new Promise((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1', () => resolve(s));
        s.once('error', reject);
        cleanup.push(() => void s.destroy());
      });

    const held = [await connect(), await connect(), await connect()];
    for (const s of held) expect(await probe(s)).toBe(true);
    expect(await probe(await connect())).toBe(false);
    held[0]?.destroy();
    expect(await eventually(async () => probe(await connect()), (ok) => ok)).toBe(true);
  });

  it('TERN_TEST_NODE_LIMITS overrides node limits for process tests, and refuses what is not one', () => {
    expect(testLimitsFromEnv({})).toEqual({});
    expect(testLimitsFromEnv({ TERN_TEST_NODE_LIMITS: '{"apiBodyBytesInFlightMax": 1024}' })).toEqual({ apiBodyBytesInFlightMax: 1024 });
    expect(() => testLimitsFromEnv({ TERN_TEST_NODE_LIMITS: '{"nope": 1}' })).toThrow(/nope is not a node limit/);
    expect(() => testLimitsFromEnv({ TERN_TEST_NODE_LIMITS: '{"apiConnectionsMax": 0}' })).toThrow(/positive integer/);
    expect(() => testLimitsFromEnv({ TERN_TEST_NODE_LIMITS: '[1]' })).toThrow(/JSON object/);
    // A limit read from the module's constant would take the override and ignore it: refused.
    expect(() => testLimitsFromEnv({ TERN_TEST_NODE_LIMITS: '{"handshakeMs": 10}' })).toThrow(/cannot be overridden/);
  });
});
