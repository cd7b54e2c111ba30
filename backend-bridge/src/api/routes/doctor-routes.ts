import path from 'node:path';
import type { z } from 'zod';
import { canChangeSettings, isPleskIntegration } from '../../core/access.js';
import { judgeHealth, type ClusterFacts, type HealthReport, type PlatformReport } from '../../core/health-check.js';
import { gatherHealthFacts } from '../../health/health-facts.js';
import { recordAudit } from '../../store/audit-store.js';
import { readPlatformReport, recordPlatformReport } from '../../store/health-records.js';
import type { StoreHealthReport } from '../../store/store-health.js';
import type { ApiContext } from '../context.js';
import { forbidden } from '../errors.js';
import type { RouteTable } from '../route-table.js';
import { platformPleskBody } from '../schemas.js';

/** The daemon's default Postfix (daemon.ts DEFAULT_POSTFIX_CONFIG_DIR), for an API built without held mail. */
const DEFAULT_POSTFIX_CONFIG_DIR = '/etc/postfix';

export interface DoctorRouteOptions {
  /** The daemon's own view of its store (failures since, last check); absent: none known. */
  storeHealth?: () => StoreHealthReport;
  /** Where the API socket is, for the daemon line. */
  socketPath: string;
  /** A node of a cluster: its counting state, for the cluster line. */
  cluster?: () => ClusterFacts;
}

export function doctorRoutes(routes: RouteTable, context: ApiContext, options: DoctorRouteOptions): void {
  routes.add({
    method: 'GET',
    path: '/doctor',
    summary: 'Health view: daemon, Postfix wiring, Plesk\'s own limiting, directory sync, held mail, store check, last backup, and for a node of a cluster its counting; each line ok, warning or problem with what to do',
    tag: 'health',
    handler: async ({ identity }): Promise<HealthReport> => {
      if (!canChangeSettings(identity)) throw forbidden('Only the administrator can see the health view.');
      const file = context.db.name;
      const dataDir = path.dirname(file);
      const fault = options.storeHealth?.() ?? { ok: true as const };
      const facts = await gatherHealthFacts({
        db: context.db,
        dataDir,
        postfixConfigDir: context.held?.queue.configDir ?? DEFAULT_POSTFIX_CONFIG_DIR,
        // Answering at all is the proof that it runs.
        daemon: { running: true, socket: options.socketPath },
        // Not a check run now: that would hold up the policy service on a large store (see daemon.ts).
        store: { kind: 'daemon', file, dataDir, fault: fault.ok ? null : { operation: fault.operation, error: fault.error, since: fault.since, failures: fault.failures } },
        ...(options.cluster ? { cluster: options.cluster() } : {}),
      });
      return judgeHealth(facts, context.nowMs());
    },
  });

  routes.add<z.infer<typeof platformPleskBody>, unknown>({
    method: 'PUT',
    path: '/platform/plesk',
    summary: "The Plesk integration reports Plesk's own outgoing limiting and its mail server (after install and each resync)",
    tag: 'health',
    body: platformPleskBody,
    errors: { 403: 'only the Plesk integration reports this' },
    handler: ({ identity, body }): PlatformReport => {
      if (!isPleskIntegration(identity)) throw forbidden('Only the Plesk integration (install, resync) reports on Plesk.');
      const report: PlatformReport = { ...body, checkedAt: new Date(body.checkedAt).toISOString(), receivedAt: new Date(context.nowMs()).toISOString() };
      context.db.transaction(() => {
        const before = readPlatformReport(context.db);
        recordPlatformReport(context.db, report);
        // Every resync reports; the audit log keeps only the changes.
        if (before?.nativeLimiting !== report.nativeLimiting || before.mailServer !== report.mailServer) {
          recordAudit(context.db, identity, { action: 'platform.report', oldValue: before, newValue: report }, context.nowMs());
        }
      })();
      return report;
    },
  });
}
