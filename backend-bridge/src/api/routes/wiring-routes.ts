import { canChangeSettings } from '../../core/access.js';
import type { WiringCheckOutcome } from '../../postfix/wiring-guard.js';
import { forbidden } from '../errors.js';
import type { RouteTable } from '../route-table.js';

/**
 * For Plesk's mail repair (plib/hooks/RepairMail.php): check the Postfix wiring now instead of at the next
 * timer, and put back what is missing. It only ever restores what `postfix wire` wrote, so asking cannot wire a
 * Postfix the administrator did not wire.
 */
export function wiringRoutes(routes: RouteTable, guard: { check(): Promise<WiringCheckOutcome> }): void {
  routes.add({
    method: 'POST',
    path: '/postfix/wiring/check',
    summary: "Check the daemon's entries in main.cf now and put back any that another program removed (admin)",
    tag: 'postfix',
    handler: async ({ identity }): Promise<WiringCheckOutcome> => {
      if (!canChangeSettings(identity)) throw forbidden('Only the administrator can have the Postfix wiring checked.');
      return guard.check();
    },
  });
}
