// One small HTTP server: exact routes registered by the parts that need them
// (observability, webhooks, the admin API). Bodies are read with a size limit.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { errors } from '../errors.ts';
import type { Logger } from '../log.ts';

export type Handler = (request: IncomingMessage, response: ServerResponse, body: Buffer) => unknown;

/** Request bodies larger than this are refused with 413. */
export const MAX_BODY_BYTES = 1024 * 1024;

export class HttpServer {
  private readonly routes = new Map<string, Handler>();
  private readonly server: Server;

  constructor(private readonly log: Logger) {
    this.server = createServer((request, response) => {
      this.dispatch(request, response).catch((error) => {
        this.log.error({ error: (error as Error).message, path: request.url }, 'request failed');
        if (!response.headersSent) sendJson(response, 500, { error: 'internal error' });
        else response.end();
      });
    });
    // Slow clients cannot hold connections open for ever.
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 30_000;
  }

  /** An exact path, or a prefix ending in `/*` (`/events/*`). */
  route(method: string, path: string, handler: Handler) {
    this.routes.set(`${method} ${path}`, handler);
  }

  /** Listens on a TCP port, or on a Unix socket when `port` is a path. */
  listen(port: number | string, host?: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => {
        if (error.code === 'EADDRINUSE' && typeof port === 'number') reject(errors.portInUse(host ?? '0.0.0.0', port));
        else reject(error);
      };
      this.server.once('error', onError);
      const ready = () => {
        this.server.off('error', onError);
        resolve();
      };
      if (typeof port === 'number') this.server.listen(port, host, ready);
      else this.server.listen(port, ready);
    });
  }

  /** The port actually bound (useful with port 0). */
  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  /** Stops taking connections and closes idle ones; resolves when open requests finished. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
    });
  }

  private prefixRoute(key: string): Handler | undefined {
    for (const [route, handler] of this.routes) if (route.endsWith('/*') && key.startsWith(route.slice(0, -1))) return handler;
    return undefined;
  }

  private async dispatch(request: IncomingMessage, response: ServerResponse) {
    const path = (request.url ?? '/').split('?')[0]!;
    const handler = this.routes.get(`${request.method} ${path}`) ?? this.prefixRoute(`${request.method} ${path}`);
    if (!handler) {
      const allowed = [...this.routes.keys()].filter((key) => key.endsWith(` ${path}`));
      return sendJson(response, allowed.length ? 405 : 404, { error: allowed.length ? 'method not allowed' : 'not found' });
    }
    const body = await readBody(request);
    if (!body) {
      // The rest of the body is left unread, so this connection cannot carry another request.
      response.setHeader('connection', 'close');
      return sendJson(response, 413, { error: `body larger than ${MAX_BODY_BYTES} bytes` });
    }
    await handler(request, response, body);
  }
}

async function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export function sendJson(response: ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}
