import { describe, expect, it } from 'vitest';
import { holdCause, limitInReason, type HoldRecordFacts } from './hold-cause.js';

const record = (extra: Partial<HoldRecordFacts>): HoldRecordFacts => ({
  source: 'smtpd',
  trippedLevel: 'mailbox',
  trippedName: 'alice@example.com',
  trippedLimit: 1,
  trippedUsed: 1,
  trippedWindow: 'hour',
  weight: 1,
  reason: 'ignored when the limit is kept',
  ...extra,
});

describe('holdCause', () => {
  it('says which level reached which limit, from what the record keeps', () => {
    expect(holdCause(record({}))).toEqual({ kind: 'limitReached', level: 'mailbox', name: 'alice@example.com', limit: 1, window: 'hour' });
    expect(holdCause(record({ trippedLevel: 'domain', trippedName: 'shop.test', trippedLimit: 0, trippedUsed: 0 }))).toEqual({
      kind: 'notAllowed',
      level: 'domain',
      name: 'shop.test',
      limit: 0,
      window: 'hour',
    });
  });

  it('a message held by a daily limit says the daily window', () => {
    expect(holdCause(record({ trippedWindow: 'day', trippedLimit: 500, trippedUsed: 500 }))).toEqual({
      kind: 'limitReached',
      level: 'mailbox',
      name: 'alice@example.com',
      limit: 500,
      window: 'day',
    });
  });

  it('tells a message too large for the limit, and one larger than what was left, from a reached limit', () => {
    expect(holdCause(record({ trippedLimit: 2, trippedUsed: 0, weight: 5 }))).toMatchObject({ kind: 'tooManyRecipients', limit: 2, recipients: 5 });
    expect(holdCause(record({ trippedLimit: 10, trippedUsed: 8, weight: 3 }))).toMatchObject({ kind: 'notEnoughLeft', limit: 10, left: 2, recipients: 3 });
  });

  it('mail put on hold by the compromised mark says so', () => {
    expect(holdCause(record({ source: 'compromised', trippedLimit: 0 }))).toEqual({ kind: 'compromised', level: 'mailbox', name: 'alice@example.com' });
  });

  it('records held before the limit was kept are read from their reason text', () => {
    const old = (reason: string) => record({ trippedLimit: null, trippedUsed: null, reason });
    expect(holdCause(old('Outgoing limit of 3 messages/hour for mailbox alice@example.com reached; message held, sent automatically in about 60 minutes'))).toEqual({
      kind: 'limitReached',
      level: 'mailbox',
      name: 'alice@example.com',
      limit: 3,
      window: 'hour',
    });
    expect(holdCause(old('Sending is not allowed for mailbox alice@example.com (outgoing limit 0 messages/hour); message held until a person releases it'))).toMatchObject({
      kind: 'notAllowed',
    });
    expect(holdCause(old('something nobody wrote'))).toEqual({ kind: 'limitReached', level: 'mailbox', name: 'alice@example.com', limit: null, window: 'hour' });
  });

  it('reads the limit from every form of the reason text', () => {
    expect(limitInReason('This message has 5 recipients, more than the outgoing limit of 2 recipients/hour for domain b.test allows')).toBe(2);
    expect(limitInReason('Outgoing limit of 1000000 messages/hour for subscription s.test reached')).toBe(1_000_000);
    expect(limitInReason('Mailbox a@b.test is marked compromised; held until it is restored')).toBeNull();
  });
});
