import { Alert } from '@plesk/ui-library';
import { createElement, useCallback } from 'react';
import { useEnvironment } from '../app/environment';
import { useText } from '../app/text';
import { useResource } from '../app/use-resource';
import { NavLink } from './NavLink';

/**
 * Said at the top of every screen while limits are switched off (mail then passes, and is still counted), with a
 * link to switch them on for whoever may. Says nothing while they are on, or while that cannot be learnt.
 */
export function LimitsOffBanner() {
  const { api, pollMs } = useEnvironment();
  const text = useText();
  const load = useCallback(() => api.limitsState(), [api]);
  const state = useResource(load, 'limits-state', pollMs);
  if (!state.data || state.data.enabled) return null;
  return (
    <Alert intent="warning" data-testid="limits-off">
      {text('rowState.limitsOffBanner')}{' '}
      {state.data.maySwitchOn ? <NavLink to={{ screen: 'settings' }}>{text('rowState.limitsOffSwitchOn')}</NavLink> : text('rowState.limitsOffAsk')}
    </Alert>
  );
}
