import { describe, expect, it } from 'vitest';
import { ClusterUrlError, clusterRedisOptions, describeClusterUrl } from './cluster-url.js';

describe('cluster addresses', () => {
  it('reads one Redis, with credentials and database, and TLS for rediss://', () => {
    expect(clusterRedisOptions('redis://limits:s%40cret@10.0.0.5:6380/2')).toEqual({ host: '10.0.0.5', port: 6380, db: 2, username: 'limits', password: 's@cret' });
    expect(clusterRedisOptions('redis://redis.internal')).toEqual({ host: 'redis.internal', port: 6379, db: 0 });
    expect(clusterRedisOptions('rediss://:pw@[::1]:6379/0')).toEqual({ host: '::1', port: 6379, db: 0, password: 'pw', tls: {} });
  });

  it('reads a local socket and a Sentinel group', () => {
    expect(clusterRedisOptions('redis+unix:///run/redis/redis.sock?db=3')).toEqual({ path: '/run/redis/redis.sock', db: 3 });
    expect(clusterRedisOptions('redis-sentinel://:pw@10.0.0.1:26379,10.0.0.2/limits?db=1')).toEqual({
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: '10.0.0.2', port: 26379 },
      ],
      name: 'limits',
      db: 1,
      password: 'pw',
    });
  });

  it('says what is wrong with an address it cannot use, without its password', () => {
    const wrong = (url: string) => () => clusterRedisOptions(url);
    expect(wrong('http://10.0.0.5')).toThrow(ClusterUrlError);
    expect(wrong('http://10.0.0.5')).toThrow(/starts with redis:\/\//);
    expect(wrong('redis://10.0.0.5:99999')).toThrow(/redis:\/\/10\.0\.0\.5:99999 is not a valid address/);
    expect(wrong('redis://u:secret@10.0.0.5/x')).toThrow(/"x" in redis:\/\/u:\*\*\*@10\.0\.0\.5\/x is not a database number/);
    expect(wrong('redis-sentinel://10.0.0.1:26379')).toThrow(/is not redis-sentinel:\/\/host:port,host:port\/mastername/);
    expect(wrong('redis+unix://')).toThrow(/names no socket path/);
    expect(describeClusterUrl('redis://limits:secret@h:1/0')).toBe('redis://limits:***@h:1/0');
  });

  it('never shows a password of an address that is not valid, whatever it holds', () => {
    const message = (url: string) => {
      try {
        clusterRedisOptions(url);
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error(`${url} was accepted`);
    };
    // Unescaped "/" and "@" in the password, a wrong scheme, a sentinel list: none shows any of it.
    for (const url of ['redis://u:pa/ss@h:1/0', 'redis://u:p@ss@h:99999', 'http://u:s3cr3t@h', 'redis-sentinel://u:s3@cr3t@h1:x/m', 'rediss://:pa/ss@@h/x']) {
      const said = message(url);
      for (const piece of ['pa/ss', 'p@ss', 's3cr3t', 's3@cr3t', 'ss@', 'cr3t']) expect(said, url).not.toContain(piece);
      expect(said, url).toContain('***');
    }
    expect(describeClusterUrl('redis://u:pa/ss@h:1/0')).toBe('redis://u:***@h:1/0');
    expect(describeClusterUrl('redis-sentinel://:p@ss@10.0.0.1,10.0.0.2/limits')).toBe('redis-sentinel://:***@10.0.0.1,10.0.0.2/limits');
    expect(describeClusterUrl('redis://10.0.0.5:6379/0')).toBe('redis://10.0.0.5:6379/0');
  });
});
