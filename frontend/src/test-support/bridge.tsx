import { render, type RenderResult } from '@testing-library/react';
import { AxiosError, type AxiosAdapter, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import { createElement, type ReactElement } from 'react';
import { ApiHarness, type Caller } from '../../../backend-bridge/test-support/api-harness.js';
import { ApiClient } from '../api/client';
import type { Environment } from '../app/environment';
import type { Navigator, Target } from '../app/navigation';
import { Providers } from '../app/Providers';

export { ADMIN, JDOE, MARY, RES1 } from '../../../backend-bridge/test-support/api-harness.js';
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
