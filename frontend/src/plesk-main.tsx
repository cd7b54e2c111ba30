import { createElement, useEffect, useMemo, useState, type ReactElement } from 'react';
import * as ReactDom from 'react-dom';
import * as ReactDomClient from 'react-dom/client';
import type { AxiosAdapter } from 'axios';
import { ApiClient, ApiFailure } from './api/client';
import type { SessionInfo } from './api/types';
import { LoadState } from './components/LoadState';
import { pleskHref, type Navigator, type ScreenName, type Target } from './app/navigation';
import { provideMessages, resolveLocale } from './app/locale';
import { LocaleOnly, Providers } from './app/Providers';
import type { MessageTree } from './messages/message-tree';
import { ScreenView } from './app/ScreenView';

/** What the PHP action passes to the module (see frontend/README.md, "Inside Plesk"). */
export interface MountProps {
  moduleId: string;
  baseUrl: string;
  locale?: string;
  /** The messages of `locale`, loaded by the page beside this module (dist/locales/<locale>.js); none for en-US. */
  messages?: MessageTree;
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
    /** The extension's own forgery-protection token (kept in the PHP session, or signed without one), sent back on every write. */
    forgeryToken?: string;
  };
}

const DEFAULT_POLL_MS = 5000;

/**
 * What every write carries: Plesk's CSRF token from the page's meta tag (checked by Plesk, and by the PHP layer
 * through Plesk's Csrf middleware where the Plesk version has it) with X-Requested-With, and the extension's own
 * token from the props (checked by the PHP layer on every Plesk version).
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
  if (props.screen === 'held' || props.screen === 'history') return name ? { screen: props.screen, name } : { screen: props.screen };
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

/**
 * The part of ReactDOM that mounting needs, as Plesk's 'plesk-ui-library' module offers it. Plesk pages before about
 * October 2025 (Plesk's own SDK moved to createRoot then) may carry a module with only the legacy `render`, while
 * meta.xml admits every Plesk from 18.0.41: whichever the page has is used.
 */
export interface PageReactDom {
  createRoot?: (container: Element) => { render: (node: ReactElement) => void; unmount: () => void };
  render?: (node: ReactElement, container: Element) => unknown;
  unmountComponentAtNode?: (container: Element) => boolean;
}

export type MountedWith = 'createRoot' | 'render';

/** Renders `node` into `container` with createRoot when the page's ReactDOM has it, else with the legacy render. */
export function mountInto(dom: PageReactDom, container: Element, node: ReactElement): { mountedWith: MountedWith; unmount: () => void } {
  const { createRoot, render, unmountComponentAtNode } = dom;
  if (typeof createRoot === 'function') {
    const root = createRoot(container);
    root.render(node);
    return { mountedWith: 'createRoot', unmount: () => root.unmount() };
  }
  if (typeof render === 'function') {
    render(node, container);
    return { mountedWith: 'render', unmount: () => void unmountComponentAtNode?.(container) };
  }
  throw new Error("Outgoing Mail Limits: this page's ReactDOM has neither createRoot nor render");
}

/**
 * ReactDOM as this page provides it. In the Plesk build 'react-dom' and 'react-dom/client' are both the page's
 * 'plesk-ui-library' module, so these are property reads that find what that module has, or nothing.
 */
function pageReactDom(): PageReactDom {
  const client = ReactDomClient as PageReactDom;
  const legacy = ReactDom as PageReactDom;
  return { createRoot: client.createRoot, render: legacy.render, unmountComponentAtNode: legacy.unmountComponentAtNode };
}

/** The module's default export: mounts the screen into the element with id `moduleId`; returns how to unmount it. */
export default function mount(props: MountProps, dom: PageReactDom = pageReactDom()): { mountedWith: MountedWith; unmount: () => void } {
  const element = document.getElementById(props.moduleId);
  if (!element) throw new Error(`Outgoing Mail Limits: no element with id "${props.moduleId}" on this page`);
  if (props.messages && props.locale) provideMessages(resolveLocale(props.locale), props.messages);
  return mountInto(
    dom,
    element,
    <LocaleOnly locale={props.locale}>
      <PleskScreen props={props} />
    </LocaleOnly>,
  );
}
