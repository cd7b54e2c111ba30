import { AnomalyStore, type RecordedAnomaly } from '../../store/anomaly-store.js';
import type { ApiContext } from '../context.js';
import type { RouteTable } from '../route-table.js';
import { anomaliesQuery } from '../schemas.js';
import { visibleByName } from '../visibility.js';

const HOUR_MS = 3_600_000;

/** Unusual sending: the anomalies raised by mailboxes, as far as the asking person may see those mailboxes. */
export function anomalyRoutes(routes: RouteTable, context: ApiContext): void {
  routes.add({
    method: 'GET',
    path: '/anomalies',
    summary:
      'Unusual sending of mailboxes you may see, newest first: which signal (loginAddresses, recipientDomains, volumeSurge), when, the figure seen, the threshold it passed, the 7-day baseline of a surge, and whether it marked the mailbox compromised; the last `hours` hours (a day by default)',
    tag: 'events',
    query: anomaliesQuery,
    handler: ({ identity, query }): { items: RecordedAnomaly[] } => {
      const store = new AnomalyStore(context.db);
      const sinceMs = context.nowMs() - query.hours * HOUR_MS;
      const only = query.name ? new Set([query.name.toLowerCase()]) : null;
      const items: RecordedAnomaly[] = [];
      // At most 10,000 candidates, filtered by what the person may see (as the over-limit events are).
      for (const anomaly of store.list(sinceMs, 10_000, only)) {
        if (!visibleByName(context, identity, 'mailbox', anomaly.mailbox)) continue;
        items.push(anomaly);
        if (items.length >= query.limit) break;
      }
      return { items };
    },
  });
}
