import { canChangeSettings } from '../../core/access.js';
import { limitsMode, type LimitsMode } from '../../core/monitor-mode.js';
import type { ServerSettings } from '../../core/settings.js';
import { recordAudit } from '../../store/audit-store.js';
import { readSettings, updateSettings } from '../../store/settings-store.js';
import type { ApiContext } from '../context.js';
import { ApiError, forbidden } from '../errors.js';
import type { RouteTable } from '../route-table.js';
import { settingsPatchBody } from '../schemas.js';

/** The settings as stored, with the mode they make (core/monitor-mode.ts), so no client works it out itself. */
export type SettingsAnswer = ServerSettings & { mode: LimitsMode };

function withMode(settings: ServerSettings): SettingsAnswer {
  return { ...settings, mode: limitsMode(settings) };
}

const ADMIN_ONLY = 'Only the administrator can see or change the server settings.';

export function settingsRoutes(routes: RouteTable, context: ApiContext): void {
  routes.add({
    method: 'GET',
    path: '/settings',
    summary: 'Server settings: switch, default limits per level, counting unit, customer permission',
    tag: 'settings',
    handler: ({ identity }): SettingsAnswer => {
      if (!canChangeSettings(identity)) throw forbidden(ADMIN_ONLY);
      return withMode(context.enforcer.currentSettings);
    },
  });

  routes.add({
    method: 'PATCH',
    path: '/settings',
    summary: 'Change some server settings (only the fields given)',
    tag: 'settings',
    body: settingsPatchBody,
    handler: async ({ identity, body }): Promise<SettingsAnswer> => {
      if (!canChangeSettings(identity)) throw forbidden(ADMIN_ONLY);
      if (body.mode !== undefined && body.enabled !== undefined) throw new ApiError(400, 'invalid body', { mode: 'give mode or enabled, not both' });
      const after = await context.sync.write(
        () => {
          const before = readSettings(context.db);
          const after = updateSettings(context.db, body);
          recordAudit(context.db, identity, { action: 'settings.update', oldValue: before, newValue: after }, context.nowMs());
          return after;
        },
        (after) => context.enforcer.applySettings(after),
      );
      return withMode(after);
    },
  });
}
