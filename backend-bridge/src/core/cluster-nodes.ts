/**
 * The nodes of a cluster: what each says of itself, and the rules by which the others list it. Pure: the Redis
 * side is cluster/cluster-nodes.ts.
 */

/** What a node says of itself, every second. */
export interface NodeFacts {
  /** The node's name (daemon option --node-name, default the host name). */
  node: string;
  /** Product version (src/version.ts). */
  version: string;
  startedAtMs: number;
  /** 'alone': Redis was unreachable and the node counted on its own (its report once Redis is back). */
  counting: 'cluster' | 'alone';
  /** Held mail waiting in this node's Postfix. */
  heldMessages: number;
  /** A short word for the node's Postfix wiring, e.g. 'wired', 'not-wired', 'unknown'. */
  wiring: string;
}

export type NodeState = 'up' | 'silent';

export interface NodeListing extends NodeFacts {
  /** When the node last reported, on the cluster's clock (Redis's TIME): nodes' own clocks may differ. */
  lastSeenMs: number;
  /** 'silent': not seen for more than SILENT_AFTER_MS (stopped, crashed, or cut off from Redis). */
  state: NodeState;
}

/** A node that has not reported for this long is listed as silent. */
export const SILENT_AFTER_MS = 10_000;
/** A node silent this long is dropped from the list: it left without `cluster leave`. */
export const FORGET_AFTER_MS = 7 * 24 * 3_600_000;
/** The most nodes one cluster lists: a runaway of renamed nodes cannot grow the list (and each listing) forever. */
export const MAX_NODES = 256;

/** A host name is at most 253 characters; the same bound keeps every key field small. */
export const NODE_NAME_MAX_LENGTH = 253;
const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const VERSION = /^[0-9A-Za-z.+~-]{1,64}$/;
const WIRING = /^[a-z][a-z-]{0,31}$/;
/** Far beyond any real queue, small enough to stay an exact integer everywhere. */
const MAX_HELD = 1_000_000_000;

/** What is wrong with a node name (null: nothing). Shown to the administrator who chose it. */
export function nodeNameProblem(name: string): string | null {
  if (name.length === 0) return 'a node name must not be empty';
  if (name.length > NODE_NAME_MAX_LENGTH) return `a node name is at most ${NODE_NAME_MAX_LENGTH} characters (this one has ${name.length})`;
  if (!NODE_NAME.test(name)) return `a node name is letters, digits, ".", "-" and "_", starting with a letter or digit, not ${JSON.stringify(printable(name.slice(0, 64)))}`;
  return null;
}

/** What is wrong with the facts a node is about to report (null: nothing). */
export function nodeFactsProblem(facts: NodeFacts): string | null {
  const name = nodeNameProblem(facts.node);
  if (name) return name;
  if (!VERSION.test(facts.version)) return `version ${JSON.stringify(printable(facts.version.slice(0, 64)))} is not a version (1 to 64 of letters, digits and . + ~ -)`;
  if (!Number.isSafeInteger(facts.startedAtMs) || facts.startedAtMs < 0) return `startedAtMs ${String(facts.startedAtMs)} is not a time`;
  if (facts.counting !== 'cluster' && facts.counting !== 'alone') return `counting is 'cluster' or 'alone', not ${JSON.stringify(String(facts.counting))}`;
  if (!Number.isSafeInteger(facts.heldMessages) || facts.heldMessages < 0 || facts.heldMessages > MAX_HELD) return `heldMessages ${String(facts.heldMessages)} is not a count`;
  if (!WIRING.test(facts.wiring)) return `wiring ${JSON.stringify(printable(facts.wiring.slice(0, 64)))} is not a short word (a-z and -, at most 32)`;
  return null;
}

/**
 * The facts stored for a node, read back: anything that is not exactly what a node writes (another program
 * wrote to the key, a newer version added fields we do not know, damage) is null, so the listing skips it
 * rather than showing or tripping over it.
 */
export function readNodeFacts(name: string, stored: unknown): NodeFacts | null {
  if (typeof stored !== 'string' || stored.length > 4096) return null;
  let value: unknown;
  try {
    value = JSON.parse(stored);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const record = value as Record<string, unknown>;
  const facts = {
    node: name,
    version: record.version,
    startedAtMs: record.startedAtMs,
    counting: record.counting,
    heldMessages: record.heldMessages,
    wiring: record.wiring,
  };
  if (typeof facts.version !== 'string' || typeof facts.wiring !== 'string') return null;
  return nodeFactsProblem(facts as NodeFacts) === null ? (facts as NodeFacts) : null;
}

/** The facts as stored (the name is the field they are stored under). */
export function storedNodeFacts(facts: NodeFacts): string {
  const { version, startedAtMs, counting, heldMessages, wiring } = facts;
  return JSON.stringify({ version, startedAtMs, counting, heldMessages, wiring });
}

/** A node's place in the list at `nowMs` (the cluster's clock): up, or silent when not seen for over `silentAfterMs`. */
export function nodeListing(facts: NodeFacts, lastSeenMs: number, nowMs: number, silentAfterMs = SILENT_AFTER_MS): NodeListing {
  return { ...facts, lastSeenMs, state: nowMs - lastSeenMs > silentAfterMs ? 'silent' : 'up' };
}

/** Control characters (a terminal's escape sequences) as "?". */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}
