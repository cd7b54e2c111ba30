import { canSee, checkHeldMailAction, checkLimitChange, mayActOnHeldMail, mayChangeLimit } from '../../core/access.js';
import type { ChargedObject } from '../../core/directory.js';
import type { LimitOverride } from '../../core/limits.js';
import { HeldMailError, type CompromisedMailbox, type HeldMail } from '../../enforcement/held-mail.js';
import { QUEUE_ID } from '../../postfix/queue.js';
import type { HeldMessage, HeldStatus } from '../../store/held-store.js';
import type { ApiContext } from '../context.js';
import { HeldLeavingNow, type HeldLeavingView } from '../held-leaving.js';
import { ApiError, notFound, throwIfRefused } from '../errors.js';
import type { Identity } from '../identity.js';
import type { RouteTable } from '../route-table.js';
import { heldBulkBody, heldQuery, releaseBody } from '../schemas.js';

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

/** One message of a bulk action: done, or why not (the status the single action would have answered). */
export interface HeldBulkResult {
  queueId: string;
  ok: boolean;
  /** The message's status afterwards, when it is known. */
  status?: HeldStatus;
  httpStatus?: number;
  error?: string;
  /** What the refusal is, for the screens' own words (see core/hold-cause.ts RefusalCode). */
  code?: string;
  params?: Record<string, unknown>;
}

const FORCE_ADMIN_ONLY = () =>
  new ApiError(403, 'Only the administrator can release mail beyond the limit.', undefined, { code: 'forceAdminOnly', params: {} });

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
    if (error instanceof HeldMailError) throw new ApiError(error.status, error.message, undefined, error.refusal);
    throw error;
  }
}

/** Held mail and compromised mailboxes: registered by the daemon, which runs next to the Postfix it acts on. */
export function heldRoutes(routes: RouteTable, context: ApiContext, held: HeldMail): void {
  const findVisible = (identity: Identity, queueId: string): { message: HeldMessage; object: ChargedObject | undefined } => {
    const message = held.store.byQueueId(checkedQueueId(queueId));
    const object = message ? chargedObject(context, message) : undefined;
    if (!message || !visible(identity, object)) throw new ApiError(404, `held message ${queueId} not found`, undefined, { code: 'heldNotFound', params: { queueId } });
    return { message, object };
  };

  const heldView = (
    identity: Identity,
    message: HeldMessage,
    object: ChargedObject | undefined,
    leaving = new HeldLeavingNow(context, held),
  ): HeldMessageView => ({
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
    handler: async ({ identity, query }): Promise<{ items: HeldMessageView[] }> => {
      const shown: Array<{ message: HeldMessage; object: ChargedObject | undefined }> = [];
      for (const message of held.store.list({ status: query.status === 'all' ? undefined : query.status, limit: identity.role === 'admin' ? query.limit : 10_000 })) {
        if (query.name && !concerns(message, query.name.toLowerCase())) continue;
        const object = chargedObject(context, message);
        if (!visible(identity, object)) continue;
        shown.push({ message, object });
        if (shown.length >= query.limit) break;
      }
      const messages = held.withSummaries(shown.map((s) => s.message));
      const leaving = new HeldLeavingNow(context, held);
      return { items: shown.map(({ object }, i) => heldView(identity, messages[i]!, object, leaving)) };
    },
  });

  routes.add<unknown, unknown, { queueId: string }>({
    method: 'GET',
    path: '/held/:queueId',
    summary: 'One held message (the newest record of that queue id)',
    tag: 'held mail',
    handler: async ({ identity, params }): Promise<HeldMessageView> => {
      const { message, object } = findVisible(identity, params.queueId);
      return heldView(identity, held.withSummaries([message])[0]!, object);
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
        if (body.force && identity.role !== 'admin') throw FORCE_ADMIN_ONLY();
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

  /** One message of a bulk action, checked exactly as the single action checks it; failures are its result. */
  const bulkOne = async (queueId: string, work: () => Promise<HeldStatus>): Promise<HeldBulkResult> => {
    try {
      return { queueId, ok: true, status: await answering(work) };
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      return {
        queueId,
        ok: false,
        httpStatus: error.status,
        error: error.message,
        ...(error.refusal ?? {}),
        ...(error.status === 404 ? {} : { status: held.store.byQueueId(queueId)?.status ?? 'gone' }),
      };
    }
  };

  routes.add({
    method: 'POST',
    path: '/held/bulk',
    summary:
      'Release now, delete, or mark compromised (the mailboxes they count against) up to 500 held messages in one request: each is checked against your rights exactly as the single action, and answered one by one (`ok`, or the status and error the single action would answer); each change is audited',
    tag: 'held mail',
    body: heldBulkBody,
    errors: { 502: 'Postfix could not be asked for any of them' },
    handler: async ({ identity, body }): Promise<{ results: HeldBulkResult[]; done: number; failed: number }> => {
      if (body.force && identity.role !== 'admin') throw FORCE_ADMIN_ONLY();
      const results: HeldBulkResult[] = [];
      // Oldest first, as the worker releases: with little budget, the mail that waited longest goes first.
      const ordered = [...new Set(body.queueIds)]
        .map((queueId) => ({ queueId, heldAtMs: held.store.byQueueId(queueId)?.heldAtMs ?? 0 }))
        .sort((a, b) => a.heldAtMs - b.heldAtMs)
        .map((entry) => entry.queueId);
      if (body.action !== 'compromise') {
        // Each message is checked first exactly as the single action; those allowed go to Postfix together.
        const checked = new Map<string, HeldBulkResult>();
        for (const queueId of ordered) {
          const result = await bulkOne(queueId, () => {
            const { message, object } = findVisible(identity, queueId);
            throwIfRefused(checkHeldMailAction(identity, object, body.action === 'release' ? 'release' : 'delete'));
            return Promise.resolve(message.status);
          });
          if (!result.ok) checked.set(queueId, result);
        }
        const allowed = ordered.filter((queueId) => !checked.has(queueId));
        const outcomes = allowed.length === 0 ? new Map() : body.action === 'release' ? await held.releaseMany(allowed, identity, body.force) : await held.deleteMany(allowed, identity);
        for (const queueId of ordered) {
          const refused = checked.get(queueId);
          if (refused) {
            results.push(refused);
            continue;
          }
          const outcome = outcomes.get(queueId);
          results.push(
            await bulkOne(queueId, () => {
              if (outcome instanceof HeldMailError || outcome === undefined) throw outcome ?? new HeldMailError(404, `held message ${queueId} not found`);
              return Promise.resolve(outcome.status);
            }),
          );
        }
      }
      const marked = new Map<string, HeldBulkResult>();
      for (const queueId of body.action === 'compromise' ? ordered : []) {
        results.push(
          await bulkOne(queueId, async () => {
            const { message, object } = findVisible(identity, queueId);
            if (object?.level !== 'mailbox') throw new ApiError(409, `message ${queueId} counts against no email address`, undefined, { code: 'noEmailAddress', params: { queueId } });
            // Several selected messages of one mailbox mark it once; an earlier mark is no failure.
            const earlier = marked.get(object.name);
            if (earlier && !earlier.ok) throw new ApiError(earlier.httpStatus ?? 409, earlier.error ?? 'not marked');
            if (!earlier && !held.compromisedEntry(object.name)) {
              throwIfRefused(checkLimitChange(identity, object, 0, context.enforcer.currentSettings));
              await held.markCompromised(object, identity);
            }
            return message.status;
          }),
        );
        const name = held.store.byQueueId(queueId)?.chargedName;
        if (name && !marked.has(name)) marked.set(name, results[results.length - 1]!);
      }
      const done = results.filter((r) => r.ok).length;
      return { results, done, failed: results.length - done };
    },
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
