import { z } from 'zod';
import { ADDRESS, DOMAIN_NAME, DOMAIN_NAME_MESSAGE, LOGIN, LOGIN_MESSAGE } from '../core/directory-file.js';
import { LEVELS, MAX_LIMIT } from '../core/limits.js';
import { NOTIFY_PERIODS, OVER_LIMIT_ACTIONS } from '../core/settings.js';
import { MAX_EARLY_WARNING_PERCENT } from '../core/early-warning.js';
import { LIMITS_MODES } from '../core/monitor-mode.js';
import { MAX_ANOMALY_THRESHOLD } from '../core/anomalies.js';
import { parseReportSince } from '../core/report.js';
import { MAIL_SERVERS, NATIVE_LIMITING } from '../core/health-check.js';

/** The longest name of any object: a mailbox address of 64 + 1 + 253 characters (core/directory-file.ts). */
export const MAX_NAME_LENGTH = 64 + 1 + 253;

/** Request shapes of the API. Objects are strict: an unknown field is an error, not silently ignored. */

const limitMessage = `must be a whole number from 0 to ${MAX_LIMIT}, "unlimited" or "default"`;

/** Every way a number can be wrong gets the same sentence, which says what is right. */
const limitNumber = (message: string) => z.number(message).int(message).min(0, message).max(MAX_LIMIT, message);
export const limitValue = z.union([z.literal('unlimited'), z.literal('default'), limitNumber(limitMessage)], { error: limitMessage });
const serverLimitMessage = `must be a whole number from 0 to ${MAX_LIMIT} or "unlimited"`;
export const serverLimitValue = z.union([z.literal('unlimited'), limitNumber(serverLimitMessage)], { error: serverLimitMessage });

export const levelValue = z.enum(LEVELS);

/** Administrators and resellers: lock the value for the roles below (true) or leave it open; absent: a lock there stays, else 0 is locked. */
const lockedFlag = z
  .boolean('must be true (lock the value for the roles below yours) or false (leave it open)')
  .optional()
  .describe('true: the roles below yours may not change the value; false: they may; absent: a lock already there stays, else a 0 is locked and other values are open');

const dailyLimitValue = limitValue.optional().describe('the daily limit (rolling 24 hours): a number, "unlimited" or "default"; absent: unchanged');

// Recipients per message: at least 1 (a message has one), since 0 would refuse every message for good.
const recipientLimitMessage = `must be a whole number of recipients from 1 to ${MAX_LIMIT}, "unlimited" or "default"`;
const recipientNumber = (message: string) => z.number(message).int(message).min(1, message).max(MAX_LIMIT, message);
export const recipientLimitValue = z.union([z.literal('unlimited'), z.literal('default'), recipientNumber(recipientLimitMessage)], { error: recipientLimitMessage });
const serverRecipientLimitMessage = `must be a whole number of recipients from 1 to ${MAX_LIMIT} or "unlimited"`;
export const serverRecipientLimitValue = z.union([z.literal('unlimited'), recipientNumber(serverRecipientLimitMessage)], { error: serverRecipientLimitMessage });
const ownRecipientLimit = recipientLimitValue
  .optional()
  .describe('the maximum number of recipients of one message (more: refused permanently, 554 5.5.3): a number, "unlimited" or "default"; absent: unchanged');

const oneOfTheLimits = { error: 'give limit (per hour), dailyLimit (per day), recipientLimit (per message) or several', path: ['limit'] };
const givesALimit = (body: { limit?: unknown; dailyLimit?: unknown; recipientLimit?: unknown }) =>
  body.limit !== undefined || body.dailyLimit !== undefined || body.recipientLimit !== undefined;

export const setLimitBody = z
  .strictObject({ limit: limitValue.optional().describe('the hourly limit; absent: unchanged'), dailyLimit: dailyLimitValue, recipientLimit: ownRecipientLimit, locked: lockedFlag })
  .refine(givesALimit, oneOfTheLimits);

export const bulkLimitBody = z
  .strictObject({
    level: levelValue,
    names: z.array(z.string().min(1).max(MAX_NAME_LENGTH)).min(1).max(1000),
    limit: limitValue.optional(),
    dailyLimit: dailyLimitValue,
    recipientLimit: ownRecipientLimit,
    locked: lockedFlag,
  })
  .refine(givesALimit, oneOfTheLimits);

const httpUrl = z
  .string()
  .max(2000)
  .refine((value) => /^https?:\/\/[^\s/]+/i.test(value) && URL.canParse(value), 'must be an http:// or https:// address');

const earlyWarningMessage = `must be a whole number of percent from 1 to ${MAX_EARLY_WARNING_PERCENT}, or 0 for no early warnings`;

const anomalyThresholdMessage = `must be a whole number from 1 to ${MAX_ANOMALY_THRESHOLD}, or null to switch the signal off`;
const anomalySignalPatch = (thresholdIs: string) =>
  z
    .strictObject({
      threshold: z.number(anomalyThresholdMessage).int(anomalyThresholdMessage).min(1, anomalyThresholdMessage).max(MAX_ANOMALY_THRESHOLD, anomalyThresholdMessage).nullable().optional().describe(`${thresholdIs}; null: the signal is off`),
      autoCompromise: z.boolean('must be true (mark the mailbox compromised when raised) or false').optional(),
    })
    .optional();

/** Unusual sending: per signal its threshold and whether it marks the mailbox compromised by itself. */
const anomaliesPatch = z
  .strictObject({
    loginAddresses: anomalySignalPatch('raised above this many distinct client addresses of one SASL login in an hour'),
    recipientDomains: anomalySignalPatch('raised above this many distinct recipient domains of one mailbox in an hour'),
    volumeSurge: anomalySignalPatch('raised when an hour\'s count is above max(20, this factor × the mailbox\'s 95th percentile hourly count of the last 7 days)'),
  })
  .optional();

export const settingsPatchBody = z.strictObject({
  anomalies: anomaliesPatch,
  enabled: z.boolean().optional().describe('the old switch: true is on (enforce, or monitor if monitoring already), false is off; or give mode'),
  mode: z
    .enum(LIMITS_MODES, { error: 'must be "enforce" (limits on), "monitor" (monitor only: nothing is held or deferred) or "off"' })
    .optional()
    .describe('"enforce": over the limit mail is held or deferred; "monitor": counted and recorded as if enforced, nothing held or deferred; "off"'),
  earlyWarningPercent: z
    .number(earlyWarningMessage)
    .int(earlyWarningMessage)
    .min(0, earlyWarningMessage)
    .max(MAX_EARLY_WARNING_PERCENT, earlyWarningMessage)
    .optional()
    .describe('notify when an object passes this share of a limit, at most once per window; 0: no early warnings'),
  defaults: z.strictObject({ mailbox: serverLimitValue.optional(), domain: serverLimitValue.optional(), subscription: serverLimitValue.optional() }).optional(),
  /** Server defaults of the daily limits (rolling 24 hours); "unlimited" unless set. */
  dailyDefaults: z.strictObject({ mailbox: serverLimitValue.optional(), domain: serverLimitValue.optional(), subscription: serverLimitValue.optional() }).optional(),
  /** Server defaults of the maximum recipients of one message; "unlimited" unless set. */
  recipientDefaults: z
    .strictObject({ mailbox: serverRecipientLimitValue.optional(), domain: serverRecipientLimitValue.optional(), subscription: serverRecipientLimitValue.optional() })
    .optional(),
  countingUnit: z.enum(['messages', 'recipients']).optional(),
  customersMayChangeLimits: z.boolean().optional(),
  overLimitAction: z.enum(OVER_LIMIT_ACTIONS).optional(),
  notifications: z
    .strictObject({
      adminAddress: z.string().regex(ADDRESS, 'must be an email address like admin@example.com').nullable().optional(),
      notifyReseller: z.boolean().optional(),
      notifyCustomer: z.boolean().optional(),
      period: z.enum(NOTIFY_PERIODS).optional(),
      webhookUrl: httpUrl.nullable().optional(),
      screenUrl: httpUrl.nullable().optional(),
    })
    .optional(),
});

export const monitoringQuery = z.strictObject({
  hours: z.coerce.number().int().min(1).max(168).default(24).describe('how many hours back; 24 by default'),
});

const pageNumber = z.coerce.number().int().min(1).max(1_000_000);

export const listQuery = z.strictObject({
  search: z.string().max(MAX_NAME_LENGTH).optional(),
  subscription: z.string().max(253).optional(),
  domain: z.string().max(253).optional(),
  blocked: z.enum(['true', 'false']).optional(),
  sort: z.enum(['name', 'used', 'limit']).default('name'),
  order: z.enum(['asc', 'desc']).default('asc'),
  page: pageNumber.default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(50),
});

export const eventsQuery = z.strictObject({
  level: levelValue.optional(),
  name: z.string().max(MAX_NAME_LENGTH).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** Unusual sending: anomalies raised in the last `hours` hours (a day by default, up to 31 days), newest first. */
export const anomaliesQuery = z.strictObject({
  name: z.string().max(MAX_NAME_LENGTH).optional().describe('only this mailbox'),
  hours: z.coerce.number().int().min(1).max(31 * 24).default(24),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export const statsQuery = z
  .strictObject({
    level: levelValue.optional(),
    name: z.string().max(MAX_NAME_LENGTH).optional(),
    hours: z.coerce.number().int().min(1).max(48).optional().describe('hourly bars for this many hours (1-48); instead of period'),
    period: z
      .enum(['24h', '7d', '31d'])
      .optional()
      .describe('24h: 24 hourly bars; 7d: 28 bars of 6 hours; 31d: 31 daily bars (UTC days); the default is 24h'),
  })
  .refine((q) => (q.level === undefined) === (q.name === undefined), { message: 'give both level and name, or neither', path: ['name'] })
  .refine((q) => q.hours === undefined || q.period === undefined, { message: 'give hours or period, not both', path: ['period'] });

/** The report: the last 1d..31d, as JSON or CSV. */
export const reportQuery = z.strictObject({
  since: z
    .string()
    .default('7d')
    .transform((text, context) => {
      const days = parseReportSince(text);
      if (days === null) context.addIssue({ code: 'custom', message: 'must be a number of days from 1d to 31d, like 7d' });
      return days ?? 0;
    })
    .describe('how far back: 1d to 31d; 7d by default'),
  format: z.enum(['json', 'csv']).optional().describe('csv: the same rows as CSV (also chosen by Accept: text/csv)'),
});

export const auditQuery = z.strictObject({
  level: levelValue.optional(),
  name: z.string().max(MAX_NAME_LENGTH).optional(),
  /** The login of the person who made the change. */
  actor: z.string().max(255).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  before: z.coerce.number().int().min(1).optional(),
});

/** Owners and subscription names are checked as in a directory file (core/directory-file.ts). */
const login = z.string().regex(LOGIN, LOGIN_MESSAGE);
const domainName = z.string().regex(DOMAIN_NAME, DOMAIN_NAME_MESSAGE);
const address = z.string().regex(ADDRESS, 'must be an email address like alice@example.com');

/** A service plan's values for its subscriptions: each level a number, "unlimited", or null (the plan sets none). */
export const planBody = z.strictObject({
  name: z.string().min(1).max(255),
  mailbox: serverLimitValue.nullable(),
  domain: serverLimitValue.nullable(),
  subscription: serverLimitValue.nullable(),
});

export const subscriptionSyncBody = z.strictObject({
  owner: login,
  reseller: login.nullable().default(null),
  systemUser: login.nullable().default(null),
  previousName: domainName.optional(),
  /** null: the subscription follows no plan; left out: the stored plan stays. */
  plan: planBody.nullable().optional(),
});

export const domainSyncBody = z.strictObject({
  subscription: domainName,
  previousName: domainName.optional(),
});

export const mailboxSyncBody = z.strictObject({
  previousAddress: address.optional(),
});

/** Path parameters of the directory sync routes, checked like the fields of a directory file. */
export const domainNameParam = domainName;
export const subscriptionNameParam = domainName;
export const addressParam = address;

export const directorySyncBody = z.strictObject({
  subscriptions: z.array(subscriptionSyncBody.extend({ name: domainName })).max(100_000).default([]),
  domains: z.array(domainSyncBody.extend({ name: domainName })).max(100_000).default([]),
  mailboxes: z.array(mailboxSyncBody.extend({ address })).max(200_000).default([]),
  delete: z
    .strictObject({
      // Any name, so that what an older version let in can still be removed; bounded like every name.
      subscriptions: z.array(z.string().max(MAX_NAME_LENGTH)).max(100_000).default([]),
      domains: z.array(z.string().max(MAX_NAME_LENGTH)).max(100_000).default([]),
      mailboxes: z.array(z.string().max(MAX_NAME_LENGTH)).max(200_000).default([]),
    })
    .default({ subscriptions: [], domains: [], mailboxes: [] }),
});

/** The directory file, checked in full (with field paths) by parseDirectoryFile; here only its outer shape. */
/** A Plesk login (reseller or customer): letters, digits and the few signs Plesk allows. */
export const loginParam = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,63}$/, 'must be a Plesk login such as jdoe');
export const contactBody = z.strictObject({ address });

export const directoryFileBody = z.looseObject({ subscriptions: z.array(z.unknown()) });

/** A node of a cluster by name (core/cluster-nodes.ts nodeNameProblem has the full rule; this only bounds it). */
const clusterNodeName = z.string().regex(/^[0-9A-Za-z][0-9A-Za-z._-]{0,252}$/, 'must be the name of a server of the cluster');

export const heldQuery = z.strictObject({
  status: z.enum(['held', 'released', 'deleted', 'gone', 'all']).default('held'),
  /** A mailbox, domain or subscription name: its held mail (charged to it or to an object inside it, or held because it tripped). */
  name: z.string().max(MAX_NAME_LENGTH).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  /** In a cluster: only the held mail of this server. */
  node: clusterNodeName.optional(),
});

/**
 * One held message: in a cluster, queue ids are unique per Postfix only, so `node` may name the server that
 * holds it; without, this server's message of that id, else the only other server's that has one.
 */
export const heldMessageQuery = z.strictObject({ node: clusterNodeName.optional() });

/** The most messages one bulk request acts on: each is a Postfix command, and the request must end in seconds. */
export const MAX_BULK_HELD = 500;

export const heldBulkBody = z.strictObject({
  action: z.enum(['release', 'delete', 'compromise'], { error: 'must be "release", "delete" or "compromise"' }),
  queueIds: z
    .array(z.string().regex(/^[0-9A-Za-z]{6,32}$/, 'must be a Postfix queue id (letters and digits)'), { error: 'must be a list of queue ids' })
    .min(1, 'must name at least one message')
    .max(MAX_BULK_HELD, `must name at most ${MAX_BULK_HELD} messages`),
  /** Release beyond the limit: the administrator only, as for one message. */
  force: z.boolean().default(false),
  /** In a cluster: the server that holds them all (as `node` of one message); without, each is looked for as one message is. */
  node: clusterNodeName.optional(),
});

/** The body may be left out: a release within the budget. */
export const releaseBody = z.strictObject({ force: z.boolean().default(false) }).default({ force: false });

/** PUT /platform/plesk: what the Plesk layer found about Plesk's own limiting, after install and each resync. */
export const platformPleskBody = z.strictObject({
  nativeLimiting: z.enum(NATIVE_LIMITING, { error: `must be one of ${NATIVE_LIMITING.join(', ')}` }),
  mailServer: z.enum(MAIL_SERVERS, { error: `must be one of ${MAIL_SERVERS.join(', ')}` }),
  checkedAt: z.iso.datetime({ offset: true, error: 'must be a date and time in ISO 8601, such as 2026-12-03T10:00:00Z' }),
});

// Temporary exemptions (core/exemptions.ts).
const exemptionMessage = `must be a whole number from 1 to ${MAX_LIMIT} or "unlimited"`;
const exemptionValue = z.union([z.literal('unlimited'), z.number(exemptionMessage).int(exemptionMessage).min(1, exemptionMessage).max(MAX_LIMIT, exemptionMessage)], { error: exemptionMessage });

export const exemptionBody = z
  .strictObject({
    hourly: exemptionValue.optional().describe('the hourly limit until the end: a number above the current one, or "unlimited"; absent: the hourly limit stays'),
    daily: exemptionValue.optional().describe('the daily limit (rolling 24 hours) until the end; absent: the daily limit stays'),
    until: z
      .string('must be a date-time with its zone (e.g. 2026-12-05T18:00+01:00) or a span from now (e.g. +6h)')
      .max(64)
      .describe('when the exemption ends: an ISO 8601 date-time with its zone, or a span from now such as "+6h", "+90m", "+2d"; in the future, at most 31 days ahead'),
  })
  .refine((body) => body.hourly !== undefined || body.daily !== undefined, { error: 'give hourly, daily or both', path: ['hourly'] });
