import { describe, expect, it } from 'vitest';
import { mailBody, mailSubject, type Notification } from './notification.js';

const REACHED: Notification = {
  kind: 'limit-reached',
  wouldHaveBeen: null,
  atMs: 1_800_000_000_000,
  level: 'mailbox',
  name: 'alice@example.com',
  window: 'hour',
  limit: 2,
  unit: 'messages',
  sent: 2,
  held: 1,
  topRecipientDomains: [],
  reason: 'Outgoing limit of 2 messages/hour for mailbox alice@example.com reached; message held, sent automatically in about 59 minutes',
  freesInSeconds: 3540,
  link: 'https://panel.example/held',
};

describe('notifications in monitor only mode and early warnings', () => {
  it('a limit reached in monitor only mode says the mail would have been held, and was sent', () => {
    const monitored: Notification = { ...REACHED, wouldHaveBeen: 'held', held: 0, reason: 'Monitor only: this message would have been held (Outgoing limit of 2 messages/hour for mailbox alice@example.com reached); it was sent' };
    expect(mailSubject(monitored)).toBe('Monitor only: Outgoing limit reached: mailbox alice@example.com (2 messages per hour); mail would have been held');
    const body = mailBody(monitored, '1h');
    expect(body).toContain('Limits are in monitor only mode: its messages over the limit were sent; with limits on they would have been held.');
    expect(body).not.toContain('held mail is then sent automatically');
    expect(mailSubject({ ...monitored, wouldHaveBeen: 'deferred' })).toMatch(/mail would have been deferred$/);
  });

  it('enforced notifications are as they were', () => {
    expect(mailSubject(REACHED)).toBe('Outgoing limit reached: mailbox alice@example.com (2 messages per hour)');
    expect(mailBody(REACHED, '1h')).not.toContain('monitor only');
  });

  it('an early warning names the share and the window, says nothing is held yet and how often it comes', () => {
    const warning: Notification = { ...REACHED, kind: 'early-warning', window: 'day', limit: 500, sent: 400, held: 0, reason: 'mailbox alice@example.com reached 80 % of its daily limit (400 of 500 messages)' };
    expect(mailSubject(warning)).toBe('Outgoing mail: mailbox alice@example.com reached 80 % of its daily limit (400 of 500 messages)');
    const body = mailBody(warning, '1h');
    expect(body).toContain('The mailbox alice@example.com reached 80 % of its daily limit (400 of 500 messages).');
    expect(body).toContain('Sent in the last 24 h: 400');
    expect(body).toContain('You get at most one such message per object every day.');
    expect(body).not.toContain('Budget frees');
  });
});
