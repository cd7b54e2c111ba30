import { canSee, checkLimitChange } from '../../core/access.js';
import type { ChargedObject } from '../../core/directory.js';
import type { LimitOverride } from '../../core/limits.js';
import { HeldMailError, type CompromisedMailbox, type HeldMail } from '../../enforcement/held-mail.js';
import { QUEUE_ID } from '../../postfix/queue.js';
import type { HeldMessage } from '../../store/held-store.js';
import type { ApiContext } from '../context.js';
import { ApiError, forbidden, notFound } from '../errors.js';
import type { Identity } from '../identity.js';
import type { RouteTable } from '../route-table.js';
import { heldQuery, releaseBody } from '../schemas.js';

/** A held message is visible to whoever may see the object it is charged to; mail of nobody's objects to the admin. */
function visible(context: ApiContext, identity: Identity, message: HeldMessage): boolean {
  if (identity.role === 'admin') return true;
  if (!message.chargedLevel || !message.chargedName) return false;
  const object = context.enforcer.directory.find(message.chargedLevel, message.chargedName);
  return object !== undefined && canSee(identity, object);
}

function mailboxFor(context: ApiContext, identity: Identity, name: string): ChargedObject {
  const object = context.enforcer.directory.find('mailbox', name);
  if (!object || !canSee(identity, object)) throw notFound(`Mailbox ${name.toLowerCase()}`);
  return object;
}

function checkedQueueId(raw: string): string {
  if (!QUEUE_ID.test(raw)) throw new ApiError(400, 'invalid queue id', { queueId: 'must be a Postfix queue id (letters and digits)' });
  return raw;
}

/** HeldMailError → the API's error shape. */
async function answering<T>(work: () => Promise<T> | T): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof HeldMailError) throw new ApiError(error.status, error.message);
    throw error;
  }
}

/** Held mail and compromised mailboxes: registered by the daemon, which runs next to the Postfix it acts on. */
export function heldRoutes(routes: RouteTable, context: ApiContext, held: HeldMail): void {
  const findVisible = (identity: Identity, queueId: string): HeldMessage => {
    const message = held.store.byQueueId(checkedQueueId(queueId));
    if (!message || !visible(context, identity, message)) throw notFound(`held message ${queueId}`);
    return message;
  };

  /** Held mail of an object: charged to it or to an object inside it (a domain's mailboxes), or held because it tripped. */
  const concerns = (message: HeldMessage, name: string): boolean =>
    message.chargedName === name || message.trippedName === name || held.chainOf(message).some((object) => object.name === name);

  routes.add({
    method: 'GET',
    path: '/held',
    summary: 'Held messages you may see, newest first: queue id, time, sender, object, level that tripped, reason, recipients, status; `name`: of that object and the objects inside it',
    tag: 'held mail',
    query: heldQuery,
    handler: ({ identity, query }): { items: HeldMessage[] } => {
      const items: HeldMessage[] = [];
      for (const message of held.store.list({ status: query.status === 'all' ? undefined : query.status, limit: identity.role === 'admin' ? query.limit : 10_000 })) {
        if (query.name && !concerns(message, query.name.toLowerCase())) continue;
        if (!visible(context, identity, message)) continue;
        items.push(message);
        if (items.length >= query.limit) break;
      }
      return { items };
    },
  });

  routes.add<unknown, unknown, { queueId: string }>({
    method: 'GET',
    path: '/held/:queueId',
    summary: 'One held message (the newest record of that queue id)',
    tag: 'held mail',
    handler: ({ identity, params }): HeldMessage => findVisible(identity, params.queueId),
  });

  routes.add<{ force: boolean }, unknown, { queueId: string }>({
    method: 'POST',
    path: '/held/:queueId/release',
    summary: 'Release now: within the budget for everyone (409 with the reason otherwise); with force, the administrator releases beyond the limit (counted and audited)',
    tag: 'held mail',
    body: releaseBody,
    handler: ({ identity, params, body }) =>
      answering(() => {
        const message = findVisible(identity, params.queueId);
        if (body.force && identity.role !== 'admin') throw forbidden('Only the administrator can release mail beyond the limit.');
        return held.releaseNow(message.queueId, identity, body.force);
      }),
  });

  routes.add<unknown, unknown, { queueId: string }>({
    method: 'DELETE',
    path: '/held/:queueId',
    summary: 'Delete a held message from the hold queue for good (audited)',
    tag: 'held mail',
    handler: ({ identity, params }) => answering(() => held.delete(findVisible(identity, params.queueId).queueId, identity)),
  });

  routes.add({
    method: 'GET',
    path: '/compromised',
    summary: 'Mailboxes marked compromised that you may see, with the limit a restore brings back',
    tag: 'held mail',
    handler: ({ identity }): { items: CompromisedMailbox[] } => ({
      items: held.compromised().filter((entry) => {
        const object = context.enforcer.directory.find('mailbox', entry.address);
        return identity.role === 'admin' || (object !== undefined && canSee(identity, object));
      }),
    }),
  });

  routes.add<unknown, unknown, { name: string }>({
    method: 'POST',
    path: '/mailboxes/:name/compromised',
    summary: 'Mark compromised: limit 0, the mailbox’s queued mail put on hold, people notified; undo with DELETE',
    tag: 'held mail',
    status: 201,
    handler: ({ identity, params }) =>
      answering(async () => {
        const mailbox = mailboxFor(context, identity, params.name);
        const refusal = checkLimitChange(identity, mailbox, 0, context.enforcer.currentSettings);
        if (refusal) throw new ApiError(refusal.status, refusal.error);
        return held.markCompromised(mailbox, identity);
      }),
  });

  routes.add<unknown, unknown, { name: string }>({
    method: 'DELETE',
    path: '/mailboxes/:name/compromised',
    summary: 'Restore a compromised mailbox: its limit from before comes back and its held mail leaves by the normal rules',
    tag: 'held mail',
    handler: ({ identity, params }) =>
      answering(() => {
        const mailbox = mailboxFor(context, identity, params.name);
        const entry = held.compromisedEntry(mailbox.name);
        if (!entry) throw notFound(`Compromised mark of mailbox ${mailbox.name}`);
        const previous: LimitOverride = entry.previousLimit === 'default' ? null : entry.previousLimit;
        const refusal = checkLimitChange(identity, mailbox, previous, context.enforcer.currentSettings);
        if (refusal) throw new ApiError(refusal.status, refusal.error);
        return held.restore(mailbox, identity);
      }),
  });
}
