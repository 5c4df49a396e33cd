import { describe, expect, it } from 'vitest';
import { mergeTokens } from '../../src/client/index.js';

describe('client session tokens', () => {
  it('join component-wise, so a late answer never moves a session back', () => {
    expect(mergeTokens('t1.eu-west~3.us-east~2y', 't1.us-east~2x')).toBe('t1.eu-west~3.us-east~2y');
    expect(mergeTokens('t1.us-east~2x', 't1.ap-south~1.us-east~2y')).toBe('t1.ap-south~1.us-east~2y');
    expect(mergeTokens(undefined, 't1.us-east~1')).toBe('t1.us-east~1');
  });

  it('keep the larger strong log index, whichever side has it', () => {
    expect(mergeTokens('t1.us-east~2!1f', 't1.eu-west~1')).toBe('t1.eu-west~1.us-east~2!1f');
    expect(mergeTokens('t1!5', 't1.us-east~2!3')).toBe('t1.us-east~2!5');
    expect(mergeTokens('t1', 't1')).toBe('t1');
  });
});
