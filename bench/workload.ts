// Deterministic benchmark workload: the directory every server is given and the END-OF-MESSAGE policy
// requests the load generator sends. Everything is derived from indexes and a fixed-seed PRNG so that
// every server (and every run) sees exactly the same request sequence.

export const SUBSCRIPTIONS = 200;
export const DOMAINS = 1000;
/** Mailboxes per domain in the throughput run: 10 × 1,000 domains = 10,000 distinct senders. */
export const SENDERS_PER_DOMAIN = 10;
/** Mailboxes per domain in the memory run: 100 × 1,000 domains = 100,000 mailboxes. */
export const MEMORY_MAILBOXES_PER_DOMAIN = 100;
/** Per-sender limit every server enforces (messages per rolling hour). */
export const PER_SENDER_LIMIT = 100;

/**
 * Every HOT_EVERY-th request goes to one of the HOT_SENDERS "hijacked" mailboxes. They exceed the
 * limit after HOT_EVERY × 2 × 100 = 5,000 requests (a few seconds even for the slowest peer), so every
 * server also exercises its over-limit path (~4 % of answers) while the other 9,998 senders stay far
 * below 100/hour.
 */
const HOT_EVERY = 25;
const HOT_SENDER_INDEXES = [17, 4242] as const;

/**
 * Hard cap on requests per server run (warm-up included): normal senders get 96 % of the traffic spread
 * over 9,998 mailboxes, so they reach 100 messages only after ~1,040,000 requests.
 */
export const MAX_REQUESTS_PER_RUN = 1_000_000;

export interface DirectoryMailbox {
  address: string;
  limit: null;
}
export interface DirectoryDomain {
  name: string;
  limit: null;
  mailboxes: DirectoryMailbox[];
}
export interface DirectorySubscription {
  name: string;
  owner: string;
  reseller: string;
  systemUser: string;
  limit: null;
  domains: DirectoryDomain[];
}
export interface DirectoryFile {
  subscriptions: DirectorySubscription[];
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

export function domainName(d: number): string {
  return `d${pad(d, 4)}.example.com`;
}

export function mailboxAddress(d: number, m: number): string {
  return `user${pad(m, 3)}@${domainName(d)}`;
}

/** Directory with `perDomain` mailboxes in each of the 1,000 domains (5 domains per subscription). */
export function buildDirectory(perDomain: number): DirectoryFile {
  const domainsPerSub = DOMAINS / SUBSCRIPTIONS;
  const subscriptions: DirectorySubscription[] = [];
  for (let s = 0; s < SUBSCRIPTIONS; s++) {
    const domains: DirectoryDomain[] = [];
    for (let k = 0; k < domainsPerSub; k++) {
      const d = s * domainsPerSub + k;
      const mailboxes: DirectoryMailbox[] = [];
      for (let m = 0; m < perDomain; m++) mailboxes.push({ address: mailboxAddress(d, m), limit: null });
      domains.push({ name: domainName(d), limit: null, mailboxes });
    }
    subscriptions.push({
      name: `sub${pad(s, 3)}.example.net`,
      owner: `cust${pad(s, 3)}`,
      reseller: `res${pad(s % 10, 2)}`,
      systemUser: `sub${pad(s, 3)}`,
      limit: null,
      domains,
    });
  }
  return { subscriptions };
}

/** mulberry32: tiny deterministic PRNG, good enough for shuffling. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** All senders of a directory with `perDomain` mailboxes per domain, in a fixed shuffled order. */
export function shuffledSenders(perDomain: number, seed = 20240607): string[] {
  const all: string[] = [];
  for (let d = 0; d < DOMAINS; d++) for (let m = 0; m < perDomain; m++) all.push(mailboxAddress(d, m));
  const rnd = prng(seed);
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    const tmp = all[i] as string;
    all[i] = all[j] as string;
    all[j] = tmp;
  }
  return all;
}

/** Placeholder for the per-request unique id (queue_id and the middle of instance), patched in place. */
const ID_PLACEHOLDER = '##########';
export const ID_WIDTH = ID_PLACEHOLDER.length;

export type ProtocolState = 'END-OF-MESSAGE' | 'RCPT';

interface SenderTraits {
  recipientCount: number;
  size: number;
  clientAddress: string;
  clientName: string;
  clientPort: number;
  tls: boolean;
}

function traitsFor(index: number): SenderTraits {
  const rnd = prng(index * 7919 + 1);
  // Mostly single-recipient mail, some small multi-recipient mail (recipient is empty then, as at EOM).
  const r = rnd();
  const recipientCount = r < 0.7 ? 1 : r < 0.9 ? 2 : 1 + Math.floor(rnd() * 8);
  const size = 800 + Math.floor(rnd() * 60_000);
  const a = 1 + (index % 250);
  const b = 1 + Math.floor(index / 250) % 250;
  const clientAddress = index % 3 === 0 ? `198.51.${b}.${a}` : `203.0.${b}.${a}`;
  const clientName = index % 4 === 0 ? 'unknown' : `host-${a}-${b}.dsl.example.org`;
  return { recipientCount, size, clientAddress, clientName, clientPort: 30000 + (index * 37) % 30000, tls: index % 10 !== 0 };
}

/**
 * The policy request Postfix 3.7 smtpd sends at END-OF-MESSAGE for an authenticated submission
 * (attribute set and order of smtpd_check.c; compatibility_level and mail_version were asked for
 * even though smtpd only sends them from 3.8 on — a few extra bytes make no difference to the servers).
 */
export function requestText(sender: string, index: number, state: ProtocolState, id: string): string {
  const t = traitsFor(index);
  const recipient = t.recipientCount === 1 ? `rcpt${index % 997}@customer${index % 89}.example.org` : '';
  const lines = [
    'request=smtpd_access_policy',
    `protocol_state=${state}`,
    'protocol_name=ESMTP',
    `client_address=${t.clientAddress}`,
    `client_name=${t.clientName}`,
    `client_port=${t.clientPort}`,
    `reverse_client_name=${t.clientName}`,
    `helo_name=[${t.clientAddress}]`,
    `sender=${sender}`,
    `recipient=${recipient}`,
    `recipient_count=${state === 'RCPT' ? 0 : t.recipientCount}`,
    `queue_id=${id}`,
    `instance=2f1c.${id}.0`,
    `size=${t.size}`,
    'etrn_domain=',
    'stress=',
    'sasl_method=PLAIN',
    `sasl_username=${sender}`,
    'sasl_sender=',
    'ccert_subject=',
    'ccert_issuer=',
    'ccert_fingerprint=',
    'ccert_pubkey_fingerprint=',
    `encryption_protocol=${t.tls ? 'TLSv1.3' : ''}`,
    `encryption_cipher=${t.tls ? 'TLS_AES_256_GCM_SHA384' : ''}`,
    `encryption_keysize=${t.tls ? 256 : 0}`,
    'policy_context=',
    'server_address=192.0.2.25',
    'server_port=587',
    'compatibility_level=3.6',
    'mail_version=3.7.11',
  ];
  return lines.join('\n') + '\n\n';
}

/** A request buffer with the byte offsets of its unique-id placeholders. */
export interface RequestTemplate {
  bytes: Buffer;
  idOffsets: number[];
}

function templateFor(sender: string, index: number, state: ProtocolState): RequestTemplate {
  const bytes = Buffer.from(requestText(sender, index, state, ID_PLACEHOLDER), 'latin1');
  const idOffsets: number[] = [];
  for (let at = bytes.indexOf(ID_PLACEHOLDER); at >= 0; at = bytes.indexOf(ID_PLACEHOLDER, at + 1)) idOffsets.push(at);
  return { bytes, idOffsets };
}

const HEX = Buffer.from('0123456789ABCDEF', 'latin1');

/** Writes `id` as ID_WIDTH upper-case hex digits (a Postfix short queue id) at each offset. */
export function patchId(target: Buffer, offsets: readonly number[], id: number): void {
  for (const off of offsets) {
    let v = id;
    for (let k = ID_WIDTH - 1; k >= 0; k--) {
      target[off + k] = HEX[v % 16] as number;
      v = Math.floor(v / 16);
    }
  }
}

/** Maps the global request index to a prebuilt template: the same sequence for every server. */
export interface Workload {
  readonly description: string;
  readonly senderCount: number;
  readonly maxRequestSize: number;
  templateAt(requestIndex: number): RequestTemplate;
  /**
   * The sender of a request whose answers are counted one by one (LoadResult.bySender), else null: the
   * hammered mailboxes whose accepted total must come out at exactly their limit.
   */
  watchedSenderAt?(requestIndex: number): string | null;
}

/** Throughput workload: 10,000 senders, 2 of them hot (see HOT_EVERY). */
export function throughputWorkload(state: ProtocolState): Workload {
  return hotSendersWorkload(state, HOT_SENDER_INDEXES, false);
}

/**
 * Senders (indexes into the shuffled list) the cluster bench hammers from both nodes at once: the throughput
 * workload's two hot senders and eight more, so that more mailboxes race for their last units of budget.
 */
export const CLUSTER_HOT_SENDER_INDEXES = [17, 4242, 1001, 2002, 3003, 5005, 6006, 7007, 8008, 9009] as const;

/**
 * The throughput workload with CLUSTER_HOT_SENDER_INDEXES as the hot senders (still 1 request in HOT_EVERY), whose
 * answers the load generator counts per sender: each gets over its limit within seconds, and the DUNNO answers
 * it got from all nodes together must add up to exactly PER_SENDER_LIMIT.
 */
export function clusterWorkload(): Workload {
  return hotSendersWorkload('END-OF-MESSAGE', CLUSTER_HOT_SENDER_INDEXES, true);
}

function hotSendersWorkload(state: ProtocolState, hotIndexes: readonly number[], watchHot: boolean): Workload {
  const senders = shuffledSenders(SENDERS_PER_DOMAIN);
  const hot = hotIndexes.map((i) => senders[i] as string);
  const normal = senders.filter((_, i) => !hotIndexes.includes(i));
  const hotT = hot.map((s) => templateFor(s, senders.indexOf(s), state));
  const normalT = normal.map((s, i) => templateFor(s, i, state));
  const maxRequestSize = Math.max(...hotT.map((t) => t.bytes.length), ...normalT.map((t) => t.bytes.length));
  const isHot = (i: number): boolean => i % HOT_EVERY === HOT_EVERY - 1;
  const hotAt = (i: number): number => Math.floor(i / HOT_EVERY) % hot.length;
  return {
    description: `${senders.length} senders over ${DOMAINS} domains / ${SUBSCRIPTIONS} subscriptions, ` +
      `protocol_state=${state}, 1 request in ${HOT_EVERY} from ${hot.length} hot senders`,
    senderCount: senders.length,
    maxRequestSize,
    templateAt(i: number): RequestTemplate {
      if (isHot(i)) return hotT[hotAt(i)] as RequestTemplate;
      const normalIndex = i - Math.floor((i + 1) / HOT_EVERY);
      return normalT[normalIndex % normalT.length] as RequestTemplate;
    },
    ...(watchHot ? { watchedSenderAt: (i: number): string | null => (isHot(i) ? (hot[hotAt(i)] as string) : null) } : {}),
  };
}

/**
 * Memory-run workload: cycles over all 100,000 mailboxes so the daemon has to keep state for many
 * of them. Templates are built lazily (throughput does not matter here) to keep the bench process small.
 */
export function memoryWorkload(): Workload {
  const senders = shuffledSenders(MEMORY_MAILBOXES_PER_DOMAIN, 99);
  const cache = new Map<number, RequestTemplate>();
  return {
    description: `${senders.length} senders (all mailboxes), protocol_state=END-OF-MESSAGE`,
    senderCount: senders.length,
    maxRequestSize: 2048,
    templateAt(i: number): RequestTemplate {
      const k = i % senders.length;
      let t = cache.get(k);
      if (t === undefined) {
        t = templateFor(senders[k] as string, k, 'END-OF-MESSAGE');
        if (cache.size > 1000) cache.clear();
        cache.set(k, t);
      }
      return t;
    },
  };
}

/** One request used to check that a server answers at all (a sender outside the directory). */
export function probeRequest(): Buffer {
  return Buffer.from(requestText('probe@readiness.invalid', 0, 'END-OF-MESSAGE', 'FFFFFFFFFF'), 'latin1');
}
