import { describe, expect, it } from 'vitest';
import type { QueuedMessage } from './queue.js';
import { candidatesFor, matchRequeued, messageIdFromHeaders, type RequeuedOriginal } from './requeued.js';

function entry(queue_id: string, queue_name: string, sender: string, arrival_time: number | undefined): QueuedMessage {
  return { queue_id, queue_name, sender, arrival_time, recipients: [{ address: 'x@remote.test' }] };
}

const alice1: RequeuedOriginal = { queueId: 'AAA111', sender: 'alice@example.com', arrivalTime: 1000, messageId: '<one@example.com>' };
const alice2: RequeuedOriginal = { queueId: 'AAA222', sender: 'alice@example.com', arrivalTime: 1000, messageId: '<two@example.com>' };

describe('messageIdFromHeaders', () => {
  it('reads the Message-ID of postcat -h output, in any case, unfolded', () => {
    const postcat = '*** HEADER EXTRACTED hold/ABC ***\nReceived: from x\n\tby y\nSubject: s\nMessage-Id: <20261128.ABC@host>\n*** MESSAGE FILE END hold/ABC ***\n';
    expect(messageIdFromHeaders(postcat)).toBe('<20261128.ABC@host>');
    expect(messageIdFromHeaders('MESSAGE-ID:\n <folded@host>\nTo: x\n')).toBe('<folded@host>');
  });

  it('is null without one', () => {
    expect(messageIdFromHeaders('Subject: no id\nX-Message-ID-Like: <not@it>\n')).toBeNull();
    expect(messageIdFromHeaders('Message-ID:   \n')).toBeNull();
  });
});

describe('candidatesFor', () => {
  it('takes only new entries out of hold and maildrop with the same sender and arrival time', () => {
    const queued = [
      entry('AAA111', 'maildrop', 'alice@example.com', 1000),
      entry('NEW1', 'active', 'Alice@Example.com', 1000),
      entry('NEW2', 'hold', 'alice@example.com', 1000),
      entry('NEW3', 'deferred', 'alice@example.com', 1001),
      entry('NEW4', 'incoming', 'bob@example.com', 1000),
      entry('NEW5', 'deferred', 'alice@example.com', undefined),
    ];
    expect(candidatesFor(alice1, queued, new Set(['AAA111'])).map((q) => q.queue_id)).toEqual(['NEW1']);
  });
});

describe('matchRequeued', () => {
  it('pairs each original with the one new entry of its sender, arrival time and Message-ID', () => {
    const queued = [entry('NEW1', 'active', 'alice@example.com', 1000), entry('NEW2', 'deferred', 'alice@example.com', 1000)];
    const ids = new Map([
      ['NEW1', '<two@example.com>'],
      ['NEW2', '<one@example.com>'],
    ]);
    expect(matchRequeued([alice1, alice2], queued, ids)).toEqual(
      new Map([
        ['AAA111', 'NEW2'],
        ['AAA222', 'NEW1'],
      ]),
    );
  });

  it('leaves unpaired what is gone already, or ambiguous', () => {
    // Already delivered: nothing to point at.
    expect(matchRequeued([alice1], [], new Map()).size).toBe(0);
    // Two new entries with the same Message-ID: neither is taken.
    const twins = [entry('NEW1', 'active', 'alice@example.com', 1000), entry('NEW2', 'active', 'alice@example.com', 1000)];
    expect(matchRequeued([alice1], twins, new Map([['NEW1', '<one@example.com>'], ['NEW2', '<one@example.com>']])).size).toBe(0);
    // Two originals without Message-ID claiming the same single entry: neither gets it.
    const bare1 = { ...alice1, messageId: null };
    const bare2 = { ...alice2, messageId: null };
    expect(matchRequeued([bare1, bare2], [entry('NEW1', 'active', 'alice@example.com', 1000)], new Map([['NEW1', null]])).size).toBe(0);
  });

  it('pairs a message without Message-ID only with an entry without one', () => {
    const bare = { ...alice1, messageId: null };
    const queued = [entry('NEW1', 'active', 'alice@example.com', 1000), entry('NEW2', 'active', 'alice@example.com', 1000)];
    expect(matchRequeued([bare], queued, new Map([['NEW1', '<other@example.com>'], ['NEW2', null]]))).toEqual(new Map([['AAA111', 'NEW2']]));
  });
});
