import { z } from 'zod';
import { parseLimit, type LimitOverride, type PlanLimits } from './limits.js';

/**
 * The directory file that `outgoing-limits directory import` reads (and that the Plesk sync produces):
 * subscriptions → domains → mailboxes, each with `limit`: null (use the default), "unlimited" or a number.
 * A subscription may name its service plan: `plan: {name, mailbox, domain, subscription}`, each value null (the
 * plan sets none), "unlimited" or a number; objects without an own limit follow it before the server default.
 * Daily limits (rolling 24 hours), all optional: `dailyLimit` on each object (same values; left out: an object
 * already stored keeps its daily value, so files without daily limits never remove them) and the plan's
 * `daily: {mailbox, domain, subscription}` (left out: the plan sets no daily value).
 */
const limitField = z.unknown().transform((raw, ctx): LimitOverride => {
  const parsed = parseLimit(raw ?? null, { allowDefault: true });
  if (parsed.ok) return parsed.value;
  ctx.addIssue({ code: 'custom', message: parsed.error });
  return z.NEVER;
});

export const DOMAIN_NAME = /^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)+[a-z0-9-]{2,63}$/i;
export const ADDRESS = /^[^\s@]{1,64}@[^\s@]{1,253}$/;
/**
 * A Plesk login (owner, reseller, system user): printable ASCII without spaces, as the signed identity carries
 * it (api/auth/signature.ts checks X-OML-Login with this same rule). An owner Plesk could never sign in as
 * would own objects nobody can see.
 */
export const LOGIN = /^[\x21-\x7e]{1,255}$/;
export const LOGIN_MESSAGE = 'must be a login: 1 to 255 printable ASCII characters without spaces';
export const DOMAIN_NAME_MESSAGE = 'must be a domain name like example.com';

/** A daily value where the file may leave it out (kept as stored). */
const dailyLimitField = limitField.optional();

const mailboxSchema = z.strictObject({
  address: z.string().regex(ADDRESS, 'must be an email address like alice@example.com'),
  limit: limitField,
  dailyLimit: dailyLimitField,
});

/** A value a service plan gives: like an own limit, null meaning "the plan sets none". */
const planSchema = z.strictObject({
  name: z.string().min(1, 'must not be empty').max(255),
  mailbox: limitField,
  domain: limitField,
  subscription: limitField,
  daily: z.strictObject({ mailbox: limitField, domain: limitField, subscription: limitField }).optional(),
});

const domainSchema = z.strictObject({
  name: z.string().regex(DOMAIN_NAME, DOMAIN_NAME_MESSAGE),
  limit: limitField,
  dailyLimit: dailyLimitField,
  mailboxes: z.array(mailboxSchema).default([]),
});

const loginField = z.string().regex(LOGIN, LOGIN_MESSAGE);

const subscriptionSchema = z.strictObject({
  // A subscription is named after its main domain; X-OML-Permitted-Subscriptions grants rights by these names
  // and accepts nothing else (parsePermittedSubscriptions), so any other name could never be granted.
  name: z.string().regex(DOMAIN_NAME, DOMAIN_NAME_MESSAGE),
  owner: loginField,
  reseller: loginField.nullable().default(null),
  systemUser: loginField.nullable().default(null),
  limit: limitField,
  dailyLimit: dailyLimitField,
  plan: planSchema.nullable().default(null),
  domains: z.array(domainSchema).default([]),
});

const directoryFileSchema = z.strictObject({ subscriptions: z.array(subscriptionSchema) });

export interface DirectoryFile {
  subscriptions: Array<{
    name: string;
    owner: string;
    reseller: string | null;
    systemUser: string | null;
    limit: LimitOverride;
    /** Absent: an existing object keeps its stored daily value (a new one follows the default). */
    dailyLimit?: LimitOverride | undefined;
    /** Absent or null: the subscription follows no plan. */
    plan?: PlanLimits | null;
    domains: Array<{
      name: string;
      limit: LimitOverride;
      dailyLimit?: LimitOverride | undefined;
      mailboxes: Array<{ address: string; limit: LimitOverride; dailyLimit?: LimitOverride | undefined }>;
    }>;
  }>;
}

export interface FieldError {
  /** Where in the file, e.g. `subscriptions[0].domains[1].mailboxes[2].address`. */
  field: string;
  message: string;
}

export type DirectoryFileResult = { ok: true; directory: DirectoryFile } | { ok: false; errors: FieldError[] };

/** Only a daily value the file gives is carried: left out means "keep what is stored". */
function daily(value: LimitOverride | undefined): { dailyLimit?: LimitOverride } {
  return value === undefined ? {} : { dailyLimit: value };
}

function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  let text = '';
  for (const part of path) text += typeof part === 'number' ? `[${part}]` : text ? `.${String(part)}` : String(part);
  return text || '(file)';
}

/**
 * Checks a parsed directory file completely before anything is imported: shape, value ranges, and the rules
 * that make the hierarchy unambiguous (names unique, each mailbox inside its own domain). Names are stored
 * lower-case, as mail addresses and domain names compare case-insensitively.
 */
export function parseDirectoryFile(input: unknown): DirectoryFileResult {
  const parsed = directoryFileSchema.safeParse(input);
  if (!parsed.success) {
    return { ok: false, errors: parsed.error.issues.map((issue) => ({ field: fieldPath(issue.path), message: issue.message })) };
  }
  const errors: FieldError[] = [];
  const subscriptionNames = new Set<string>();
  const domainNames = new Set<string>();
  const addresses = new Set<string>();
  const directory: DirectoryFile = { subscriptions: [] };
  parsed.data.subscriptions.forEach((s, si) => {
    const name = s.name.toLowerCase();
    if (subscriptionNames.has(name)) errors.push({ field: `subscriptions[${si}].name`, message: `duplicate subscription ${name}` });
    subscriptionNames.add(name);
    const domains = s.domains.map((d, di) => {
      const domainName = d.name.toLowerCase();
      const at = `subscriptions[${si}].domains[${di}]`;
      if (domainNames.has(domainName)) errors.push({ field: `${at}.name`, message: `duplicate domain ${domainName}` });
      domainNames.add(domainName);
      const mailboxes = d.mailboxes.map((m, mi) => {
        const address = m.address.toLowerCase();
        const field = `${at}.mailboxes[${mi}].address`;
        if (!address.endsWith(`@${domainName}`)) errors.push({ field, message: `${address} is not an address of domain ${domainName}` });
        if (addresses.has(address)) errors.push({ field, message: `duplicate mailbox ${address}` });
        addresses.add(address);
        return { address, limit: m.limit, ...daily(m.dailyLimit) };
      });
      return { name: domainName, limit: d.limit, ...daily(d.dailyLimit), mailboxes };
    });
    directory.subscriptions.push({ name, owner: s.owner, reseller: s.reseller, systemUser: s.systemUser, limit: s.limit, ...daily(s.dailyLimit), plan: s.plan, domains });
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, directory };
}
