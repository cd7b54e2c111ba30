import { renderHook } from '@testing-library/react';
import { createElement } from 'react';
import { describe, expect, it } from 'vitest';
import { ApiFailure } from '../api/client';
import { LocaleOnly } from './Providers';
import { useReasonText } from './reasons';

describe('refusals of a cluster', () => {
  it('a server of the cluster that holds the message and did not answer is named in the person\'s words', () => {
    const { result } = renderHook(() => useReasonText(), { wrapper: ({ children }) => createElement(LocaleOnly, { locale: "en-US", children }) });
    const failure = new ApiFailure('server node-b, which holds the message, did not answer within 5 s', 503, {}, 'nodeUnanswered', { node: 'node-b' });
    expect(result.current.refusal(failure)).toBe('Server node-b, which holds this message, did not answer. Nothing was done; try again when it is running.');
    expect(result.current.bulkRefusal({ error: 'x', code: 'nodeUnanswered', params: { node: 'node-b' } })).toContain('Server node-b');
  });

  it('a change refused while the cluster\'s Redis is away says nothing was changed, in German too', () => {
    const failure = new ApiFailure("the cluster's configuration in Redis cannot be reached (connect ECONNREFUSED); nothing was changed", 503, {}, 'clusterConfigUnavailable', {});
    const english = renderHook(() => useReasonText(), { wrapper: ({ children }) => createElement(LocaleOnly, { locale: 'en-US', children }) });
    expect(english.result.current.refusal(failure)).toBe("The cluster's configuration in Redis cannot be reached. Nothing was changed; try again once Redis answers.");
    const german = renderHook(() => useReasonText(), { wrapper: ({ children }) => createElement(LocaleOnly, { locale: 'de-DE', children }) });
    expect(german.result.current.refusal(failure)).toContain('Es wurde nichts geändert');
  });
});
