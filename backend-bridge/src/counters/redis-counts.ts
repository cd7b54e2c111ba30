import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { decideMessage, type Refused, type WindowView } from '../core/decision.js';
import { limitIn, subscriptionOf, type ChargedObject } from '../core/directory.js';
import { LIMIT_WINDOWS, WINDOW_LENGTH_SECONDS, type LimitWindow } from '../core/limits.js';
import type { CountingUnit } from '../core/settings.js';
import { COUNT_SCRIPT, READ_SCRIPT } from './redis-counts.lua.js';

/** One rolling window as the counters keep it: its length and the step amounts are filed under. */
export interface WindowShape {
  seconds: number;
  stepSeconds: number;
}

/**
 * The windows of the in-process counters (enforcement/enforcer.ts): the hour per second, the day per minute.
 * Tests may shorten them, as OUTGOING_LIMITS_TEST_DAY_SECONDS does for the daemon.
 */
export const COUNT_WINDOWS: Readonly<Record<LimitWindow, WindowShape>> = Object.freeze({
  hour: { seconds: WINDOW_LENGTH_SECONDS.hour, stepSeconds: 1 },
  day: { seconds: WINDOW_LENGTH_SECONDS.day, stepSeconds: 60 },
});

/** Redis answered something these counts cannot read, or refused the call: never taken as "allowed". */
export class RedisCountsError extends Error {
  override name = 'RedisCountsError';
}

export interface RedisCountsOptions {
  windows?: Readonly<Record<LimitWindow, WindowShape>>;
  /** Prefix of every key (one cluster's counts apart from anything else in the same database). */
  keyPrefix?: string;
}

/** A count made: the second it was counted at (Redis's clock) and, per level of the chain, the used figures after it. */
export interface Counted {
  second: number;
  usedAfter: readonly Readonly<Record<LimitWindow, number>>[];
}

/** The outcome of a check-and-count: the decision and, when allowed, the count made. */
export type CountedDecision = ({ decision: { allowed: true } } & Counted) | { decision: Refused; second: null };

/** Redis refused some counts made alone (their errors beside them); every other one of the call was added. */
export class MadeAloneRefusedError extends RedisCountsError {
  override name = 'MadeAloneRefusedError';
  constructor(readonly refused: ReadonlyArray<{ count: CountMadeAlone; error: Error }>) {
    super(`Redis could not add ${refused.length} of the counts made alone: ${refused[0]?.error.message ?? 'no reason given'}`);
  }
}

/** A count this node made without Redis, to be added at the second it was made. */
export interface CountMadeAlone {
  object: ChargedObject;
  second: number;
  amount: number;
}

/** What a batched read asks of one object: optionally, per window, the used level it wants to see the wait for. */
export interface WindowRead {
  object: ChargedObject;
  /** Per window: report the seconds until used has dropped to at most this (default: limit - 1, what usage shows). */
  downTo?: Partial<Record<LimitWindow, number>>;
}

/**
 * The counts of a cluster, kept in Redis with the same exact rolling windows as RollingWindowCounters: every node
 * checks and counts a message's whole chain (up to 3 levels × 2 windows) in one script call, which Redis runs
 * atomically, so sessions on all nodes together never pass a limit. The clock is Redis's (TIME in the script),
 * so nodes with skewed clocks agree.
 *
 * One hash per object (see redis-counts.lua.ts), keyed `<prefix>{s:<subscription name>}:<level letter>:<name>`:
 * by name, not by the store's ids, so nodes whose stores numbered the directory differently still share counts.
 * The hash tag puts a subscription's objects in one slot, so a Redis Cluster shards by subscription and a chain
 * stays on one shard. Keys expire by themselves once their newest count has left the day.
 *
 * The decision's rule is core's decideMessage: the script only says whether every limited window has room for
 * the whole weight and, when not, returns the used figures and waits that decideMessage then words.
 */
export class RedisCounts {
  /** The windows counted (their lengths and steps), as given or COUNT_WINDOWS. */
  readonly windows: Readonly<Record<LimitWindow, WindowShape>>;
  private readonly keyPrefix: string;
  private readonly scripts = {
    count: { source: COUNT_SCRIPT, sha: sha1(COUNT_SCRIPT), loaded: false },
    read: { source: READ_SCRIPT, sha: sha1(READ_SCRIPT), loaded: false },
  };

  constructor(
    private readonly redis: Redis,
    options: RedisCountsOptions = {},
  ) {
    this.windows = options.windows ?? COUNT_WINDOWS;
    for (const window of LIMIT_WINDOWS) {
      const { seconds, stepSeconds } = this.windows[window];
      if (!Number.isInteger(stepSeconds) || stepSeconds < 1 || !Number.isInteger(seconds) || seconds % stepSeconds !== 0) {
        throw new Error(`a window of ${seconds} s cannot be counted in steps of ${stepSeconds} s`);
      }
    }
    this.keyPrefix = options.keyPrefix ?? 'ol:';
  }

  /** The key of an object's counts: its subscription's hash tag, so a chain shares one slot. */
  keyOf(object: ChargedObject): string {
    const top = subscriptionOf(object);
    // Only the first {…} is the hash tag: a mailbox name with braces after it changes nothing.
    return `${this.keyPrefix}{${top.level[0]}:${top.name}}:${object.level[0]}:${object.name}`;
  }

  /**
   * Decides one message of `weight` units for its chain and, when every limited window of every level has room,
   * counts it to all of them, in one atomic step. `atSecond` replaces Redis's clock (tests). `limitsAt`: the
   * second whose limits apply (a temporary exemption until its end, on the deciding node's clock); absent: the
   * limits without exemptions (or those of `atSecond`).
   */
  async checkAndCount(chain: readonly ChargedObject[], weight: number, unit: CountingUnit, atSecond?: number, limitsAt: number | undefined = atSecond): Promise<CountedDecision> {
    return this.decisionOf(chain, weight, unit, await this.runCount(chain, 'check', weight, 0, wireLimits(chain, limitsAt), atSecond), limitsAt);
  }

  /** The decision a check-and-count reply stands for (core's decideMessage words a refusal). */
  private decisionOf(chain: readonly ChargedObject[], weight: number, unit: CountingUnit, reply: readonly unknown[], limitsAt: number | undefined): CountedDecision {
    if (integerAt(reply, 0) === 1) return { decision: { allowed: true }, ...countedOf('check', chain, reply) };
    if (integerAt(reply, 0) !== 0 || reply.length !== 2 + chain.length * LIMIT_WINDOWS.length * 2) throw unreadable('check', reply);
    const decision = decideMessage(chain, weight, unit, refusedView(chain, weight, reply, limitsAt));
    // The script found a window without room; a rule that allowed the message anyway would be a mismatch, never a pass.
    if (decision.allowed) throw new RedisCountsError(`Redis refused the message but the decision allows it (reply ${JSON.stringify(reply)})`);
    return { decision, second: null };
  }

  /**
   * Check-and-count of several messages in one script call, in order, each exactly as checkAndCount would do it
   * (sessions answered together share the round trip and the script's start). `atSecond` replaces Redis's clock (tests).
   */
  async checkAndCountMany(messages: readonly { chain: readonly ChargedObject[]; weight: number; unit: CountingUnit; limitsAt?: number | undefined }[], atSecond?: number): Promise<CountedDecision[]> {
    if (messages.length === 0) return [];
    const keys: string[] = [];
    const args: string[] = [...this.timeAndWindows(atSecond), 'batch', String(messages.length)];
    for (const { chain, weight, limitsAt = atSecond } of messages) {
      if (chain.length === 0) throw new RedisCountsError('a message must be counted to at least one level');
      if (!Number.isInteger(weight) || weight < 0) throw new RedisCountsError(`a message weighs a whole number of units, not ${weight}`);
      keys.push(...chain.map((object) => this.keyOf(object)));
      args.push(String(chain.length), String(weight), ...wireLimits(chain, limitsAt));
    }
    const replies = await this.withScript(this.scripts.count, (sha) => this.redis.evalsha(sha, keys.length, ...keys, ...args));
    if (!Array.isArray(replies) || replies.length !== messages.length) throw unreadable('batch', replies);
    return messages.map(({ chain, weight, unit, limitsAt = atSecond }, at) => {
      const reply: unknown = replies[at];
      if (!Array.isArray(reply)) throw unreadable('batch', reply);
      return this.decisionOf(chain, weight, unit, reply, limitsAt);
    });
  }

  /** Counts a message regardless of budget (a release now, limits switched off). */
  async chargeAnyway(chain: readonly ChargedObject[], weight: number, atSecond?: number): Promise<Counted> {
    return countedOf('charge', chain, await this.runCount(chain, 'anyway', weight, 0, [], atSecond));
  }

  /**
   * Adds counts made without Redis, each at the second it was made (those already out of the day are left out),
   * in one pipeline: the objects may live on different shards.
   */
  async addMadeAlone(counts: readonly CountMadeAlone[], atSecond?: number): Promise<void> {
    if (counts.length === 0) return;
    await this.withScript(this.scripts.count, async (sha) => {
      const pipeline = this.redis.pipeline();
      for (const { object, second, amount } of counts) {
        if (!Number.isInteger(amount) || amount < 1) throw new RedisCountsError(`a count made alone is a whole number of units, not ${amount}`);
        pipeline.evalsha(sha, 1, this.keyOf(object), ...this.timeAndWindows(atSecond), 'add', String(amount), String(second));
      }
      const results = (await pipeline.exec()) ?? [];
      const noScript = results.find(([error]) => isNoScript(error));
      if (noScript) throw noScript[0];
      if (results.length !== counts.length) throw new RedisCountsError(`Redis answered ${results.length} of ${counts.length} additions`);
      // A pipeline is not one step: the additions answered without an error were made.
      const refused = results.flatMap(([error], at) => (error ? [{ count: counts[at] as CountMadeAlone, error }] : []));
      if (refused.length > 0) throw new MadeAloneRefusedError(refused);
    });
  }

  /**
   * Takes back a count made at `second` whose message did not leave after all; levels whose last hour no longer
   * holds that much are left as they are (as Enforcer.refund does).
   */
  async refund(chain: readonly ChargedObject[], second: number, weight: number, atSecond?: number): Promise<void> {
    countedOf('refund', chain, await this.runCount(chain, 'refund', weight, second, [], atSecond));
  }

  /**
   * Used budget and waits of many objects in one round trip (a pipeline of one read per object: the objects may
   * live on different shards). The answer is a WindowView for core's usage and listing rules.
   */
  async read(requests: readonly WindowRead[], atSecond?: number): Promise<CountsSnapshot> {
    const replies = await this.withScript(this.scripts.read, async (sha) => {
      const pipeline = this.redis.pipeline();
      for (const { object, downTo } of requests) {
        const targets = LIMIT_WINDOWS.map((window) => wireTarget(targetOf(object, downTo, window)));
        pipeline.evalsha(sha, 1, this.keyOf(object), ...this.timeAndWindows(atSecond), ...targets);
      }
      const results = (await pipeline.exec()) ?? [];
      const noScript = results.find(([error]) => isNoScript(error));
      if (noScript) throw noScript[0];
      return results.map(([error, reply]) => {
        if (error) throw new RedisCountsError(`Redis could not read the counts: ${error.message}`);
        return reply;
      });
    });
    if (replies.length !== requests.length) throw new RedisCountsError(`Redis answered ${replies.length} reads for ${requests.length} objects`);
    const figures = new Map<ChargedObject, Record<LimitWindow, WindowFigures>>();
    replies.forEach((reply, at) => {
      if (!Array.isArray(reply) || reply.length !== 1 + LIMIT_WINDOWS.length * 2) throw unreadable('read', reply);
      const { object, downTo } = requests[at] as WindowRead;
      figures.set(object, {
        hour: { used: integerAt(reply, 1), wait: integerAt(reply, 2), downTo: targetOf(object, downTo, 'hour') },
        day: { used: integerAt(reply, 3), wait: integerAt(reply, 4), downTo: targetOf(object, downTo, 'day') },
      });
    });
    return new CountsSnapshot(figures);
  }

  /** Loads both scripts (they are also loaded on first use and again after a SCRIPT FLUSH or a failover). */
  async load(): Promise<void> {
    for (const script of Object.values(this.scripts)) await this.loadScript(script);
  }

  private async runCount(
    chain: readonly ChargedObject[],
    mode: 'check' | 'anyway' | 'refund',
    weight: number,
    refundSecond: number,
    limits: readonly string[],
    atSecond: number | undefined,
  ): Promise<unknown[]> {
    if (chain.length === 0) throw new RedisCountsError('a message must be counted to at least one level');
    if (!Number.isInteger(weight) || weight < 0) throw new RedisCountsError(`a message weighs a whole number of units, not ${weight}`);
    const keys = chain.map((object) => this.keyOf(object));
    const args = [...this.timeAndWindows(atSecond), mode, String(weight), String(refundSecond), ...limits];
    const reply = await this.withScript(this.scripts.count, (sha) => this.redis.evalsha(sha, keys.length, ...keys, ...args));
    if (!Array.isArray(reply)) throw unreadable(mode, reply);
    return reply;
  }

  private timeAndWindows(atSecond: number | undefined): string[] {
    if (atSecond !== undefined && !Number.isInteger(atSecond)) throw new RedisCountsError(`a time is a whole second, not ${atSecond}`);
    const { hour, day } = this.windows;
    return [atSecond === undefined ? '' : String(atSecond), String(hour.seconds), String(hour.stepSeconds), String(day.seconds), String(day.stepSeconds)];
  }

  /** EVALSHA of a script loaded once; a Redis that lost it (SCRIPT FLUSH, restart, failover) gets it again. */
  private async withScript<T>(script: LoadedScript, call: (sha: string) => Promise<T>): Promise<T> {
    if (!script.loaded) await this.loadScript(script);
    try {
      return await call(script.sha);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      script.loaded = false;
      await this.loadScript(script);
      return call(script.sha);
    }
  }

  private async loadScript(script: LoadedScript): Promise<void> {
    // Each time a script is (re)loaded, which is also after a restart or failover: the Redis may be another one.
    await this.checkEviction();
    const sha = await this.redis.script('LOAD', script.source);
    if (sha !== script.sha) throw new RedisCountsError(`Redis loaded the counting script as ${String(sha)}, expected ${script.sha}`);
    script.loaded = true;
  }

  /**
   * A Redis that evicts keys when full would drop counts and so lift limits without a word: with a memory limit
   * set, only maxmemory-policy noeviction is accepted (writes then fail, and a failed count is never "allowed").
   */
  private async checkEviction(): Promise<void> {
    const memory = await this.redis.info('memory');
    const maxmemory = /^maxmemory:(\d+)\r?$/m.exec(memory)?.[1];
    const policy = /^maxmemory_policy:(\S+)\r?$/m.exec(memory)?.[1];
    if (maxmemory === undefined || policy === undefined) throw new RedisCountsError('Redis did not say its maxmemory and maxmemory_policy (INFO memory)');
    if (Number(maxmemory) > 0 && policy !== 'noeviction') {
      throw new RedisCountsError(
        `Redis may evict keys when full (maxmemory ${maxmemory} bytes, maxmemory-policy ${policy}), which would lift limits; set maxmemory-policy noeviction or maxmemory 0`,
      );
    }
  }
}

interface LoadedScript {
  source: string;
  sha: string;
  loaded: boolean;
}

/**
 * Used budget and waits of the objects one read asked about, as a WindowView. Asking about an object or a wait
 * that was not read is an error rather than a guess.
 */
export class CountsSnapshot implements WindowView {
  constructor(private readonly figures: ReadonlyMap<ChargedObject, Record<LimitWindow, WindowFigures>>) {}

  used(object: ChargedObject, window: LimitWindow): number {
    return this.of(object)[window].used;
  }

  secondsUntilFreed(object: ChargedObject, amount: number, window: LimitWindow): number | null {
    const { used, wait, downTo } = this.of(object)[window];
    // The wait was read for one target only: the time until used has dropped to it.
    if (downTo === null || wait === -2 || amount !== used - downTo) {
      throw new RedisCountsError(`the wait until ${amount} of ${object.level} ${object.name} (${window}) frees was not read`);
    }
    return wait === -1 ? null : wait;
  }

  private of(object: ChargedObject): Record<LimitWindow, WindowFigures> {
    const figures = this.figures.get(object);
    if (!figures) throw new RedisCountsError(`${object.level} ${object.name} was not read`);
    return figures;
  }
}

/** Per level of the chain, its hourly and daily limit as the script takes them (-1: unlimited). */
function wireLimits(chain: readonly ChargedObject[], limitsAt: number | undefined): string[] {
  return chain.flatMap((object) => LIMIT_WINDOWS.map((window) => wireLimit(limitIn(object, window, limitsAt))));
}

/** The view decideMessage gets for a refusal: the used figures and the waits the script computed for them. */
function refusedView(chain: readonly ChargedObject[], weight: number, reply: readonly unknown[], limitsAt: number | undefined): WindowView {
  const at = (object: ChargedObject, window: LimitWindow): number => {
    const level = chain.indexOf(object);
    if (level < 0) throw new RedisCountsError(`${object.level} ${object.name} is not in the chain that was counted`);
    return 2 + (level * LIMIT_WINDOWS.length + LIMIT_WINDOWS.indexOf(window)) * 2;
  };
  return {
    used: (object, window) => integerAt(reply, at(object, window)),
    secondsUntilFreed: (object, amount, window) => {
      const used = integerAt(reply, at(object, window));
      const limit = limitIn(object, window, limitsAt);
      const wait = integerAt(reply, at(object, window) + 1);
      // The script computed the wait for exactly what the message needs; any other question has no answer here.
      if (limit === 'unlimited' || amount !== used + weight - limit || wait === -2) {
        throw new RedisCountsError(`no wait was computed for ${amount} of ${object.level} ${object.name} (${window})`);
      }
      return wait === -1 ? null : wait;
    },
    atSecond: limitsAt,
  };
}

function countedOf(what: string, chain: readonly ChargedObject[], reply: readonly unknown[]): Counted {
  if (reply.length !== 2 + chain.length * LIMIT_WINDOWS.length || integerAt(reply, 0) !== 1) throw unreadable(what, reply);
  const usedAfter = chain.map((_, level) => ({ hour: integerAt(reply, 2 + level * 2), day: integerAt(reply, 3 + level * 2) }));
  return { second: integerAt(reply, 1), usedAfter };
}

function integerAt(reply: readonly unknown[], index: number): number {
  const value = reply[index];
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw unreadable(`item ${index}`, reply);
  return value;
}

function unreadable(what: string, reply: unknown): RedisCountsError {
  return new RedisCountsError(`Redis gave an unreadable answer to the counts' ${what}: ${JSON.stringify(reply)}`);
}

function wireLimit(limit: number | 'unlimited'): string {
  return limit === 'unlimited' ? '-1' : String(limit);
}

interface WindowFigures {
  used: number;
  /** Seconds until used drops to `downTo`; -1: never; -2: already there. */
  wait: number;
  downTo: number | null;
}

/**
 * The used level a read reports the wait for: the request's, or what usage shows, the time until one more unit
 * fits again (limit 0 or unlimited: no wait to show).
 */
function targetOf(object: ChargedObject, downTo: WindowRead['downTo'], window: LimitWindow): number | null {
  const asked = downTo?.[window];
  if (asked !== undefined) return asked;
  const limit = limitIn(object, window);
  return limit === 'unlimited' || limit === 0 ? null : limit - 1;
}

function wireTarget(target: number | null): string {
  if (target === null) return '';
  if (!Number.isInteger(target)) throw new RedisCountsError(`a used level is a whole number, not ${target}`);
  return String(target);
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

function sha1(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}
