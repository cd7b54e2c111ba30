import { Alert } from '@plesk/ui-library';
import { createElement, useCallback } from 'react';
import { useEnvironment } from '../app/environment';
import { useText } from '../app/text';
import { useResource } from '../app/use-resource';
import { NavLink } from './NavLink';

/**
 * Said at the top of every screen while limits are switched off (mail then passes, and is still counted) or
 * monitored only (mail passes, what would have happened is recorded), with a link to switch them on for whoever
 * may. Says nothing while they are enforced, or while that cannot be learnt.
 */
export function LimitsOffBanner() {
  const { api, pollMs } = useEnvironment();
  const text = useText();
  const load = useCallback(() => api.limitsState(), [api]);
  const state = useResource(load, 'limits-state', pollMs);
  if (!state.data || state.data.mode === 'enforce') return null;
  if (state.data.mode === 'monitor') {
    // Switched on, but nothing is held or deferred: saying "on" or "off" would both mislead.
    return (
      <Alert intent="warning" data-testid="limits-monitor-only">
        {text('monitor.banner')}{' '}
        {state.data.maySwitchOn ? <NavLink to={{ screen: 'settings' }}>{text('monitor.bannerSwitchOn')}</NavLink> : text('monitor.bannerAsk')}
      </Alert>
    );
  }
  return (
    <Alert intent="warning" data-testid="limits-off">
      {text('rowState.limitsOffBanner')}{' '}
      {state.data.maySwitchOn ? <NavLink to={{ screen: 'settings' }}>{text('rowState.limitsOffSwitchOn')}</NavLink> : text('rowState.limitsOffAsk')}
    </Alert>
  );
}
