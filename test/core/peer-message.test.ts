/** Peer messages are checked before the replica reads them: the restore-related shapes too. */
import { describe, expect, it } from 'vitest';
import { peerMessageProblem } from '../../src/core/replica/peer-message.js';

const sync = { t: 'sync', vector: { 'us-east': 3 }, reports: {}, beats: {} };

describe('peer message shapes', () => {
  it.each([
    ['a sync', sync],
    ['a sync of a restored peer', { ...sync, recovering: true }],
    ['a gone notice', { t: 'gone', origin: 'us-east', through: 6 }],
  ])('%s is accepted', (_name, m) => expect(peerMessageProblem(m)).toBeNull());

  it.each([
    ['a recovering flag that is not true', { ...sync, recovering: 'yes' }],
    ['a gone notice without an origin', { t: 'gone', through: 6 }],
    ['a gone notice with a bad position', { t: 'gone', origin: 'us-east', through: -1 }],
  ])('%s is refused', (_name, m) => expect(peerMessageProblem(m)).not.toBeNull());
});
