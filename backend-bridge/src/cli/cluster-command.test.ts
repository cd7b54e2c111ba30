import { describe, expect, it } from 'vitest';
import { agoText, nodesTable } from './cluster-command.js';

describe('cluster status presentation', () => {
  it('says how long ago in the largest whole unit, never negative', () => {
    expect([agoText(-500), agoText(2_400), agoText(119_999), agoText(120_000), agoText(7_199_999), agoText(7_200_000), agoText(3 * 86_400_000)]).toEqual([
      '0 s ago',
      '2 s ago',
      '119 s ago',
      '2 min ago',
      '119 min ago',
      '2 h ago',
      '3 d ago',
    ]);
  });

  it('one aligned line per node', () => {
    const node = { version: '0.1.0', startedAtMs: 0, counting: 'cluster' as const, heldMessages: 3, wiring: 'wired' };
    expect(nodesTable([{ ...node, node: 'a', lastSeenMs: 9_000, state: 'up' }, { ...node, node: 'mx-long', counting: 'alone', lastSeenMs: 0, state: 'silent' }], 10_000)).toBe(
      ['NODE     STATE   LAST SEEN  VERSION  COUNTING  HELD  WIRING', 'a        up      1 s ago    0.1.0    cluster   3     wired', 'mx-long  silent  10 s ago   0.1.0    alone     3     wired'].join('\n'),
    );
    expect(nodesTable([], 0)).toBe('No node has reported to this cluster.');
  });
});
