import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { CLUSTER_ENV, clusterOption, refusePasswordOnCommandLine } from './cluster-option.js';

function parsed(args: string[], env: Record<string, string> = {}): Command {
  const saved = process.env[CLUSTER_ENV];
  if (env[CLUSTER_ENV] === undefined) delete process.env[CLUSTER_ENV];
  else process.env[CLUSTER_ENV] = env[CLUSTER_ENV];
  try {
    return new Command().exitOverride().addOption(clusterOption('the cluster')).parse(args, { from: 'user' });
  } finally {
    if (saved === undefined) delete process.env[CLUSTER_ENV];
    else process.env[CLUSTER_ENV] = saved;
  }
}

describe('the --cluster option', () => {
  it('refuses a password on the command line, where every local user reads it, and takes it from the environment', () => {
    const onCommandLine = parsed(['--cluster', 'redis://limits:s3cret@10.0.0.5:6379/0']);
    expect(() => refusePasswordOnCommandLine(onCommandLine, onCommandLine.opts<{ cluster: string }>().cluster)).toThrow(/carries a password.*OUTGOING_LIMITS_CLUSTER/);
    const fromEnvironment = parsed([], { [CLUSTER_ENV]: 'redis://limits:s3cret@10.0.0.5:6379/0' });
    expect(fromEnvironment.opts<{ cluster: string }>().cluster).toBe('redis://limits:s3cret@10.0.0.5:6379/0');
    expect(() => refusePasswordOnCommandLine(fromEnvironment, fromEnvironment.opts<{ cluster: string }>().cluster)).not.toThrow();
    // Without a password (a socket only the service may open, or a Redis on another host behind a firewall) it is fine.
    const plain = parsed(['--cluster', 'redis+unix:///run/redis/redis.sock']);
    expect(() => refusePasswordOnCommandLine(plain, plain.opts<{ cluster: string }>().cluster)).not.toThrow();
  });
});
