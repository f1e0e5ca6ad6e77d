// The admin API (/api/*): every route needs `Authorization: Bearer $ADMIN_TOKEN`, compared
// in constant time. Without ADMIN_TOKEN the API is off and no route answers.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Handler, type HttpServer, sendJson } from './server.ts';

export function adminRoute(http: HttpServer, adminToken: string | undefined, method: string, path: string, handler: Handler) {
  http.route(method, path, (request: IncomingMessage, response: ServerResponse, body: Buffer) => {
    if (!adminToken) return sendJson(response, 404, { error: 'the admin API is off: set ADMIN_TOKEN' });
    if (!authorized(request.headers.authorization, adminToken)) {
      response.setHeader('www-authenticate', 'Bearer');
      return sendJson(response, 401, { error: 'missing or wrong bearer token' });
    }
    return handler(request, response, body);
  });
}

function authorized(header: string | undefined, token: string): boolean {
  const given = /^Bearer\s+(.+)$/i.exec(header ?? '')?.[1] ?? '';
  // Hash both sides: equal lengths for timingSafeEqual, and no length leak.
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(token));
}
