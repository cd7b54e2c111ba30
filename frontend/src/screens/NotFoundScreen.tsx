import { Alert } from '@plesk/ui-library';
import { createElement } from 'react';
import { useText } from '../app/text';
import { NavLink } from '../components/NavLink';

/** An address that names no screen (a mistyped or old link): said so, with the way to the overview. */
export function NotFoundScreen() {
  const text = useText();
  const path = typeof window === 'undefined' ? '' : window.location.pathname;
  return (
    <Alert intent="warning">
      {text('states.pageNotFound', { path })} <NavLink to={{ screen: 'overview' }}>{text('states.toOverview')}</NavLink>
    </Alert>
  );
}
