import type { Redis } from 'ioredis';
import type { AnomalySignal } from '../core/anomalies.js';

/**
 * The anomaly signals of a cluster (core/anomalies.ts) judged on what every node saw: the distinct client
 * addresses of a login and the distinct recipient domains of a mailbox in a clock hour are sets in Redis, and a
 * signal is raised once in the cluster, by the node whose message passed the threshold (it records and notifies;
 * the record reaches the other nodes with the configuration, cluster/config-log.ts).
 *
 * A node sends only members new to it this hour, so a login that keeps its one address costs nothing per
 * message. Each set holds at most threshold + 1 members (a flood of domains cannot grow it) and expires with the
 * hour after next.
 */
const ADD_DISTINCT = `
local cap = tonumber(ARGV[1])
local n = redis.call('SCARD', KEYS[1])
for i = 4, #ARGV do
  if n >= cap then break end
  n = n + redis.call('SADD', KEYS[1], ARGV[i])
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
if n > tonumber(ARGV[2]) and redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[3]) then return {n, 1} end
return {n, 0}`;

/** Long enough for the hour and its stragglers; a set of an hour past is of no use. */
const KEEP_SECONDS = 2 * 3600;

export interface SharedDistinctAnswer {
  /** Distinct members the cluster has seen this hour (at most threshold + 1). */
  seen: number;
  /** This node raises the signal: it passed the threshold and no node raised it this hour before. */
  raiseHere: boolean;
}

export class ClusterAnomalies {
  constructor(private readonly redis: Redis) {}

  /** The keys of one mailbox's signal in one hour; the subscription's hash tag keeps them on its shard. */
  private keys(subscription: string, mailbox: string, signal: AnomalySignal, hour: number): [set: string, raised: string] {
    const base = `ol:{s:${subscription}}:a:${signal}:${hour}:${mailbox}`;
    return [base, `${base}:raised`];
  }

  /** Adds members to the cluster's set of a signal and says whether this node raises it. */
  async addDistinct(subscription: string, mailbox: string, signal: 'loginAddresses' | 'recipientDomains', hour: number, members: readonly string[], threshold: number): Promise<SharedDistinctAnswer> {
    const [set, raised] = this.keys(subscription, mailbox, signal, hour);
    const [seen, raise] = (await this.redis.eval(ADD_DISTINCT, 2, set, raised, threshold + 1, threshold, KEEP_SECONDS, ...members)) as [number, number];
    return { seen, raiseHere: raise === 1 };
  }

  /** Claims the raising of a signal this hour (the volume surge, judged on the cluster's count): true for one node. */
  async claim(subscription: string, mailbox: string, signal: AnomalySignal, hour: number): Promise<boolean> {
    const [, raised] = this.keys(subscription, mailbox, signal, hour);
    return (await this.redis.set(raised, '1', 'EX', KEEP_SECONDS, 'NX')) === 'OK';
  }
}
