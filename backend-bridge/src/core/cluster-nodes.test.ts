import { describe, expect, it } from 'vitest';
import { nodeFactsProblem, nodeListing, nodeNameProblem, readNodeFacts, SILENT_AFTER_MS, storedNodeFacts, type NodeFacts } from './cluster-nodes.js';

const FACTS: NodeFacts = { node: 'mx1.example.com', version: '0.1.0', startedAtMs: 1_893_456_000_000, counting: 'cluster', heldMessages: 2, wiring: 'wired' };

describe('cluster node rules', () => {
  it('a node is silent only once more than 10 s passed since it was seen', () => {
    expect(nodeListing(FACTS, 1_000, 1_000 + SILENT_AFTER_MS).state).toBe('up');
    expect(nodeListing(FACTS, 1_000, 1_001 + SILENT_AFTER_MS).state).toBe('silent');
    // A node clock ahead of the cluster's never makes it look silent.
    expect(nodeListing(FACTS, 5_000, 1_000).state).toBe('up');
  });

  it('names: host-name characters, 1 to 253 of them', () => {
    expect(nodeNameProblem('mx1.example.com')).toBeNull();
    expect(nodeNameProblem('node_2-b')).toBeNull();
    expect(nodeNameProblem('')).toBe('a node name must not be empty');
    expect(nodeNameProblem('.hidden')).toMatch(/starting with a letter or digit/);
    expect(nodeNameProblem('a\u001b[2J')).toBe('a node name is letters, digits, ".", "-" and "_", starting with a letter or digit, not "a?[2J"');
  });

  it('what is stored reads back the same; anything else reads as nothing', () => {
    expect(readNodeFacts('mx1.example.com', storedNodeFacts(FACTS))).toEqual(FACTS);
    expect(nodeFactsProblem(FACTS)).toBeNull();
    for (const stored of [null, 42, '', 'null', '[]', '{"version":1}', JSON.stringify({ ...FACTS, heldMessages: 1.5 }), JSON.stringify({ ...FACTS, counting: 'all' }), JSON.stringify({ ...FACTS, startedAtMs: -1 }), ' '.repeat(5000)]) {
      expect(readNodeFacts('mx1', stored), String(stored)).toBeNull();
    }
  });
});
