import type { Level } from '../../core/limits.js';
import { parseDirectoryFile } from '../../core/directory-file.js';
import { recordAudit } from '../../store/audit-store.js';
import { replaceDirectory } from '../../store/directory-store.js';
import { listContacts, setContactAddress, type NotificationContact } from '../../store/notification-contacts.js';
import { recordDirectorySynced } from '../../store/health-records.js';
import { deleteObject, DirectoryConflict, upsertDomain, upsertMailbox, upsertSubscription } from '../../store/directory-sync.js';
import type { ApiContext } from '../context.js';
import { ApiError, forbidden } from '../errors.js';
import type { Identity } from '../identity.js';
import type { RouteTable } from '../route-table.js';
import { addressParam, contactBody, directoryFileBody, directorySyncBody, domainNameParam, domainSyncBody, loginParam, mailboxSyncBody, subscriptionNameParam, subscriptionSyncBody } from '../schemas.js';
import type { z } from 'zod';

const ADMIN_ONLY = 'Only the administrator (the Plesk integration) keeps the directory in sync.';
const CONFLICT = 'the parent named does not exist, or a rename would take a name that exists';

/** Runs directory changes as one audited transaction; a conflict (missing parent, rename clash) is a 409. */
async function directoryWrite<T>(context: ApiContext, identity: Identity, change: () => T): Promise<T> {
  if (identity.role !== 'admin') throw forbidden(ADMIN_ONLY);
  try {
    // Structure changes rebuild the index: rare (Plesk events), and they move objects between parents.
    return await context.sync.write(change, 'reload');
  } catch (error) {
    if (error instanceof DirectoryConflict) throw new ApiError(409, error.message);
    throw error;
  }
}

function checkParam(schema: z.ZodType<string>, value: string, field: string): string {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ApiError(400, `invalid ${field}`, { [field]: parsed.error.issues[0]?.message ?? 'invalid' });
  return parsed.data.toLowerCase();
}

export function directoryRoutes(routes: RouteTable, context: ApiContext): void {
  const audit = (identity: Identity, action: string, level: Level, name: string, value?: unknown) =>
    recordAudit(context.db, identity, { action, level, objectName: name, newValue: value }, context.nowMs());

  routes.add<z.infer<typeof subscriptionSyncBody>, unknown, { name: string }>({
    method: 'PUT',
    path: '/directory/subscriptions/:name',
    summary: 'Create or update a subscription (previousName renames it, keeping counts and limits)',
    errors: { 409: CONFLICT },
    tag: 'directory',
    body: subscriptionSyncBody,
    handler: ({ identity, params, body }) =>
      directoryWrite(context, identity, () => {
        const name = checkParam(subscriptionNameParam, params.name, 'name');
        const change = upsertSubscription(context.db, { name, ...body });
        if (change !== 'unchanged') audit(identity, `directory.${change}`, 'subscription', name, body);
        return { change };
      }),
  });

  routes.add<z.infer<typeof domainSyncBody>, unknown, { name: string }>({
    method: 'PUT',
    path: '/directory/domains/:name',
    summary: 'Create or update a domain of a subscription (previousName renames it and its mailboxes)',
    errors: { 409: CONFLICT },
    tag: 'directory',
    body: domainSyncBody,
    handler: ({ identity, params, body }) =>
      directoryWrite(context, identity, () => {
        const name = checkParam(domainNameParam, params.name, 'name');
        const change = upsertDomain(context.db, { name, ...body });
        if (change !== 'unchanged') audit(identity, `directory.${change}`, 'domain', name, body);
        return { change };
      }),
  });

  routes.add<z.infer<typeof mailboxSyncBody>, unknown, { address: string }>({
    method: 'PUT',
    path: '/directory/mailboxes/:address',
    summary: 'Create a mailbox in its domain (previousAddress renames it, keeping counts and limit)',
    errors: { 409: CONFLICT },
    tag: 'directory',
    body: mailboxSyncBody,
    handler: ({ identity, params, body }) =>
      directoryWrite(context, identity, () => {
        const address = checkParam(addressParam, params.address, 'address');
        const change = upsertMailbox(context.db, { address, ...body });
        if (change !== 'unchanged') audit(identity, `directory.${change}`, 'mailbox', address, body);
        return { change };
      }),
  });

  // The same parameter name as the PUT of each collection: OpenAPI treats /x/{a} and /x/{b} as one path.
  for (const [level, path, param] of [
    ['subscription', 'subscriptions', 'name'],
    ['domain', 'domains', 'name'],
    ['mailbox', 'mailboxes', 'address'],
  ] as const) {
    routes.add<unknown, unknown, Record<string, string>>({
      method: 'DELETE',
      path: `/directory/${path}/:${param}`,
      summary: `Delete a ${level} with everything below it (succeeds when already gone)`,
      tag: 'directory',
      status: 204,
      handler: ({ identity, params }) =>
        directoryWrite(context, identity, () => {
          const name = params[param] ?? '';
          if (deleteObject(context.db, level, name)) audit(identity, 'directory.deleted', level, name.toLowerCase());
        }),
    });
  }

  routes.add({
    method: 'PUT',
    path: '/directory',
    summary: 'Replace the whole directory (the directory file format); objects that remain keep their counts',
    tag: 'directory',
    body: directoryFileBody,
    handler: ({ identity, body }) => {
      const parsed = parseDirectoryFile(body);
      if (!parsed.ok) throw new ApiError(400, 'invalid directory file; nothing changed', Object.fromEntries(parsed.errors.map((e) => [e.field, e.message])));
      return directoryWrite(context, identity, () => {
        const summary = replaceDirectory(context.db, parsed.directory);
        recordAudit(context.db, identity, { action: 'directory.import', newValue: summary }, context.nowMs());
        recordDirectorySynced(context.db, 'file', context.nowMs());
        return summary;
      });
    },
  });

  routes.add({
    method: 'POST',
    path: '/directory/sync',
    summary: 'Many upserts and deletes in one transaction (subscriptions, then domains, then mailboxes; deletes last)',
    errors: { 409: CONFLICT },
    tag: 'directory',
    body: directorySyncBody,
    handler: ({ identity, body }) =>
      directoryWrite(context, identity, () => {
        const counts = { created: 0, updated: 0, renamed: 0, unchanged: 0, deleted: 0 };
        for (const s of body.subscriptions) counts[upsertSubscription(context.db, s)]++;
        for (const d of body.domains) counts[upsertDomain(context.db, d)]++;
        for (const m of body.mailboxes) counts[upsertMailbox(context.db, m)]++;
        for (const address of body.delete.mailboxes) if (deleteObject(context.db, 'mailbox', address)) counts.deleted++;
        for (const name of body.delete.domains) if (deleteObject(context.db, 'domain', name)) counts.deleted++;
        for (const name of body.delete.subscriptions) if (deleteObject(context.db, 'subscription', name)) counts.deleted++;
        recordAudit(context.db, identity, { action: 'directory.sync', newValue: counts }, context.nowMs());
        recordDirectorySynced(context.db, 'sync', context.nowMs());
        return counts;
      }),
  });

  // Where notifications for a reseller's or customer's objects go (settings: notifyReseller, notifyCustomer).
  routes.add({
    method: 'GET',
    path: '/directory/contacts',
    summary: 'Notification addresses of reseller and customer logins',
    tag: 'directory',
    handler: ({ identity }): { items: NotificationContact[] } => {
      if (identity.role !== 'admin') throw forbidden(ADMIN_ONLY);
      return { items: listContacts(context.db) };
    },
  });

  const writeContact = async (identity: Identity, rawLogin: string, address: string | null) => {
    if (identity.role !== 'admin') throw forbidden(ADMIN_ONLY);
    const parsed = loginParam.safeParse(rawLogin);
    if (!parsed.success) throw new ApiError(400, 'invalid login', { login: parsed.error.issues[0]?.message ?? 'invalid' });
    const login = parsed.data;
    const change = await context.sync.write(
      () => {
        const before = setContactAddress(context.db, login, address);
        if (before === address) return 'unchanged';
        recordAudit(context.db, identity, { action: 'contact.set', objectName: login, oldValue: before, newValue: address }, context.nowMs());
        return before === null ? 'created' : address === null ? 'deleted' : 'updated';
      },
      () => undefined,
    );
    return { change };
  };

  routes.add<z.infer<typeof contactBody>, unknown, { login: string }>({
    method: 'PUT',
    path: '/directory/contacts/:login',
    summary: "Set where a reseller's or customer's notifications go",
    tag: 'directory',
    body: contactBody,
    handler: ({ identity, params, body }) => writeContact(identity, params.login, body.address.toLowerCase()),
  });

  routes.add<unknown, unknown, { login: string }>({
    method: 'DELETE',
    path: '/directory/contacts/:login',
    summary: 'Remove the notification address of a login (succeeds when there is none)',
    tag: 'directory',
    status: 204,
    handler: async ({ identity, params }) => {
      await writeContact(identity, params.login, null);
    },
  });
}
