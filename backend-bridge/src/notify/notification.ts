import type { AnomalySignal } from '../core/anomalies.js';
import { formatWait } from '../core/decision.js';
import type { Level, Limit, LimitWindow } from '../core/limits.js';
import { domainOf } from '../core/directory.js';

/** Everything a notification says, as mail text and as the webhook's JSON. */
export interface Notification {
  /** too-many-recipients: one message was refused for good (554 5.5.3) for its number of recipients. */
  kind: 'limit-reached' | 'compromised' | 'too-many-recipients' | 'early-warning';
  /**
   * Monitor only: what enforcing would have done to the messages over the limit ("held" or "deferred"); they
   * were sent. Null when limits are enforced.
   */
  wouldHaveBeen: 'held' | 'deferred' | null;
  atMs: number;
  /** The object the notification is about: the one that tripped (or was marked compromised). */
  level: Level;
  name: string;
  /** The window that was reached: the hourly or the daily limit (a compromised mark: the hourly one, set to 0). */
  window: LimitWindow;
  limit: Limit;
  unit: string;
  /** Budget used in that window. */
  sent: number;
  /** Messages in the hold queue because of this object. */
  held: number;
  topRecipientDomains: Array<{ domain: string; messages: number }>;
  /** The sentence the sender got (or the log has), naming the level that tripped and when it frees. */
  reason: string;
  freesInSeconds: number | null;
  /** The maximum of recipients per message the refused message was over; null for the other kinds. */
  recipientMaximum?: number | null;
  link: string;
}

/** The most frequent recipient domains of held mail, most first (ties by name). */
export function topDomains(recipientLists: ReadonlyArray<readonly string[]>, count = 5): Array<{ domain: string; messages: number }> {
  const messages = new Map<string, number>();
  for (const recipients of recipientLists) {
    for (const domain of new Set(recipients.map(domainOf).filter(Boolean))) messages.set(domain, (messages.get(domain) ?? 0) + 1);
  }
  return [...messages]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, count)
    .map(([domain, n]) => ({ domain, messages: n }));
}

function describeLimit(limit: Limit, unit: string, window: LimitWindow): string {
  return limit === 'unlimited' ? 'Unlimited' : `${limit} ${unit} per ${window}`;
}

export function mailSubject(n: Notification): string {
  if (n.kind === 'too-many-recipients') return `Message refused: more than ${n.recipientMaximum ?? '?'} recipients for ${n.level} ${n.name}`;
  if (n.kind === 'early-warning') return `Outgoing mail: ${n.reason}`;
  if (n.kind === 'compromised') return `Mailbox ${n.name} marked compromised: ${n.wouldHaveBeen ? 'monitor only, its mail is not held' : 'its mail is held'}`;
  const reached = `Outgoing ${n.window === 'day' ? 'daily ' : ''}limit reached: ${n.level} ${n.name} (${describeLimit(n.limit, n.unit, n.window)})`;
  return n.wouldHaveBeen ? `Monitor only: ${reached}; mail would have been ${n.wouldHaveBeen}` : reached;
}

/** The opening of a mail: what happened, and in monitor mode that nothing was held. */
function opening(n: Notification): string[] {
  if (n.kind === 'early-warning') return [`The ${n.reason}.`, 'Nothing is held yet; mail over the limit will be.'];
  const what = n.kind === 'compromised' ? `The mailbox ${n.name} was marked compromised.` : `The ${n.level} ${n.name} reached its limit on outgoing mail.`;
  if (!n.wouldHaveBeen) return [what];
  return [what, `Limits are in monitor only mode: its messages over the limit were sent; with limits on they would have been ${n.wouldHaveBeen}.`];
}

export function mailBody(n: Notification, period: string): string {
  if (n.kind === 'too-many-recipients') return tooManyRecipientsBody(n, period);
  if (n.kind === 'early-warning') return earlyWarningBody(n);
  const frees = n.freesInSeconds === null ? 'not by itself (a person has to act)' : `in ${formatWait(n.freesInSeconds)}${n.wouldHaveBeen ? '' : '; held mail is then sent automatically'}`;
  const domains = n.topRecipientDomains.length === 0 ? '-' : n.topRecipientDomains.map((d) => `${d.domain} (${d.messages})`).join(', ');
  return [
    ...opening(n),
    '',
    `Object:                ${n.level} ${n.name}`,
    `Level that tripped:    ${n.level}`,
    `Limit:                 ${describeLimit(n.limit, n.unit, n.window)}`,
    n.window === 'day' ? `Sent in the last 24 h: ${n.sent}` : `Sent in the last hour: ${n.sent}`,
    `Held messages:         ${n.held}`,
    `Budget frees:          ${frees}`,
    `Top recipient domains: ${domains}`,
    '',
    n.reason,
    '',
    `Held messages: ${n.link}`,
    '',
    `You get at most one such message per object every ${period}.`,
    '',
  ].join('\n');
}

/** A refusal for good is not a budget: no window, no "frees", only the maximum and what the sender was told. */
function tooManyRecipientsBody(n: Notification, period: string): string {
  return [
    `A message from ${n.level} ${n.name} had more recipients than allowed in one message and was refused; the sender was told why (554 5.5.3).`,
    '',
    `Object:                      ${n.level} ${n.name}`,
    `Most recipients per message: ${n.recipientMaximum ?? '?'}`,
    '',
    n.reason,
    '',
    `You get at most one such message per object every ${period}.`,
    '',
  ].join('\n');
}

/** Before anything is held: what was reached, and how often such a warning comes (once per window). */
function earlyWarningBody(n: Notification): string {
  return [
    ...opening(n),
    '',
    `Object:                ${n.level} ${n.name}`,
    `Limit:                 ${describeLimit(n.limit, n.unit, n.window)}`,
    n.window === 'day' ? `Sent in the last 24 h: ${n.sent}` : `Sent in the last hour: ${n.sent}`,
    '',
    `You get at most one such message per object every ${n.window === 'day' ? 'day' : 'hour'}.`,
    '',
  ].join('\n');
}

/** A mail header value on one line, without characters that could start another header. */
export function headerSafe(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').slice(0, 300);
}

/** The store failed under the running daemon: for the administrator only (mail and webhook). */
export interface StoreFailureNotification {
  kind: 'store-failure';
  atMs: number;
  /** The store file. */
  file: string;
  operation: 'read' | 'write' | 'check';
  error: string;
  host: string;
}

const FAILED_OPERATION: Record<StoreFailureNotification['operation'], string> = {
  read: 'cannot read its store',
  write: 'cannot write to its store',
  check: 'found its store damaged',
};

export function storeFailureSubject(n: StoreFailureNotification): string {
  return `Outgoing mail limits on ${n.host} ${FAILED_OPERATION[n.operation]}`;
}

export function storeFailureBody(n: StoreFailureNotification): string {
  return [
    `The outgoing mail limits service on ${n.host} ${FAILED_OPERATION[n.operation]} ${n.file}:`,
    '',
    `  ${n.error}`,
    '',
    'It keeps enforcing the limits and directory it read last, and keeps counts in memory; changes made since',
    'are not in force. If the store is damaged, stop the service and restore the newest backup:',
    '',
    `  outgoing-limits store check --data-dir ${dirname(n.file)}`,
    `  outgoing-limits store backups --data-dir ${dirname(n.file)}`,
    `  outgoing-limits store restore BACKUP --data-dir ${dirname(n.file)}`,
    '',
    'You get this message once per failure; the service log sums up how it goes on.',
    '',
  ].join('\n');
}

/** A node of a cluster lost its Redis: it limits on its own counts until Redis is back. */
export interface ClusterAloneNotification {
  kind: 'cluster-alone';
  atMs: number;
  host: string;
  node: string;
  /** The Redis address without its password. */
  address: string;
  error: string;
}

export function clusterAloneSubject(n: ClusterAloneNotification): string {
  return `Outgoing mail limits: node ${n.node} cannot reach the cluster's Redis`;
}

export function clusterAloneBody(n: ClusterAloneNotification): string {
  return [
    `Node ${n.node} (host ${n.host}) of the outgoing mail limits cluster cannot use its Redis at ${n.address} since ${new Date(n.atMs).toISOString()}:`,
    '',
    `  ${n.error}`,
    '',
    'It keeps enforcing the limits with its own counts meanwhile: each node now allows the full limits, so a',
    'mailbox may send its limit once through each node. Configuration changes are refused until Redis is back.',
    'Within 5 seconds of Redis answering again, the node counts in the cluster and adds what it counted alone.',
    '',
    `  redis-cli -u ${n.address} ping`,
    '  outgoing-limits cluster status --cluster ADDRESS',
    '',
    'You get this message once each time the node loses Redis; its health view says when it is back.',
    '',
  ].join('\n');
}

function dirname(file: string): string {
  return file.slice(0, Math.max(file.lastIndexOf('/'), 1));
}

/** The daemon put back its Postfix wiring that another program removed from main.cf, or could not: for the administrator. */
export interface WiringNotification {
  kind: 'wiring-restored' | 'wiring-repair-failed';
  atMs: number;
  host: string;
  mainCf: string;
  /** The entries that were gone, each as `parameter: value` (empty when main.cf could not be read). */
  missing: string[];
  /** What the daemon did about it, in a sentence. */
  action: string;
  /** Where a repair failed: writing main.cf, or reloading Postfix after it; null when it worked. */
  stage: 'repair' | 'reload' | null;
  /** Why the repair failed; null when it worked. */
  error: string | null;
}

export function wiringSubject(n: WiringNotification): string {
  return n.kind === 'wiring-restored'
    ? `Outgoing mail limits on ${n.host}: Postfix wiring was removed and has been put back`
    : `Outgoing mail limits on ${n.host}: cannot put the Postfix wiring back; limits may not be enforced`;
}

export function wiringBody(n: WiringNotification): string {
  const configDir = dirname(n.mainCf);
  return [
    n.kind === 'wiring-restored'
      ? `Another program rewrote ${n.mainCf} and removed what connects Postfix to the outgoing mail limits service:`
      : `The outgoing mail limits service could not check or repair its entries in ${n.mainCf}:`,
    '',
    ...(n.missing.length > 0 ? n.missing.map((entry) => `  ${entry}`) : ['  (not known: main.cf could not be read)']),
    '',
    n.action,
    ...(n.error ? ['', `  ${n.error}`, '', 'While the entries are missing, Postfix does not ask the service and mail is not limited.', 'The service tries again every 30 seconds and when main.cf changes.'] : []),
    '',
    'The service keeps these entries in place for as long as Postfix is wired. To stop it, unwire Postfix:',
    '',
    `  outgoing-limits postfix unwire --config-dir ${configDir}`,
    '',
    n.kind === 'wiring-restored' ? 'You get at most one such message per notification period; the service log counts the others.' : 'You get this message once per failure; the service log sums up how it goes on.',
    '',
  ].join('\n');
}

/** Unusual sending of a mailbox (core/anomalies.ts): mail text and webhook JSON. */
export interface AnomalyNotification {
  kind: 'anomaly';
  atMs: number;
  host: string;
  level: 'mailbox';
  name: string;
  signal: AnomalySignal;
  observed: number;
  threshold: number;
  baseline: number | null;
  /** The sentence of the figures, e.g. "logged in from 11 addresses in an hour (threshold 10)". */
  description: string;
  /** The administrator chose to mark the mailbox compromised for this signal; the mark is under way. */
  autoCompromise: boolean;
}

export function anomalySubject(n: AnomalyNotification): string {
  return `Unusual sending: mailbox ${n.name} ${n.description}`;
}

export function anomalyBody(n: AnomalyNotification): string {
  return [
    `The mailbox ${n.name} ${n.description}.`,
    '',
    n.autoCompromise
      ? 'It is marked compromised automatically (as the settings say for this signal): its limit is 0 and its mail is held until someone restores it.'
      : 'Nothing was changed. If the mailbox was hijacked, mark it compromised: its mail is then held until it is restored.',
    '',
    `Server: ${n.host}`,
    '',
  ].join('\n');
}
