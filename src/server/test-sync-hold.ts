/**
 * Test only: while the file `TERN_TEST_SYNC_HOLD_FILE` names exists, a node treats its syncs as
 * not finished, so its commits stay undurable and their answers and peer messages stay unsent.
 * The crash test holds two batches that way and kills the node, to see that nothing left before
 * its batch was durable. Unset (always, outside tests): no wait, nothing read.
 */
import { existsSync } from 'node:fs';

export const syncHoldEnv = 'TERN_TEST_SYNC_HOLD_FILE';

/** What a finished sync waits for besides the disk: the hold file gone (polled), or nothing. */
export function syncHold(env: NodeJS.ProcessEnv = process.env): (() => Promise<void>) | null {
  const file = env[syncHoldEnv];
  if (file === undefined || file === '') return null;
  return async () => {
    while (existsSync(file)) await new Promise((r) => setTimeout(r, 10));
  };
}
