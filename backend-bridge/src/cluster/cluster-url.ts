import type { RedisOptions } from 'ioredis';

/** A `--cluster` address that cannot be used, with what was wrong. */
export class ClusterUrlError extends Error {
  override name = 'ClusterUrlError';
}

/**
 * Where a cluster's Redis is, as the admin wrote it, read into ioredis options:
 *   redis://[user:password@]host:port/db           one Redis
 *   rediss://[user:password@]host:port/db          one Redis over TLS
 *   redis+unix:///path/to/redis.sock?db=N          one Redis on a local socket
 *   redis-sentinel://[user:password@]host:port,host:port/mastername[?db=N]   Redis Sentinel (failover)
 * The password is never part of what is shown back (see describeClusterUrl).
 */
export function clusterRedisOptions(url: string): RedisOptions {
  const scheme = /^([a-z+-]+):\/\//.exec(url)?.[1];
  switch (scheme) {
    case 'redis':
    case 'rediss':
      return { ...single(url), ...(scheme === 'rediss' ? { tls: {} } : {}) };
    case 'redis+unix':
      return unixSocket(url);
    case 'redis-sentinel':
      return sentinel(url);
    default:
      throw new ClusterUrlError(`a cluster address starts with redis://, rediss://, redis+unix:// or redis-sentinel://, not ${JSON.stringify(describeClusterUrl(url).slice(0, 60))}`);
  }
}

/**
 * The address without its password: for logs, health and `cluster status`. Also for an address that is not
 * valid, where a password may hold "/" or "@" unescaped: everything from the first ":" after "//" to the last "@"
 * is hidden, which may hide more than the password but never shows part of it.
 */
export function describeClusterUrl(url: string): string {
  const start = url.indexOf('//');
  const at = url.lastIndexOf('@');
  if (start < 0 || at < start) return url;
  const colon = url.indexOf(':', start + 2);
  if (colon < 0 || colon > at) return url;
  return `${url.slice(0, colon)}:***${url.slice(at)}`;
}

function single(url: string): RedisOptions {
  const parsed = parse(url);
  if (!parsed.hostname) throw new ClusterUrlError(`${describeClusterUrl(url)} names no host`);
  return { host: unbracket(parsed.hostname), port: port(parsed.port || '6379', url), db: database(parsed.pathname.slice(1), url), ...credentials(parsed) };
}

function unixSocket(url: string): RedisOptions {
  const parsed = parse(url);
  if (!parsed.pathname.startsWith('/') || parsed.pathname.length < 2) throw new ClusterUrlError(`${describeClusterUrl(url)} names no socket path`);
  return { path: decodeURIComponent(parsed.pathname), db: database(parsed.searchParams.get('db') ?? '', url), ...credentials(parsed) };
}

function sentinel(url: string): RedisOptions {
  // URL cannot parse several hosts: the list is split off by hand, the rest parsed with a placeholder host.
  // The credentials end at the last "@": a password may hold one unescaped, and must never be read as a host.
  const match = /^redis-sentinel:\/\/(?:(.*)@)?([^@/?]+)\/([^/?]+)(\?.*)?$/.exec(url);
  if (!match) throw new ClusterUrlError(`${describeClusterUrl(url)} is not redis-sentinel://host:port,host:port/mastername`);
  const [, userInfo, hostList, masterName, query] = match;
  const sentinels = (hostList as string).split(',').map((entry) => {
    const hostPort = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(entry);
    if (!hostPort) throw new ClusterUrlError(`${JSON.stringify(entry)} in ${describeClusterUrl(url)} is not host:port`);
    return { host: unbracket(hostPort[1] as string), port: port(hostPort[2] ?? '26379', url) };
  });
  const parsed = parse(`redis://${userInfo ? `${userInfo}@` : ''}sentinel/${query ?? ''}`);
  return { sentinels, name: decodeURIComponent(masterName as string), db: database(parsed.searchParams.get('db') ?? '', url), ...credentials(parsed) };
}

function parse(url: string): URL {
  try {
    return new URL(url);
  } catch {
    throw new ClusterUrlError(`${describeClusterUrl(url)} is not a valid address`);
  }
}

function credentials(parsed: URL): Pick<RedisOptions, 'username' | 'password'> {
  return {
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
  };
}

function port(text: string, url: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1 || value > 65535) throw new ClusterUrlError(`${JSON.stringify(text)} in ${describeClusterUrl(url)} is not a port`);
  return value;
}

function database(text: string, url: string): number {
  if (text === '') return 0;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value > 15) throw new ClusterUrlError(`${JSON.stringify(text)} in ${describeClusterUrl(url)} is not a database number (0-15)`);
  return value;
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
