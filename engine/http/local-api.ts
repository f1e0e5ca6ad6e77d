// The engine's local socket. While `tocsin start` owns the embedded database, the other
// commands on the same data directory work through this socket instead of opening the
// database files a second time. The socket file is only reachable by its owner (0600).
import { createHash } from 'node:crypto';
import { chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChatSession } from '../../bots/console.ts';
import { renderResults } from '../cli/commands/results.ts';
import { describe, TocsinError } from '../errors.ts';
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
  const session = (body: Buffer) => {
    const { user, lang } = JSON.parse(body.toString('utf8')) as { user: string; lang?: string };
    return new ChatSession(services, String(user), lang);
  };
  http.route('POST', '/chat/open', async (_request, response, body) => {
    sendJson(response, 200, { replies: await session(body).open() });
  });
  http.route('POST', '/chat/say', async (_request, response, body) => {
    const { text } = JSON.parse(body.toString('utf8')) as { text: string };
    sendJson(response, 200, { replies: await session(body).say(String(text)) });
  });
  http.route('POST', '/results', async (_request, response, body) => {
    const { flow, format } = JSON.parse(body.toString('utf8')) as { flow: string; format: 'text' | 'csv' };
    try {
      sendJson(response, 200, await renderResults(services, String(flow), format === 'csv' ? 'csv' : 'text'));
    } catch (error) {
      if (!(error instanceof TocsinError)) throw error;
      sendJson(response, 422, { error: describe(error) });
    }
  });
  rmSync(socket, { force: true });
  await http.listen(socket);
  chmodSync(socket, 0o600);
  return http;
}
