import { afterAll, beforeAll } from 'vitest';
import type { DirectoryFile } from '../src/core/directory-file.js';
import { DaemonProcess } from './daemon-process.js';
import type { PostfixInstance } from './postfix-instance.js';
import { preparedDataDir } from './prepared-store.js';
import { RedisServer } from './redis-server.js';
import { startWiredPostfix } from './wired-postfix.js';

/** Two daemons of one cluster on a real redis-server (its unix socket), each behind its own throwaway Postfix. */
export interface TwoWiredNodes {
  redis: RedisServer;
  url: string;
  postfixA: PostfixInstance;
  postfixB: PostfixInstance;
  nodeA: DaemonProcess;
  nodeB: DaemonProcess;
}

/**
 * Starts them for the test file (node-a and node-b, both from a store with `directory` and `settings`) and stops
 * them after it; the object is filled in before the file's first test.
 */
export function twoWiredNodesForFile(directory: DirectoryFile, settings: readonly string[]): TwoWiredNodes {
  const nodes = {} as TwoWiredNodes;
  const startNode = async (name: string, postfix: PostfixInstance): Promise<DaemonProcess> =>
    DaemonProcess.start(await preparedDataDir(directory, [...settings]), ['--postfix-config-dir', postfix.configDir, '--cluster', nodes.url, '--node-name', name]);
  beforeAll(async () => {
    nodes.redis = await RedisServer.start({ tcp: false });
    nodes.url = `redis+unix://${nodes.redis.socketPath}`;
    [nodes.postfixA, nodes.postfixB] = await Promise.all([startWiredPostfix(), startWiredPostfix()]);
    [nodes.nodeA, nodes.nodeB] = await Promise.all([startNode('node-a', nodes.postfixA), startNode('node-b', nodes.postfixB)]);
  }, 120_000);
  afterAll(async () => {
    await Promise.all([nodes.nodeA?.stop(), nodes.nodeB?.stop()]);
    await Promise.all([nodes.postfixA?.stop(), nodes.postfixB?.stop(), nodes.redis?.stop()]);
  });
  return nodes;
}
