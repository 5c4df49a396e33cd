/** `terndb status` as a person reads it: the Raft line, and leases that ran out marked as such. */
import { describe, expect, it } from 'vitest';
import { formatStatus, type Status } from '../../src/cli/status-command.js';

const now = Date.parse('2026-12-07T12:00:10.000Z');
const status: Status = {
  region: 'us-east',
  node: 'use1',
  stage: 'write-ready',
  reason: null,
  lagMs: 0,
  stalenessMs: 30_030,
  vector: { 'us-east': 3 },
  peers: [{ region: 'eu-west', reachable: false, lagMs: 30_030, lagOps: 0 }],
  leases: [
    { region: 'us-east', holder: 'us-east', epoch: 2, expiresAt: '2026-12-07T12:00:12.000Z', drained: false },
    { region: 'eu-west', holder: 'eu-west', epoch: 1, expiresAt: '2026-12-07T11:59:40.000Z', drained: false },
  ],
  clock: { trusted: true, offsets: { 'eu-west': null } },
  raft: { term: 4, role: 'follower', leader: 'ap-south', commitIndex: 812 },
};

describe('terndb status text', () => {
  it('shows the Raft term, role and leader', () => {
    expect(formatStatus(status, now)).toContain('  raft: term 4, follower, leader ap-south, commit 812\n');
  });

  it('an island: no backlog, but data from its peers growing old', () => {
    expect(formatStatus(status, now)).toContain('us-east (use1): write-ready, backlog 0 ms, data from peers up to 30030 ms old\n');
  });

  it('a restored region says what it waits for, and says plainly when its backup was too old', () => {
    expect(formatStatus({ ...status, recovery: { waitingFor: ['eu-west'], ownOpsBehind: 3, gone: {} } }, now)).toContain("restore: recovering this region's own writes from its peers; waiting to hear eu-west; 3 of its writes still to get back");
    expect(formatStatus({ ...status, recovery: { waitingFor: [], ownOpsBehind: 0, gone: { 'us-east': { through: 6, peer: 'eu-west' } } } }, now)).toContain('restore: CANNOT COMPLETE: eu-west already collected ops of us-east through 6');
  });

  it('marks a lease whose time has passed as expired, not as held until a past time', () => {
    const text = formatStatus(status, now);
    expect(text).toContain('lease us-east     held by us-east, epoch 2, until 2026-12-07T12:00:12.000Z');
    expect(text).toContain('lease eu-west     last held by eu-west, epoch 1, EXPIRED at 2026-12-07T11:59:40.000Z');
  });
});
