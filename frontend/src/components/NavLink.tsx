import { createElement, type MouseEvent, type ReactNode } from 'react';
import { useEnvironment } from '../app/environment';
import type { Target } from '../app/navigation';

/**
 * A real link (open in a new tab works; screen readers call it a link) in ui-library's link style; a plain click
 * moves inside the app without loading the page again. ui-library's Link turns into a button once it has an onClick.
 */
export function NavLink({ to, label, children }: { to: Target; /** The accessible name, when the text alone is not enough. */ label?: string; children: ReactNode }) {
  const { navigator } = useEnvironment();
  const onClick = (event: MouseEvent<HTMLAnchorElement>) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigator.go(to);
  };
  return (
    <a className="pul-link" href={navigator.href(to)} onClick={onClick} aria-label={label}>
      {children}
    </a>
  );
}
