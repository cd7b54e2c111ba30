import type { Level, Limit } from './limits.js';

/** What one message costs: one per message, or one per recipient. */
export type CountingUnit = 'messages' | 'recipients';

export interface ServerSettings {
  /** "Switch on limitations on outgoing email messages". When off, mail passes but is still counted. */
  enabled: boolean;
  defaults: Record<Level, Limit>;
  countingUnit: CountingUnit;
  /** Whether customers may set the limits of their own domains and mailboxes (below their parent's). */
  customersMayChangeLimits: boolean;
}

export const INITIAL_SETTINGS: ServerSettings = {
  enabled: true,
  defaults: { mailbox: 100, domain: 1000, subscription: 5000 },
  countingUnit: 'messages',
  customersMayChangeLimits: true,
};

/** The budget one message uses: at least 1, so a request without a recipient count still counts. */
export function messageWeight(unit: CountingUnit, recipientCount: number): number {
  if (unit === 'messages') return 1;
  return Number.isInteger(recipientCount) && recipientCount > 0 ? recipientCount : 1;
}
