import { canSee, checkHeldMailAction, checkLimitChange, mayActOnHeldMail, mayChangeLimit } from '../../core/access.js';
import type { ChargedObject } from '../../core/directory.js';
import type { LimitOverride } from '../../core/limits.js';
import { HeldMailError, type CompromisedMailbox, type HeldMail } from '../../enforcement/held-mail.js';
import { QUEUE_ID } from '../../postfix/queue.js';
import type { HeldMessage, HeldStatus } from '../../store/held-store.js';
import type { ApiContext } from '../context.js';
import { HeldLeavingNow, leavingOnNode, type HeldLeavingView } from '../held-leaving.js';
import { ApiError, notFound, throwIfRefused } from '../errors.js';
import type { Identity } from '../identity.js';
import type { RouteTable } from '../route-table.js';
import { heldBulkBody, heldMessageQuery, heldQuery, releaseBody } from '../schemas.js';
import { NodeUnansweredError, type HeldReply, type HeldRequest, type NodeHeldSummary, type PublishedHeld } from '../../cluster/cluster-held.js';
import type { Level } from '../../core/limits.js';
import { heldCountsByCharged } from '../../store/held-counts.js';
import { readHeldFacts } from '../../store/health-records.js';
import type { z } from 'zod';

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
  /** In a cluster: the server whose Postfix holds it (absent on a single server). */
  node?: string;
}

/** In a cluster, what a listing says of each other server: how many it holds, how many of them it published. */
export interface HeldClusterListing {
  node: string;
  nodes: NodeHeldSummary[];
  /**
   * How many held messages each server holds (this one first) that the asker may see, whatever the list's
   * filters and length: the cluster's count is their sum. Only this server's while Redis cannot be read.
   */
  heldByNode: Array<{ node: string; count: number }>;
  /** Set when the other servers' held mail could not be read (Redis away): only this server's is listed. */
  unreachable?: string;
}

/** A compromised mark as the API answers it, with whether the asking person may restore the mailbox. */
export interface CompromisedMailboxView extends CompromisedMailbox {
  mayRestore: boolean;
}

/** One message of a bulk action: done, or why not (the status the single action would have answered). */
export interface HeldBulkResult {
  queueId: string;
  /** In a cluster: the server that holds it. */
  node?: string;
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

/** The holding server did not answer, or Redis could not carry the request: 503 naming the server. */
function unanswered(node: string, error: unknown): ApiError {
  const message = error instanceof NodeUnansweredError ? error.message : `server ${node}, which holds the message, could not be asked through the cluster's Redis: ${(error as Error).message}; nothing was done`;
  return new ApiError(503, message, undefined, { code: 'nodeUnanswered', params: { node } });
}

/** A holding server's answer as this server's: its body, or its error with the same status and code. */
function fromReply(reply: HeldReply): unknown {
  if (reply.ok) return reply.body;
  throw new ApiError(reply.status, reply.error, undefined, reply.refusal);
}

type BulkBody = z.infer<typeof heldBulkBody>;

/**
 * What the held-mail routes do, apart from HTTP: the routes call it for this server's mail, and in a cluster it
 * answers the requests other servers send about this server's mail, with the asker's identity and exactly the
 * same checks (audited here, where it is carried out).
 */
export function heldActions(context: ApiContext, held: HeldMail) {
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
    leaving: Pick<HeldLeavingNow, 'view'> = new HeldLeavingNow(context, held),
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

  const release = async (identity: Identity, queueId: string, force: boolean): Promise<HeldMessageView> =>
    answering(async () => {
      const { message, object } = findVisible(identity, queueId);
      throwIfRefused(checkHeldMailAction(identity, object, 'release'));
      if (force && identity.role !== 'admin') throw FORCE_ADMIN_ONLY();
      const released = await held.releaseNow(message.queueId, identity, force);
      await context.heldChanged?.();
      return heldView(identity, released, object);
    });

  const remove = async (identity: Identity, queueId: string): Promise<HeldMessageView> =>
    answering(async () => {
      const { message, object } = findVisible(identity, queueId);
      throwIfRefused(checkHeldMailAction(identity, object, 'delete'));
      const deleted = await held.delete(message.queueId, identity);
      await context.heldChanged?.();
      return heldView(identity, deleted, object);
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

  /** A bulk action on this server's held mail. */
  const bulk = async (identity: Identity, body: Omit<BulkBody, 'node'>): Promise<HeldBulkResult[]> => {
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
    if (results.some((r) => r.ok)) await context.heldChanged?.();
    return results;
  };

  /** Another server's request about this server's held mail: carried out as this server's own API would. */
  const answerRequest = async (identity: Identity, request: HeldRequest): Promise<HeldReply> => {
    try {
      const body =
        request.action === 'release'
          ? await release(identity, request.queueId, request.force)
          : request.action === 'delete'
            ? await remove(identity, request.queueId)
            : { results: await bulk(identity, { action: request.bulk, queueIds: request.queueIds, force: request.force }) };
      return { ok: true, body };
    } catch (error) {
      if (error instanceof ApiError) return { ok: false, status: error.status, error: error.message, ...(error.refusal ? { refusal: error.refusal } : {}) };
      throw error;
    }
  };

  return { findVisible, heldView, compromisedView, concerns, release, remove, bulk, answerRequest };
}

/** Held mail and compromised mailboxes: registered by the daemon, which runs next to the Postfix it acts on. */
export function heldRoutes(routes: RouteTable, context: ApiContext, held: HeldMail): void {
  const actions = heldActions(context, held);
  const { findVisible, heldView, compromisedView, concerns } = actions;
  const clusterHeld = context.clusterHeld ?? null;
  const here = clusterHeld ? { node: clusterHeld.nodeName } : {};

  /**
   * This server's view of another server's message (same rules: the directory is the same on every server); when
   * it leaves is the holding server's to tell (its own held mail goes first, its Postfix sends it).
   */
  const remoteView = (identity: Identity, published: PublishedHeld): HeldMessageView => ({
    ...heldView(identity, published.message, chargedObject(context, published.message), leavingOnNode(published.node)),
    node: published.node,
  });

  /**
   * Where a message the asker may see is held: here (`null`), or the other server that published it. Without
   * a node named, this server's record of that queue id comes first; a queue id held by several other servers
   * must be named with its node (409).
   */
  const locate = async (identity: Identity, queueId: string, node: string | undefined): Promise<PublishedHeld | null> => {
    if (!clusterHeld || node === clusterHeld.nodeName) return null;
    if (node === undefined && held.store.byQueueId(checkedQueueId(queueId))) return null;
    let found: PublishedHeld[];
    try {
      found = await clusterHeld.findOnOthers(checkedQueueId(queueId), node);
    } catch (error) {
      throw new ApiError(503, `the held mail of the other servers cannot be read from the cluster's Redis: ${(error as Error).message}`, undefined, {
        code: 'clusterUnreachable',
        params: { reason: (error as Error).message },
      });
    }
    const seen = found.filter((f) => visible(identity, chargedObject(context, f.message)));
    if (seen.length === 0) throw new ApiError(404, `held message ${queueId} not found`, undefined, { code: 'heldNotFound', params: { queueId } });
    if (seen.length > 1) {
      throw new ApiError(409, `servers ${seen.map((s) => s.node).join(', ')} each hold a message ${queueId}: name one with node`, undefined, {
        code: 'heldOnSeveralNodes',
        params: { queueId, nodes: seen.map((s) => s.node) },
      });
    }
    return seen[0]!;
  };

  /** How many of one server's held messages the asker may see: all for the administrator, else those charged to objects it sees. */
  const visibleHeld = (identity: Identity, total: number, counts: Iterable<{ level: Level; name: string; count: number }>): number => {
    if (identity.role === 'admin') return total;
    let seen = 0;
    for (const { level, name, count } of counts) if (visible(identity, context.enforcer.directory.find(level, name))) seen += count;
    return seen;
  };

  /** Sends a request to the server that holds the message and answers with what it answered. */
  const askHolder = async (identity: Identity, node: string, request: HeldRequest): Promise<unknown> => {
    let reply: HeldReply;
    try {
      reply = await clusterHeld!.ask(node, identity, request);
    } catch (error) {
      throw unanswered(node, error);
    }
    return fromReply(reply);
  };

  routes.add({
    method: 'GET',
    path: '/held',
    summary:
      'Held messages you may see, newest first: queue id, time, sender, object, level that tripped, reason, recipients, status, and whether you may release, delete or mark its mailbox compromised; `name`: of that object and the objects inside it. In a cluster: every server\'s held mail, each with the `node` that holds it (other servers\' while still held), and `cluster` says how many each server holds and lists; `node`: one server\'s only',
    tag: 'held mail',
    query: heldQuery,
    handler: async ({ identity, query }): Promise<{ items: HeldMessageView[]; cluster?: HeldClusterListing }> => {
      if (query.node !== undefined && !clusterHeld) {
        throw new ApiError(400, 'this server is not a node of a cluster: leave out node', { node: 'only a node of a cluster lists held mail by server' });
      }
      // `node`: one server's mail only (this one's, or another's as it published it).
      const listsHere = query.node === undefined || query.node === clusterHeld?.nodeName;
      const listsOthers = query.node !== clusterHeld?.nodeName;
      const shown: Array<{ message: HeldMessage; object: ChargedObject | undefined }> = [];
      const local = listsHere ? held.store.list({ status: query.status === 'all' ? undefined : query.status, limit: identity.role === 'admin' ? query.limit : 10_000 }) : [];
      for (const message of local) {
        if (query.name && !concerns(message, query.name.toLowerCase())) continue;
        const object = chargedObject(context, message);
        if (!visible(identity, object)) continue;
        shown.push({ message, object });
        if (shown.length >= query.limit) break;
      }
      const messages = held.withSummaries(shown.map((s) => s.message));
      const leaving = new HeldLeavingNow(context, held);
      const items = shown.map(({ object }, i) => ({ ...heldView(identity, messages[i]!, object, leaving), ...here }));
      if (!clusterHeld) return { items };
      const localFacts = readHeldFacts(context.db);
      const cluster: HeldClusterListing = {
        node: clusterHeld.nodeName,
        nodes: [],
        heldByNode: [{ node: clusterHeld.nodeName, count: visibleHeld(identity, localFacts.readable ? localFacts.count : 0, heldCountsByCharged(context.db)) }],
      };
      // Other servers publish their mail while it is held; what they released or deleted is in their own lists.
      if (query.status === 'held' || query.status === 'all') {
        try {
          const others = await clusterHeld.othersHeld();
          cluster.nodes = others.nodes;
          for (const published of others.messages) {
            if (!listsOthers || (query.node !== undefined && published.node !== query.node)) continue;
            if (query.name && !concerns(published.message, query.name.toLowerCase())) continue;
            if (!visible(identity, chargedObject(context, published.message))) continue;
            items.push(remoteView(identity, published));
          }
          items.sort((a, b) => b.heldAtMs - a.heldAtMs || (a.node ?? '').localeCompare(b.node ?? ''));
          items.splice(query.limit);
        } catch (error) {
          cluster.unreachable = (error as Error).message;
        }
      }
      // How many each other server holds for the asker: its total, or its counts of the objects the asker sees.
      if (cluster.unreachable === undefined) {
        try {
          const summaries = await clusterHeld.summaries();
          const counts = identity.role === 'admin' ? [] : await clusterHeld.readOthersCounts();
          for (const { node, total } of summaries) cluster.heldByNode.push({ node, count: visibleHeld(identity, total, counts.filter((c) => c.node === node)) });
        } catch (error) {
          cluster.unreachable = (error as Error).message;
        }
      }
      return { items, cluster };
    },
  });

  routes.add<unknown, z.infer<typeof heldMessageQuery>, { queueId: string }>({
    method: 'GET',
    path: '/held/:queueId',
    summary: 'One held message (the newest record of that queue id); in a cluster `node` names the server that holds it',
    tag: 'held mail',
    query: heldMessageQuery,
    handler: async ({ identity, params, query }): Promise<HeldMessageView> => {
      const remote = await locate(identity, params.queueId, query.node);
      if (remote) return remoteView(identity, remote);
      const { message, object } = findVisible(identity, params.queueId);
      return { ...heldView(identity, held.withSummaries([message])[0]!, object), ...here };
    },
  });

  routes.add<{ force: boolean }, z.infer<typeof heldMessageQuery>, { queueId: string }>({
    method: 'POST',
    path: '/held/:queueId/release',
    summary:
      'Release now: within the budget for everyone who may act on it (409 with the reason otherwise); with force, the administrator releases beyond the limit (counted and audited). In a cluster the server that holds it carries it out',
    tag: 'held mail',
    errors: {
      409: 'no budget left (the reason says when it frees), or the message is no longer in the hold queue',
      502: 'Postfix could not be asked (postsuper, postqueue)',
      503: 'in a cluster: the server that holds it did not answer within 5 s (code nodeUnanswered, params.node); nothing was done',
    },
    query: heldMessageQuery,
    body: releaseBody,
    handler: async ({ identity, params, body, query }) => {
      const remote = await locate(identity, params.queueId, query.node);
      if (!remote) return { ...(await actions.release(identity, params.queueId, body.force)), ...here };
      if (body.force && identity.role !== 'admin') throw FORCE_ADMIN_ONLY();
      const answer = (await askHolder(identity, remote.node, { action: 'release', queueId: remote.message.queueId, force: body.force })) as HeldMessageView;
      return { ...answer, node: remote.node };
    },
  });

  routes.add<unknown, z.infer<typeof heldMessageQuery>, { queueId: string }>({
    method: 'DELETE',
    path: '/held/:queueId',
    summary: 'Delete a held message from the hold queue for good (audited). In a cluster the server that holds it carries it out',
    tag: 'held mail',
    errors: {
      409: 'the message is no longer in the hold queue',
      502: 'Postfix could not be asked (postsuper)',
      503: 'in a cluster: the server that holds it did not answer within 5 s (code nodeUnanswered, params.node); nothing was done',
    },
    query: heldMessageQuery,
    handler: async ({ identity, params, query }) => {
      const remote = await locate(identity, params.queueId, query.node);
      if (!remote) return { ...(await actions.remove(identity, params.queueId)), ...here };
      const answer = (await askHolder(identity, remote.node, { action: 'delete', queueId: remote.message.queueId })) as HeldMessageView;
      return { ...answer, node: remote.node };
    },
  });

  routes.add({
    method: 'POST',
    path: '/held/bulk',
    summary:
      'Release now, delete, or mark compromised (the mailboxes they count against) up to 500 held messages in one request: each is checked against your rights exactly as the single action, and answered one by one (`ok`, or the status and error the single action would answer); each change is audited. In a cluster each server carries out its own messages (`node`: of all of them)',
    tag: 'held mail',
    body: heldBulkBody,
    errors: { 502: 'Postfix could not be asked for any of them' },
    handler: async ({ identity, body }): Promise<{ results: HeldBulkResult[]; done: number; failed: number }> => {
      if (body.force && identity.role !== 'admin') throw FORCE_ADMIN_ONLY();
      const { node, ...rest } = body;
      // Each message goes to the server that holds it: here, or one request per other server.
      const byNode = new Map<string | null, string[]>();
      for (const queueId of new Set(rest.queueIds)) {
        let where: string | null = null;
        try {
          where = (await locate(identity, queueId, node))?.node ?? null;
        } catch (error) {
          // Not found (or ambiguous) elsewhere: left here, where it is answered as the single action answers it.
          if (!(error instanceof ApiError) || error.status === 503) throw error;
        }
        byNode.set(where, [...(byNode.get(where) ?? []), queueId]);
      }
      const results: HeldBulkResult[] = [];
      for (const [where, queueIds] of byNode) {
        if (where === null) {
          results.push(...(await actions.bulk(identity, { ...rest, queueIds })).map((r) => ({ ...r, ...here })));
          continue;
        }
        try {
          const answer = fromReply(await clusterHeld!.ask(where, identity, { action: 'bulk', bulk: rest.action, queueIds, force: rest.force })) as { results: HeldBulkResult[] };
          results.push(...answer.results.map((r) => ({ ...r, node: where })));
        } catch (error) {
          const failure = error instanceof ApiError ? error : unanswered(where, error);
          for (const queueId of queueIds) {
            results.push({ queueId, node: where, ok: false, httpStatus: failure.status, error: failure.message, ...(failure.refusal ?? {}) });
          }
        }
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
      answering(async () => {
        const mailbox = mailboxFor(context, identity, params.name);
        const entry = held.compromisedEntry(mailbox.name);
        if (!entry) throw notFound(`Compromised mark of mailbox ${mailbox.name}`);
        const previous: LimitOverride = entry.previousLimit === 'default' ? null : entry.previousLimit;
        throwIfRefused(checkLimitChange(identity, mailbox, previous, context.enforcer.currentSettings));
        return compromisedView(identity, await held.restore(mailbox, identity));
      }),
  });
}
