import { canSee, checkHeldMailAction, checkLimitChange, mayActOnHeldMail, mayChangeLimit } from '../../core/access.js';
import type { ChargedObject } from '../../core/directory.js';
import type { LimitOverride } from '../../core/limits.js';
import { HeldMailError, type CompromisedMailbox, type HeldMail } from '../../enforcement/held-mail.js';
import { QUEUE_ID } from '../../postfix/queue.js';
import type { HeldMessage } from '../../store/held-store.js';
import type { ApiContext } from '../context.js';
import { HeldLeavingNow, type HeldLeavingView } from '../held-leaving.js';
import { ApiError, forbidden, notFound, throwIfRefused } from '../errors.js';
import type { Identity } from '../identity.js';
import type { RouteTable } from '../route-table.js';
import { heldQuery, releaseBody } from '../schemas.js';

/**
 * A held message as the API answers it: the record, and what the asking person may do with it while it is held,
 * so a screen offers only what the API will not refuse (as `mayChangeLimit` does on object rows).
 */
export interface HeldMessageView extends HeldMessage, HeldLeavingView {
  /** Release now (within the budget; beyond it only the administrator, with `force`). */
  mayRelease: boolean;
  mayDelete: boolean;
  /** Mark the mailbox it counts against compromised; false when it counts against no mailbox. */
  mayMarkCompromised: boolean;
}

/** A compromised mark as the API answers it, with whether the asking person may restore the mailbox. */
export interface CompromisedMailboxView extends CompromisedMailbox {
  mayRestore: boolean;
}

/** The object a held message counts against, if it is (still) in the directory. */
function chargedObject(context: ApiContext, message: HeldMessage): ChargedObject | undefined {
  if (!message.chargedLevel || !message.chargedName) return undefined;
  return context.enforcer.directory.find(message.chargedLevel, message.chargedName);
}

/**
 * A held message is visible to whoever may see the object it is charged to; mail of nobody's objects to the
 * admin. Plesk's "Manage outgoing mail limits" does not hide it (see checkHeldMailAction for why).
 */
function visible(identity: Identity, object: ChargedObject | undefined): boolean {
  return identity.role === 'admin' || (object !== undefined && canSee(identity, object));
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
  const findVisible = (identity: Identity, queueId: string): { message: HeldMessage; object: ChargedObject | undefined } => {
    const message = held.store.byQueueId(checkedQueueId(queueId));
    const object = message ? chargedObject(context, message) : undefined;
    if (!message || !visible(identity, object)) throw notFound(`held message ${queueId}`);
    return { message, object };
  };

  const heldView = (identity: Identity, message: HeldMessage, object: ChargedObject | undefined, leaving = new HeldLeavingNow(context, held)): HeldMessageView => ({
    ...message,
    mayRelease: mayActOnHeldMail(identity, object, 'release'),
    mayDelete: mayActOnHeldMail(identity, object, 'delete'),
    mayMarkCompromised: object?.level === 'mailbox' && mayChangeLimit(identity, object, context.enforcer.currentSettings),
    ...leaving.view(message),
  });

  const compromisedView = (identity: Identity, entry: CompromisedMailbox): CompromisedMailboxView => {
    const mailbox = context.enforcer.directory.find('mailbox', entry.address);
    return { ...entry, mayRestore: mailbox !== undefined && canSee(identity, mailbox) && mayChangeLimit(identity, mailbox, context.enforcer.currentSettings) };
  };

  /** Held mail of an object: charged to it or to an object inside it (a domain's mailboxes), or held because it tripped. */
  const concerns = (message: HeldMessage, name: string): boolean =>
    message.chargedName === name || message.trippedName === name || held.chainOf(message).some((object) => object.name === name);

  routes.add({
    method: 'GET',
    path: '/held',
    summary: 'Held messages you may see, newest first: queue id, time, sender, object, level that tripped, reason, recipients, status, and whether you may release, delete or mark its mailbox compromised; `name`: of that object and the objects inside it',
    tag: 'held mail',
    query: heldQuery,
    handler: ({ identity, query }): { items: HeldMessageView[] } => {
      const items: HeldMessageView[] = [];
      const leaving = new HeldLeavingNow(context, held);
      for (const message of held.store.list({ status: query.status === 'all' ? undefined : query.status, limit: identity.role === 'admin' ? query.limit : 10_000 })) {
        if (query.name && !concerns(message, query.name.toLowerCase())) continue;
        const object = chargedObject(context, message);
        if (!visible(identity, object)) continue;
        items.push(heldView(identity, message, object, leaving));
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
    handler: ({ identity, params }): HeldMessageView => {
      const { message, object } = findVisible(identity, params.queueId);
      return heldView(identity, message, object);
    },
  });

  routes.add<{ force: boolean }, unknown, { queueId: string }>({
    method: 'POST',
    path: '/held/:queueId/release',
    summary: 'Release now: within the budget for everyone who may act on it (409 with the reason otherwise); with force, the administrator releases beyond the limit (counted and audited)',
    tag: 'held mail',
    errors: {
      409: 'no budget left (the reason says when it frees), or the message is no longer in the hold queue',
      502: 'Postfix could not be asked (postsuper, postqueue)',
    },
    body: releaseBody,
    handler: ({ identity, params, body }) =>
      answering(async () => {
        const { message, object } = findVisible(identity, params.queueId);
        throwIfRefused(checkHeldMailAction(identity, object, 'release'));
        if (body.force && identity.role !== 'admin') throw forbidden('Only the administrator can release mail beyond the limit.');
        return heldView(identity, await held.releaseNow(message.queueId, identity, body.force), object);
      }),
  });

  routes.add<unknown, unknown, { queueId: string }>({
    method: 'DELETE',
    path: '/held/:queueId',
    summary: 'Delete a held message from the hold queue for good (audited)',
    tag: 'held mail',
    errors: { 409: 'the message is no longer in the hold queue', 502: 'Postfix could not be asked (postsuper)' },
    handler: ({ identity, params }) =>
      answering(async () => {
        const { message, object } = findVisible(identity, params.queueId);
        throwIfRefused(checkHeldMailAction(identity, object, 'delete'));
        return heldView(identity, await held.delete(message.queueId, identity), object);
      }),
  });

  routes.add({
    method: 'GET',
    path: '/compromised',
    summary: 'Mailboxes marked compromised that you may see, with the limit a restore brings back and whether you may restore it',
    tag: 'held mail',
    handler: ({ identity }): { items: CompromisedMailboxView[] } => ({
      items: held
        .compromised()
        .filter((entry) => visible(identity, context.enforcer.directory.find('mailbox', entry.address)))
        .map((entry) => compromisedView(identity, entry)),
    }),
  });

  routes.add<unknown, unknown, { name: string }>({
    method: 'POST',
    path: '/mailboxes/:name/compromised',
    summary: 'Mark compromised: limit 0, the mailbox’s queued mail put on hold, people notified; undo with DELETE',
    tag: 'held mail',
    status: 201,
    errors: { 409: 'the mailbox is marked compromised already' },
    handler: ({ identity, params }) =>
      answering(async () => {
        const mailbox = mailboxFor(context, identity, params.name);
        throwIfRefused(checkLimitChange(identity, mailbox, 0, context.enforcer.currentSettings));
        const { entry, heldNow } = await held.markCompromised(mailbox, identity);
        return { entry: compromisedView(identity, entry), heldNow };
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
        throwIfRefused(checkLimitChange(identity, mailbox, previous, context.enforcer.currentSettings));
        return compromisedView(identity, held.restore(mailbox, identity));
      }),
  });
}
