import { render, screen, type RenderResult, type waitForOptions } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { AxiosError, type AxiosAdapter, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import { createElement, type ReactElement } from 'react';
import { expect } from 'vitest';
import { ADMIN, ApiHarness, type Caller } from '../../../backend-bridge/test-support/api-harness.js';
import { ApiClient } from '../api/client';
import type { Environment } from '../app/environment';
import type { Navigator, Target } from '../app/navigation';
import { Providers } from '../app/Providers';

export { ADMIN, harnessForEachTest, heldByOwnLimit, JDOE, MARY, RES1 } from '../../../backend-bridge/test-support/api-harness.js';
export { freshRedisPerTest } from '../../../backend-bridge/test-support/redis-chains.js';
export { ApiHarness, type Caller };

/**
 * Hands the UI's requests to the real bridge API in-process (store, roles, validation and all), signed as
 * `caller` the way the Plesk layer signs them. `before` may fail a request first, to test error states.
 */
export function bridgeAdapter(harness: ApiHarness, caller: Caller, before?: (config: InternalAxiosRequestConfig) => void): AxiosAdapter {
  return async (config) => {
    before?.(config);
    const method = (config.method ?? 'get').toUpperCase();
    const raw = typeof config.data === 'string' ? config.data : undefined;
    const answer = await harness.request(caller, method, config.url ?? '/', undefined, raw === undefined ? {} : { raw });
    const text = answer.body;
    const response: AxiosResponse = {
      // As the browser's adapter: text stays text when the request asked for it (a CSV download).
      data: text === '' ? undefined : config.responseType === 'text' ? text : (JSON.parse(text) as unknown),
      status: answer.statusCode,
      statusText: answer.statusMessage,
      headers: answer.headers as AxiosResponse['headers'],
      config,
      request: {},
    };
    if (config.validateStatus?.(answer.statusCode) ?? answer.statusCode < 400) return response;
    throw new AxiosError(`Request failed with status code ${answer.statusCode}`, AxiosError.ERR_BAD_RESPONSE, config, {}, response);
  };
}

export interface RenderedScreen extends RenderResult {
  api: ApiClient;
  visited: Target[];
}

/** Renders `screen` with the providers both builds use, as `caller`, polling fast so live updates show at once. */
export function renderAs(harness: ApiHarness, caller: Caller, screen: ReactElement, options: { before?: (config: InternalAxiosRequestConfig) => void; pollMs?: number; locale?: string } = {}): RenderedScreen {
  const api = new ApiClient({ apiBase: '/api/v1', writeHeaders: () => ({}), adapter: bridgeAdapter(harness, caller, options.before) });
  const visited: Target[] = [];
  const navigator: Navigator = { href: (target) => `/#${target.screen}`, go: (target) => void visited.push(target) };
  const environment: Environment = { api, session: { login: caller.login, role: caller.role, csrfToken: null }, navigator, pollMs: options.pollMs ?? 50 };
  const result = render(<Providers environment={environment} locale={options.locale}>{screen}</Providers>);
  return { ...result, api, visited };
}

/** Clicks the button named `button` (waiting for the screen to show it) and returns the dialog it opens. */
export async function openDialog(button: string, waitOptions?: waitForOptions): Promise<HTMLElement> {
  await userEvent.setup().click(await screen.findByRole('button', { name: button }, waitOptions));
  return screen.findByRole('dialog');
}

/** Opens "Limit Outgoing Messages" from the row of `name`. */
export function openLimitDialog(name: string): Promise<HTMLElement> {
  return openDialog(`Limit Outgoing Messages of ${name}`);
}

/** Sets a limit straight through the bridge, as `caller` (`path` as `domains/example.com`); it must succeed. */
export async function putLimit(harness: ApiHarness, caller: Caller, path: string, body: Record<string, unknown>): Promise<void> {
  const answer = await harness.request(caller, 'PUT', `/api/v1/${path}/limit`, body);
  expect(answer.statusCode, answer.body).toBe(200);
}

/** The object's row as the bridge stores it now (read as the administrator). */
export async function stored(harness: ApiHarness, path: string): Promise<Record<string, unknown>> {
  return (await harness.get(ADMIN, `/api/v1/${path}`)).json() as Record<string, unknown>;
}
