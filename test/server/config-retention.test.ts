/** The `retention` section: defaults, and settings that contradict each other or the idempotency window refused with the field named. */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/server/config.js';

const file = (extra: Record<string, unknown>) => ({ cluster: 'x', regions: [{ name: 'a', node: { id: 'a1', api: '127.0.0.1:7001', peer: '127.0.0.1:7101', data: 'd' } }], ...extra });

describe('retention', () => {
  it('defaults to a day of log, 1 GiB, and a week of conflict feed', () => {
    expect(parseConfig(file({}), '/tmp').retention).toEqual({ logMs: 86_400_000, logBytesMax: 1_073_741_824, conflictsMs: 604_800_000, snapshotMBps: 64 });
  });

  it('accepts a short window when the idempotency window is as short', () => {
    const c = parseConfig(file({ retention: { logMs: 30_000, conflictsMs: 60_000 }, settings: { idempotencyRetentionMs: 30_000 } }), '/tmp');
    expect(c.retention).toMatchObject({ logMs: 30_000, conflictsMs: 60_000 });
  });

  it.each([
    [{ retention: { logMs: 30_000 } }, 'retention.logMs', 'settings.idempotencyRetentionMs'],
    [{ retention: { logMs: 500 }, settings: { idempotencyRetentionMs: 0 } }, 'retention.logMs', 'at least 1000'],
    [{ retention: { logMs: 1_500 }, settings: { idempotencyRetentionMs: 0, syncIntervalMs: 100 } }, 'retention.logMs', '20 sync intervals'],
    [{ retention: { conflictsMs: 3_600_000 } }, 'retention.conflictsMs', 'retention.logMs'],
    [{ retention: { logBytesMax: 1000 } }, 'retention.logBytesMax', '1048576'],
    [{ retention: { logMs: -1 } }, 'retention.logMs', 'positive integer'],
    [{ retention: { logMs: '1d' } }, 'retention.logMs', 'positive integer'],
    [{ retention: { snapshots: 1 } }, 'retention.snapshots', 'unknown field'],
    [{ retention: [] }, 'retention', 'must be'],
  ])('refuses %j naming %s', (extra, field, words) => {
    let error: unknown;
    try {
      parseConfig(file(extra), '/tmp');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).field).toBe(field);
    expect((error as ConfigError).message).toContain(words);
  });
});
