import { createElement, useEffect, useMemo, useState } from 'react';
import { createRoot } from 'react-dom/client';
import type { AxiosAdapter } from 'axios';
import { ApiClient, ApiFailure } from './api/client';
import type { SessionInfo } from './api/types';
import { LoadState } from './components/LoadState';
import { pleskHref, type Navigator, type ScreenName, type Target } from './app/navigation';
import { LocaleOnly, Providers } from './app/Providers';
import { ScreenView } from './app/ScreenView';

/** What the PHP action passes to the module (see frontend/README.md, "Inside Plesk"). */
export interface MountProps {
  moduleId: string;
  baseUrl: string;
  locale?: string;
  screen: ScreenName;
  context: {
    /** Where API paths go: a prefix, or a URL ending in "=" that takes the encoded path (see apiUrl). */
    apiBase: string;
    /** The subscription or domain of the 'subscription' and 'domain' screens. */
    name?: string;
    /** Where OK and Cancel of the settings screen lead (Plesk's Mail Server Settings). */
    returnUrl?: string;
    /** How often live usage is re-read, in milliseconds. */
    pollMs?: number;
    /** The extension's own forgery-protection token (kept in the panel session), sent back on every write. */
    forgeryToken?: string;
  };
}

const DEFAULT_POLL_MS = 5000;

/**
 * What every write carries: Plesk's CSRF token from the page's meta tag (checked by Plesk) with X-Requested-With,
 * and the extension's own token from the props (checked by the PHP layer, which cannot read Plesk's).
 */
export function pleskWriteHeaders(forgeryToken: string | undefined): Record<string, string> {
  const pleskToken = document.querySelector('meta[name="forgery_protection_token"]')?.getAttribute('content') ?? '';
  return { 'X-Forgery-Protection-Token': pleskToken, 'X-OML-Forgery-Token': forgeryToken ?? '', 'X-Requested-With': 'XMLHttpRequest' };
}

/** The API client of a Plesk page; `adapter` only for tests that look at the requests. */
export function pleskApiClient(context: MountProps['context'], adapter?: AxiosAdapter): ApiClient {
  return new ApiClient({ apiBase: context.apiBase, writeHeaders: () => pleskWriteHeaders(context.forgeryToken), ...(adapter ? { adapter } : {}) });
}

/** The screen the props ask for; `held` with a name shows that object's held mail (a notification's link). */
export function targetOf(props: Pick<MountProps, 'screen' | 'context'>): Target {
  const name = props.context.name ?? '';
  if (props.screen === 'subscription' || props.screen === 'domain') return { screen: props.screen, name };
  if (props.screen === 'held') return name ? { screen: 'held', name } : { screen: 'held' };
  return { screen: props.screen };
}

function PleskScreen({ props }: { props: MountProps }) {
  const api = useMemo(() => pleskApiClient(props.context), [props.context]);
  const navigator = useMemo<Navigator>(
    () => ({ href: (target) => pleskHref(props.baseUrl, target), go: (target) => window.location.assign(pleskHref(props.baseUrl, target)) }),
    [props.baseUrl],
  );
  const [session, setSession] = useState<{ data: SessionInfo | null; error: ApiFailure | null }>({ data: null, error: null });
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    // Plesk already knows who is looking; the bridge tells the role it received from the PHP layer.
    api.session().then(
      (data) => setSession({ data, error: null }),
      (error: unknown) => setSession({ data: null, error: error instanceof ApiFailure ? error : new ApiFailure(String(error), null) }),
    );
  }, [api, attempt]);

  const leaveSettings = () => window.location.assign(props.context.returnUrl ?? pleskHref(props.baseUrl, { screen: 'overview' }));
  return (
    <LoadState data={session.data} error={session.error} onRetry={() => setAttempt((n) => n + 1)}>
      {(who) => (
        <Providers environment={{ api, session: who, navigator, pollMs: props.context.pollMs ?? DEFAULT_POLL_MS }} locale={props.locale}>
          <ScreenView target={targetOf(props)} onLeaveSettings={leaveSettings} />
        </Providers>
      )}
    </LoadState>
  );
}

/** The module's default export: mounts the screen into the element with id `moduleId`; returns how to unmount it. */
export default function mount(props: MountProps): { unmount: () => void } {
  const element = document.getElementById(props.moduleId);
  if (!element) throw new Error(`Outgoing Mail Limits: no element with id "${props.moduleId}" on this page`);
  const root = createRoot(element);
  root.render(
    <LocaleOnly locale={props.locale}>
      <PleskScreen props={props} />
    </LocaleOnly>,
  );
  return { unmount: () => root.unmount() };
}
