import { Link } from '@plesk/ui-library';
import { createElement, type MouseEvent, type ReactNode } from 'react';
import { useEnvironment } from '../app/environment';
import type { Target } from '../app/navigation';

/** A real link (open in a new tab works); a plain click moves inside the app without loading the page again. */
export function NavLink({ to, children }: { to: Target; children: ReactNode }) {
  const { navigator } = useEnvironment();
  const onClick = (event: MouseEvent<HTMLAnchorElement>) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigator.go(to);
  };
  return (
    <Link href={navigator.href(to)} onClick={onClick as never}>
      {children}
    </Link>
  );
}
