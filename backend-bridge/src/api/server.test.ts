import fastify from 'fastify';
import { mkdtempSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listenApi } from './server.js';

describe('listenApi', () => {
  const group = process.getuid?.() === 0 ? 65534 : process.getgid!();

  it('gives the unix socket mode 0660 and, with --api-group, that group', async () => {
    const socketPath = path.join(mkdtempSync(path.join(os.tmpdir(), 'oml-socket-')), 'api.sock');
    const app = fastify();
    try {
      await listenApi(app, socketPath, null, group);
      const stat = statSync(socketPath);
      expect(stat.isSocket()).toBe(true);
      expect(stat.mode & 0o777).toBe(0o660);
      expect(stat.gid).toBe(group);
    } finally {
      await app.close();
    }
  });

  it('without a group leaves the socket with the daemon\'s own group', async () => {
    const socketPath = path.join(mkdtempSync(path.join(os.tmpdir(), 'oml-socket-')), 'api.sock');
    const app = fastify();
    try {
      await listenApi(app, socketPath, null);
      expect(statSync(socketPath).gid).toBe(process.getgid!());
    } finally {
      await app.close();
    }
  });
});
