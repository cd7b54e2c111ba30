import { describe, expect, it } from 'vitest';
import type { WindowView } from './decision.js';
import { counterKey, type ChargedObject } from './directory.js';
import type { Level, Limit } from './limits.js';
import { INITIAL_SETTINGS } from './settings.js';
import { heldLeaving } from './held-release-time.js';

function object(level: Level, id: number, name: string, limit: Limit, parent: ChargedObject | null): ChargedObject {
  return { level, id, name, counterKey: counterKey(level, id), own: null, plan: null, lock: null, effective: { limit, source: 'default' }, daily: { own: null, plan: null, effective: { limit: 'unlimited', source: 'default' } }, recipients: { own: null, plan: null, effective: { limit: 'unlimited', source: 'default' } }, parent, owner: { customer: 'mary', reseller: null } };
}

function chainOf(mailboxLimit: Limit, domainLimit: Limit = 'unlimited'): ChargedObject[] {
  const domain = object('domain', 1, 'shop.test', domainLimit, null);
  return [object('mailbox', 1, 'orders@shop.test', mailboxLimit, domain), domain];
}

/** Usage per object; the oldest unit leaves the window at `firstFreesIn`, one more every 60 s after it. */
function windowWith(used: Map<ChargedObject, number>, firstFreesIn: number): WindowView {
  return {
    used: (o) => used.get(o) ?? 0,
    secondsUntilFreed: (o, amount) => ((used.get(o) ?? 0) >= amount ? firstFreesIn + (amount - 1) * 60 : null),
  };
}

const never = () => false;

describe('heldLeaving: when a held message leaves, as of now', () => {
  it('held with "about 60 minutes" 12 minutes ago: now about 48 minutes', () => {
    const chain = chainOf(3);
    expect(heldLeaving(chain, 1, 0, 0, windowWith(new Map([[chain[0]!, 3]]), 48 * 60), INITIAL_SETTINGS, never)).toEqual({ leaves: 'automatically', inSeconds: 48 * 60 });
  });

  it('after its mailbox was marked compromised: waits for a person, and says why', () => {
    const chain = chainOf(0);
    expect(heldLeaving(chain, 1, 0, 0, windowWith(new Map([[chain[0]!, 3]]), 600), INITIAL_SETTINGS, (m) => m === chain[0])).toEqual({
      leaves: 'byPerson',
      because: 'compromised',
      level: 'mailbox',
      name: 'orders@shop.test',
    });
    expect(heldLeaving(chain, 1, 0, 0, windowWith(new Map(), 600), INITIAL_SETTINGS, never)).toMatchObject({ leaves: 'byPerson', because: 'limitZero' });
  });

  it('a message larger than a limit waits for a person', () => {
    expect(heldLeaving(chainOf(3), 5, 0, 0, windowWith(new Map(), 60), INITIAL_SETTINGS, never)).toMatchObject({ leaves: 'byPerson', because: 'tooLarge' });
  });

  it('the tighter level decides: a domain whose oldest message frees later', () => {
    const chain = chainOf(3, 5);
    const window = windowWith(new Map([[chain[0]!, 1], [chain[1]!, 5]]), 900);
    expect(heldLeaving(chain, 1, 0, 0, window, INITIAL_SETTINGS, never)).toEqual({ leaves: 'automatically', inSeconds: 900 });
  });

  it('older held messages of the same sender leave first', () => {
    const chain = chainOf(3);
    const window = windowWith(new Map([[chain[0]!, 3]]), 600);
    expect(heldLeaving(chain, 1, 2, 2, window, INITIAL_SETTINGS, never)).toEqual({ leaves: 'automatically', inSeconds: 600 + 2 * 60 });
    expect(heldLeaving(chain, 1, 5, 5, window, INITIAL_SETTINGS, never)).toEqual({ leaves: 'afterOthers', ahead: 5 });
  });

  it('room now, limits switched off, or nobody limited: at the next pass', () => {
    const chain = chainOf(3);
    expect(heldLeaving(chain, 1, 0, 0, windowWith(new Map([[chain[0]!, 1]]), 600), INITIAL_SETTINGS, never)).toEqual({ leaves: 'automatically', inSeconds: 0 });
    expect(heldLeaving(chainOf(0), 1, 0, 0, windowWith(new Map(), 600), { ...INITIAL_SETTINGS, enabled: false }, never)).toEqual({ leaves: 'automatically', inSeconds: 0 });
    expect(heldLeaving([], 1, 0, 0, windowWith(new Map(), 600), INITIAL_SETTINGS, never)).toEqual({ leaves: 'automatically', inSeconds: 0 });
  });
});
