/**
 * Waiting until a process the demo started answers, and only it: `/readyz` names its cluster and
 * node, so an answer from another process on the same port (another demo, another cluster) is
 * reported as such, never taken for the node the demo started.
 */

export interface ExpectedNode {
  readonly url: string;
  readonly cluster: string;
  readonly node: string;
  /** For messages: `port 7001 (us-east API)`. */
  readonly where: string;
}

/** An answer on the port from a process that is not the one expected: waiting longer cannot help. */
export class ForeignAnswer extends Error {
  override readonly name = 'ForeignAnswer';
}

export interface WaitOptions {
  /** Why to stop waiting now (the process exited: `exited with code 1`), or null to go on. */
  readonly gone: () => string | null;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** Called with each stage seen that differs from the one before (`catching-up (starting)`). */
  readonly onStage?: (stage: string) => void;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a body names itself as, for a message: `cluster "x", node "y"`. */
function identity(body: { cluster?: unknown; node?: unknown } | null): string {
  if (body === null || typeof body.cluster !== 'string') return 'something that is not a Tern node of this build';
  return `cluster ${JSON.stringify(body.cluster)}, node ${JSON.stringify(body.node)}`;
}

/** Resolves once `/readyz` answers 200 with the expected cluster and node; throws otherwise. */
export async function waitNodeReady(expected: ExpectedNode, o: WaitOptions): Promise<void> {
  let lastStage = '';
  await waitAnswer(
    expected.url,
    o,
    (res, answer) => {
      const body = answer as { cluster?: unknown; node?: unknown; stage?: unknown; reason?: unknown } | null;
      if (body?.cluster !== expected.cluster || body.node !== expected.node) {
        throw new ForeignAnswer(`${expected.where} is answered by ${identity(body)} (HTTP ${res.status}), not by the node ${expected.node} of cluster ${expected.cluster} that the demo started`);
      }
      const stage = `${String(body.stage)}${typeof body.reason === 'string' ? ` (${body.reason})` : ''}`;
      if (stage !== lastStage) o.onStage?.(stage);
      lastStage = stage;
      return res.ok;
    },
    () => `not write-ready after ${Math.round(o.timeoutMs / 1000)} s (last stage: ${lastStage || 'no answer'})`,
  );
}

/**
 * Asks `url` until `judge` says the answer is the one awaited (true), keeps asking while it says
 * not yet (false), or throws: waiting cannot help when another process answers on the port.
 */
async function waitAnswer(url: string, o: WaitOptions, judge: (res: Response, body: unknown) => boolean, late = () => `not answering after ${Math.round(o.timeoutMs / 1000)} s`): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    if (o.signal?.aborted) throw new Error('stopped');
    const gone = o.gone();
    if (gone !== null) throw new Error(gone);
    let res: Response | null = null;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    } catch {
      // not listening yet (or too busy to answer in time): ask again
    }
    if (res !== null && judge(res, await res.json().catch(() => null))) return;
    if (Date.now() > deadline) throw new Error(late());
    await pause(100);
  }
}

/** Resolves once the router answers its status naming the demo's cluster. */
export async function waitRouterReady(url: string, where: string, cluster: string, o: WaitOptions): Promise<void> {
  await waitAnswer(url, o, (res, body) => {
    if (res.ok && (body as { cluster?: unknown } | null)?.cluster === cluster) return true;
    throw new ForeignAnswer(`${where} is answered by another process (HTTP ${res.status}), not by the router the demo started`);
  });
}

/**
 * Resolves once the WAN emulator's control API answers with the links the demo configured (its
 * answer names no cluster, so the link ports it lists are what tells it apart).
 */
export async function waitWanReady(url: string, where: string, linkPorts: readonly number[], o: WaitOptions): Promise<void> {
  const want = [...linkPorts].sort((a, b) => a - b).join(',');
  await waitAnswer(url, o, (res, body) => {
    const links = (body as { links?: Array<{ listen?: string }> } | null)?.links ?? [];
    const got = links.map((l) => Number(String(l.listen).split(':').pop())).sort((a, b) => a - b).join(',');
    if (res.ok && got === want) return true;
    throw new ForeignAnswer(`${where} is answered by another process (HTTP ${res.status}${got !== '' ? `, links on ports ${got}` : ''}), not by the WAN emulator the demo started`);
  });
}
