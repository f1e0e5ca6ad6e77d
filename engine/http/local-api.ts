// The engine's local socket. While `tocsin start` owns the embedded database, the other
// commands on the same data directory work through this socket instead of opening the
// database files a second time. The socket file is only reachable by its owner (0600).
import { createHash } from 'node:crypto';
import { chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TocsinError } from '../errors.ts';
import { localActions } from '../local-actions.ts';
import type { Services } from '../services.ts';
import { HttpServer, sendJson } from './server.ts';

/** Unix socket paths are limited to about 100 bytes; long data directories use the temp folder. */
export function localSocketPath(dataDir: string): string {
  const path = join(dataDir, 'engine.sock');
  if (Buffer.byteLength(path) < 100) return path;
  return join(tmpdir(), `tocsin-${createHash('sha256').update(dataDir).digest('hex').slice(0, 12)}.sock`);
}

export async function startLocalApi(services: Services, socket: string): Promise<HttpServer> {
  const http = new HttpServer(services.log);
  for (const [path, action] of Object.entries(localActions)) {
    http.route('POST', path, async (_request, response, body) => {
      try {
        sendJson(response, 200, (await action(services, JSON.parse(body.toString('utf8')))) ?? null);
      } catch (error) {
        // 422: refused with a message meant for people (the CLI prints it as is).
        if (error instanceof TocsinError) return sendJson(response, 422, { error: error.message });
        throw error;
      }
    });
  }
  rmSync(socket, { force: true });
  await http.listen(socket);
  chmodSync(socket, 0o600);
  return http;
}
