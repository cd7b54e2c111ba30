import type { AxiosAdapter, InternalAxiosRequestConfig } from 'axios';
import { act, createElement } from 'react';
import * as ReactDom from 'react-dom';
import * as ReactDomClient from 'react-dom/client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiHarness, bridgeAdapter, JDOE } from './test-support/bridge';
import { mountInto, pleskApiClient, pleskWriteHeaders, targetOf, type MountProps, type PageReactDom } from './plesk-main';

// What UiController prints (plib/library/Screen.php) for a customer's screen.
const context: MountProps['context'] = {
  apiBase: '/modules/outgoing-mail-limits/index.php/api/call?path=',
  name: 'example.com',
  forgeryToken: 'a'.repeat(64),
};

let harness: ApiHarness;
beforeEach(async () => {
  harness = await ApiHarness.start();
  document.head.innerHTML = '<meta name="forgery_protection_token" content="plesk-page-token">';
});
afterEach(async () => {
  await harness.close();
  document.head.innerHTML = '';
});

/**
 * What ApiController::callAction does with a request: takes the decoded `path` parameter and forwards it below
 * /api/v1, signed for the Plesk user (here: handed to the real API in-process). Every request is kept.
 */
function pleskApiLayer(seen: InternalAxiosRequestConfig[]): AxiosAdapter {
  const bridge = bridgeAdapter(harness, JDOE);
  return async (config) => {
    seen.push(config);
    const url = new URL(config.url ?? '', 'https://panel.test');
    if (url.pathname !== '/modules/outgoing-mail-limits/index.php/api/call') throw new Error(`not the API action: ${url.pathname}`);
    const path = url.searchParams.get('path') ?? '';
    if (!path.startsWith('/')) throw new Error(`no path below /api/v1: ${config.url}`);
    return bridge({ ...config, url: `/api/v1${path}` });
  };
}

const headerOf = (config: InternalAxiosRequestConfig | undefined, name: string) => (config?.headers as Record<string, unknown> | undefined)?.[name];

describe('the Plesk module talks to the PHP layer', () => {
  it('writes carry Plesk’s token from the meta tag, the extension’s own token from the props, and X-Requested-With', () => {
    expect(pleskWriteHeaders('ours')).toEqual({
      'X-Forgery-Protection-Token': 'plesk-page-token',
      'X-OML-Forgery-Token': 'ours',
      'X-Requested-With': 'XMLHttpRequest',
    });
  });

  it('reads and writes reach the bridge through api/call?path=, the write with both tokens and reads with none', async () => {
    const seen: InternalAxiosRequestConfig[] = [];
    const api = pleskApiClient(context, pleskApiLayer(seen));

    expect(await api.session()).toMatchObject({ login: 'jdoe', role: 'customer' });
    const page = await api.list('mailbox', { domain: 'example.com', search: 'a b', sort: 'name', order: 'asc', page: 1, pageSize: 25 });
    expect(page.items.map((row) => row.name)).toEqual([]);
    const all = await api.list('mailbox', { domain: 'example.com', page: 1, pageSize: 25 });
    expect(all.items.map((row) => row.name)).toContain('alice@example.com');

    const saved = await api.setLimit('mailbox', 'alice@example.com', 2);
    expect(saved).toMatchObject({ name: 'alice@example.com', ownLimit: 2 });
    expect(await api.object('mailbox', 'alice@example.com')).toMatchObject({ ownLimit: 2 });

    expect(seen.map((config) => `${config.method?.toUpperCase()} ${config.url}`).slice(0, 2)).toEqual([
      'GET /modules/outgoing-mail-limits/index.php/api/call?path=%2Fsession',
      'GET /modules/outgoing-mail-limits/index.php/api/call?path=%2Fmailboxes%3Fdomain%3Dexample.com%26search%3Da%2Bb%26sort%3Dname%26order%3Dasc%26page%3D1%26pageSize%3D25',
    ]);
    const write = seen.find((config) => config.method?.toUpperCase() === 'PUT');
    expect(write?.url).toBe('/modules/outgoing-mail-limits/index.php/api/call?path=%2Fmailboxes%2Falice%2540example.com%2Flimit');
    expect(headerOf(write, 'X-OML-Forgery-Token')).toBe('a'.repeat(64));
    expect(headerOf(write, 'X-Forgery-Protection-Token')).toBe('plesk-page-token');
    expect(headerOf(write, 'X-Requested-With')).toBe('XMLHttpRequest');
    for (const read of seen.filter((config) => config.method?.toUpperCase() === 'GET')) {
      expect(headerOf(read, 'X-OML-Forgery-Token')).toBeUndefined();
    }
  });
});

describe('the screen the props ask for', () => {
  it('subscription and domain take the name; held takes it when there is one', () => {
    expect(targetOf({ screen: 'domain', context })).toEqual({ screen: 'domain', name: 'example.com' });
    expect(targetOf({ screen: 'held', context: { ...context, name: 'alice@example.com' } })).toEqual({ screen: 'held', name: 'alice@example.com' });
    expect(targetOf({ screen: 'held', context: { apiBase: context.apiBase } })).toEqual({ screen: 'held' });
    expect(targetOf({ screen: 'overview', context })).toEqual({ screen: 'overview' });
  });
});

describe('mounting on the page’s ReactDOM, whichever shape Plesk gives it', () => {
  // React's act() wants to know it runs in a test environment.
  (globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;
  const greeting = createElement('p', null, 'mounted');
  const modern: PageReactDom = { createRoot: ReactDomClient.createRoot, render: ReactDom.render, unmountComponentAtNode: ReactDom.unmountComponentAtNode };
  const legacyOnly: PageReactDom = { render: ReactDom.render, unmountComponentAtNode: ReactDom.unmountComponentAtNode };

  function container(): HTMLElement {
    const element = document.createElement('div');
    document.body.append(element);
    return element;
  }

  it('uses createRoot when the module has it, and not the legacy render', () => {
    const render = vi.fn((node: Parameters<NonNullable<PageReactDom['render']>>[0], into: Element) => ReactDom.render(node, into));
    const element = container();
    let mounted: ReturnType<typeof mountInto> | undefined;
    act(() => {
      mounted = mountInto({ ...modern, render }, element, greeting);
    });
    expect(mounted?.mountedWith).toBe('createRoot');
    expect(render).not.toHaveBeenCalled();
    expect(element.textContent).toBe('mounted');
    act(() => mounted?.unmount());
    expect(element.textContent).toBe('');
  });

  it('falls back to the legacy render on a module without createRoot (Plesk before its createRoot SDK)', () => {
    const element = container();
    let mounted: ReturnType<typeof mountInto> | undefined;
    act(() => {
      mounted = mountInto(legacyOnly, element, greeting);
    });
    expect(mounted?.mountedWith).toBe('render');
    expect(element.textContent).toBe('mounted');
    act(() => mounted?.unmount());
    expect(element.textContent).toBe('');
  });

  it('says what is missing when the module has neither', () => {
    expect(() => mountInto({}, container(), greeting)).toThrow("this page's ReactDOM has neither createRoot nor render");
  });
});
