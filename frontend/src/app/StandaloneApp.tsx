import { Button, ContentLoader } from '@plesk/ui-library';
import { createElement, useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { ApiClient } from '../api/client';
import type { SessionInfo } from '../api/types';
import { LoginScreen } from '../screens/LoginScreen';
import { standalonePath, targetOfPath, type Navigator, type Target } from './navigation';
import { LocaleOnly, Providers } from './Providers';
import { ScreenView } from './ScreenView';
import { useText } from './text';

const POLL_MS = 5000;

function Shell({ session, navigator, onLogout, children }: { session: SessionInfo; navigator: Navigator; onLogout: () => void; children: ReactNode }) {
  const text = useText();
  const links: Array<{ target: Target; label: string }> = [
    { target: { screen: 'overview' }, label: text('app.overview') },
    { target: { screen: 'subscriptions' }, label: text('app.subscriptions') },
    { target: { screen: 'held' }, label: text('held.link') },
    { target: { screen: 'history' }, label: text('history.link') },
    ...(session.role === 'admin' ? [{ target: { screen: 'settings' } as Target, label: text('app.settings') }] : []),
  ];
  return (
    <div>
      <header style={{ display: 'flex', flexWrap: 'wrap', alignItems: 'center', gap: 16, padding: '8px 24px', background: '#1f2732', color: '#fff' }}>
        <strong style={{ fontSize: 18 }}>{text('app.name')}</strong>
        {/* On a phone the links wrap as whole words onto the next line instead of running off the window. */}
        <nav aria-label={text('app.navigation')} style={{ display: 'flex', flexWrap: 'wrap', columnGap: 16, rowGap: 4, flex: '1 1 auto' }}>
          {links.map((link) => (
            <a
              key={link.target.screen}
              href={navigator.href(link.target)}
              style={{ color: '#fff', whiteSpace: 'nowrap' }}
              onClick={(event) => {
                event.preventDefault();
                navigator.go(link.target);
              }}
            >
              {link.label}
            </a>
          ))}
        </nav>
        <span>{text('app.signedInAs', { login: session.login, role: text(`roles.${session.role}`) })}</span>
        <Button onClick={onLogout}>{text('app.logOut')}</Button>
      </header>
      <main style={{ padding: '16px 24px', maxWidth: 1200 }}>{children}</main>
    </div>
  );
}

/** The app the daemon serves at /: a login page, then the screens by path, moving between them without reloads. */
export function StandaloneApp({ apiBase }: { apiBase: string }) {
  // undefined: still asking whether a session cookie is there; null: logged out.
  const [session, setSession] = useState<SessionInfo | null | undefined>(undefined);
  const sessionRef = useRef<SessionInfo | null | undefined>(undefined);
  sessionRef.current = session;
  const [path, setPath] = useState(() => window.location.pathname + window.location.search);

  const api = useMemo(
    () =>
      new ApiClient({
        apiBase,
        writeHeaders: () => ({ 'X-CSRF-Token': sessionRef.current?.csrfToken ?? '' }),
        onUnauthorized: () => setSession(null),
      }),
    [apiBase],
  );

  useEffect(() => {
    api.session().then(setSession, () => setSession(null));
    const onPopState = () => setPath(window.location.pathname + window.location.search);
    window.addEventListener('popstate', onPopState);
    return () => window.removeEventListener('popstate', onPopState);
  }, [api]);

  const navigator = useMemo<Navigator>(
    () => ({
      href: standalonePath,
      go: (target) => {
        const next = standalonePath(target);
        window.history.pushState(null, '', next);
        setPath(next);
        window.scrollTo(0, 0);
      },
    }),
    [],
  );

  const logout = useCallback(() => {
    api.logout().then(
      () => setSession(null),
      () => setSession(null),
    );
  }, [api]);

  if (session === undefined) {
    return (
      <LocaleOnly>
        <ContentLoader />
      </LocaleOnly>
    );
  }
  if (session === null) {
    return (
      <LocaleOnly>
        <main>
          <LoginScreen
            api={api}
            onLoggedIn={(who) => {
              if (window.location.pathname === '/login') navigator.go({ screen: 'overview' });
              setSession(who);
            }}
          />
        </main>
      </LocaleOnly>
    );
  }
  // /login right after logging in is the overview; any other address that names no screen is "not found".
  const target: Target | null = path.split('?')[0] === '/login' ? { screen: 'overview' } : targetOfPath(path);
  return (
    <Providers environment={{ api, session, navigator, pollMs: POLL_MS }}>
      <Shell session={session} navigator={navigator} onLogout={logout}>
        <ScreenView target={target} onLeaveSettings={() => navigator.go({ screen: 'overview' })} />
      </Shell>
    </Providers>
  );
}
