import { Option, type Command } from 'commander';
import { ClusterUrlError, clusterRedisOptions } from '../cluster/cluster-url.js';
import { UserError } from './daemon-or-store.js';

/** Where a cluster address with a password is given: the environment is not shown to other users, the command line is. */
export const CLUSTER_ENV = 'OUTGOING_LIMITS_CLUSTER';

/** `--cluster <url>`, also read from OUTGOING_LIMITS_CLUSTER (how a password is passed). */
export function clusterOption(description: string): Option {
  return new Option('--cluster <url>', `${description} (or the environment variable ${CLUSTER_ENV})`).env(CLUSTER_ENV);
}

/**
 * A password on the command line is in every process list, readable by every local user (any hosting customer),
 * who could then change the counts in Redis and lift every limit: it must come through the environment.
 */
export function refusePasswordOnCommandLine(command: Command, url: string | undefined): void {
  if (url === undefined || command.getOptionValueSource('cluster') !== 'cli' || !hasPassword(url)) return;
  throw new UserError(
    `the --cluster address carries a password, which every local user can read in the process list; give the address in the environment variable ${CLUSTER_ENV} instead (for the service: an EnvironmentFile of mode 0600)`,
  );
}

function hasPassword(url: string): boolean {
  try {
    return Boolean(clusterRedisOptions(url).password);
  } catch (error) {
    // An address that cannot be read is reported by the command that reads it, the same way as without a password.
    if (error instanceof ClusterUrlError) return false;
    throw error;
  }
}
