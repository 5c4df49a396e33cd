/**
 * A lingering close for refused request bodies (as nginx does). Fastify answers an oversized body
 * with `413` and `Connection: close` before it has read the body; Node then closes the socket
 * while the client is still sending, and the client sees `EPIPE` or a reset instead of the 413.
 * Reading and discarding the rest first, up to a bound in bytes and in time, lets every client
 * that sends a body of a sane size read the answer; a client that sends more than the bound is cut
 * off as before.
 */
import type { IncomingMessage } from 'node:http';

import { nodeLimits } from './limits.js';

const { refusedBodyDrainBytesMax, refusedBodyDrainMsMax } = nodeLimits;

/**
 * Resolves once the request's body has been read to its end, or the bounds are hit, or the
 * connection is gone. Never rejects: the caller answers in every case.
 */
export function drainRefusedBody(raw: IncomingMessage): Promise<void> {
  if (raw.complete || raw.destroyed) return Promise.resolve();
  const declared = Number(raw.headers['content-length']);
  if (Number.isFinite(declared) && declared > refusedBodyDrainBytesMax) return Promise.resolve();
  return new Promise((resolve) => {
    let discarded = 0;
    const done = (): void => {
      clearTimeout(timer);
      raw.off('data', onData);
      raw.off('end', done);
      raw.off('error', done);
      raw.off('close', done);
      resolve();
    };
    const onData = (chunk: Buffer): void => {
      discarded += chunk.length;
      if (discarded > refusedBodyDrainBytesMax) done();
    };
    const timer = setTimeout(done, refusedBodyDrainMsMax);
    raw.on('data', onData);
    raw.on('end', done);
    raw.on('error', done);
    raw.on('close', done);
    raw.resume();
  });
}
