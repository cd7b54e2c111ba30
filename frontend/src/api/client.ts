import axios, { type AxiosAdapter, type AxiosInstance } from 'axios';
import { COLLECTION, type AuditEntry, type ClusterAnswer, type AuditQuery, type AnomalySignal, type RecordedAnomaly, type CompromisedMailbox, type ExemptionView, type Limit, type HeldBulkAction, type HeldBulkResult, type HeldClusterListing, type HeldMessage, type HealthReport, type HeldQuery, type Level, type LimitsState, type ListQuery, type ObjectPage, type ObjectRow, type OverLimitEvent, type OwnLimit, type ServerSettings, type SessionInfo, type Stats, type LimitsMode, type MonitoringAnswer, type SettingsAnswer, type ReportRow, type StatsPeriod } from './types';

/**
 * Why a request failed: the API's sentence, its per-field messages, the status (null: no answer at all), and
 * what the refusal is (`code` with its `params`), from which screens say it in the person's language.
 */
export class ApiFailure extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    readonly fields: Record<string, string> = {},
    readonly code: string | null = null,
    readonly params: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

type QueryValue = string | number | boolean | undefined;

/**
 * The URL of an API path (below /api/v1, with its query string) under `apiBase`:
 * - a base ending in "=" gets the whole path URL-encoded as that parameter's value
 *   (inside Plesk: `<baseUrl>/index.php/api/call?path=` + encodeURIComponent('/mailboxes?page=2'));
 * - any other base is a prefix (standalone: `/api/v1` + '/mailboxes?page=2').
 */
export function apiUrl(apiBase: string, path: string, query: Record<string, QueryValue> = {}): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') search.set(name, String(value));
  }
  const text = search.toString();
  const full = text ? `${path}?${text}` : path;
  return apiBase.endsWith('=') ? `${apiBase}${encodeURIComponent(full)}` : `${apiBase.replace(/\/+$/, '')}${full}`;
}

export interface ApiClientOptions {
  apiBase: string;
  /** Headers every write carries: the CSRF token of the page (Plesk) or of the login session (standalone). */
  writeHeaders: () => Record<string, string>;
  /** Called on 401, e.g. to show the login page again. */
  onUnauthorized?: () => void;
  /** How requests travel; default the browser's XMLHttpRequest (component tests hand them to an in-process API). */
  adapter?: AxiosAdapter;
}

/** A refusal's body: already parsed, or text when the request asked for text (a CSV download). */
function jsonOf(data: unknown): unknown {
  if (typeof data !== 'string') return data;
  try {
    return JSON.parse(data) as unknown;
  } catch {
    return undefined;
  }
}

function failureOf(error: unknown): ApiFailure {
  if (axios.isAxiosError(error)) {
    const status = error.response?.status ?? null;
    const body = jsonOf(error.response?.data) as { error?: unknown; fields?: unknown; code?: unknown; params?: unknown } | undefined;
    const message = typeof body?.error === 'string' ? body.error : status === null ? error.message : `HTTP ${status}`;
    const fields = body?.fields && typeof body.fields === 'object' ? (body.fields as Record<string, string>) : {};
    const code = typeof body?.code === 'string' ? body.code : null;
    const params = body?.params && typeof body.params === 'object' ? (body.params as Record<string, unknown>) : {};
    return new ApiFailure(message, status, fields, code, params);
  }
  return new ApiFailure(error instanceof Error ? error.message : String(error), null);
}

const encode = (name: string) => encodeURIComponent(name);

/** Every call the screens make, in one place. */
export class ApiClient {
  private readonly http: AxiosInstance;

  constructor(private readonly options: ApiClientOptions) {
    this.http = axios.create({ headers: { Accept: 'application/json' }, ...(options.adapter ? { adapter: options.adapter } : {}) });
  }

  private async call<T>(
    method: 'GET' | 'PUT' | 'PATCH' | 'POST' | 'DELETE',
    path: string,
    query?: Record<string, QueryValue>,
    body?: unknown,
    responseType: 'json' | 'text' = 'json',
  ): Promise<T> {
    const headers: Record<string, string> = method === 'GET' ? {} : this.options.writeHeaders();
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    try {
      const response = await this.http.request<T>({ method, url: apiUrl(this.options.apiBase, path, query), data: body === undefined ? undefined : JSON.stringify(body), headers, responseType });
      return response.data;
    } catch (error) {
      const failure = failureOf(error);
      if (failure.status === 401) this.options.onUnauthorized?.();
      throw failure;
    }
  }

  session(): Promise<SessionInfo> {
    return this.call('GET', '/session');
  }

  login(login: string, password: string): Promise<SessionInfo> {
    return this.call('POST', '/session', undefined, { login, password });
  }

  logout(): Promise<void> {
    return this.call('DELETE', '/session');
  }

  settings(): Promise<SettingsAnswer> {
    return this.call('GET', '/settings');
  }

  /** `earlyWarningPercent` may go as typed: the API names what is wrong with it. */
  updateSettings(
    change: Partial<Omit<ServerSettings, 'defaults' | 'dailyDefaults' | 'recipientDefaults' | 'earlyWarningPercent' | 'anomalies'>> & {
      defaults?: Partial<Record<Level, unknown>>;
      dailyDefaults?: Partial<Record<Level, unknown>>;
      recipientDefaults?: Partial<Record<Level, unknown>>;
      mode?: LimitsMode;
      earlyWarningPercent?: unknown;
      anomalies?: Partial<Record<AnomalySignal, { threshold?: unknown; autoCompromise?: boolean }>>;
    },
  ): Promise<SettingsAnswer> {
    return this.call('PATCH', '/settings', undefined, change);
  }

  /** What monitor only mode let through, and the early warnings given, in the last `hours` (24). */
  monitoring(hours?: number): Promise<MonitoringAnswer> {
    return this.call('GET', '/monitoring', { hours });
  }

  /** The health view; administrators only. */
  doctor(): Promise<HealthReport> {
    return this.call('GET', '/doctor');
  }

  /** Standalone, or the cluster's nodes; administrators only. */
  cluster(): Promise<ClusterAnswer> {
    return this.call('GET', '/cluster');
  }

  list(level: Level, query: ListQuery): Promise<ObjectPage> {
    const { blocked, ...rest } = query;
    return this.call('GET', `/${COLLECTION[level]}`, { ...rest, blocked: blocked === undefined ? undefined : String(blocked) });
  }

  object(level: Level, name: string): Promise<ObjectRow> {
    return this.call('GET', `/${COLLECTION[level]}/${encode(name)}`);
  }

  /** `limit` is a number, "unlimited" or "default"; anything else comes back as a field error from the API. */
  /** `locked` (administrators and resellers): lock the value for the roles below, or leave it open; absent: the API's default. */
  /** `limit` (per hour) and `dailyLimit` (per day): each left out of the request when undefined, so it stays as it is. */
  /** `recipientLimit`: the maximum recipients per message, likewise. */
  setLimit(level: Level, name: string, limit: OwnLimit | string | undefined, locked?: boolean, dailyLimit?: OwnLimit, recipientLimit?: OwnLimit): Promise<ObjectRow> {
    return this.call('PUT', `/${COLLECTION[level]}/${encode(name)}/limit`, undefined, definedOnly({ limit, dailyLimit, recipientLimit, locked }));
  }

  setLimits(level: Level, names: string[], limit: OwnLimit | string | undefined, locked?: boolean, dailyLimit?: OwnLimit, recipientLimit?: OwnLimit): Promise<{ items: ObjectRow[] }> {
    return this.call('POST', '/limits/bulk', undefined, { level, names, ...definedOnly({ limit, dailyLimit, recipientLimit, locked }) });
  }

  /** A temporary exemption: `hourly` and/or `daily` raised (left out: that limit stays) until `until` (ISO with its zone). */
  setExemption(level: Level, name: string, body: { hourly?: Limit; daily?: Limit; until: string }): Promise<ExemptionView> {
    return this.call('PUT', `/${COLLECTION[level]}/${encode(name)}/exemption`, undefined, definedOnly(body));
  }

  endExemption(level: Level, name: string): Promise<void> {
    return this.call('DELETE', `/${COLLECTION[level]}/${encode(name)}/exemption`);
  }

  exemptions(): Promise<{ items: ExemptionView[] }> {
    return this.call('GET', '/exemptions');
  }

  events(query: { level?: Level; name?: string; limit?: number } = {}): Promise<{ items: OverLimitEvent[] }> {
    return this.call('GET', '/events', query);
  }

  /** Unusual sending of the mailboxes this person may see, newest first. */
  anomalies(query: { name?: string; hours?: number; limit?: number } = {}): Promise<{ items: RecordedAnomaly[] }> {
    return this.call('GET', '/anomalies', query);
  }

  stats(query: { level?: Level; name?: string; hours?: number; period?: StatsPeriod }): Promise<Stats> {
    return this.call('GET', '/stats', query);
  }

  /** Objects that reached a limit in the last `since` days ("1d".."31d"), as far as this user may see them. */
  report(since: string): Promise<{ since: string; from: string; items: ReportRow[] }> {
    return this.call('GET', '/report', { since });
  }

  /** The same report as a CSV file's text. */
  reportCsv(since: string): Promise<string> {
    return this.call('GET', '/report', { since, format: 'csv' }, undefined, 'text');
  }

  /** Held mail; in a cluster `cluster` names this server and the others with how many each holds. */
  held(query: HeldQuery = {}): Promise<{ items: HeldMessage[]; cluster?: HeldClusterListing }> {
    return this.call('GET', '/held', { ...query });
  }

  /** Release now; `force` (the administrator only) releases beyond the limit; `node`: the server that holds it (a cluster). */
  releaseHeld(queueId: string, force: boolean, node?: string): Promise<HeldMessage> {
    return this.call('POST', `/held/${encode(queueId)}/release`, { node }, { force });
  }

  /** Release, delete or mark compromised several held messages; each is answered on its own; `node`: the server that holds them all. */
  heldBulk(action: HeldBulkAction, queueIds: string[], force = false, node?: string): Promise<{ results: HeldBulkResult[]; done: number; failed: number }> {
    return this.call('POST', '/held/bulk', undefined, { action, queueIds, force, ...(node === undefined ? {} : { node }) });
  }

  /** The audit log as far as this user may see it, newest first; `next` goes on to older lines (null: none). */
  audit(query: AuditQuery = {}): Promise<{ items: AuditEntry[]; next: number | null }> {
    return this.call('GET', '/audit', { ...query });
  }

  deleteHeld(queueId: string, node?: string): Promise<HeldMessage> {
    return this.call('DELETE', `/held/${encode(queueId)}`, { node });
  }

  compromised(): Promise<{ items: CompromisedMailbox[] }> {
    return this.call('GET', '/compromised');
  }

  markCompromised(address: string): Promise<{ entry: CompromisedMailbox; heldNow: number | null }> {
    return this.call('POST', `/mailboxes/${encode(address)}/compromised`);
  }

  restoreMailbox(address: string): Promise<CompromisedMailbox> {
    return this.call('DELETE', `/mailboxes/${encode(address)}/compromised`);
  }

  /** Whether limits are switched on; every role may ask. */
  limitsState(): Promise<LimitsState> {
    return this.call('GET', '/limits/state');
  }
}

/** The fields that have a value: the API reads a field left out as "unchanged". */
function definedOnly(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}
