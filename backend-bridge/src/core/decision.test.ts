import { describe, expect, it } from 'vitest';
import { decideMessage, explainRefusal, formatWait, type WindowView } from './decision.js';
import { counterKey, type ChargedObject } from './directory.js';
import type { Level, Limit } from './limits.js';

function object(level: Level, id: number, name: string, limit: Limit): ChargedObject {
  return { level, id, name, counterKey: counterKey(level, id), own: null, plan: null, lock: null, effective: { limit, source: 'default' }, daily: { own: null, plan: null, effective: { limit: 'unlimited', source: 'default' } }, recipients: { own: null, plan: null, effective: { limit: 'unlimited', source: 'default' } }, parent: null, owner: { customer: 'jdoe', reseller: null } };
}

/** A window where each object has a fixed usage and budget frees at a fixed pace. */
function windowWith(used: Map<ChargedObject, number>, secondsPerUnit = 60): WindowView {
  return {
    used: (o) => used.get(o) ?? 0,
    secondsUntilFreed: (o, amount) => ((used.get(o) ?? 0) >= amount ? amount * secondsPerUnit : null),
  };
}

const mailbox = (limit: Limit) => object('mailbox', 1, 'alice@example.com', limit);
const domain = (limit: Limit) => object('domain', 1, 'example.com', limit);
const subscription = (limit: Limit) => object('subscription', 1, 'example.com', limit);

describe('decideMessage', () => {
  it('allows while every level has budget for the whole message', () => {
    const chain = [mailbox(3), domain(5), subscription(8)];
    const used = new Map([[chain[0]!, 2], [chain[1]!, 4], [chain[2]!, 7]]);
    expect(decideMessage(chain, 1, 'messages', windowWith(used))).toEqual({ allowed: true });
  });

  it('reports the innermost level that has no budget', () => {
    const chain = [mailbox(3), domain(5), subscription(8)];
    const used = new Map([[chain[0]!, 3], [chain[1]!, 5], [chain[2]!, 1]]);
    const decision = decideMessage(chain, 1, 'messages', windowWith(used));
    expect(decision.allowed).toBe(false);
    if (decision.allowed) return;
    expect(decision.tripped.level).toBe('mailbox');
    expect(decision.reason).toBe('Outgoing limit of 3 messages/hour for mailbox alice@example.com reached; try again in 1 minute');
  });

  it('trips a parent level even when the mailbox still has budget', () => {
    const chain = [mailbox(100), domain(5), subscription(8)];
    const used = new Map([[chain[0]!, 1], [chain[1]!, 5], [chain[2]!, 5]]);
    const decision = decideMessage(chain, 1, 'messages', windowWith(used, 720));
    expect(decision.allowed).toBe(false);
    if (decision.allowed) return;
    expect(decision.tripped.level).toBe('domain');
    expect(decision.retryAfterSeconds).toBe(720);
    expect(decision.reason).toBe('Outgoing limit of 5 messages/hour for domain example.com reached; try again in 12 minutes');
  });

  it('skips unlimited levels entirely', () => {
    const chain = [mailbox('unlimited'), domain('unlimited'), subscription(2)];
    const used = new Map([[chain[0]!, 10_000], [chain[1]!, 10_000], [chain[2]!, 1]]);
    expect(decideMessage(chain, 1, 'messages', windowWith(used)).allowed).toBe(true);
  });

  it('0 prohibits sending, with no promise of a retry time', () => {
    const chain = [mailbox(0), domain(5)];
    const decision = decideMessage(chain, 1, 'messages', windowWith(new Map()));
    expect(decision.allowed).toBe(false);
    if (decision.allowed) return;
    expect(decision.retryAfterSeconds).toBeNull();
    expect(decision.reason).toBe('Sending is not allowed for mailbox alice@example.com (outgoing limit 0 messages/hour)');
  });

  it('counts recipients as weight: a message needs room for all of them', () => {
    const chain = [mailbox(10)];
    const used = new Map([[chain[0]!, 7]]);
    expect(decideMessage(chain, 3, 'recipients', windowWith(used)).allowed).toBe(true);
    const decision = decideMessage(chain, 4, 'recipients', windowWith(used));
    expect(decision.allowed).toBe(false);
    if (decision.allowed) return;
    expect(decision.retryAfterSeconds).toBe(60);
    expect(decision.reason).toBe('Outgoing limit of 10 recipients/hour for mailbox alice@example.com leaves 3, this message has 4 recipients; try again in 1 minute');
  });

  it('a message larger than the whole limit is refused with advice, never a false retry time', () => {
    const decision = decideMessage([mailbox(10)], 11, 'recipients', windowWith(new Map()));
    expect(decision.allowed).toBe(false);
    if (decision.allowed) return;
    expect(decision.retryAfterSeconds).toBeNull();
    expect(decision.reason).toMatch(/has 11 recipients, more than the outgoing limit of 10 recipients\/hour for mailbox alice@example.com allows/);
  });

  it('a chain without a mailbox (sender only known by domain) is decided on its domain and subscription', () => {
    const chain = [domain(2), subscription(8)];
    const used = new Map([[chain[0]!, 2]]);
    const decision = decideMessage(chain, 1, 'messages', windowWith(used));
    expect(!decision.allowed && decision.tripped.level).toBe('domain');
  });
});

describe('formatWait', () => {
  it('rounds up so a sender never retries too early', () => {
    expect(formatWait(0.2)).toBe('1 second');
    expect(formatWait(42)).toBe('42 seconds');
    expect(formatWait(60)).toBe('1 minute');
    expect(formatWait(61)).toBe('2 minutes');
    expect(formatWait(3599)).toBe('60 minutes');
  });

  it('explainRefusal without a retry time says nothing about when', () => {
    expect(explainRefusal(mailbox(5), 5, 5, 1, 'messages', null)).toBe('Outgoing limit of 5 messages/hour for mailbox alice@example.com reached');
  });
});
