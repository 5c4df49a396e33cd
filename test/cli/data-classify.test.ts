/** The data commands' exit codes by error class (src/cli/data/classify.ts, docs/api.md "Command line"). */
import { describe, expect, it } from 'vitest';
import { classifyAnswer, classifyTransportError, exitCodes, usageFailure } from '../../src/cli/data/classify.js';
import { certificateProblem } from '../../src/cli/api-access.js';

const error = (code: string, message: string, retryable: boolean, extra: Record<string, unknown> = {}) => ({ error: { code, message, retryable, ...extra } });

describe('data CLI exit codes', () => {
  it('are distinct, and 2 is the usage code runCli uses for commander errors', () => {
    expect(new Set(Object.values(exitCodes)).size).toBe(5);
    expect(exitCodes).toEqual({ ok: 0, notFound: 1, usage: 2, refused: 3, unavailable: 4 });
    expect(usageFailure('argument <fields> is not valid JSON')).toEqual({ exit: 2, lines: ['argument <fields> is not valid JSON'] });
  });

  it('a missing row read is 1; NO_SUCH_TABLE, also a 404, is a refusal (3), as is NOT_FOUND of anything but a row read', () => {
    expect(classifyAnswer(404, error('NOT_FOUND', 'no row k in t (absent or deleted)', false), { rowRead: true })).toEqual({ exit: 1, lines: ['NOT_FOUND: no row k in t (absent or deleted)'] });
    expect(classifyAnswer(404, error('NO_SUCH_TABLE', 'no table nope', false), { rowRead: true })).toEqual({ exit: 3, lines: ['NO_SUCH_TABLE: no table nope'] });
    expect(classifyAnswer(404, error('NOT_FOUND', 'no route GET /v1/x', false)).exit).toBe(3);
    // A 404 without Tern's body (another server on that port) is not "no such row".
    expect(classifyAnswer(404, '<html>', { rowRead: true })).toEqual({ exit: 3, lines: ['HTTP_404: HTTP 404 without a Tern error body'] });
  });

  it('a 4xx refusal is 3 and names the code, the message and the field (and the home region)', () => {
    expect(classifyAnswer(400, error('BAD_REQUEST', "an increment is a safe integer, not 1.5", false, { field: 'incr.visits' }))).toEqual({
      exit: 3,
      lines: ['BAD_REQUEST: an increment is a safe integer, not 1.5 (field: incr.visits)'],
    });
    expect(classifyAnswer(421, error('WRONG_REGION', 'row x is written by eu-west', false, { home: 'eu-west' })).lines).toEqual(['WRONG_REGION: row x is written by eu-west (home: eu-west)']);
    expect(classifyAnswer(409, error('IDEMPOTENCY_MISMATCH', 'used before', false), { write: true, idempotencyKey: 'k' })).toEqual({ exit: 3, lines: ['IDEMPOTENCY_MISMATCH: used before'] });
  });

  it('a 5xx or retryable answer is 4; a write says whether it may have committed and the key to retry with', () => {
    const timeout = classifyAnswer(504, error('QUORUM_TIMEOUT', 'no quorum in 5000 ms', true, { mayHaveCommitted: true, leader: 'us-east' }), { write: true, idempotencyKey: 'k-1' });
    expect(timeout.exit).toBe(4);
    expect(timeout.lines[0]).toBe('QUORUM_TIMEOUT: no quorum in 5000 ms (leader: us-east)');
    expect(timeout.lines[1]).toMatch(/may have committed.*--idempotency-key k-1/);
    const surely = classifyAnswer(504, error('QUORUM_TIMEOUT', 'no quorum', true, { mayHaveCommitted: false }), { write: true, idempotencyKey: 'k-2' });
    expect(surely.lines[1]).toMatch(/did not take effect.*--idempotency-key k-2/);
    // A Tern error that says nothing about committing changed nothing (the API's promise).
    const fenced = classifyAnswer(503, error('FENCED', 'no lease', true, { reason: 'lease', regions: ['eu-west'], expected: { region: 'eu-west', inMs: 1500 } }), { write: true, idempotencyKey: 'k-3' });
    expect(fenced).toEqual({
      exit: 4,
      lines: ['FENCED: no lease (reason: lease, regions that can take it: eu-west, expected: eu-west in 1500 ms)', expect.stringMatching(/did not take effect.*k-3/)],
    });
    // An answer that is not Tern's, or a bug, proves nothing about the write.
    const bare = classifyAnswer(503, { error: 'Service Unavailable', statusCode: 503 }, { write: true, idempotencyKey: 'k-4' });
    expect(bare.exit).toBe(4);
    expect(bare.lines[0]).toBe('HTTP_503: HTTP 503 without a Tern error body');
    expect(bare.lines[1]).toMatch(/may or may not have taken effect.*k-4/);
    expect(classifyAnswer(500, error('INTERNAL', 'internal error; see the node log', true), { write: true, idempotencyKey: 'k' }).lines[1]).toMatch(/may or may not/);
    // A retryable 4xx (TOO_SOON) is "try again later", not "fix the request"; reads get no write advice.
    expect(classifyAnswer(429, error('TOO_SOON', 'wait 300 ms', true))).toEqual({ exit: 4, lines: ['TOO_SOON: wait 300 ms'] });
    expect(classifyAnswer(503, error('STALE', 'too stale', true), { rowRead: true }).lines).toEqual(['STALE: too stale']);
  });

  it('an unreachable node is 4; a refused connection proves a write was not sent, a timeout does not', () => {
    const refused = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }) });
    const r = classifyTransportError('http://127.0.0.1:1', refused, { write: true, idempotencyKey: 'k' });
    expect(r.exit).toBe(4);
    expect(r.lines[0]).toBe('UNREACHABLE: cannot reach http://127.0.0.1:1 (connect ECONNREFUSED 127.0.0.1:1); is the node running?');
    expect(r.lines[1]).toMatch(/did not take effect/);
    const timeout = Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' });
    const t = classifyTransportError('http://n:1', timeout, { write: true, idempotencyKey: 'k-9' }, 2000);
    expect(t.lines[0]).toBe('UNREACHABLE: no answer from http://n:1 within 2000 ms');
    expect(t.lines[1]).toMatch(/may or may not have taken effect.*--idempotency-key k-9/);
    const reset = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) });
    expect(classifyTransportError('u', reset, { write: true, idempotencyKey: 'k' }).lines[1]).toMatch(/may or may not/);
    expect(classifyTransportError('u', refused).lines).toHaveLength(1);
  });

  it('a certificate the handshake refused is bad usage (2) with what to do, nothing sent and no retry advice', () => {
    const untrusted = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }) });
    const access = { caFile: null, url: (u: string) => (u.includes('://') ? u : `http://${u}`) };
    const hint = certificateProblem(untrusted, 'https://n:1', access);
    expect(hint).toMatch(/pass --cacert <the cluster CA>/);
    const r = classifyTransportError('https://n:1', untrusted, { write: true, idempotencyKey: 'k' }, 2000, hint);
    expect(r).toEqual({ exit: 2, lines: [`UNREACHABLE: cannot reach https://n:1 (self-signed certificate): ${hint}; nothing was sent`] });
    const plain = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('wrong version number'), { code: 'ERR_SSL_WRONG_VERSION_NUMBER' }) });
    expect(certificateProblem(plain, 'n:1', { caFile: 'ca.crt', url: (u) => `https://${u}` })).toBe('the node answers plain HTTP, not HTTPS (with --cacert, a bare host:port means https://); give http://n:1');
    // Not a handshake refusal: no hint, and the usual answer.
    const refused = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    expect(certificateProblem(refused, 'n:1', access)).toBeNull();
    expect(classifyTransportError('http://n:1', refused, {}, 2000, null).exit).toBe(4);
  });
});
