/** The screens and how to reach them: a path in the standalone app, a Plesk page inside Plesk. */
export type Target =
  | { screen: 'overview' }
  | { screen: 'settings' }
  | { screen: 'subscriptions' }
  | { screen: 'subscription'; name: string }
  | { screen: 'domain'; name: string }
  | { screen: 'held'; name?: string }
  | { screen: 'history'; name?: string };

export type ScreenName = Target['screen'];

export interface Navigator {
  href(target: Target): string;
  go(target: Target): void;
}

/**
 * Standalone paths: / (overview), /settings, /subscriptions, /subscriptions/NAME, /domains/NAME, /held[?name=NAME],
 * /history[?name=NAME]
 * (the form notification links take: the setting screenUrl plus `?level=...&name=...`).
 */
export function standalonePath(target: Target): string {
  switch (target.screen) {
    case 'overview':
      return '/';
    case 'settings':
      return '/settings';
    case 'subscriptions':
      return '/subscriptions';
    case 'subscription':
      return `/subscriptions/${encodeURIComponent(target.name)}`;
    case 'domain':
      return `/domains/${encodeURIComponent(target.name)}`;
    case 'held':
      return target.name ? `/held?name=${encodeURIComponent(target.name)}` : '/held';
    case 'history':
      return target.name ? `/history?name=${encodeURIComponent(target.name)}` : '/history';
  }
}

/** The target of a standalone path with its query; null for an unknown path (and for /login, which is not a screen). */
export function targetOfPath(location: string): Target | null {
  const [pathname = '', search = ''] = location.split('?');
  const parts = pathname.replace(/\/+$/, '').split('/').slice(1).map((part) => decodeURIComponent(part));
  if (parts.length === 0) return { screen: 'overview' };
  const [first, second] = parts;
  if (parts.length === 1 && first === 'settings') return { screen: 'settings' };
  if (parts.length === 1 && first === 'subscriptions') return { screen: 'subscriptions' };
  if (parts.length === 2 && first === 'subscriptions' && second) return { screen: 'subscription', name: second };
  if (parts.length === 2 && first === 'domains' && second) return { screen: 'domain', name: second };
  if (parts.length === 1 && (first === 'held' || first === 'history')) {
    const name = new URLSearchParams(search).get('name');
    return name ? { screen: first, name } : { screen: first };
  }
  return null;
}

/** Plesk pages of the extension: `<baseUrl>index.php/ui/<screen>[?name=NAME]` (see frontend/README.md). */
export function pleskHref(baseUrl: string, target: Target): string {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  const name = 'name' in target && target.name ? `?name=${encodeURIComponent(target.name)}` : '';
  return `${base}index.php/ui/${target.screen}${name}`;
}
