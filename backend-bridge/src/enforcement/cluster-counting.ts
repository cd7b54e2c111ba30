import { ReplyError, type Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ChargedObject } from '../core/directory.js';
import type { CountingUnit } from '../core/settings.js';
import { LIMIT_WINDOWS, type LimitWindow } from '../core/limits.js';
import { MadeAloneRefusedError, type CountMadeAlone, type Counted, type CountedDecision, type RedisCounts, type WindowShape } from '../counters/redis-counts.js';

/** Whether this node counts in the cluster ('cluster') or, Redis being unreachable, on its own ('alone'). */
export type CountingState = 'cluster' | 'alone';

export interface CountingStateChange {
  state: CountingState;
  atMs: number;
  /** Going alone: what failed. Back: how many counts made alone were added. */
  detail: string;
}

/** Redis could not be used for a count: the enforcer decides with this node's own counts instead. */
export class ClusterAwayError extends Error {
  override name = 'ClusterAwayError';
}

/** How often a node counting alone tries Redis again: it is back in the cluster within this and a reconnect. */
export const CLUSTER_RETRY_MS = 1000;

/**
 * Messages checked in one script call at most: sessions answered in the same turn of the event loop share one
 * round trip, and Redis, which runs a script alone, is held up for at most this many (a few milliseconds).
 */
export const MAX_CHECKS_PER_CALL = 64;

/**
 * How often (seconds of counting alone) the counts made alone are looked over for what no window holds any more:
 * each look goes over all of them, and up to this much of the hour more is kept in between.
 */
export const ALONE_PRUNE_SECONDS = 300;

/**
 * Where a count made alone at `second` is kept at `nowSecond`, so that adding it to Redis later has exactly the
 * effect adding it at `second` would: null once no window holds it (Redis would leave it out); the end of its
 * step of the longest window once only that window holds it (Redis files it under that step all the same), so a
 * day alone keeps per object at most an hour of seconds and a day of minutes, not a day of seconds.
 */
export function keptAloneSecond(second: number, nowSecond: number, windows: Readonly<Record<LimitWindow, WindowShape>>): number | null {
  return aloneKeeping(windows)(second, nowSecond);
}

/** keptAloneSecond for one set of windows, worked out once (it runs for every count kept, at every look). */
function aloneKeeping(windows: Readonly<Record<LimitWindow, WindowShape>>): (second: number, nowSecond: number) => number | null {
  const shapes = LIMIT_WINDOWS.map((name) => windows[name]);
  const longest = shapes.reduce((a, b) => (b.seconds > a.seconds ? b : a));
  const others = shapes.filter((w) => w !== longest);
  // As the count script files and expires: step ceil(second / step), kept while above floor(now / step) - steps.
  const holds = (w: WindowShape, at: number, nowSecond: number) => Math.ceil(at / w.stepSeconds) > Math.floor(nowSecond / w.stepSeconds) - w.seconds / w.stepSeconds;
  return (second, nowSecond) => {
    if (!holds(longest, second, nowSecond)) return null;
    const stepEnd = Math.ceil(second / longest.stepSeconds) * longest.stepSeconds;
    for (const w of others) if (holds(w, second, nowSecond) || holds(w, stepEnd, nowSecond)) return second;
    return stepEnd;
  };
}

interface QueuedCheck {
  chain: readonly ChargedObject[];
  weight: number;
  unit: CountingUnit;
  limitsAt: number;
  resolve: (decision: CountedDecision) => void;
  reject: (error: unknown) => void;
}

/**
 * The counts of a node in a cluster: the cluster's, in Redis, while Redis answers; when it does not (down,
 * unreachable, too slow, refusing writes), this node goes on with its own counts and keeps what it counted
 * alone, per object and second. Every second it tries Redis again; once Redis answers, the counts made alone
 * are added there at the seconds they were made, and the node counts in the cluster again.
 * Never "everything passes" and never "everything waits": a failed call is answered by the node's own counts.
 */
export class ClusterCounting {
  private current: CountingState;
  private since: number;
  private lastFailure: string | null = null;
  /** Counts made alone not yet in Redis: counter key → the object and its amounts per second. */
  private readonly madeAlone = new Map<number, { object: ChargedObject; amounts: Map<number, number> }>();
  private retryTimer: NodeJS.Timeout | null = null;
  private queuedChecks: QueuedCheck[] = [];
  private checksScheduled = false;
  private catchingUp: Promise<void> | null = null;
  private stopped = false;
  /** The second of counting alone at which the counts made alone are next looked over (keptAloneSecond). */
  private nextPruneSecond = 0;
  private readonly keptAlone: (second: number, nowSecond: number) => number | null;

  constructor(
    private readonly counts: RedisCounts,
    private readonly redis: Redis,
    private readonly log: Logger,
    private readonly onChange: (change: CountingStateChange) => void = () => undefined,
    private readonly clockMs: () => number = Date.now,
    private readonly retryMs: number = CLUSTER_RETRY_MS,
  ) {
    this.current = 'cluster';
    this.since = clockMs();
    this.keptAlone = aloneKeeping(counts.windows);
  }

  /**
   * Checks that Redis answers and takes the counting script; a node whose Redis is away at start begins alone
   * (and says so) rather than not starting.
   */
  async start(): Promise<void> {
    try {
      await this.counts.load();
      this.log.info('counting in the cluster');
    } catch (error) {
      this.goAlone(error);
    }
  }

  get state(): CountingState {
    return this.current;
  }

  /**
   * For health and the overview: the state, since when, what failed last, and how many counts (per object and
   * second) made alone still wait to be added to Redis.
   */
  describe(): { state: CountingState; sinceMs: number; lastFailure: string | null; waitingAdditions: number } {
    let waitingAdditions = 0;
    for (const { amounts } of this.madeAlone.values()) waitingAdditions += amounts.size;
    return { state: this.current, sinceMs: this.since, lastFailure: this.lastFailure, waitingAdditions };
  }

  /**
   * Check-and-count in Redis; ClusterAwayError when it cannot be used (this node is then alone). The checks asked
   * for in one turn of the event loop go to Redis together, in the order asked, in one script call. `limitsAt`: the
   * second (this node's clock) whose limits apply, temporary exemptions included.
   */
  checkAndCount(chain: readonly ChargedObject[], weight: number, unit: CountingUnit, limitsAt: number): Promise<CountedDecision> {
    return new Promise((resolve, reject) => {
      this.queuedChecks.push({ chain, weight, unit, limitsAt, resolve, reject });
      if (this.checksScheduled) return;
      this.checksScheduled = true;
      setImmediate(() => this.sendChecks());
    });
  }

  private sendChecks(): void {
    this.checksScheduled = false;
    while (this.queuedChecks.length > 0) void this.sendBatch(this.queuedChecks.splice(0, MAX_CHECKS_PER_CALL));
  }

  /**
   * One script call for the batch. Should Redis refuse it for one message's fault (its key of another type, a
   * value the script refuses), the batch's checks are sent again one by one: only the faulty ones are decided by
   * this node, the others in the cluster, and the node stays in the cluster. A fault of every one of them, or of
   * the connection, is Redis's: the node goes alone.
   */
  private async sendBatch(batch: QueuedCheck[]): Promise<void> {
    if (this.current === 'alone') {
      const away = this.awayError();
      for (const check of batch) check.reject(away);
      return;
    }
    try {
      const decisions = await this.counts.checkAndCountMany(batch);
      batch.forEach((check, at) => check.resolve(decisions[at] as CountedDecision));
      return;
    } catch (error) {
      if (!isMessageFault(error) || batch.length === 1) {
        if (isMessageFault(error)) this.messageFault(error);
        else this.goAlone(error);
        for (const check of batch) check.reject(new ClusterAwayError(`Redis could not count: ${messageOf(error)}`));
        return;
      }
    }
    const faults: Array<{ check: QueuedCheck; error: unknown }> = [];
    for (const [at, check] of batch.entries()) {
      // A connection lost during the retries sent the node alone: the rest are decided here.
      if (this.isAlone()) {
        check.reject(this.awayError());
        continue;
      }
      try {
        check.resolve(await this.counts.checkAndCount(check.chain, check.weight, check.unit, undefined, check.limitsAt));
      } catch (error) {
        if (!isMessageFault(error)) {
          this.goAlone(error);
          check.reject(new ClusterAwayError(`Redis could not count: ${messageOf(error)}`));
        } else if (faults.length === at && at === batch.length - 1) {
          // Every one of them failed alike: the fault is Redis's, not a message's.
          this.goAlone(error);
          for (const fault of [...faults, { check, error }]) fault.check.reject(new ClusterAwayError(`Redis could not count: ${messageOf(fault.error)}`));
          return;
        } else {
          faults.push({ check, error });
        }
      }
    }
    for (const { check, error } of faults) {
      this.messageFault(error);
      check.reject(new ClusterAwayError(`Redis could not count this message: ${messageOf(error)}`));
    }
  }

  /** A message Redis could not count for its own fault: decided by this node; said in the log, the node stays in the cluster. */
  private messageFault(error: unknown): void {
    this.log.warn({ error: messageOf(error) }, "Redis could not count one message (its own fault, not Redis's): this node decided it with its own counts");
  }

  private isAlone(): boolean {
    return this.current === 'alone';
  }

  private awayError(): ClusterAwayError {
    return new ClusterAwayError(`counting alone since ${new Date(this.since).toISOString()}: ${this.lastFailure ?? 'Redis is away'}`);
  }

  chargeAnyway(chain: readonly ChargedObject[], weight: number): Promise<Counted> {
    return this.inCluster(() => this.counts.chargeAnyway(chain, weight));
  }

  refund(chain: readonly ChargedObject[], second: number, weight: number): Promise<void> {
    return this.inCluster(() => this.counts.refund(chain, second, weight));
  }

  /** A count this node made on its own: added to Redis once it is back. */
  countedAlone(chain: readonly ChargedObject[], second: number, weight: number): void {
    // A Redis away for a day must not grow this without bound on a busy node.
    if (second >= this.nextPruneSecond) {
      this.pruneAlone(second);
      this.nextPruneSecond = second + ALONE_PRUNE_SECONDS;
    }
    for (const object of chain) {
      let entry = this.madeAlone.get(object.counterKey);
      if (!entry) this.madeAlone.set(object.counterKey, (entry = { object, amounts: new Map() }));
      entry.object = object;
      entry.amounts.set(second, (entry.amounts.get(second) ?? 0) + weight);
    }
  }

  /** A count made alone whose message did not leave: taken back before it reaches Redis (if it has not yet). */
  refundedAlone(chain: readonly ChargedObject[], second: number, weight: number): void {
    const merged = Math.ceil(second / this.counts.windows.day.stepSeconds) * this.counts.windows.day.stepSeconds;
    for (const object of chain) {
      const amounts = this.madeAlone.get(object.counterKey)?.amounts;
      if (!amounts) continue;
      // Kept at its own second, or (an hour later) at the end of its step of the day with others.
      const at = amounts.has(second) ? second : merged;
      const amount = amounts.get(at);
      if (amount === undefined) continue;
      if (amount > weight) amounts.set(at, amount - weight);
      else amounts.delete(at);
    }
  }

  /**
   * Drops the counts made alone that no window holds at `nowSecond` and keeps those only the day holds per step
   * of the day (keptAloneSecond): what Redis gets at catch-up is the same, and far less waits for it.
   */
  pruneAlone(nowSecond: number = Math.floor(this.clockMs() / 1000)): void {
    for (const [key, entry] of this.madeAlone) {
      const kept = new Map<number, number>();
      for (const [second, amount] of entry.amounts) {
        const at = this.keptAlone(second, nowSecond);
        if (at !== null) kept.set(at, (kept.get(at) ?? 0) + amount);
      }
      if (kept.size === 0) this.madeAlone.delete(key);
      else entry.amounts = kept;
    }
  }

  /** Objects gone from the directory: what they counted alone is dropped, as their counters are. */
  forget(counterKeys: Iterable<number>): void {
    for (const key of counterKeys) this.madeAlone.delete(key);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    await this.catchingUp;
  }

  private async inCluster<T>(call: () => Promise<T>): Promise<T> {
    if (this.current === 'alone') throw this.awayError();
    try {
      return await call();
    } catch (error) {
      this.goAlone(error);
      throw new ClusterAwayError(`Redis could not count: ${messageOf(error)}`);
    }
  }

  private goAlone(error: unknown): void {
    this.lastFailure = messageOf(error);
    if (this.current === 'alone') return;
    this.current = 'alone';
    this.since = this.clockMs();
    this.log.error({ error: this.lastFailure }, 'Redis cannot be used: counting on this node alone until it is back; limits act per node meanwhile');
    this.onChange({ state: 'alone', atMs: this.since, detail: this.lastFailure });
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.catchingUp = this.tryCatchUp().finally(() => {
        this.catchingUp = null;
        if (this.current === 'alone') this.scheduleRetry();
      });
    }, this.retryMs);
    this.retryTimer.unref();
  }

  /** Adds what was counted alone, then counts in the cluster again; on failure stays alone and tries later. */
  private async tryCatchUp(): Promise<void> {
    if (this.redis.status !== 'ready') {
      this.lastFailure = `Redis connection ${this.redis.status}`;
      return;
    }
    let added: number;
    try {
      await this.counts.load();
      added = await this.addWaiting();
    } catch (error) {
      this.lastFailure = messageOf(error);
      return;
    }
    // Back in the cluster before the counts made during the additions are sent: under steady mail the node would
    // otherwise always have something new to add and never come back.
    this.current = 'cluster';
    this.since = this.clockMs();
    this.lastFailure = null;
    try {
      added += await this.addWaiting();
    } catch (error) {
      this.goAlone(error);
      return;
    }
    this.log.info({ added }, 'Redis is back: counting in the cluster again, with the counts made alone added');
    this.onChange({ state: 'cluster', atMs: this.since, detail: `${added} counts made alone added` });
  }

  /**
   * Sends the counts made alone; what could not be sent is kept for the next try (only that: the others were
   * added). Returns how many were added. A count Redis refuses for its own fault (its key of another type) is
   * dropped (logged): a damaged key must not keep the node alone for good.
   */
  private async addWaiting(): Promise<number> {
    const sent: CountMadeAlone[] = [];
    for (const { object, amounts } of this.madeAlone.values()) for (const [second, amount] of amounts) sent.push({ object, second, amount });
    this.madeAlone.clear();
    try {
      await this.counts.addMadeAlone(sent);
      return sent.length;
    } catch (error) {
      if (!(error instanceof MadeAloneRefusedError)) {
        this.keepAlone(sent);
        throw error;
      }
      const notAdded = error.refused.filter(({ error: refusal }) => !isMessageFault(refusal));
      for (const { count, error: refusal } of error.refused) {
        if (isMessageFault(refusal)) this.log.warn({ object: count.object.name, second: count.second, amount: count.amount, error: refusal.message }, 'Redis refused a count made alone for its own fault (its key): dropped');
      }
      if (notAdded.length > 0) {
        this.keepAlone(notAdded.map(({ count }) => count));
        throw error;
      }
      return sent.length - error.refused.length;
    }
  }

  private keepAlone(counts: readonly CountMadeAlone[]): void {
    for (const { object, second, amount } of counts) this.countedAlone([object], second, amount);
  }
}

/**
 * Redis answered, with an error of the message's own: the script's refusal of a value ("ERR outgoing-limits: …")
 * or a key of the message's chain of another type (WRONGTYPE).
 * Redis's own state (OOM, READONLY, LOADING, BUSY, MISCONF, …), a reply these counts cannot read (every message
 * would get one) and the connection are not: the node goes alone and says so.
 */
function isMessageFault(error: unknown): boolean {
  return error instanceof ReplyError && /^(ERR outgoing-limits|WRONGTYPE)\b|WRONGTYPE Operation against a key/.test((error as Error).message);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
